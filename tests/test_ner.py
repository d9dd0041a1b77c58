"""Tests of llmu.ner: sub-word alignment round trips, truncation, entity confidence, seqeval
scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import ClassLabel, Dataset, Features, List, Value
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from llmu import ner
from llmu.data import CONLL2003_TAGS
from llmu.models import load_tokenizer
from llmu.predict import IGNORE_INDEX

TAGS = list(CONLL2003_TAGS)
# Our own sentences; the long words split into several sub-tokens with the uncased MiniLM tokenizer.
SENTENCES = [
    (["Schwarzenegger", "visited", "Johannesburg", "yesterday"], ["B-PER", "O", "B-LOC", "O"]),
    (
        ["The", "Wolfsburg", "Volkswagenwerk", "signed", "Przemyslaw", "Szczepanski"],
        ["O", "B-ORG", "I-ORG", "O", "B-PER", "I-PER"],
    ),
    ([], []),
    (["Unbelievably", ",", "Mississauga", "won"], ["O", "O", "B-LOC", "O"]),
]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("minilm")


def make_split(sentences=SENTENCES) -> Dataset:
    features = Features({"tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=TAGS))})
    return Dataset.from_dict(
        {
            "tokens": [w for w, _ in sentences],
            "ner_tags": [[TAGS.index(t) for t in tags] for _, tags in sentences],
        },
        features=features,
    )


class LookupModel(torch.nn.Module):
    """A fake token classifier that 'predicts' the aligned label at every labelled position and a
    wrong tag (B-MISC) at every position labelled -100, so reading any but the first sub-token
    shows."""

    def __init__(self, encoded: Dataset) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.table = {
            tuple(ids): labels for ids, labels in zip(encoded["input_ids"], encoded["labels"])
        }

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        logits = torch.zeros(*input_ids.shape, len(TAGS))
        for row, (ids, mask) in enumerate(zip(input_ids.tolist(), attention_mask.tolist())):
            labels = self.table[tuple(i for i, m in zip(ids, mask) if m)]
            for j, label in enumerate(labels):
                logits[row, j, TAGS.index("B-MISC") if label == IGNORE_INDEX else label] = 10.0
        return type("Output", (), {"logits": logits})()


def round_trip(split: Dataset, tokenizer, max_length: int, mc_samples=None):
    encoded = ner.tokenize_and_align(split, tokenizer, max_length)
    model = LookupModel(encoded)
    n_words = [len(t) for t in split["tokens"]]
    if mc_samples is None:
        scores = ner.word_logits(model, encoded, tokenizer, n_words, batch_size=3)
    else:
        scores = ner.word_logits(
            model.train(), encoded, tokenizer, n_words, batch_size=3, mc_samples=mc_samples
        )
    return encoded, scores


def test_align_labels_first_sub_token_only():
    assert ner.align_labels([None, 0, 0, 0, 1, 2, 2, None], [1, 0, 5]) == [
        -100,
        1,
        -100,
        -100,
        0,
        5,
        -100,
        -100,
    ]
    assert ner.align_labels([None, None], []) == [-100, -100]
    with pytest.raises(ValueError, match="only 2 word labels"):
        ner.align_labels([None, 0, 1, 2, None], [0, 0])
    with pytest.raises(ValueError, match="non-decreasing"):
        ner.align_labels([None, 1, 0, None], [0, 0])


def test_alignment_labels_first_sub_tokens(tokenizer):
    encoded = ner.tokenize_and_align(make_split(), tokenizer, max_length=64)
    first = encoded[0]
    tokens = tokenizer.convert_ids_to_tokens(first["input_ids"])
    assert tokens[1:4] == ["schwarz", "##ene", "##gger"]  # one word, three sub-tokens
    assert first["labels"][:5] == [
        IGNORE_INDEX,
        TAGS.index("B-PER"),
        IGNORE_INDEX,
        IGNORE_INDEX,
        TAGS.index("O"),
    ]
    assert first["word_ids"][0] == -1 and first["word_ids"][-1] == -1
    for row, (words, tags) in zip(encoded, SENTENCES):
        kept = [label for label in row["labels"] if label != IGNORE_INDEX]
        assert kept == [TAGS.index(t) for t in tags]  # exactly one label per word
        assert len(row["labels"]) == len(row["input_ids"])


@pytest.mark.parametrize("mc_samples", [None, 2])
def test_round_trip_recovers_word_tags(tokenizer, mc_samples):
    split = make_split()
    _, scores = round_trip(split, tokenizer, max_length=64, mc_samples=mc_samples)
    assert scores.n_cut == 0
    assert scores.values.shape == ((mc_samples,) if mc_samples else ()) + (
        sum(len(w) for w, _ in SENTENCES),
        len(TAGS),
    )
    tags = ner.decode_tags(scores.probs(), TAGS)
    assert tags == [t for _, t in SENTENCES]
    np.testing.assert_array_equal(
        ner.gold_word_labels(split["ner_tags"], scores),
        [TAGS.index(t) for _, tags in SENTENCES for t in tags],
    )


def test_empty_sentence(tokenizer):
    split = make_split([([], [])])
    encoded, scores = round_trip(split, tokenizer, max_length=16)
    assert encoded[0]["labels"] == [IGNORE_INDEX, IGNORE_INDEX]
    assert ner.decode_tags(scores.probs(), TAGS) == [[]]
    assert ner.extract_entities([[]]) == []
    assert ner.evaluate([[], ["B-PER"]], [[], ["B-PER"]]).f1 == 1.0


def test_truncated_words_are_predicted_O_and_count_against_recall(tokenizer):
    words, tags = SENTENCES[
        1
    ]  # ... "Przemyslaw Szczepanski" (B-PER I-PER, 5 + 5 sub-tokens) at the end
    split = make_split([(words, tags)])
    encoded, scores = round_trip(
        split, tokenizer, max_length=8
    )  # [CLS] + 6 sub-tokens of 4 words + [SEP]
    assert len(encoded[0]["input_ids"]) == 8
    assert scores.kept.tolist() == [4] and scores.n_cut == 2
    predicted = ner.decode_tags(scores.probs(), TAGS)[0]
    assert predicted == tags[:4] + ["O", "O"]  # kept words exact, cut words "O"
    result = ner.evaluate([tags], [predicted])
    assert (
        result.precision == 1.0 and result.recall == 0.5
    )  # the cut PER entity is missed, not dropped
    # a cut inside an entity: its first word survives, so the predicted entity is too short
    # (strictly wrong)
    _, scores = round_trip(split, tokenizer, max_length=10)
    assert scores.kept.tolist() == [5]
    predicted = ner.decode_tags(scores.probs(), TAGS)[0]
    assert predicted == tags[:5] + ["O"]
    assert ner.evaluate([tags], [predicted]).precision == 0.5


def test_evaluate_equals_seqeval_strict():
    rng = np.random.default_rng(0)
    gold = [
        [TAGS[i] for i in rng.integers(0, len(TAGS), size=n)] for n in rng.integers(1, 12, size=200)
    ]
    gold = ner.ids_to_tags(
        [
            [
                0 if t.startswith("I-") and (j == 0 or s[j - 1][2:] != t[2:]) else TAGS.index(t)
                for j, t in enumerate(s)
            ]
            for s in gold
        ],
        TAGS,
    )  # valid IOB2 gold
    pred = [[t if rng.uniform() < 0.7 else TAGS[rng.integers(len(TAGS))] for t in s] for s in gold]
    scores = ner.evaluate(gold, pred)
    kwargs = {"mode": "strict", "scheme": IOB2}
    assert scores.f1 == f1_score(gold, pred, **kwargs)
    assert scores.precision == precision_score(gold, pred, **kwargs)
    assert scores.recall == recall_score(gold, pred, **kwargs)
    report = classification_report(gold, pred, output_dict=True, **kwargs)
    assert set(scores.per_type) == {"PER", "ORG", "LOC", "MISC"}
    for kind, row in scores.per_type.items():
        assert row["f1"] == report[kind]["f1-score"] and row["support"] == report[kind]["support"]
    # the entity-level correctness of extract_entities reproduces the same precision and recall
    entities = ner.extract_entities(pred)
    correct = ner.entity_correct(entities, gold)
    assert correct.mean() == pytest.approx(scores.precision)
    assert correct.sum() / len(ner.extract_entities(gold)) == pytest.approx(scores.recall)
    counts = ner.sentence_counts(gold, pred)
    assert counts.shape == (len(gold), 3)
    assert ner.f1_from_counts(counts) == pytest.approx(scores.f1)
    tp, predicted, n_gold = counts.sum(axis=0)
    assert (tp / predicted, tp / n_gold) == pytest.approx((scores.precision, scores.recall))
    # default seqeval (not strict) differs on invalid I- fragments: the reason we fix the mode
    assert ner.evaluate([["B-PER", "O"]], [["I-PER", "O"]]).f1 == 0.0
    assert f1_score([["B-PER", "O"]], [["I-PER", "O"]]) == 1.0


def test_entity_confidence_product_mean_min():
    tags = [["B-PER", "I-PER", "O", "B-LOC"], ["I-ORG", "O"]]
    probs = np.full((6, len(TAGS)), 0.0)
    chosen = [0.9, 0.5, 0.8, 0.7, 0.6, 0.95]
    for row, (tag, p) in enumerate(zip([t for s in tags for t in s], chosen)):
        probs[row, TAGS.index(tag)] = p
        probs[row, TAGS.index("B-MISC" if tag != "B-MISC" else "O")] = 1 - p
    scores = ner.WordScores(probs, np.array([4, 2]), np.array([4, 2]))
    by = {r: ner.extract_entities(tags, scores, TAGS, reduce=r) for r in ("product", "mean", "min")}
    assert [(e.sentence, e.start, e.end, e.type) for e in by["product"]] == [
        (0, 0, 2, "PER"),
        (0, 3, 4, "LOC"),
    ]
    assert [e.confidence for e in by["product"]] == pytest.approx([0.45, 0.7])
    assert [e.confidence for e in by["mean"]] == pytest.approx([0.7, 0.7])
    assert [e.confidence for e in by["min"]] == pytest.approx([0.5, 0.7])
    assert ner.entity_correct(
        by["product"], [["B-PER", "I-PER", "O", "B-ORG"], ["O", "O"]]
    ).tolist() == [True, False]
    with pytest.raises(ValueError, match="reduce"):
        ner.extract_entities(tags, scores, TAGS, reduce="max")


def test_entity_outcomes_decode_extract_and_score_each_entity():
    tags = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    flat = [t for s in tags for t in s]
    logits = np.zeros((len(flat), len(TAGS)))
    logits[np.arange(len(flat)), [TAGS.index(t) for t in flat]] = [3.0, 1.0, 2.0, 4.0, 0.5, 2.0]
    scores = ner.WordScores(logits, np.array([4, 2]), np.array([4, 2]))
    gold = [["B-PER", "I-PER", "O", "B-MISC"], ["B-ORG", "O"]]
    for t in (1.0, 2.5):
        probs = scores.probs(t)
        out = ner.entity_outcomes(probs, gold, TAGS)
        entities = ner.extract_entities(ner.decode_tags(probs, TAGS), probs, TAGS)
        np.testing.assert_allclose(out.confidence, [e.confidence for e in entities])
        assert out.correct.tolist() == [True, False, True]  # the LOC should be MISC
    softer = ner.entity_outcomes(scores.probs(2.5), gold, TAGS).confidence
    assert (softer < ner.entity_outcomes(scores.probs(), gold, TAGS).confidence).all()
    confidence, correct = ner.entity_outcomes(scores.probs(), gold, TAGS, reduce="min")
    assert confidence[0] == pytest.approx(scores.probs().values[:2].max(axis=1).min())
    assert correct.dtype == bool


def test_map_entity_types_wnut_to_conll():
    tags = [
        [
            "B-person",
            "I-person",
            "O",
            "B-group",
            "B-corporation",
            "B-creative-work",
            "I-creative-work",
        ]
    ]
    assert ner.map_entity_types(tags, ner.WNUT17_TO_CONLL) == [
        ["B-PER", "I-PER", "O", "B-ORG", "B-ORG", "B-MISC", "I-MISC"]
    ]
    assert ner.map_entity_types([["B-product", "O"]], {"product": None}) == [["O", "O"]]
    with pytest.raises(ValueError, match="mapped type"):
        ner.map_entity_types([["B-event"]], ner.WNUT17_TO_CONLL)


def test_input_errors(tokenizer):
    split = make_split()
    with pytest.raises(ValueError, match="no tag column"):
        ner.tokenize_and_align(split.remove_columns("ner_tags"), tokenizer, 16)
    with pytest.raises(ValueError, match="max_length"):
        ner.tokenize_and_align(split, tokenizer, 2)
    with pytest.raises(ValueError, match="same sentences"):
        ner.evaluate([["O"]], [["O", "O"]])
    with pytest.raises(ValueError, match="word_ids"):
        ner.word_logits(torch.nn.Linear(1, 1), split, tokenizer, [4, 6, 0, 4])


def test_plot_alignment_draws_every_token(tokenizer):
    import matplotlib

    matplotlib.use("Agg")
    from llmu.plots import plot_alignment

    words, tags = SENTENCES[0]
    encoding = tokenizer(words, is_split_into_words=True)
    labels = ner.align_labels(encoding.word_ids(), [TAGS.index(t) for t in tags])
    names = ["-100" if label == IGNORE_INDEX else TAGS[label] for label in labels]
    ax = plot_alignment(words, encoding.tokens(), encoding.word_ids(), names)
    texts = [t.get_text() for t in ax.texts]
    assert set(words) <= set(texts) and "##gger" in texts and texts.count("-100") == 4
    assert ax.get_title() and ax.get_xlabel()
    with pytest.raises(ValueError, match="one entry per token"):
        plot_alignment(words, encoding.tokens(), encoding.word_ids(), names[:-1])


def test_fit_entity_temperature_minimises_entity_log_loss():
    rng = np.random.default_rng(1)
    tags = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]] * 40
    logits = rng.normal(0, 1, size=(sum(map(len, tags)), len(TAGS)))
    flat = [t for s in tags for t in s]
    logits[np.arange(len(flat)), [TAGS.index(t) for t in flat]] += (
        4.0  # predicted tags = these tags
    )
    scores = ner.WordScores(
        logits, np.array([len(s) for s in tags]), np.array([len(s) for s in tags])
    )
    gold = [
        s if i % 3 else ["O"] * len(s) for i, s in enumerate(tags)
    ]  # a third of the sentences: all wrong

    def log_loss(t):
        entities = ner.extract_entities(tags, scores.probs(t), TAGS)
        c = np.array([e.confidence for e in entities])
        ok = ner.entity_correct(entities, gold)
        return -np.mean(np.where(ok, np.log(c), np.log1p(-c)))

    t = ner.fit_entity_temperature(scores, gold, TAGS)
    assert t > 1  # confident logits but a third wrong: the entity confidences must soften
    for other in (t * 0.8, t * 1.25, 1.0):
        assert log_loss(t) <= log_loss(other) + 1e-9
    with pytest.raises(ValueError, match="no entity"):
        ner.fit_entity_temperature(
            scores.replace(np.eye(len(TAGS))[[0] * len(flat)] * 5), gold, TAGS
        )


def test_cross_fit_entity_temperature_scales_each_fold_with_a_temperature_fitted_without_it():
    rng = np.random.default_rng(2)
    tags = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], []] * 30
    flat = [t for s in tags for t in s]
    logits = rng.normal(0, 1, size=(len(flat), len(TAGS)))
    logits[np.arange(len(flat)), [TAGS.index(t) for t in flat]] += rng.uniform(2, 6, size=len(flat))
    lengths = np.array([len(s) for s in tags])
    scores = ner.WordScores(logits, lengths, lengths)
    gold = [s if i % 4 else ["O"] * len(s) for i, s in enumerate(tags)]
    documents = np.repeat(np.arange(18), 5)  # 90 sentences in 18 documents

    crossfit = ner.cross_fit_entity_temperature(scores, gold, TAGS, documents, n_folds=3, seed=0)
    assert crossfit.temperatures.shape == (3,) and sorted(set(crossfit.fold)) == [0, 1, 2]
    assert all(
        len(set(crossfit.fold[documents == d])) == 1 for d in range(18)
    )  # no document straddles folds
    assert crossfit.probs.kept.tolist() == lengths.tolist()
    for k, temperature in enumerate(crossfit.temperatures):
        held, fit = np.flatnonzero(crossfit.fold == k), np.flatnonzero(crossfit.fold != k)
        assert temperature == pytest.approx(
            ner.fit_entity_temperature(scores.select(fit), [gold[i] for i in fit], TAGS)
        )
        np.testing.assert_allclose(
            crossfit.probs.select(held).values, scores.select(held).probs(temperature).values
        )
    again = ner.cross_fit_entity_temperature(scores, gold, TAGS, documents, n_folds=3, seed=0)
    np.testing.assert_array_equal(again.fold, crossfit.fold)

    with pytest.raises(ValueError, match="one group"):
        ner.cross_fit_entity_temperature(scores, gold, TAGS, documents[:-1])
    with pytest.raises(ValueError, match="n_folds"):
        ner.cross_fit_entity_temperature(scores, gold, TAGS, documents, n_folds=19)
    with pytest.raises(ValueError, match="n_folds"):
        ner.cross_fit_entity_temperature(scores, gold, TAGS, documents, n_folds=1)
    with pytest.raises(ValueError, match="gold tags of 89"):
        ner.cross_fit_entity_temperature(scores, gold[:-1], TAGS, documents)


def test_word_scores_select_keeps_each_sentence_rows():
    values = np.arange(12, dtype=float).reshape(6, 2)  # sentences of 3, 0 and 3 kept words
    scores = ner.WordScores(values, np.array([3, 0, 3]), np.array([4, 1, 3]))
    picked = scores.select([2, 0])
    np.testing.assert_array_equal(picked.values, np.concatenate([values[3:], values[:3]]))
    assert (
        picked.kept.tolist() == [3, 3] and picked.n_words.tolist() == [3, 4] and picked.n_cut == 1
    )
    assert scores.select([1]).values.shape == (0, 2)
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        scores.select([3])
