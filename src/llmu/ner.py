"""Named-entity recognition done right: sub-word label alignment, word-level decoding, entity
confidence, and entity-level scores with seqeval in strict IOB2 mode.

Conventions. A *sentence* is a list of words with one IOB2 tag each. The tokenizer splits words
into sub-tokens; only the **first sub-token of each word** carries the word's label, every other
sub-token and every special token gets ``-100`` (ignored by the loss). Predictions are read back
at those first sub-tokens, so there is exactly one prediction per word. A sentence longer than
``max_length`` sub-tokens loses its last words to truncation: those words get no prediction,
:func:`decode_tags` tags them ``"O"``, and so any entity among them counts as missed (against
recall), never silently dropped from the gold standard.

Entity confidence (:func:`extract_entities`) is by default the **product** of the probabilities
of the predicted tags of the entity's words. Under the per-word factorisation that a
token-classification head makes, that product is the model's probability that every tag of the
span is right -- and strict entity matching needs every tag right. The mean of those
probabilities is not the probability of anything and stays high for a long entity with one
doubtful word; ``"mean"`` and ``"min"`` are offered for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from datasets import ClassLabel, Dataset
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2, Entities
from sklearn.model_selection import GroupKFold
from transformers import PreTrainedTokenizerBase

from llmu._checks import check_bounds, check_int, check_probs
from llmu.calibration import TemperatureScaler
from llmu.config import Profile, seed_everything
from llmu.models import load_token_classifier, load_tokenizer
from llmu.predict import IGNORE_INDEX, FineTuned, iter_logits
from llmu.train import TrainConfig, train

__all__ = [
    "WNUT17_TO_CONLL",
    "CrossFittedProbs",
    "Entity",
    "EntityOutcomes",
    "NERScores",
    "TokenClassifier",
    "WordScores",
    "align_labels",
    "cross_fit_entity_temperature",
    "decode_tags",
    "entity_correct",
    "entity_outcomes",
    "evaluate",
    "extract_entities",
    "f1_from_counts",
    "fine_tune_token_classifier",
    "fit_entity_temperature",
    "gold_word_labels",
    "ids_to_tags",
    "map_entity_types",
    "sentence_counts",
    "tokenize_and_align",
    "word_logits",
]

Reduce = Literal["product", "mean", "min"]

#: WNUT-17 types -> CoNLL-2003 types, for scoring a CoNLL model on WNUT-17 (lesson 08 argues it).
WNUT17_TO_CONLL: dict[str, str] = {
    "person": "PER",
    "location": "LOC",
    "corporation": "ORG",
    "group": "ORG",
    "product": "MISC",
    "creative-work": "MISC",
}


# --------------------------------------------------------------------------- alignment


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """Token labels from word labels: the first sub-token of word ``w`` gets ``word_labels[w]``,
    later sub-tokens of the same word and special tokens (``None``) get ``-100``.

    ``word_ids`` is the fast tokenizer's ``encoding.word_ids(i)``. Words missing from it (cut off
    by truncation) simply get no token; :class:`WordScores` keeps count of them.
    """
    known = [w for w in word_ids if w is not None]
    if known and max(known) >= len(word_labels):
        raise ValueError(
            f"word_ids refer to word {max(known)} but there are only {len(word_labels)} "
            "word labels; pass the labels of the same sentence that was tokenized"
        )
    if any(b < a for a, b in zip(known, known[1:])):
        raise ValueError(
            "word_ids must be non-decreasing (one sentence, words in order); got "
            + str(list(word_ids))
        )
    labels = []
    previous = None
    for word in word_ids:
        labels.append(IGNORE_INDEX if word is None or word == previous else int(word_labels[word]))
        previous = word
    return labels


def tokenize_and_align(
    split: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    tags_column: str | None = "ner_tags",
) -> Dataset:
    """Tokenize pre-split words (``tokens`` column) and align the word tags to the sub-tokens.

    Returns the token columns, ``word_ids`` (the word index of each token, -1 for special
    tokens) and, unless ``tags_column`` is None, ``labels`` from :func:`align_labels`. Drop
    ``word_ids`` before training (:func:`fine_tune_token_classifier` does).
    """
    if "tokens" not in split.column_names:
        raise ValueError(
            f"expected a 'tokens' column of pre-split words; columns are {split.column_names}"
        )
    if tags_column is not None and tags_column not in split.column_names:
        raise ValueError(
            f"no tag column {tags_column!r}; columns are {split.column_names} "
            "(or pass tags_column=None)"
        )
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            "label alignment needs a fast tokenizer (word_ids()); "
            "load it with llmu.models.load_tokenizer"
        )
    check_int(max_length, "max_length", 3, "Two special tokens and a word need 3.")

    # One tokenizer call on the whole column (Dataset.map would hash the tokenizer first).
    words = split["tokens"][:]
    encoded = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
    out = dict(encoded)
    ids = [encoded.word_ids(i) for i in range(len(words))]
    out["word_ids"] = [[-1 if w is None else w for w in row] for row in ids]
    if tags_column is not None:
        out["labels"] = [
            align_labels(row, tags) for row, tags in zip(ids, split[tags_column][:])
        ]
    return Dataset.from_dict(out)


# --------------------------------------------------------------------------- word-level scores


@dataclass(frozen=True, eq=False)
class WordScores:
    """One row of scores (logits or probabilities) per predicted word, for many sentences, stored
    flat.

    ``values`` has shape ``(words, C)`` (or ``(S, words, C)`` for S Monte Carlo samples); sentence
    ``i`` owns ``kept[i]`` consecutive rows, its first ``kept[i]`` words. ``n_words[i] - kept[i]``
    words were cut off by truncation and have no row.
    """

    values: np.ndarray
    kept: np.ndarray
    n_words: np.ndarray

    def __post_init__(self) -> None:
        if self.values.ndim not in (2, 3) or self.values.shape[-2] != int(self.kept.sum()):
            raise ValueError(
                f"values must have shape ([S,] {int(self.kept.sum())}, C); got {self.values.shape}"
            )
        if (self.kept > self.n_words).any() or (self.kept < 0).any():
            raise ValueError(
                "kept words must lie between 0 and the number of words of each sentence"
            )

    @property
    def n_cut(self) -> int:
        """Words cut off by truncation (no prediction; decoded as ``"O"``)."""
        return int((self.n_words - self.kept).sum())

    def replace(self, values: np.ndarray) -> WordScores:
        """The same sentences with new per-word values (e.g. probabilities after temperature
        scaling)."""
        return WordScores(np.asarray(values), self.kept, self.n_words)

    def select(self, sentences: Sequence[int] | np.ndarray) -> WordScores:
        """The scores of the sentences with the given indices, in that order."""
        index = np.asarray(sentences, dtype=int)
        if index.size and (index.min() < 0 or index.max() >= len(self.kept)):
            raise IndexError(
                f"sentence indices must lie in [0, {len(self.kept)}); "
                f"got {index.min()}..{index.max()}"
            )
        parts = self.sentences()
        values = (
            np.concatenate([parts[i] for i in index], axis=-2)
            if index.size
            else self.values[..., :0, :]
        )
        return WordScores(values, self.kept[index], self.n_words[index])

    def sentences(self) -> list[np.ndarray]:
        """The rows of each sentence (views into ``values``)."""
        return np.split(self.values, np.cumsum(self.kept)[:-1], axis=-2)

    def probs(self, temperature: float = 1.0) -> WordScores:
        """Softmax of ``values / temperature`` (values are logits), averaged over MC samples if
        any."""
        flat = self.values.reshape(-1, self.values.shape[-1])
        if len(flat) == 0:  # only empty sentences
            return self.replace(np.zeros(self.values.shape[-2:]))
        p = TemperatureScaler(temperature).predict_proba(flat).reshape(self.values.shape)
        return self.replace(p.mean(axis=0) if p.ndim == 3 else p)


def word_logits(
    model: torch.nn.Module,
    encoded: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    n_words: Sequence[int],
    batch_size: int = 128,
    device: torch.device | None = None,
    mc_samples: int | None = None,
) -> WordScores:
    """The logits at the first sub-token of every word of a :func:`tokenize_and_align` data set.

    ``n_words[i]`` is the number of words of sentence ``i`` (to count truncated ones). With
    ``mc_samples=K`` (inside :func:`llmu.predict.dropout_active`) the values have shape
    (K, words, C).
    """
    if "word_ids" not in encoded.column_names:
        raise ValueError(
            "encoded has no 'word_ids' column; build it with llmu.ner.tokenize_and_align"
        )
    if len(n_words) != len(encoded):
        raise ValueError(f"n_words has {len(n_words)} entries for {len(encoded)} sentences")
    firsts = []
    for row in encoded["word_ids"][:]:
        ids = np.asarray(row)
        firsts.append(np.flatnonzero((ids >= 0) & (ids != np.concatenate([[-1], ids[:-1]]))))
    kept = np.array([len(f) for f in firsts])
    starts = np.concatenate([[0], np.cumsum(kept)])
    out: np.ndarray | None = None
    for indices, logits in iter_logits(model, encoded, tokenizer, batch_size, device, mc_samples):
        values = logits.cpu().numpy()
        if values.ndim != (3 if mc_samples is None else 4):
            raise ValueError(
                "expected a token classifier (logits per token), "
                f"got logits of shape {values.shape}"
            )
        if out is None:
            out = np.empty(
                (*values.shape[:-3], int(kept.sum()), values.shape[-1]), dtype=np.float32
            )
        for row, i in enumerate(indices):
            out[..., starts[i] : starts[i + 1], :] = values[..., row, firsts[i], :]
    assert out is not None
    return WordScores(out, kept, np.asarray(n_words))


def gold_word_labels(tags: Sequence[Sequence[int]], scores: WordScores) -> np.ndarray:
    """The gold tag ids of the words that have a prediction, flat, aligned with
    ``scores.values``."""
    if len(tags) != len(scores.kept):
        raise ValueError(f"got tags of {len(tags)} sentences for scores of {len(scores.kept)}")
    return np.array(
        [t for sentence, k in zip(tags, scores.kept) for t in list(sentence)[:k]], dtype=np.int64
    )


def ids_to_tags(ids: Sequence[Sequence[int]], label_names: Sequence[str]) -> list[list[str]]:
    """Tag ids (e.g. the ``ner_tags`` column) as tag strings."""
    names = list(label_names)
    return [[names[int(i)] for i in sentence] for sentence in ids]


def decode_tags(probs: WordScores, label_names: Sequence[str]) -> list[list[str]]:
    """The most probable tag of every word; words cut off by truncation are tagged ``"O"``.

    No repair of invalid IOB2 (an ``I-X`` that follows no ``X``): seqeval's strict mode ignores
    such a fragment, so it is never an entity, and the model pays for it in recall.
    """
    names = list(label_names)
    if probs.values.ndim != 2 or probs.values.shape[1] != len(names):
        raise ValueError(
            f"expected word probabilities of shape (words, {len(names)}); got {probs.values.shape}"
        )
    best = probs.values.argmax(axis=1)
    tags = []
    for start, k, n in zip(np.cumsum(probs.kept) - probs.kept, probs.kept, probs.n_words):
        tags.append([names[i] for i in best[start : start + k]] + ["O"] * int(n - k))
    return tags


def map_entity_types(
    tags: Sequence[Sequence[str]], mapping: Mapping[str, str | None]
) -> list[list[str]]:
    """Rename entity types in IOB2 tags (``B-person`` -> ``B-PER``); a type mapped to None
    becomes ``O``.

    Every type that occurs must be a key of ``mapping``, so no type is dropped by accident.
    """
    out = []
    for sentence in tags:
        row = []
        for tag in sentence:
            if tag == "O":
                row.append(tag)
                continue
            prefix, _, kind = tag.partition("-")
            if prefix not in ("B", "I") or kind not in mapping:
                raise ValueError(
                    f"tag {tag!r} is not B-/I- of a mapped type; mapping has {sorted(mapping)}"
                )
            row.append("O" if mapping[kind] is None else f"{prefix}-{mapping[kind]}")
        out.append(row)
    return out


# --------------------------------------------------------------------------- entities


@dataclass(frozen=True)
class Entity:
    """A predicted entity: words ``start:end`` (end exclusive) of sentence ``sentence``."""

    sentence: int
    start: int
    end: int
    type: str
    confidence: float


def _check_tags(tags: Any, name: str) -> list[list[str]]:
    if isinstance(tags, str) or not all(
        isinstance(s, Sequence) and not isinstance(s, str) for s in tags
    ):
        raise ValueError(f"{name} must be a list of sentences, each a list of tag strings")
    return [list(s) for s in tags]


def extract_entities(
    tags: Sequence[Sequence[str]],
    probs: WordScores | None = None,
    label_names: Sequence[str] | None = None,
    reduce: Reduce = "product",
) -> list[Entity]:
    """The entities of IOB2 ``tags`` as seqeval's strict mode reads them, with a confidence each.

    The confidence combines, over the entity's words, the probability of the tag predicted for
    the word (``probs`` with columns ``label_names``): their ``"product"`` (default; see the module
    docstring), ``"mean"`` or ``"min"``. Without ``probs`` every confidence is 1.
    """
    tags = _check_tags(tags, "tags")
    if reduce not in ("product", "mean", "min"):
        raise ValueError(f'reduce must be "product", "mean" or "min"; got {reduce!r}')
    rows: list[np.ndarray] = []
    index: dict[str, int] = {}
    if probs is not None:
        if label_names is None:
            raise ValueError("pass label_names (the columns of probs) with probs")
        if probs.values.size:
            check_probs(probs.values)
        if len(probs.kept) != len(tags) or any(len(t) != n for t, n in zip(tags, probs.n_words)):
            raise ValueError(
                "tags and probs must describe the same sentences with the same number of words"
            )
        rows = probs.sentences()
        index = {name: i for i, name in enumerate(label_names)}
    combine = {"product": np.prod, "mean": np.mean, "min": np.min}[reduce]
    entities = []
    for sentence in Entities(tags, IOB2, suffix=False).entities:
        for e in sentence:
            confidence = 1.0
            if probs is not None:
                p = rows[e.sent_id]
                # words cut off by truncation (beyond the kept rows) cannot start an entity:
                # they are "O"
                picked = [p[w, index[tags[e.sent_id][w]]] for w in range(e.start, e.end)]
                confidence = float(combine(picked))
            entities.append(Entity(e.sent_id, e.start, e.end, e.tag, confidence))
    return entities


def fit_entity_temperature(
    logits: WordScores,
    gold_tags: Sequence[Sequence[str]],
    label_names: Sequence[str],
    bounds: tuple[float, float] = (0.05, 20.0),
) -> float:
    r"""The temperature that makes the *entity* confidences (product rule) best on held-out data.

    The tags, and so the entities, do not depend on :math:`T`; each entity's confidence
    :math:`c_e(T) = \prod_{w \in e} \mathrm{softmax}(z_w / T)_{\hat y_w}` does. We minimise the
    binary log loss :math:`-\frac1m \sum_e [o_e \log c_e(T) + (1 - o_e) \log(1 - c_e(T))]` of the
    outcomes :math:`o_e` (entity exactly right) over :math:`\log T` in ``bounds`` (bounded Brent).
    A word-level temperature minimises the word NLL instead, which need not calibrate entities.
    """
    from scipy.optimize import minimize_scalar

    if logits.values.ndim != 2:
        raise ValueError(f"expected word logits of shape (words, C), got {logits.values.shape}")
    bounds = check_bounds(bounds)
    tags = decode_tags(logits.probs(), label_names)
    entities = extract_entities(tags)
    if not entities:
        raise ValueError("no entity is predicted on this split; there is nothing to calibrate")
    outcome = entity_correct(entities, gold_tags)
    starts = np.cumsum(logits.kept) - logits.kept
    index = {name: i for i, name in enumerate(label_names)}
    owner = np.concatenate([np.full(e.end - e.start, k) for k, e in enumerate(entities)])
    rows = np.concatenate([starts[e.sentence] + np.arange(e.start, e.end) for e in entities])
    cols = np.array([index[tags[e.sentence][w]] for e in entities for w in range(e.start, e.end)])
    z = logits.values[rows].astype(np.float64)
    eps = 1e-12

    def loss(log_t: float) -> float:
        scaled = z / np.exp(log_t)
        scaled -= scaled.max(axis=1, keepdims=True)
        log_p = scaled[np.arange(len(cols)), cols] - np.log(np.exp(scaled).sum(axis=1))
        c = np.clip(
            np.exp(np.bincount(owner, weights=log_p, minlength=len(entities))), eps, 1 - eps
        )
        return float(-np.mean(np.where(outcome, np.log(c), np.log1p(-c))))

    found = minimize_scalar(
        loss,
        bounds=(np.log(bounds[0]), np.log(bounds[1])),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(found.x))


@dataclass(frozen=True, eq=False)
class CrossFittedProbs:
    """Word probabilities, each sentence scaled by a temperature fitted without its group
    (document).

    ``probs`` lists the sentences in their original order; ``temperatures[k]`` was fitted on every
    fold but ``k``, and ``fold[i]`` is the fold of sentence ``i``.
    """

    probs: WordScores
    temperatures: np.ndarray
    fold: np.ndarray


def cross_fit_entity_temperature(
    logits: WordScores,
    gold_tags: Sequence[Sequence[str]],
    label_names: Sequence[str],
    groups: Sequence[Any] | np.ndarray,
    n_folds: int = 5,
    seed: int = 0,
) -> CrossFittedProbs:
    """Out-of-fold entity temperature scaling, to judge :func:`fit_entity_temperature` on
    held-out data.

    The sentences are split into ``n_folds`` folds of whole ``groups`` (e.g. documents, so that
    sentences of one article never sit on both sides), shuffled with ``seed`` (scikit-learn's
    ``GroupKFold``). Each fold's words are scaled by the temperature fitted on the other folds.
    Scores computed from ``probs`` over all sentences then measure what the temperature does to
    data it never saw, with every labelled sentence used both to fit and to judge.
    """
    if logits.values.ndim != 2:
        raise ValueError(f"expected word logits of shape (words, C), got {logits.values.shape}")
    n = len(logits.kept)
    gold = _check_tags(gold_tags, "gold_tags")
    if len(gold) != n:
        raise ValueError(f"got gold tags of {len(gold)} sentences for logits of {n}")
    group_ids = np.asarray(groups)
    if group_ids.shape != (n,):
        raise ValueError(
            f"groups must give one group (e.g. a document id) per sentence: {n}; "
            f"got shape {group_ids.shape}"
        )
    n_groups = len(np.unique(group_ids))
    if check_int(n_folds, "n_folds", 2) > n_groups:
        raise ValueError(
            f"n_folds must be at most the number of groups ({n_groups}); got {n_folds!r}"
        )
    rows: list[np.ndarray] = [np.empty((0, logits.values.shape[1]))] * n
    fold = np.empty(n, dtype=np.int64)
    temperatures = []
    splitter = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k, (fit_index, held_index) in enumerate(splitter.split(np.zeros(n), groups=group_ids)):
        temperature = fit_entity_temperature(
            logits.select(fit_index), [gold[i] for i in fit_index], label_names
        )
        temperatures.append(temperature)
        fold[held_index] = k
        for i, sentence_rows in zip(
            held_index, logits.select(held_index).probs(temperature).sentences()
        ):
            rows[i] = sentence_rows
    probs = logits.replace(np.concatenate(rows, axis=0))
    return CrossFittedProbs(probs, np.array(temperatures), fold)


def entity_correct(entities: Sequence[Entity], gold_tags: Sequence[Sequence[str]]) -> np.ndarray:
    """Whether each predicted entity matches a gold entity exactly (same words, same type)."""
    gold = {
        e.to_tuple()
        for s in Entities(_check_tags(gold_tags, "gold_tags"), IOB2, suffix=False).entities
        for e in s
    }
    return np.array([(e.sentence, e.type, e.start, e.end) in gold for e in entities], dtype=bool)


class EntityOutcomes(NamedTuple):
    """Per predicted entity: its confidence and whether it is exactly right, from
    :func:`entity_outcomes`. Unpacks into ``calibration.confidence_reliability(*outcomes)``."""

    confidence: np.ndarray
    correct: np.ndarray


def entity_outcomes(
    probs: WordScores,
    gold_tags: Sequence[Sequence[str]],
    label_names: Sequence[str],
    reduce: Reduce = "product",
) -> EntityOutcomes:
    """Decode word probabilities, extract the predicted entities, and score each against gold.

    The entities are those of :func:`decode_tags` (arg-max tags), their confidences those of
    :func:`extract_entities` with ``reduce``, their outcomes those of :func:`entity_correct`.
    A temperature changes the confidences but never the entities, so outcomes computed from
    probabilities at two temperatures describe the same entities in the same order.
    """
    entities = extract_entities(decode_tags(probs, label_names), probs, label_names, reduce)
    confidence = np.array([e.confidence for e in entities], dtype=np.float64)
    return EntityOutcomes(confidence, entity_correct(entities, gold_tags))


@dataclass(frozen=True)
class NERScores:
    """Entity-level micro precision, recall and F1, and the same per entity type (with
    ``support``)."""

    precision: float
    recall: float
    f1: float
    per_type: dict[str, dict[str, float]]


def evaluate(gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> NERScores:
    """Entity-level scores with seqeval in strict IOB2 mode (an entity counts only if its type and
    both boundaries are exact; invalid ``I-`` fragments are not entities)."""
    gold, pred = _check_tags(gold_tags, "gold_tags"), _check_tags(pred_tags, "pred_tags")
    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred)):
        raise ValueError(
            "gold_tags and pred_tags must have the same sentences with the same number of words"
        )
    report = classification_report(
        gold, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
    )
    micro = report.pop("micro avg")
    per_type = {
        name: {k: float(v) for k, v in row.items()}
        for name, row in report.items()
        if "avg" not in name
    }
    per_type = {k: {**v, "f1": v.pop("f1-score")} for k, v in per_type.items()}
    return NERScores(
        float(micro["precision"]), float(micro["recall"]), float(micro["f1-score"]), per_type
    )


def sentence_counts(
    gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]
) -> np.ndarray:
    """Per sentence: exactly matched entities, predicted entities, gold entities (shape ``(n, 3)``).

    Sums over sentences give the micro scores of :func:`evaluate` (:func:`f1_from_counts`), so a
    bootstrap over sentences needs no re-scoring with seqeval.
    """
    gold, pred = _check_tags(gold_tags, "gold_tags"), _check_tags(pred_tags, "pred_tags")
    if len(gold) != len(pred):
        raise ValueError(f"got {len(gold)} gold and {len(pred)} predicted sentences")
    predicted = extract_entities(pred)
    correct = entity_correct(predicted, gold)
    sentences = np.array([e.sentence for e in predicted], dtype=np.int64)
    gold_sentences = np.array([e.sentence for e in extract_entities(gold)], dtype=np.int64)
    n = len(gold)
    return np.stack(
        [
            np.bincount(sentences, weights=correct, minlength=n),
            np.bincount(sentences, minlength=n),
            np.bincount(gold_sentences, minlength=n),
        ],
        axis=1,
    ).astype(np.int64)


def f1_from_counts(counts: np.ndarray) -> float:
    """Micro F1 ``2 TP / (predicted + gold)`` from :func:`sentence_counts` rows (0 when both are
    0)."""
    tp, predicted, gold = np.asarray(counts).sum(axis=0)
    return float(2 * tp / (predicted + gold)) if predicted + gold else 0.0


# --------------------------------------------------------------------------- fine-tuning


@dataclass
class TokenClassifier(FineTuned):
    """A fine-tuned token classifier: one prediction per word (see :func:`word_logits`)."""

    def word_logits(self, split: Dataset, mc_samples: int | None = None) -> WordScores:
        """Logits of every word of ``split`` (a ``tokens`` column); see :func:`word_logits`."""
        encoded = tokenize_and_align(split, self.tokenizer, self.max_length, tags_column=None)
        n_words = [len(t) for t in split["tokens"][:]]
        return word_logits(
            self.model,
            encoded,
            self.tokenizer,
            n_words,
            self.eval_batch_size,
            mc_samples=mc_samples,
        )


def fine_tune_token_classifier(
    train_split: Dataset,
    profile: Profile,
    seed: int,
    device: torch.device | None = None,
    tags_column: str = "ner_tags",
    **train_overrides: object,
) -> TokenClassifier:
    """Fine-tune the profile's backbone with a fresh token-classification head on ``train_split``.

    Tag names come from the split's ``Sequence(ClassLabel)`` column; labels are aligned to
    sub-tokens with :func:`tokenize_and_align`; hyper-parameters as in
    :func:`llmu.train.fine_tune_classifier`.
    """
    feature = train_split.features.get(tags_column)
    inner = getattr(feature, "feature", None)
    if not isinstance(inner, ClassLabel):
        raise ValueError(
            f"{tags_column!r} must be a sequence of ClassLabel tags; "
            f"features are {dict(train_split.features)}"
        )
    seed_everything(seed)
    tokenizer = load_tokenizer(profile.backbone)
    model = load_token_classifier(profile.backbone, inner.names)
    encoded = tokenize_and_align(
        train_split, tokenizer, profile.max_length, tags_column
    ).remove_columns("word_ids")
    config = TrainConfig.from_profile(profile, seed, **train_overrides)
    result = train(model, encoded, tokenizer, config, device=device)
    return TokenClassifier(
        model, tokenizer, list(inner.names), profile.max_length, profile.eval_batch_size, result
    )
