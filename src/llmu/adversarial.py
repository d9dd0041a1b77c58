"""Adversarial training on word embeddings (FGM, PGD, FreeLB) and attacks that measure robustness.

Tokens are discrete, so the inner maximisation of the min-max objective
``min_θ E[max_{||δ|| ≤ ε} L(f_θ(x + δ), y)]`` is taken on the continuous output of the
word-embedding layer: :class:`EmbeddingAdversary` adds ``δ`` there with a forward hook and is
an ``extra_loss`` for :func:`llmu.train.train`. Robustness is then *measured* with real attacks
on text: :func:`greedy_attack` changes at most ``max_changes`` words, most important first,
with candidates from :func:`llmu.augment.embedding_neighbours` filtered by
:func:`same_polarity` (word level) or from :func:`typo_candidates` (character level).
:func:`flips_sentiment` audits the swaps an attack made against a published lexicon
(:func:`vader_valence`) that the filter never saw.
"""

from __future__ import annotations

import contextlib
import weakref
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from datasets import Dataset
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from llmu._checks import (
    check_choice,
    check_fraction,
    check_int,
    check_number,
    check_positive,
)
from llmu.augment import STOPWORDS
from llmu.calibration import softmax
from llmu.models import input_embeddings
from llmu.predict import Classifier

Norm = Literal["token", "sequence"]
#: ``scorer(texts) -> probabilities`` of shape (len(texts), classes): all an attack may ask a
#: model.
Scorer = Callable[[list[str]], np.ndarray]
#: ``candidates(word) -> replacements``: a pure function of the word, so every model meets the
#: same ones.
Candidates = Callable[[str], list[str]]


# --------------------------------------------------------------------------- perturbations


