"""Adversarial training on embeddings (FGM, PGD, FreeLB) and the word/character attacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_bert
from datasets import ClassLabel, Dataset, Features, Value

from llmu import adversarial as adv
from llmu.config import seed_everything
from llmu.train import TrainConfig, train

# --------------------------------------------------------------------------- a tiny model and batch


def tiny_batch(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 60, (6, 9), generator=generator)
    mask = torch.ones_like(ids)
    mask[0, 6:] = 0  # padding at the end of two rows
    mask[3, 4:] = 0
    ids[mask == 0] = 0
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "labels": torch.randint(0, 2, (6,), generator=generator),
    }


def loss_at(model: torch.nn.Module, batch: dict[str, torch.Tensor], delta: torch.Tensor) -> float:
    with torch.no_grad(), adv.perturbed_embeddings(model, delta):
        return float(model(**batch).loss)


ADVERSARIES = [
    adv.EmbeddingAdversary("fgm", epsilon=0.5),
    adv.EmbeddingAdversary("pgd", epsilon=0.5, steps=3),
    adv.EmbeddingAdversary("freelb", epsilon=0.5, steps=2),
    adv.EmbeddingAdversary("pgd", epsilon=2.0, steps=2, norm="sequence"),
]


@pytest.mark.parametrize("adversary", ADVERSARIES, ids=lambda a: f"{a.method}-{a.norm}")
def test_perturbation_stays_in_the_ball_and_off_padding(adversary):
    model, batch = tiny_bert(vocab_size=60, hidden_size=16, dropout=0.0).eval(), tiny_batch()
    delta, _ = adversary.perturb(model, batch)
    assert delta.shape == (*batch["input_ids"].shape, model.config.hidden_size)
    norms = delta.norm(dim=-1) if adversary.norm == "token" else delta.flatten(1).norm(dim=1)
    assert norms.max() <= adversary.epsilon + 1e-5
    assert norms.max() >= 0.5 * adversary.epsilon  # it does move
    assert torch.all(delta[batch["attention_mask"] == 0] == 0)


@pytest.mark.parametrize("adversary", ADVERSARIES[:2], ids=["fgm", "pgd"])
def test_loss_increases_along_the_perturbation(adversary):
    model = tiny_bert(vocab_size=60, hidden_size=16, dropout=0.0).eval()
    for seed in range(3):
        batch = tiny_batch(seed)
        delta, _ = adversary.perturb(model, batch)
        clean = loss_at(model, batch, torch.zeros_like(delta))
        assert loss_at(model, batch, delta) > clean
        random = adv.project(torch.randn_like(delta), adversary.epsilon) * batch[
            "attention_mask"
        ].unsqueeze(-1)
        assert loss_at(model, batch, delta) > loss_at(
            model, batch, random
        )  # the gradient direction is better than chance


def test_fgm_is_the_normalised_gradient_step():
    model, batch = tiny_bert(vocab_size=60, hidden_size=16, dropout=0.0).eval(), tiny_batch()
    delta, _ = adv.EmbeddingAdversary("fgm", epsilon=0.3).perturb(model, batch)
    zero = torch.zeros_like(delta, requires_grad=True)
    with adv.perturbed_embeddings(model, zero):
        (grad,) = torch.autograd.grad(model(**batch).loss, zero)
    expected = (
        0.3
        * grad
        / grad.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        * batch["attention_mask"].unsqueeze(-1)
    )
    torch.testing.assert_close(delta, expected)


def test_fgm_reuses_the_clean_forward_pass():
    model, batch = tiny_bert(vocab_size=60, hidden_size=16, dropout=0.0).eval(), tiny_batch()
    fgm = adv.EmbeddingAdversary("fgm", epsilon=0.4, norm="sequence")
    expected, _ = fgm.perturb(model, batch)  # no outputs: its own forward pass at delta = 0
    passes = []
    adv.input_embeddings(model).register_forward_hook(lambda *_: passes.append(1))
    # the first call with outputs installs the recording hook and still pays for the pass
    fgm(model, batch, model(**batch))
    passes.clear()
    outputs = model(**batch)  # the training loop's clean pass, now recorded
    delta, _ = fgm.perturb(model, batch, outputs)
    assert len(passes) == 1  # the clean pass only: the gradient came from its graph
    torch.testing.assert_close(delta, expected)
    assert delta.flatten(1).norm(dim=1).max() == pytest.approx(0.4, rel=1e-4)
    outputs.loss.backward()  # the clean graph is still there for the training step
    # outputs of another batch's forward pass are not in this batch's graph: it falls back
    other = tiny_batch(1)
    stale = model(**other)
    model(**batch)  # the recorded embeddings now belong to another pass than stale's
    passes.clear()
    delta, _ = fgm.perturb(model, other, stale)
    assert len(passes) == 1  # the fallback's own pass at delta = 0
    torch.testing.assert_close(delta, fgm.perturb(model, other)[0])
    assert fgm.forward_passes == 1
    assert adv.EmbeddingAdversary("pgd", steps=3).forward_passes == 4
    assert adv.EmbeddingAdversary("freelb", steps=3).forward_passes == 3


@pytest.mark.parametrize("adversary", ADVERSARIES, ids=lambda a: f"{a.method}-{a.norm}")
def test_adversarial_loss_reaches_every_parameter(adversary):
    model, batch = tiny_bert(vocab_size=60, hidden_size=16, dropout=0.0).eval(), tiny_batch()
    model.train()
    loss = adversary(model, batch, outputs=None)
    assert loss.ndim == 0 and loss > 0
    loss.backward()
    missing = [
        n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)
    ]
    assert missing == []
    assert model.bert.embeddings.word_embeddings.weight.grad.abs().sum() > 0


def test_hook_is_removed_after_the_block():
    model, batch = tiny_bert(vocab_size=60, hidden_size=16, dropout=0.0).eval(), tiny_batch()
    before = loss_at(model, batch, torch.zeros(*batch["input_ids"].shape, 16))
    adv.EmbeddingAdversary("pgd", epsilon=1.0, steps=2).perturb(model, batch)
    with torch.no_grad():
        assert float(model(**batch).loss) == pytest.approx(before)
    with (
        pytest.raises(ValueError, match="does not fit"),
        adv.perturbed_embeddings(model, torch.zeros(1, 2, 16)),
    ):
        model(**batch)


def test_project_and_direction():
    x = torch.tensor([[[3.0, 4.0], [0.3, 0.4]]])
    torch.testing.assert_close(adv.project(x, 1.0), torch.tensor([[[0.6, 0.8], [0.3, 0.4]]]))
    assert adv.project(x, 1.0, "sequence").flatten().norm() == pytest.approx(1.0)
    torch.testing.assert_close(adv.ascent_direction(x).norm(dim=-1), torch.ones(1, 2))
    assert torch.all(adv.ascent_direction(torch.zeros(1, 2, 2)) == 0)
    with pytest.raises(ValueError, match="norm"):
        adv.project(x, 1.0, "linf")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "mixup"}, "method"),
        ({"epsilon": 0}, "epsilon"),
        ({"method": "fgm", "steps": 2}, "fgm takes exactly one step"),
        ({"method": "pgd", "steps": 0}, "steps"),
        ({"norm": "l1"}, "norm"),
    ],
)
def test_adversary_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        adv.EmbeddingAdversary(**kwargs)


def test_adversarial_training_through_the_train_hook():
    """FGM as extra_loss: training runs and the loss goes down on a learnable toy task."""
    seed_everything(0)
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 60, size=(48, 8))
    labels = (ids[:, 1] < 30).astype(int)  # the label is written in the first word
    data = Dataset.from_dict(
        {
            "input_ids": ids.tolist(),
            "attention_mask": np.ones_like(ids).tolist(),
            "labels": labels.tolist(),
        }
    )

    class Padder:  # what collate needs from a tokenizer
        def pad(self, features, return_tensors):
            return {k: torch.tensor([f[k] for f in features]) for k in features[0]}

    model = tiny_bert(vocab_size=60, hidden_size=16, dropout=0.0).eval()
    result = train(
        model,
        data,
        Padder(),
        TrainConfig(epochs=6, batch_size=8, learning_rate=3e-3, progress=False),
        extra_loss=adv.EmbeddingAdversary("fgm", epsilon=0.1),
    )
    assert np.mean(result.losses[-6:]) < np.mean(result.losses[:6])


# --------------------------------------------------------------------------- candidates


def test_typo_candidates_are_one_edit_deterministic_and_keep_the_ends():
    word = "terrible"
    typos = adv.typo_candidates(word, n=8, seed=0)
    assert typos == adv.typo_candidates(word, n=8, seed=0)
    assert typos != adv.typo_candidates(word, n=8, seed=1)
    assert len(typos) == 8 and len(set(typos)) == 8 and word not in typos
    for typo in typos:
        assert typo[0] == word[0] and typo[-1] == word[-1]
        assert abs(len(typo) - len(word)) <= 1
        assert sum(a != b for a, b in zip(typo, word)) >= 1 or len(typo) != len(word)
    assert adv.typo_candidates("it") == [] and adv.typo_candidates("it's") == []
    assert set(adv.typo_candidates("bad", n=100)) == {
        "bd",
        "bsad",
        "bsd",
    }  # delete, insert or substitute a keyboard neighbour
    assert len(adv.typo_candidates("good", n=100)) > 8


def test_word_polarity_and_same_polarity_filter():
    features = Features(
        {"text": Value("string"), "label": ClassLabel(names=["negative", "positive"])}
    )
    train_split = Dataset.from_dict(
        {"text": ["good", "bad ", "terrible", "a good movie", "great"], "label": [1, 0, 0, 1, 1]},
        features=features,
    )
    polarity = adv.word_polarity(train_split)
    assert polarity == {"good": 1, "bad": 0, "terrible": 0, "great": 1}
    neighbours = {
        "good": ["bad", "great", "nice"],
        "bad": ["good", "terrible"],
        "movie": ["film", "great"],
    }
    assert adv.same_polarity(neighbours, polarity) == {
        "good": ["great"],
        "bad": ["terrible"],
        "movie": ["film"],
    }
    with pytest.raises(ValueError, match="no column"):
        adv.word_polarity(train_split, text_column="sentence")


def test_lexicon_label_falls_back_to_the_base_form():
    polarity = {"rich": 1, "poor": 0, "funny": 1, "sad": 0, "nice": 1, "dull": 0, "bore": 0}
    cases = {
        "rich": 1, "richer": 1, "poorer": 0, "richest": 1, "funnier": 1, "funniest": 1,
        "sadder": 0, "nicest": 1, "sadly": 0, "bored": 0, "boring": 0, "Richer": 1,
        "film": None, "ser": None,  # no base form of three letters or more
    }  # fmt: skip
    assert {w: adv.lexicon_label(w, polarity) for w in cases} == cases
    neighbours = {"richer": ["poorer", "richest", "wealthier"], "film": ["movie", "sadder"]}
    # the comparative antonym is caught through its base form; an unlabelled word may only
    # be replaced by an unlabelled one
    assert adv.same_polarity(neighbours, polarity) == {"richer": ["richest"], "film": ["movie"]}


def test_flips_sentiment_against_the_vader_lexicon():
    valence = adv.vader_valence()
    assert len(valence) > 7000
    assert valence["richer"] > 0 > valence["poorer"]
    assert adv.flips_sentiment("Richer", "poorer", valence)
    assert not adv.flips_sentiment("good", "great", valence)
    assert not adv.flips_sentiment("film", "bad", valence)  # a word VADER does not rate


# ------------------------------------------------------------------- attacks with a fake classifier

WEIGHTS = {
    "good": 2.0,
    "great": 2.0,
    "fine": 0.5,
    "bad": -2.0,
    "awful": -2.0,
    "meh": -0.5,
    "plot": 0.0,
    "okay": 0.0,
}
SWAPS = {
    "good": ["fine", "meh"],
    "great": ["fine", "meh"],
    "bad": ["meh", "fine"],
    "awful": ["meh", "fine"],
    "plot": ["story"],
}


class FakeClassifier:
    """p(positive) = sigmoid(sum of word weights + 0.1); counts its calls and scored texts."""

    def __init__(self) -> None:
        self.calls, self.texts = 0, 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        z = np.array([sum(WEIGHTS.get(w, 0.0) for w in t.split()) + 0.1 for t in texts])
        p = 1 / (1 + np.exp(-z))
        return np.stack([1 - p, p], axis=1)


TEXTS = [
    "good plot",
    "a great great film",
    "bad acting",
    "awful awful plot",
    "good but bad",
    "bad film",
]
LABELS = [1, 1, 0, 0, 1, 1]  # the last one is misclassified, so never attacked


def attack(max_changes: int = 1, scorer: FakeClassifier | None = None) -> adv.AttackResult:
    return adv.greedy_attack(
        TEXTS,
        LABELS,
        scorer or FakeClassifier(),
        lambda w: SWAPS.get(w, []),
        max_changes=max_changes,
        skip={"a", "but"},
    )


def test_attack_flips_what_one_word_can_flip_and_respects_the_budget():
    result = attack(max_changes=1)
    assert result.attacked.tolist() == [True, True, True, True, True, False]
    assert result.adversarial_texts[0] == "meh plot"  # the swap that lowers p(positive) most
    assert result.adversarial_texts[2] == "fine acting"
    # two strong words: one change is not enough, the best single swap is still kept
    assert result.adversarial_texts[1] == "a meh great film" and not result.success[1]
    assert result.adversarial_texts[5] == TEXTS[5]  # misclassified: untouched
    for before, after, changed in zip(TEXTS, result.adversarial_texts, result.words_changed):
        assert sum(a != b for a, b in zip(before.split(), after.split())) == changed <= 1
    assert result.success.tolist() == [True, False, True, False, True, False]
    assert result.clean_accuracy == pytest.approx(5 / 6)
    assert result.robust_accuracy == pytest.approx(2 / 6)
    assert result.success_rate == pytest.approx(3 / 5)
    assert [row["original"] for row in result.examples(2)] == ["good plot", "bad acting"]
    assert result.swaps() == [("good", "meh"), ("bad", "fine"), ("good", "meh")]


def test_a_larger_budget_is_at_least_as_strong():
    one, two = attack(max_changes=1), attack(max_changes=2)
    assert two.success.tolist() == [True, True, True, True, True, False]
    assert np.all(two.success >= one.success) and two.robust_accuracy <= one.robust_accuracy
    assert two.words_changed.max() == 2


def test_attack_is_batched_and_deterministic():
    scorer = FakeClassifier()
    first = attack(max_changes=2, scorer=scorer)
    # one call for the clean texts, one for the importance deletions, then one per step
    assert scorer.calls <= 2 + 3
    assert scorer.texts == first.queries
    second = attack(max_changes=2)
    assert second.adversarial_texts == first.adversarial_texts
    np.testing.assert_array_equal(second.adversarial_probs, first.adversarial_probs)
    again = adv.greedy_attack(
        TEXTS,
        LABELS,
        FakeClassifier(),
        lambda w: SWAPS.get(w, []),
        max_changes=2,
        skip={"a", "but"},
        importance=first.importance,
    )
    assert again.adversarial_texts == first.adversarial_texts and again.queries < first.queries


def test_words_are_ranked_by_importance():
    scorer = FakeClassifier()
    order, queries = adv.word_importance(
        ["plot good fine"], np.array([1]), scorer, lambda w: w in WEIGHTS
    )
    assert order == [[1, 2, 0]] and queries == 4


def test_attack_rejects_bad_inputs():
    with pytest.raises(ValueError, match="as many labels"):
        adv.greedy_attack(["a b"], [0, 1], FakeClassifier(), lambda w: [])
    with pytest.raises(ValueError, match="max_changes"):
        adv.greedy_attack(["a b"], [0], FakeClassifier(), lambda w: [], max_changes=0)
    with pytest.raises(ValueError, match="labels in"):
        adv.greedy_attack(["a b"], [2], FakeClassifier(), lambda w: [])


def test_typo_augment_changes_one_word_of_the_chosen_texts_deterministically():
    texts = ["a gripping thriller", "ok", "the plot is thin but the cast shines"] * 20
    once = adv.typo_augment(texts, rate=0.5, seed=3)
    assert once == adv.typo_augment(texts, rate=0.5, seed=3)
    assert len(once) == len(texts)
    changed = 0
    for before, after in zip(texts, once):
        a, b = before.split(" "), after.split(" ")
        assert len(a) == len(b)
        diff = [(x, y) for x, y in zip(a, b) if x != y]
        assert len(diff) <= 1
        if diff:
            changed += 1
            word, typo = diff[0]
            assert typo != word and abs(len(typo) - len(word)) <= 1
            assert typo[0] == word[0] and typo[-1] == word[-1]
    assert "ok" in once  # no word of three letters or more: unchanged
    assert 0 < changed < len(texts)
    assert adv.typo_augment(texts, rate=0.0, seed=3) == texts
    assert all(
        x != y for x, y in zip(adv.typo_augment(texts, rate=1.0, seed=3), texts) if x != "ok"
    )
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\]"):
        adv.typo_augment(texts, rate=1.5, seed=0)
