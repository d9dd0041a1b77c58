"""Text augmentation: EDA's four word operations, back-translation, and mixup on embeddings.

EDA (Wei & Zou 2019) edits whitespace-separated words: synonym replacement, random insertion
(of a synonym of a word in the text), random swap and random deletion. Synonyms come from a
mapping ``word -> candidates``; :func:`embedding_neighbours` builds one offline from a
backbone's input-embedding matrix (cosine nearest whole-word tokens). Mixup
(Zhang et al. 2018, on word embeddings as in Guo et al. 2019) is a loss for the
``extra_loss`` hook of :func:`llmu.train.train`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from llmu._checks import (
    check_fraction,
    check_int,
    check_number,
    check_positive,
    check_seed,
)
from llmu.models import BackboneNotFoundError, _from_pretrained, input_embeddings

Synonyms = Mapping[str, Sequence[str]]
RandomState = np.random.Generator | int

#: Function words that EDA never replaces and never inserts synonyms of (a short English list).
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    's n't -- -lrb- -rrb-""".split()
)


def _rng(rng: RandomState) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(check_seed(rng, "rng (a numpy Generator or a seed)"))


def _check_rate(rate: float, name: str = "rate") -> float:
    return check_fraction(rate, name, "It is a fraction of the words.")


def _words(text: str) -> list[str]:
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    words = text.split()
    if not words:
        raise ValueError(
            "cannot augment an empty text (it has no words); drop empty examples first"
        )
    return words


def n_edits(rate: float, n_words: int) -> int:
    """How many edits EDA's synonym replacement, random insertion and random swap make in a text
    of ``n_words`` words: ``max(1, int(rate * n_words))``, and none when the rate is 0.

    So every text shorter than ``2 / rate`` words gets exactly one edit: at rate 0.1, one word of
    a 3-word phrase (a third of it) rather than one word in ten.
    """
    rate = _check_rate(rate)
    n_words = check_int(n_words, "n_words", hint="It is the number of words of the text.")
    return 0 if rate == 0 else max(1, int(rate * n_words))


def _candidates(words: Sequence[str], synonyms: Synonyms) -> list[int]:
    return [
        i for i, w in enumerate(words) if w.lower() not in STOPWORDS and synonyms.get(w.lower())
    ]


def synonym_replacement(text: str, rate: float, synonyms: Synonyms, rng: RandomState) -> str:
    """Replace ``max(1, int(rate * n))`` distinct non-stopwords that have synonyms with a random
    synonym.

    Like every operation here, it returns the words joined by single spaces, and ``text`` itself
    when the rate is 0."""
    rate, words, rng = _check_rate(rate), _words(text), _rng(rng)
    if rate == 0:
        return text
    positions = _candidates(words, synonyms)
    n = min(n_edits(rate, len(words)), len(positions))
    for i in rng.permutation(positions)[:n]:
        options = synonyms[words[i].lower()]
        words[i] = options[rng.integers(len(options))]
    return " ".join(words)


def random_insertion(text: str, rate: float, synonyms: Synonyms, rng: RandomState) -> str:
    """Insert, ``max(1, int(rate * n))`` times, a synonym of a random non-stopword at a random
    position."""
    rate, words, rng = _check_rate(rate), _words(text), _rng(rng)
    if rate == 0:
        return text
    sources = [words[i].lower() for i in _candidates(words, synonyms)]
    if not sources:
        return " ".join(words)
    for _ in range(n_edits(rate, len(words))):
        options = synonyms[sources[rng.integers(len(sources))]]
        words.insert(int(rng.integers(len(words) + 1)), options[rng.integers(len(options))])
    return " ".join(words)


def random_swap(text: str, rate: float, rng: RandomState) -> str:
    """Swap two random words, ``max(1, int(rate * n))`` times (texts of one word are returned as
    they are)."""
    rate, words, rng = _check_rate(rate), _words(text), _rng(rng)
    if rate == 0:
        return text
    if len(words) < 2:
        return " ".join(words)
    for _ in range(n_edits(rate, len(words))):
        i, j = rng.choice(len(words), size=2, replace=False)
        words[i], words[j] = words[j], words[i]
    return " ".join(words)


def random_deletion(text: str, rate: float, rng: RandomState) -> str:
    """Delete each word with probability ``rate``; if every word would go, one random word is
    kept."""
    rate, words, rng = _check_rate(rate), _words(text), _rng(rng)
    if rate == 0:
        return text
    if len(words) == 1:
        return " ".join(words)
    kept = [w for w, drop in zip(words, rng.random(len(words)) < rate) if not drop]
    return " ".join(kept) if kept else words[rng.integers(len(words))]


