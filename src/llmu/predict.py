"""Inference with fine-tuned models: batching, logits, MC dropout and deep ensembles.

Everything that runs a trained model forward lives here; :mod:`llmu.train` builds on it and
:mod:`llmu.uq` does the array maths on what it returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from datasets import Dataset
from torch.utils.data import DataLoader
from transformers import PreTrainedTokenizerBase

from llmu._checks import check_int, check_seed
from llmu.calibration import softmax
from llmu.data import tokenize_texts

if TYPE_CHECKING:
    from llmu.train import TrainResult

#: Columns the tokenizer pads; any other numeric column is stacked (ragged ones padded with -100).
TOKEN_COLUMNS = ("input_ids", "attention_mask", "token_type_ids")
IGNORE_INDEX = -100


def collate(features: list[dict], tokenizer: PreTrainedTokenizerBase) -> dict[str, torch.Tensor]:
    """Pad a list of tokenized examples to the longest one (dynamic padding)."""
    if not features:
        raise ValueError("cannot collate an empty batch")
    token_part = [{k: f[k] for k in TOKEN_COLUMNS if k in f} for f in features]
    batch = dict(tokenizer.pad(token_part, return_tensors="pt"))
    length = batch["input_ids"].shape[1]
    for key in features[0]:
        if key in TOKEN_COLUMNS:
            continue
        values = [f[key] for f in features]
        if isinstance(values[0], list | tuple) and key == "labels":
            padded = torch.full((len(values), length), IGNORE_INDEX, dtype=torch.long)
            for row, value in enumerate(values):
                padded[row, : len(value)] = torch.as_tensor(value, dtype=torch.long)
            batch[key] = padded
        else:
            batch[key] = torch.as_tensor(np.asarray(values))
    return batch


def batch_loader(
    data: Dataset, batches: list[list[int]], tokenizer: PreTrainedTokenizerBase
) -> DataLoader:
    # A private generator: creating an iterator must not draw from the global RNG, or dropout
    # masks after a resume (or after an evaluation) would differ from an uninterrupted run.
    return DataLoader(
        data,
        batch_sampler=batches,
        collate_fn=lambda f: collate(f, tokenizer),
        generator=torch.Generator(),
    )


def _check_mc_samples(mc_samples: int | None) -> int:
    if mc_samples is None:
        return 1
    return check_int(mc_samples, "mc_samples", hint="Stochastic passes per example, or None.")


@torch.inference_mode()
def iter_logits(
    model: torch.nn.Module,
    dataset: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    batch_size: int = 128,
    device: torch.device | None = None,
    mc_samples: int | None = None,
) -> Iterator[tuple[list[int], torch.Tensor]]:
    """Yield ``(indices, logits)`` batch by batch over a tokenized ``dataset``, shortest first.

    ``indices`` are the rows of ``dataset`` in the batch. Without ``mc_samples`` the model is
    switched to eval mode and ``logits`` has shape ``(batch, ...)`` (``(batch, classes)`` for a
    sequence classifier, ``(batch, tokens, classes)`` for a token classifier, tokens padded).
    With ``mc_samples=K`` the model's modes are left alone -- call it inside
    :func:`dropout_active` -- and each example is repeated K times along the batch
    dimension, so one forward pass draws K independent dropout masks per example; ``logits``
    then has shape ``(K, batch, ...)``. A batch holds about ``batch_size`` rows either way
    (``batch_size // K`` examples when sampling), so memory does not grow with K.
    """
    if len(dataset) == 0:
        raise ValueError("cannot predict on an empty data set")
    copies = _check_mc_samples(mc_samples)
    device = device or next(model.parameters()).device
    model.to(device)
    if mc_samples is None:
        model.eval()
    elif not model.training:
        raise ValueError(
            "mc_samples draws dropout samples, but the model is in eval mode (dropout off); "
            "call it inside `with dropout_active(model):`"
        )
    inputs = dataset.with_format(columns=[c for c in TOKEN_COLUMNS if c in dataset.column_names])
    order = np.argsort([len(ids) for ids in dataset["input_ids"][:]], kind="stable")
    per_batch = max(1, batch_size // copies)
    batches = [order[i : i + per_batch].tolist() for i in range(0, len(order), per_batch)]
    for batch_indices, batch in zip(batches, batch_loader(inputs, batches, tokenizer)):
        # repeat(K, 1): rows are [all examples, copy 1], [all examples, copy 2], ...
        # -> view as (K, batch)
        rows = {k: v.to(device).repeat(copies, *([1] * (v.ndim - 1))) for k, v in batch.items()}
        logits = model(**rows).logits.float()
        yield (
            batch_indices,
            logits
            if mc_samples is None
            else logits.view(copies, len(batch_indices), *logits.shape[1:]),
        )


def predict_logits(
    model: torch.nn.Module,
    dataset: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    batch_size: int = 128,
    device: torch.device | None = None,
    mc_samples: int | None = None,
) -> np.ndarray:
    """Logits of a sequence classifier for every example of a tokenized ``dataset``, in its order.

    Batches are sorted by length internally for speed and put back in order. Without
    ``mc_samples`` the model is switched to eval mode (dropout off) and the result has shape
    (examples, classes). With ``mc_samples=K`` (inside :func:`dropout_active`) it has
    shape (K, examples, classes): K stochastic passes, batched (see :func:`iter_logits`).
    """
    result: np.ndarray | None = None
    for batch_indices, logits in iter_logits(
        model, dataset, tokenizer, batch_size, device, mc_samples
    ):
        values = logits.cpu().numpy()
        if values.ndim != (2 if mc_samples is None else 3):
            raise ValueError(
                "predict_logits expects a sequence classifier (logits of shape (batch, classes)), "
                f"got {tuple(logits.shape)}; "
                "for token classifiers use iter_logits"
            )
        if result is None:
            result = np.empty(
                (*values.shape[:-2], len(dataset), values.shape[-1]), dtype=np.float32
            )
        result[..., batch_indices, :] = values
    assert result is not None
    return result


@dataclass
class FineTuned:
    """A fine-tuned model with what it takes to use it on new text (shared by both kinds)."""

    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    label_names: list[str]
    max_length: int
    eval_batch_size: int
    result: TrainResult


@dataclass
class Classifier(FineTuned):
    """A fine-tuned sequence classifier: one prediction per text."""

    def logits(
        self, split: Dataset, text_column: str = "text", mc_samples: int | None = None
    ) -> np.ndarray:
        """Logits of shape (examples, classes) for the texts of ``split``, in its order.

        With ``mc_samples=K`` (inside :func:`dropout_active`): shape (K, examples, classes).
        """
        encoded = tokenize_texts(
            split, self.tokenizer, self.max_length, text_column, label_column=None
        )
        return predict_logits(
            self.model, encoded, self.tokenizer, self.eval_batch_size, mc_samples=mc_samples
        )


@contextmanager
def dropout_active(model: torch.nn.Module, seed: int | None = None) -> Iterator[torch.nn.Module]:
    """Keep every dropout of ``model`` sampling, for Monte Carlo dropout at inference.

    ``model.train()`` switches *all* modules, so the attention-probability dropout inside
    the attention layers samples too, not only the ``nn.Dropout`` modules (transformers'
    attention implementations read ``self.training``). Use it under
    ``torch.inference_mode()``: no graph is built, nothing is updated. The previous mode of
    every module is restored on exit, also when the body raises. With ``seed``, the dropout
    masks come from torch's random generators seeded with it inside a fork (CPU, and the
    model's GPU), so the samples are reproducible and the global random state is left as it was.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"dropout_active expects a torch.nn.Module, got {type(model).__name__}")
    if seed is not None:
        check_seed(seed)
    modes = {name: module.training for name, module in model.named_modules()}
    cuda = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=cuda, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(int(seed))
        model.train()
        try:
            yield model
        finally:
            for name, module in model.named_modules():
                module.training = modes[name]


def mc_dropout_probs(
    classifier: Classifier, split: Dataset, n_samples: int, seed: int = 0, text_column: str = "text"
) -> np.ndarray:
    """MC dropout: class probabilities of ``n_samples`` stochastic passes, shape ``(K, N, C)``.

    Each pass keeps dropout on in every module (attention included, see :func:`dropout_active`);
    the K passes are batched by repeating each example K times along the batch dimension
    (:func:`iter_logits`). Average over axis 0 for the predictive distribution.
    Token classifiers: call ``iter_logits(..., mc_samples=K)`` inside
    :func:`dropout_active` the same way.
    """
    if not isinstance(classifier, Classifier):
        raise TypeError(
            f"mc_dropout_probs expects an llmu.predict.Classifier, got {type(classifier).__name__}"
        )
    check_int(n_samples, "n_samples", 2, "One pass has no spread to measure.")
    with dropout_active(classifier.model, seed=seed):
        logits = classifier.logits(split, text_column, mc_samples=int(n_samples))
    return softmax(logits.reshape(-1, logits.shape[-1])).reshape(logits.shape)


def ensemble_probs(
    members: Sequence[Classifier], split: Dataset, text_column: str = "text"
) -> np.ndarray:
    """Deep ensemble: the class probabilities of every member (dropout off), shape ``(M, N, C)``.

    Members are independently seeded fine-tunes of the same backbone on the same data
    (e.g. ``llmu.train.fine_tune_classifier`` with seeds 0..M-1) and must share their labels.
    """
    members = list(members)
    if len(members) < 2 or not all(isinstance(m, Classifier) for m in members):
        raise ValueError(
            "members must be a list of at least 2 llmu.predict.Classifier objects (the ensemble)"
        )
    names = members[0].label_names
    if any(m.label_names != names for m in members):
        raise ValueError(
            "ensemble members have different label names; train them on the same label column"
        )
    return np.stack([softmax(m.logits(split, text_column)) for m in members])
