"""Text augmentation: EDA operations, data-set augmentation, embedding neighbours, mixup,
back-translation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_bert
from datasets import ClassLabel, Dataset, Features, Value

from llmu import augment
from llmu.models import BackboneNotFoundError, input_embeddings, load_tokenizer
from llmu.predict import collate
from llmu.train import TrainConfig, train

SYNONYMS = {
    "good": ["fine", "nice"],
    "movie": ["film"],
    "plot": ["story", "storyline"],
    "slow": ["sluggish"],
}
TEXTS = [
    "a good movie with a slow plot",
    "slow",
    "the plot  is good ",
    "movie",
    "a b c d e f g h i j",
]


def operations(rate: float):
    """Every EDA operation as ``f(text, rng)`` at the given rate."""
    return {
        "synonym_replacement": lambda t, r: augment.synonym_replacement(t, rate, SYNONYMS, r),
        "random_insertion": lambda t, r: augment.random_insertion(t, rate, SYNONYMS, r),
        "random_swap": lambda t, r: augment.random_swap(t, rate, r),
        "random_deletion": lambda t, r: augment.random_deletion(t, rate, r),
        "eda": lambda t, r: " | ".join(
            augment.eda(t, SYNONYMS, r, n_aug=3, sr=rate, ri=rate, rs=rate, rd=rate)
        ),
    }


@pytest.mark.parametrize("name", list(operations(0.3)))
def test_operations_are_deterministic_under_a_seed(name):
    op = operations(0.3)[name]
    for text in TEXTS:
        assert op(text, 7) == op(text, 7)
        assert op(text, np.random.default_rng(7)) == op(text, 7)
    outputs = {tuple(op(text, seed) for text in TEXTS) for seed in range(20)}
    assert len(outputs) > 1, f"{name} never changes anything"


@pytest.mark.parametrize("name", list(operations(0.0)))
def test_rate_zero_leaves_the_text_unchanged(name):
    op = operations(0.0)[name]
    for text in TEXTS:
        expected = text if name != "eda" else " | ".join([text] * 3)
        assert op(text, 3) == expected


@pytest.mark.parametrize("rate", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("name", list(operations(0.5)))
def test_operations_never_return_an_empty_text(name, rate):
    op = operations(rate)[name]
    for seed in range(30):
        for text in TEXTS:
            assert op(text, seed).strip()


def test_random_deletion_at_rate_one_keeps_one_word():
    out = augment.random_deletion("one two three four", 1.0, 0)
    assert len(out.split()) == 1 and out in "one two three four".split()


def test_what_each_operation_does():
    text = "a good movie with a slow plot"
    replaced = augment.synonym_replacement(text, 1.0, SYNONYMS, 0).split()
    assert len(replaced) == 7 and replaced[0] == "a" and replaced[3] == "with"  # stopwords stay
    assert replaced[1] in SYNONYMS["good"] and replaced[2] == "film"
    inserted = augment.random_insertion(text, 0.3, SYNONYMS, 0).split()
    assert len(inserted) == 7 + 2  # max(1, int(0.3 * 7)) insertions
    assert sorted(augment.random_swap(text, 0.5, 0).split()) == sorted(text.split())
    assert set(augment.random_deletion(text, 0.5, 0).split()) <= set(text.split())
    assert (
        augment.synonym_replacement("the of and", 1.0, SYNONYMS, 0) == "the of and"
    )  # no candidates


def test_n_edits_is_one_word_for_every_text_shorter_than_two_over_the_rate():
    assert [augment.n_edits(0.1, n) for n in (1, 3, 9, 10, 19, 20, 35)] == [1, 1, 1, 1, 1, 2, 3]
    assert augment.n_edits(0.0, 12) == 0
    text = "a good movie"  # 3 words, rate 0.1: one swap moves two of the three words
    swapped = augment.random_swap(text, 0.1, 0).split()
    assert sum(w != v for w, v in zip(swapped, text.split())) == 2
    with pytest.raises(ValueError, match="n_words"):
        augment.n_edits(0.1, 0)


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.1", None, True, float("nan")])
def test_bad_rates_are_rejected(bad):
    with pytest.raises(ValueError, match="must be a number in"):
        augment.random_swap("a b c", bad, 0)
    with pytest.raises(ValueError, match="rd must be a number"):
        augment.eda("a b c", SYNONYMS, 0, rd=bad)


def test_bad_inputs_are_rejected():
    for text in ("", "   "):
        with pytest.raises(ValueError, match="empty text"):
            augment.random_deletion(text, 0.1, 0)
        with pytest.raises(ValueError, match="empty text"):
            augment.eda(text, SYNONYMS, 0)
    with pytest.raises(TypeError, match="must be a string"):
        augment.random_swap(["a", "b"], 0.1, 0)
    with pytest.raises(ValueError, match="n_aug"):
        augment.eda("a b", SYNONYMS, 0, n_aug=0)
    with pytest.raises(ValueError, match="seed"):
        augment.random_swap("a b", 0.1, -1)


@pytest.fixture
def labelled() -> Dataset:
    features = Features(
        {
            "text": Value("string"),
            "label": ClassLabel(names=["negative", "positive"]),
            "id": Value("int64"),
        }
    )
    return Dataset.from_dict(
        {"text": TEXTS, "label": [1, 0, 1, 0, 1], "id": list(range(5))}, features=features
    )


def test_augment_dataset_keeps_labels_and_features(labelled):
    out = augment.augment_dataset(
        labelled, lambda t, r: augment.eda(t, SYNONYMS, r, n_aug=2), seed=0
    )
    assert out.features == labelled.features
    assert len(out) == 3 * len(labelled)
    assert out[:5] == labelled[:]  # originals first, untouched
    for row in out:
        assert row["label"] == labelled[row["id"]]["label"]
        assert row["text"].strip()
    again = augment.augment_dataset(
        labelled, lambda t, r: augment.eda(t, SYNONYMS, r, n_aug=2), seed=0
    )
    assert again["text"] == out["text"]
    only_variants = augment.augment_dataset(
        labelled, lambda t, r: [t.upper()], seed=0, keep_original=False
    )
    assert (
        only_variants["text"] == [t.upper() for t in TEXTS]
        and only_variants["label"] == labelled["label"]
    )


def test_augment_dataset_rejects_bad_input(labelled):
    with pytest.raises(ValueError, match="no text column"):
        augment.augment_dataset(labelled, lambda t, r: [t], seed=0, text_column="sentence")
    with pytest.raises(ValueError, match="empty data set"):
        augment.augment_dataset(labelled.select([]), lambda t, r: [t], seed=0)
    with pytest.raises(ValueError, match="empty or non-string variant"):
        augment.augment_dataset(labelled, lambda t, r: [""], seed=0)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("minilm")


def test_embedding_neighbours_are_the_cosine_nearest_whole_words(tokenizer):
    vocab = tokenizer.get_vocab()
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.randn(len(vocab), 8, generator=generator)
    embeddings[vocab["great"]] = (
        embeddings[vocab["good"]] * 3 + 0.01
    )  # same direction, other length
    embeddings[vocab["##ood"]] = embeddings[vocab["good"]]  # sub-words are never neighbours
    embeddings[vocab["the"]] = embeddings[vocab["good"]]  # nor are stopwords
    found = augment.embedding_neighbours(
        ["Good", "the", "notaword123", "good"], tokenizer, embeddings, k=3, min_similarity=-1
    )
    assert list(found) == ["good"] and found["good"][0] == "great" and len(found["good"]) == 3
    # cross-check the ranking with a brute-force cosine over the same candidates
    candidates = [
        t
        for t in vocab
        if t.isascii()
        and t.isalpha()
        and len(t) >= 3
        and t not in augment.STOPWORDS
        and t != "good"
    ]
    cos = torch.nn.functional.cosine_similarity(
        embeddings[[vocab[c] for c in candidates]], embeddings[vocab["good"]][None]
    )
    assert found["good"] == [candidates[i] for i in cos.topk(3).indices.tolist()]
    assert augment.embedding_neighbours(["good"], tokenizer, embeddings, min_similarity=1.0) == {}
    with pytest.raises(ValueError, match="k must be"):
        augment.embedding_neighbours(["good"], tokenizer, embeddings, k=0)
    with pytest.raises(ValueError, match="vocabulary size"):
        augment.embedding_neighbours(["good"], tokenizer, embeddings[:10])


def test_mixup_of_a_single_example_is_the_plain_loss(tokenizer):
    model = tiny_bert(dropout=0.0).eval()
    batch = collate([{**tokenizer("a good movie"), "labels": 1}], tokenizer)
    outputs = model(**batch)
    loss = augment.MixupLoss(alpha=0.4, weight=1.0, seed=0)(model, batch, outputs)
    torch.testing.assert_close(loss, outputs.loss)
    assert float(augment.MixupLoss(weight=0.0)(model, batch, outputs).detach()) == 0.0


def test_mixup_is_the_lambda_weighted_loss_on_mixed_embeddings(tokenizer):
    model = tiny_bert(dropout=0.0).eval()
    batch = collate(
        [
            {**tokenizer(t), "labels": y}
            for t, y in [("a good movie", 1), ("slow and dull plot here", 0), ("fine", 1)]
        ],
        tokenizer,
    )
    seed, alpha = 5, 0.7
    rng = np.random.default_rng(seed)  # the draws MixupLoss makes on its first call
    lam, perm = rng.beta(alpha, alpha), torch.as_tensor(rng.permutation(3))
    loss = augment.MixupLoss(alpha=alpha, weight=2.0, seed=seed)(model, batch, None)
    embeds = model.bert.embeddings.word_embeddings(batch["input_ids"])
    mask = torch.maximum(batch["attention_mask"], batch["attention_mask"][perm])
    logits = model(
        inputs_embeds=lam * embeds + (1 - lam) * embeds[perm],
        attention_mask=mask,
        token_type_ids=batch["token_type_ids"],
    ).logits
    ce = torch.nn.functional.cross_entropy
    torch.testing.assert_close(
        loss,
        2.0 * (lam * ce(logits, batch["labels"]) + (1 - lam) * ce(logits, batch["labels"][perm])),
    )
    loss.backward()
    assert model.bert.embeddings.word_embeddings.weight.grad.abs().sum() > 0


def test_mixup_trains_through_the_hook(tokenizer):
    texts = ["good fine nice", "bad awful dull", "great movie", "boring plot"] * 4
    encoded = Dataset.from_dict({**tokenizer(texts), "labels": [1, 0, 1, 0] * 4})
    config = TrainConfig(
        epochs=2, batch_size=4, learning_rate=1e-3, task_loss_weight=0.0, progress=False
    )
    model = tiny_bert(dropout=0.0)
    before = [p.detach().clone() for p in model.parameters()]
    result = train(
        model, encoded, tokenizer, config, extra_loss=augment.MixupLoss(alpha=0.4, seed=1)
    )
    assert result.steps == 8 and all(np.isfinite(result.losses))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_input_embeddings_of_a_model_a_wrapped_model_and_a_backbone():
    model = tiny_bert(dropout=0.0)
    layer = input_embeddings(model)
    assert layer is model.bert.embeddings.word_embeddings
    wrapper = torch.nn.Module()
    wrapper.module = model  # how DistributedDataParallel holds the model
    assert input_embeddings(wrapper) is layer
    backbone = input_embeddings("minilm")
    assert isinstance(backbone, torch.nn.Embedding) and backbone.weight.shape[0] == 30522
    with pytest.raises(TypeError, match="word-embedding layer"):
        input_embeddings(torch.nn.Linear(2, 2))


def test_mixup_is_a_hook_object_with_its_own_generator(tokenizer):
    hook = augment.MixupLoss(alpha=0.4, seed=3)
    assert hook.forward_passes == 1
    assert (hook.alpha, hook.weight, hook.seed) == (0.4, 1.0, 3)
    model = tiny_bert(dropout=0.0).eval()
    batch = collate(
        [{**tokenizer(t), "labels": y} for t, y in [("good", 1), ("dull plot", 0)]], tokenizer
    )
    first, second = hook(model, batch, None), hook(model, batch, None)
    assert not torch.equal(first, second)  # each call draws a new lambda
    torch.testing.assert_close(augment.MixupLoss(alpha=0.4, seed=3)(model, batch, None), first)


def test_mixup_rejects_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        augment.MixupLoss(alpha=0)
    with pytest.raises(ValueError, match="weight"):
        augment.MixupLoss(weight=-1)


def test_back_translation_fails_clearly_offline(monkeypatch):
    with pytest.raises(ValueError, match="pivot"):
        augment.back_translate(["hello"], pivot="xx")
    with pytest.raises(ValueError, match="non-empty"):
        augment.back_translate([])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        (BackboneNotFoundError, ModuleNotFoundError), match="sentencepiece|Hugging Face Hub"
    ):
        augment.back_translate(["a good movie"])