def eda(
    text: str,
    synonyms: Synonyms,
    rng: RandomState,
    n_aug: int = 4,
    sr: float = 0.1,
    ri: float = 0.1,
    rs: float = 0.1,
    rd: float = 0.1,
) -> list[str]:
    """``n_aug`` EDA variants of ``text``, each made by one operation drawn among those with a
    rate > 0.

    ``sr``, ``ri``, ``rs``, ``rd`` are the rates (the paper's alpha) of synonym replacement, random
    insertion, random swap and random deletion. With every rate 0 the variants are copies of the
    text.
    """
    rates = {"sr": sr, "ri": ri, "rs": rs, "rd": rd}
    rates = {name: _check_rate(value, name) for name, value in rates.items()}
    n_aug = check_int(n_aug, "n_aug")
    rng = _rng(rng)
    operations: dict[str, Callable[[str, float], str]] = {
        "sr": lambda t, r: synonym_replacement(t, r, synonyms, rng),
        "ri": lambda t, r: random_insertion(t, r, synonyms, rng),
        "rs": lambda t, r: random_swap(t, r, rng),
        "rd": lambda t, r: random_deletion(t, r, rng),
    }
    active = [name for name, value in rates.items() if value > 0]
    _words(text)
    if not active:
        return [text] * n_aug
    return [operations[name](text, rates[name]) for name in rng.choice(active, size=n_aug)]


def augment_dataset(
    dataset: Dataset,
    augment: Callable[[str, np.random.Generator], Sequence[str]],
    seed: int,
    text_column: str = "text",
    keep_original: bool = True,
) -> Dataset:
    """A data set with the variants ``augment(text, rng)`` of every example, each with that
    example's other columns.

    Originals come first (when ``keep_original``), then the variants in example order; features
    (e.g. the ClassLabel of ``label``) are kept, so every variant carries its source's label.
    """
    if text_column not in dataset.column_names:
        raise ValueError(f"no text column {text_column!r}; columns are {dataset.column_names}")
    if len(dataset) == 0:
        raise ValueError("cannot augment an empty data set")
    rng = _rng(seed)
    rows = dataset.to_dict()
    out: dict[str, list] = {c: list(v) if keep_original else [] for c, v in rows.items()}
    for i, text in enumerate(rows[text_column]):
        variants = list(augment(text, rng))
        if any(not isinstance(v, str) or not v.strip() for v in variants):
            raise ValueError(
                "the augmentation returned an empty or non-string variant of example "
                f"{i} ({text!r})"
            )
        for column, values in rows.items():
            out[column].extend(variants if column == text_column else [values[i]] * len(variants))
    return Dataset.from_dict(out, features=dataset.features)


def embedding_neighbours(
    words: Iterable[str],
    tokenizer: PreTrainedTokenizerBase,
    embeddings: torch.Tensor,
    k: int = 5,
    min_similarity: float = 0.4,
    min_length: int = 3,
) -> dict[str, list[str]]:
    """Up to ``k`` cosine-nearest whole-word tokens of each word, from an input-embedding matrix.

    Candidates are vocabulary entries made of at least ``min_length`` ASCII letters (no ``##``
    sub-words, special tokens or punctuation) that are not stopwords; a neighbour must have cosine
    similarity ``>= min_similarity``. Words that are not a single vocabulary token, or are
    stopwords, get no entry. Neighbours are *related* words, not checked synonyms: antonyms
    ("good"/"bad") are often among them.
    """
    k = check_int(k, "k")
    check_number(min_similarity, "min_similarity", -1, 1, hint="It is a cosine similarity.")
    vocab = tokenizer.get_vocab()
    if embeddings.ndim != 2 or embeddings.shape[0] < len(vocab):
        raise ValueError(
            f"embeddings must be a (vocabulary size >= {len(vocab)}, dim) matrix, "
            f"got {tuple(embeddings.shape)}"
        )

    def usable(token: str) -> bool:
        return (
            token.isascii()
            and token.isalpha()
            and len(token) >= min_length
            and token.lower() not in STOPWORDS
        )

    candidates = sorted(t for t in vocab if usable(t))
    queries = sorted({w.lower() for w in words if usable(w.lower()) and w.lower() in vocab})
    if not candidates or not queries:
        return {}
    table = torch.nn.functional.normalize(
        embeddings.detach().float()[[vocab[t] for t in candidates]], dim=1
    )
    query = torch.nn.functional.normalize(
        embeddings.detach().float()[[vocab[q] for q in queries]], dim=1
    )
    similarity = query @ table.T
    position = {t: j for j, t in enumerate(candidates)}
    similarity[torch.arange(len(queries)), [position[q] for q in queries]] = -2.0  # not itself
    values, indices = similarity.topk(min(k, len(candidates)), dim=1)
    neighbours = {}
    for q, row_values, row_indices in zip(queries, values.tolist(), indices.tolist()):
        found = [candidates[j] for v, j in zip(row_values, row_indices) if v >= min_similarity]
        if found:
            neighbours[q] = found
    return neighbours


