"""LoRA through ``peft``: low-rank adapters on a sequence classifier, trained by the one loop.

LoRA (Hu et al. 2021) freezes the pre-trained weights W and learns a low-rank update,
``W x + (alpha / r) * B A x`` with ``A`` of shape (r, d_in) and ``B`` (d_out, r), ``B = 0`` at
the start. :func:`add_lora` wraps a model, :func:`fine_tune_lora` trains one with
:func:`llmu.train.fine_tune_classifier` and returns an ordinary
:class:`~llmu.predict.Classifier`, and :func:`merge_lora` folds the update into W for
inference (a plain model again, no adapter code, no extra latency).
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from datasets import Dataset
from peft import LoraConfig, PeftModel, TaskType, get_peft_model

from llmu._checks import check_int, check_number
from llmu.config import Profile
from llmu.predict import Classifier
from llmu.train import fine_tune_classifier

#: The attention projections Hu et al. adapt in BERT-style encoders.
DEFAULT_TARGETS = ("query", "value")


def add_lora(
    model: torch.nn.Module,
    rank: int = 8,
    alpha: float = 16.0,
    dropout: float = 0.1,
    target_modules: Sequence[str] = DEFAULT_TARGETS,
) -> PeftModel:
    """``model`` (a sequence classifier) with LoRA adapters of rank ``rank`` on ``target_modules``.

    Only the adapters and the classification head (``peft``'s ``modules_to_save`` for
    ``SEQ_CLS``) stay trainable. ``target_modules`` are names of ``torch.nn.Linear`` layers,
    matched at the end of the module path (``"query"`` matches every ``...attention.self.query``).
    """
    rank = check_int(rank, "rank", hint="The rank r of the update B A; Hu et al. use 1 to 64.")
    check_number(alpha, "alpha", 0.0, open_low=True, hint="The update is scaled by alpha / rank.")
    check_number(dropout, "dropout", 0.0, 1.0, open_high=True, hint="Dropout on the LoRA input.")
    targets = [target_modules] if isinstance(target_modules, str) else list(target_modules)
    linear = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
    }
    unknown = sorted(set(targets) - linear)
    if not targets or unknown:
        raise ValueError(
            f"target_modules {unknown or targets} name no linear layer of "
            f"{type(model).__name__}; choose among {sorted(linear)}"
        )
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
    )
    with warnings.catch_warnings():
        # peft reads transformers' deprecated `is_gradient_checkpointing` alias: a warning
        # about peft's code, not the caller's.
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        return get_peft_model(model, config)


def fine_tune_lora(
    train_split: Dataset,
    profile: Profile,
    seed: int,
    rank: int = 8,
    alpha: float = 16.0,
    dropout: float = 0.1,
    target_modules: Sequence[str] = DEFAULT_TARGETS,
    **fine_tune_options: object,
) -> Classifier:
    """Fine-tune LoRA adapters (and the head) of the profile's backbone on ``train_split``.

    The same loop and options as :func:`llmu.train.fine_tune_classifier` (``device``,
    ``callbacks``, and training overrides such as ``learning_rate``); the returned
    :class:`~llmu.predict.Classifier` holds the ``peft`` model.
    """
    return fine_tune_classifier(
        train_split,
        profile,
        seed,
        prepare=lambda model: add_lora(model, rank, alpha, dropout, target_modules),
        **fine_tune_options,  # type: ignore[arg-type]
    )


def merge_lora(classifier: Classifier) -> Classifier:
    """A copy of ``classifier`` with the adapters merged into the weights: a plain model.

    ``W + (alpha / r) B A`` is computed once, so inference costs what the original model
    costs. The adapters of ``classifier`` are left in place (its model is deep-copied first).
    """
    if not isinstance(classifier, Classifier) or not isinstance(classifier.model, PeftModel):
        raise TypeError("merge_lora expects a Classifier whose model has LoRA adapters")
    merged = copy.deepcopy(classifier.model).merge_and_unload()
    return dataclasses.replace(classifier, model=merged)


def adapter_bytes(classifier: Classifier, directory: str | Path) -> int:
    """Save the adapters (and head) of ``classifier`` to ``directory``; their size in bytes.

    ``peft`` writes ``adapter_model.safetensors`` and ``adapter_config.json``; the base
    model is not saved, since anyone can load it again from its name.
    """
    if not isinstance(classifier.model, PeftModel):
        raise TypeError("adapter_bytes expects a Classifier whose model has LoRA adapters")
    folder = Path(directory)
    classifier.model.save_pretrained(str(folder))
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