@contextlib.contextmanager
def perturbed_embeddings(model: torch.nn.Module, delta: torch.Tensor) -> Iterator[None]:
    """Within the block, every forward pass of ``model`` adds ``delta`` to its word embeddings."""

    def add(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
        if output.shape != delta.shape:
            raise ValueError(
                f"perturbation of shape {tuple(delta.shape)} does not fit embeddings "
                f"{tuple(output.shape)}"
            )
        return output + delta.to(output.dtype)

    handle = input_embeddings(model).register_forward_hook(add)
    try:
        yield
    finally:
        handle.remove()


#: The word-embedding output of the latest forward pass of each embedding layer that
#: :func:`_record_embeddings` watches.
_LATEST_EMBEDDINGS: weakref.WeakKeyDictionary[torch.nn.Module, torch.Tensor] = (
    weakref.WeakKeyDictionary()
)


def _record_embeddings(embeddings: torch.nn.Module) -> torch.Tensor | None:
    """The output of the latest forward pass of ``embeddings`` (None the first time: from then
    on a permanent forward hook remembers it)."""
    if embeddings not in _LATEST_EMBEDDINGS:

        def remember(module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> None:
            _LATEST_EMBEDDINGS[module] = output

        embeddings.register_forward_hook(remember)
        _LATEST_EMBEDDINGS[embeddings] = torch.empty(0)
        return None
    return _LATEST_EMBEDDINGS[embeddings]


def _norms(x: torch.Tensor, norm: Norm) -> torch.Tensor:
    """L2 norms broadcastable against ``x`` (batch, tokens, hidden): per token or per sequence."""
    if check_choice(norm, "norm", ("token", "sequence")) == "sequence":
        return x.flatten(1).norm(dim=1).view(-1, 1, 1)
    return x.norm(dim=-1, keepdim=True)


def project(delta: torch.Tensor, epsilon: float, norm: Norm = "token") -> torch.Tensor:
    """Project ``delta`` onto the L2 ball of radius ``epsilon`` (each token's or sequence's)."""
    epsilon = check_number(epsilon, "epsilon", 0)
    scale = (epsilon / _norms(delta, norm).clamp_min(1e-12)).clamp(max=1.0)
    return delta * scale


def ascent_direction(grad: torch.Tensor, norm: Norm = "token") -> torch.Tensor:
    """``grad / ||grad||``: the steepest-ascent step of unit L2 length (zero where the gradient
    is zero)."""
    return grad / _norms(grad, norm).clamp_min(1e-12)


@dataclass(frozen=True)
class EmbeddingAdversary:
    """The adversarial term of the training loss, as an ``extra_loss`` for :func:`llmu.train.train`.

    - ``"fgm"`` (Miyato et al. 2017): one step of length ``epsilon`` along the normalised
      gradient at ``δ = 0``. That gradient is the clean loss's gradient with respect to the word
      embeddings, so it reuses the training loop's clean forward pass (``outputs``): the first
      call leaves a forward hook on the embedding layer that remembers its latest output, and
      only that first call, or a call whose ``outputs`` did not come from the batch's own
      forward pass, pays for an extra forward pass at ``δ = 0``.
    - ``"pgd"`` (Madry et al. 2018): ``steps`` projected steps of ``step_size`` from a random
      start in the ball.
    - ``"freelb"`` (Zhu et al. 2020): like PGD, but the loss is averaged over every step's
      perturbation, so the model also learns from the intermediate ones.

    The hook returns ``weight * L_adv``; the loop adds ``task_loss_weight * L_clean``
    (``TrainConfig``). ``norm="token"`` bounds each token's perturbation (no word moves farther
    than ``epsilon``), ``"sequence"`` the whole sentence's, as FreeLB does. Padding is never
    perturbed.
    """

    method: Literal["fgm", "pgd", "freelb"] = "fgm"
    epsilon: float = 1.0
    steps: int = 1
    step_size: float | None = None
    weight: float = 1.0
    norm: Norm = "token"

    def __post_init__(self) -> None:
        check_choice(self.method, "method", ("fgm", "pgd", "freelb"))
        check_positive(self.epsilon, "epsilon")
        check_int(self.steps, "steps")
        if self.method == "fgm" and self.steps != 1:
            raise ValueError("fgm takes exactly one step; use method='pgd' for more.")
        if self.step_size is not None:
            check_positive(self.step_size, "step_size", "Or None for the default.")
        check_number(self.weight, "weight", 0)
        check_choice(self.norm, "norm", ("token", "sequence"))

    @property
    def forward_passes(self) -> int:
        """Forward passes per batch on top of the clean one: FGM's gradient reuses the clean
        pass, so FGM adds 1, PGD ``steps + 1`` (the last one trains on ``δ``), FreeLB ``steps``.
        Each comes with a backward pass; FGM adds one more, to the embeddings only."""
        return self.steps + (self.method == "pgd")

    def _clean_gradient(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], outputs: object
    ) -> torch.Tensor | None:
        """The clean loss's gradient with respect to the word embeddings, from the clean forward
        pass that produced ``outputs`` (None if that pass was not recorded)."""
        recorded = _record_embeddings(input_embeddings(model))
        loss = getattr(outputs, "loss", None)
        if (
            recorded is None
            or not isinstance(loss, torch.Tensor)
            or not recorded.requires_grad
            or recorded.shape[:2] != batch["input_ids"].shape
        ):
            return None
        # allow_unused: an embedding output of another forward pass is not in this loss's graph
        (grad,) = torch.autograd.grad(loss, recorded, retain_graph=True, allow_unused=True)
        return grad

    def perturb(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], outputs: object = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The final perturbation (batch, tokens, hidden), and for FreeLB the loss of every step.

        ``outputs``, the model's clean forward pass on ``batch``, saves FGM a forward pass.
        """
        if "labels" not in batch:
            raise ValueError("adversarial training needs a 'labels' column in the batch")
        embeddings = input_embeddings(model)
        ids = batch["input_ids"]
        mask = batch.get("attention_mask", torch.ones_like(ids)).unsqueeze(-1).float()
        delta = torch.zeros(*ids.shape, embeddings.embedding_dim, device=ids.device)
        if self.method != "fgm":  # random start inside the ball
            delta = project(delta.uniform_(-1, 1) * self.epsilon, self.epsilon, self.norm) * mask
        step = self.step_size or (
            self.epsilon if self.method == "fgm" else 2.0 * self.epsilon / self.steps
        )
        losses = []
        for _ in range(self.steps):
            grad = self._clean_gradient(model, batch, outputs) if self.method == "fgm" else None
            if grad is None:
                delta.requires_grad_(True)
                with perturbed_embeddings(model, delta):
                    loss = model(**batch).loss
                # FreeLB also trains on the loss at this step's perturbation
                keep = self.method == "freelb"
                (grad,) = torch.autograd.grad(loss, delta, retain_graph=keep)
                if keep:
                    losses.append(loss)
            direction = ascent_direction(grad.to(delta.dtype) * mask, self.norm)
            delta = project(delta.detach() + step * direction, self.epsilon, self.norm) * mask
        return delta, losses

    def __call__(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], outputs: object
    ) -> torch.Tensor:
        delta, losses = self.perturb(model, batch, outputs)
        if self.method != "freelb":
            with perturbed_embeddings(model, delta):
                losses.append(model(**batch).loss)
        return self.weight * torch.stack(losses).mean()


# --------------------------------------------------------------------------- attack candidates


def _attackable(word: str, skip: Collection[str], min_length: int) -> bool:
    return word.isalpha() and len(word) >= min_length and word.lower() not in skip


def word_polarity(
    dataset: Dataset, text_column: str = "text", label_column: str = "label"
) -> dict[str, int]:
    """Label of every one-word example of ``dataset``, lower-cased: SST-2's training phrases
    include thousands of single words labelled by annotators, a sentiment lexicon from training
    data only."""
    for column in (text_column, label_column):
        if column not in dataset.column_names:
            raise ValueError(f"no column {column!r}; columns are {dataset.column_names}")
    return {
        t.strip().lower(): int(y)
        for t, y in zip(dataset[text_column], dataset[label_column])
        if len(t.split()) == 1
    }


#: (suffix, ending of the base form), tried in this order by :func:`lexicon_label`.
INFLECTIONS = (
    ("iest", "y"), ("ier", "y"), ("ily", "y"), ("ies", "y"), ("est", ""), ("est", "e"),
    ("er", ""), ("er", "e"), ("ly", ""), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"),
    ("ing", ""), ("ing", "e"),
)  # fmt: skip


def lexicon_label(word: str, polarity: Mapping[str, int]) -> int | None:
    """The lexicon's label of ``word`` (lower-cased), else of its base form: the first of
    :data:`INFLECTIONS` whose suffix, replaced by its ending, gives a labelled word of at least
    three letters, also with a doubled final consonant undone ("richer" -> "rich", "funniest"
    -> "funny", "sadder" -> "sad"). None if neither is labelled."""
    word = word.lower()
    if word in polarity:
        return polarity[word]
    for suffix, ending in INFLECTIONS:
        stem = word[: -len(suffix)]
        if not word.endswith(suffix) or len(stem) < 3:
            continue
        undoubled = stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] and not ending else None
        for base in (stem + ending, undoubled):
            if base in polarity:
                return polarity[base]
    return None


def same_polarity(
    neighbours: Mapping[str, Sequence[str]], polarity: Mapping[str, int]
) -> dict[str, list[str]]:
    """Keep only candidates with the same lexicon label as their word (both unlabelled, or the
    same label), both as written and as :func:`lexicon_label` of the base form: embedding
    neighbours include antonyms ("good" -> "bad", "richer" -> "poorer"), which would change the
    true label."""

    def labels(word: str) -> tuple[int | None, int | None]:
        return polarity.get(word.lower()), lexicon_label(word, polarity)

    kept = {w: [c for c in cands if labels(c) == labels(w)] for w, cands in neighbours.items()}
    return {w: cands for w, cands in kept.items() if cands}


def vader_valence() -> dict[str, float]:
    """The VADER sentiment lexicon (Hutto & Gilbert 2014): about 7,500 words and emoticons with
    their mean valence in [-4, 4] as rated by ten people, shipped with the ``vaderSentiment``
    package (nothing is downloaded)."""
    return dict(SentimentIntensityAnalyzer().lexicon)


def flips_sentiment(word: str, replacement: str, valence: Mapping[str, float]) -> bool:
    """Whether ``valence`` rates the two words (lower-cased) with opposite signs; a word it does
    not rate counts as neutral, so only a known positive-negative swap is flagged."""
    return valence.get(word.lower(), 0.0) * valence.get(replacement.lower(), 0.0) < 0


#: Letters next to each other on a QWERTY keyboard, for substitution typos.
KEYBOARD_NEIGHBOURS = {
    c: row[max(i - 1, 0) : i] + row[i + 1 : i + 2]
    for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    for i, c in enumerate(row)
}


def typo_candidates(word: str, n: int = 8, seed: int = 0) -> list[str]:
    """Up to ``n`` one-edit typos of ``word``: swap two adjacent inner letters, delete one, insert
    one, or replace one with a keyboard neighbour; first and last letter kept (Pruthi et al. 2019).

    A pure function of (word, n, seed): every model is attacked with the same typos.
    """
    n = check_int(n, "n")
    if len(word) < 3 or not word.isalpha():
        return []
    inner = range(1, len(word) - 1)
    edits = {
        word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in inner if i + 1 < len(word) - 1
    }
    edits |= {word[:i] + word[i + 1 :] for i in inner}
    edits |= {
        word[:i] + c + word[i:] for i in inner for c in KEYBOARD_NEIGHBOURS.get(word[i].lower(), "")
    }
    edits |= {
        word[:i] + c + word[i + 1 :]
        for i in inner
        for c in KEYBOARD_NEIGHBOURS.get(word[i].lower(), "")
    }
    edits.discard(word)
    pool = sorted(edits)
    rng = np.random.default_rng([seed, zlib.crc32(word.encode())])
    return [pool[i] for i in sorted(rng.choice(len(pool), size=min(n, len(pool)), replace=False))]


def typo_augment(texts: Sequence[str], rate: float, seed: int, n_candidates: int = 8) -> list[str]:
    """Training copies for the typo threat model: each text, with probability ``rate``, gets one
    randomly chosen word replaced by one of its :func:`typo_candidates`.

    Token ids have no gradient, so an embedding-space adversary cannot produce a typo; training
    on random draws from the attack's own perturbation set covers that part of the threat model
    (Pruthi et al. 2019). Use a ``seed`` other than the attack's, so that training sees the same
    *kind* of typos as the attack, not the same ones. Texts without a word of three or more
    letters are returned unchanged; order and length are kept.
    """
    rate = check_fraction(rate, "rate", "It is the fraction of texts that get a typo.")
    out = []
    for i, text in enumerate(texts):
        rng = np.random.default_rng([seed, i])
        words = text.split(" ")
        if rng.random() >= rate:
            out.append(text)
            continue
        eligible = [j for j, w in enumerate(words) if typo_candidates(w, n=1, seed=seed)]
        if not eligible:
            out.append(text)
            continue
        j = eligible[int(rng.integers(len(eligible)))]
        candidates = typo_candidates(words[j], n=n_candidates, seed=int(rng.integers(2**31)))
        words[j] = candidates[int(rng.integers(len(candidates)))]
        out.append(" ".join(words))
    return out


# --------------------------------------------------------------------------- attacks


@dataclass
class AttackResult:
    """Clean and attacked texts, their probabilities, and which attacks succeeded."""

    texts: list[str]
    adversarial_texts: list[str]
    labels: np.ndarray
    clean_probs: np.ndarray
    adversarial_probs: np.ndarray
    attacked: np.ndarray  # bool: classified correctly before the attack, so attacked
    words_changed: np.ndarray
    queries: int
    importance: list[list[int]] = field(repr=False, default_factory=list)

    @property
    def success(self) -> np.ndarray:
        """Attacked examples whose prediction the attack flipped."""
        return self.attacked & (self.adversarial_probs.argmax(1) != self.labels)

    def swaps(self) -> list[tuple[str, str]]:
        """(original, replacement) for every word a successful attack changed."""
        return [
            (old, new)
            for i in np.flatnonzero(self.success)
            for old, new in zip(self.texts[i].split(), self.adversarial_texts[i].split())
            if old != new
        ]

    @property
    def clean_accuracy(self) -> float:
        return float(self.attacked.mean())

    @property
    def robust_accuracy(self) -> float:
        """Share of *all* examples still classified correctly after the attack."""
        return float((self.adversarial_probs.argmax(1) == self.labels).mean())

    @property
    def success_rate(self) -> float:
        """Successful attacks / attacked examples (NaN if none could be attacked)."""
        return (
            float(self.success.sum() / self.attacked.sum()) if self.attacked.any() else float("nan")
        )

    def examples(self, n: int = 5) -> list[dict[str, object]]:
        """The first ``n`` successful attacks, as records for a table."""
        rows = []
        for i in np.flatnonzero(self.success)[:n]:
            rows.append(
                {
                    "label": int(self.labels[i]),
                    "original": self.texts[i],
                    "attacked": self.adversarial_texts[i],
                    "p(label) before": float(self.clean_probs[i, self.labels[i]]),
                    "p(label) after": float(self.adversarial_probs[i, self.labels[i]]),
                }
            )
        return rows


def word_importance(
    texts: Sequence[str],
    labels: np.ndarray,
    scorer: Scorer,
    eligible: Callable[[str], bool],
    clean_probs: np.ndarray | None = None,
) -> tuple[list[list[int]], int]:
    """Positions of the eligible words of each text, most important first, and the queries used.

    Importance is the drop of the true label's probability when the word is deleted (one batch
    for all texts; ``clean_probs``, if given, saves scoring the texts themselves); ties keep
    word order.
    """
    words = [t.split() for t in texts]
    positions = [[i for i, w in enumerate(ws) if eligible(w)] for ws in words]
    variants = [" ".join(ws[:i] + ws[i + 1 :]) for ws, ps in zip(words, positions) for i in ps]
    if not variants:
        return positions, 0
    queries = len(variants) + (clean_probs is None) * len(texts)
    clean_probs = scorer(list(texts)) if clean_probs is None else clean_probs
    p_true = clean_probs[np.arange(len(texts)), labels]
    deleted = scorer(variants)
    order, start = [], 0
    for k, ps in enumerate(positions):
        drop = p_true[k] - deleted[start : start + len(ps), labels[k]]
        start += len(ps)
        order.append([ps[j] for j in np.argsort(-drop, kind="stable")])
    return order, queries


def greedy_attack(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    scorer: Scorer,
    candidates: Candidates,
    max_changes: int = 2,
    skip: Collection[str] = STOPWORDS,
    min_length: int = 3,
    importance: list[list[int]] | None = None,
) -> AttackResult:
    """Greedy word-substitution attack (TextFooler-style, Jin et al. 2020) under a budget.

    Only examples the model classifies correctly are attacked. Their words (alphabetic, at least
    ``min_length`` letters, not in ``skip``, with candidates) are visited most important first;
    at each step the candidates of every example still being attacked are scored in one batch,
    and the one that lowers the true label's probability most is kept if it lowers it at all.
    An example stops when its prediction flips, after ``max_changes`` changed words, or when its
    words run out. Deterministic given deterministic ``scorer`` and ``candidates``. Pass
    ``importance`` from a previous result on the same texts and model to skip recomputing it.
    """
    labels = np.asarray(labels)
    if len(texts) == 0 or len(texts) != len(labels):
        raise ValueError(
            "need as many labels as texts (and at least one), "
            f"got {len(texts)} texts, {len(labels)} labels"
        )
    check_int(max_changes, "max_changes")
    clean = scorer(list(texts))
    if (
        clean.shape[0] != len(texts)
        or clean.ndim != 2
        or labels.min() < 0
        or labels.max() >= clean.shape[1]
    ):
        raise ValueError(
            f"scorer returned shape {clean.shape} for {len(texts)} texts, "
            f"labels in [{labels.min()}, {labels.max()}]"
        )
    attacked = clean.argmax(1) == labels
    queries = len(texts)
    targets = np.flatnonzero(attacked)
    pool = {
        w: candidates(w)
        for i in targets
        for w in texts[i].split()
        if _attackable(w, skip, min_length)
    }

    def eligible(word: str) -> bool:
        return bool(pool.get(word))

    if importance is None:
        ranked, used = word_importance(
            [texts[i] for i in targets], labels[targets], scorer, eligible, clean[targets]
        )
        importance = [[] for _ in texts]
        for i, order in zip(targets, ranked):
            importance[i] = order
        queries += used
    words = [t.split() for t in texts]
    probs = clean.copy()
    changed = np.zeros(len(texts), dtype=int)
    cursor = np.zeros(len(texts), dtype=int)
    active = [i for i in targets if importance[i]]
    while active:
        proposals = []
        for i in active:
            position = importance[i][cursor[i]]
            for word in pool.get(words[i][position], []):
                proposals.append(
                    (
                        i,
                        position,
                        word,
                        " ".join(words[i][:position] + [word] + words[i][position + 1 :]),
                    )
                )
        scored = scorer([p[3] for p in proposals]) if proposals else np.empty((0, clean.shape[1]))
        queries += len(proposals)
        best: dict[int, int] = {}
        for j, (i, *_rest) in enumerate(proposals):
            if scored[j, labels[i]] < (
                scored[best[i], labels[i]] if i in best else probs[i, labels[i]]
            ):
                best[i] = j
        for i, j in best.items():
            _, position, word, _text = proposals[j]
            words[i][position] = word
            probs[i] = scored[j]
            changed[i] += 1
        cursor[active] += 1
        active = [
            i
            for i in active
            if probs[i].argmax() == labels[i]
            and changed[i] < max_changes
            and cursor[i] < len(importance[i])
        ]
    return AttackResult(
        texts=list(texts),
        adversarial_texts=[" ".join(ws) for ws in words],
        labels=labels,
        clean_probs=clean,
        adversarial_probs=probs,
        attacked=attacked,
        words_changed=changed,
        queries=queries,
        importance=importance,
    )


def classifier_scorer(classifier: Classifier) -> Scorer:
    """A :data:`Scorer` for a fine-tuned :class:`llmu.predict.Classifier` (eval mode, batched)."""

    def score(texts: list[str]) -> np.ndarray:
        return softmax(classifier.logits(Dataset.from_dict({"text": list(texts)})))

    return score