@dataclass(eq=False)
class MixupLoss:
    """Mixup on word embeddings as an ``extra_loss(model, batch, outputs)`` for
    :func:`llmu.train.train` (Zhang et al. 2018; on embeddings as in Guo et al. 2019).

    Each call draws ``lam ~ Beta(alpha, alpha)`` and a permutation ``perm`` of the batch, feeds
    the model ``lam * E[x] + (1 - lam) * E[x[perm]]`` (``E``: the input-embedding layer;
    attention mask: the union of both), and returns
    ``weight * (lam * CE(y) + (1 - lam) * CE(y[perm]))``. The draws come from its own generator
    seeded with ``seed``. The clean loss is still added with ``TrainConfig.task_loss_weight``;
    set it to 0 to train on mixup alone.
    """

    alpha: float = 0.4
    weight: float = 1.0
    seed: int = 0
    rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.alpha = check_positive(self.alpha, "alpha", "It is the Beta(alpha, alpha) parameter.")
        self.weight = check_number(self.weight, "weight", 0)
        self.rng = _rng(self.seed)

    @property
    def forward_passes(self) -> int:
        """Forward passes per batch on top of the clean one."""
        return 1

    def __call__(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], outputs: object
    ) -> torch.Tensor:
        labels = batch["labels"]
        if labels.ndim != 1:
            raise ValueError(
                "mixup needs one class label per sequence; "
                f"got labels of shape {tuple(labels.shape)}"
            )
        lam = float(self.rng.beta(self.alpha, self.alpha))
        perm = torch.as_tensor(self.rng.permutation(len(labels)), device=labels.device)
        embeds = input_embeddings(model)(batch["input_ids"])
        mask = batch.get("attention_mask", torch.ones_like(batch["input_ids"]))
        inputs = {
            "inputs_embeds": lam * embeds + (1 - lam) * embeds[perm],
            "attention_mask": torch.maximum(mask, mask[perm]),
        }
        if "token_type_ids" in batch:
            inputs["token_type_ids"] = batch["token_type_ids"]
        logits = model(**inputs).logits
        ce = torch.nn.functional.cross_entropy
        return self.weight * (lam * ce(logits, labels) + (1 - lam) * ce(logits, labels[perm]))


#: Hub translation models for back-translation through a pivot language (Marian, OPUS-MT).
TRANSLATION_MODELS = {"de": ("Helsinki-NLP/opus-mt-en-de", "Helsinki-NLP/opus-mt-de-en")}


def back_translate(
    texts: Sequence[str],
    pivot: str = "de",
    batch_size: int = 32,
    device: torch.device | None = None,
    num_beams: int = 4,
    max_length: int = 128,
) -> list[str]:
    """English -> ``pivot`` -> English paraphrases of ``texts`` with OPUS-MT models from the Hub.

    Needs the Hugging Face Hub (or copies prefetched into ``LLMU_DATA_DIR/models``) and the
    ``sentencepiece`` package; without them it fails with a message saying so. The course runs
    it in the ``full`` profile only.
    """
    if pivot not in TRANSLATION_MODELS:
        raise ValueError(
            f"unknown pivot language {pivot!r}; choose one of {sorted(TRANSLATION_MODELS)}"
        )
    originals = list(texts)
    if not originals or any(not isinstance(t, str) or not t.strip() for t in originals):
        raise ValueError("back_translate needs a non-empty list of non-empty strings")
    if importlib.util.find_spec("sentencepiece") is None:
        raise ModuleNotFoundError(
            "back-translation with OPUS-MT (Marian) models needs `pip install sentencepiece`"
        )
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    device = device or torch.device("cpu")
    texts = originals
    for name in TRANSLATION_MODELS[pivot]:
        try:
            tokenizer = _from_pretrained(AutoTokenizer, name)
            model = (
                _from_pretrained(AutoModelForSeq2SeqLM, name)
                .to(device)  # type: ignore[attr-defined]
                .eval()
            )
        except BackboneNotFoundError as error:
            raise BackboneNotFoundError(
                f"back-translation needs the translation model {name!r} from the Hugging Face "
                "Hub, which is not reachable here; it runs in the full profile on a connected "
                "machine (or prefetch the model)"
            ) from error
        translated = []
        for start in range(0, len(texts), batch_size):
            encoded = tokenizer(
                texts[start : start + batch_size],
                return_tensors="pt",
                padding=True,  # type: ignore[operator]
                truncation=True,
                max_length=max_length,
            ).to(device)
            with torch.inference_mode():
                generated = model.generate(**encoded, num_beams=num_beams, max_length=max_length)
            translated.extend(
                tokenizer.batch_decode(  # type: ignore[attr-defined]
                    generated, skip_special_tokens=True
                )
            )
        texts = translated
    return [t if t.strip() else original for t, original in zip(texts, originals)]
