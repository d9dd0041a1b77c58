r"""Knowledge distillation (Hinton et al. 2015) and DistilBERT-style students.

The student minimises :math:`\alpha\,T^2\,\mathrm{KL}(p^T_{\text{teacher}} \,\|\,
p^T_{\text{student}}) + (1-\alpha)\,\mathrm{CE}(y, p_{\text{student}})`, where
:math:`p^T = \mathrm{softmax}(z / T)`. The :math:`T^2` keeps the soft term's gradients, which
shrink as :math:`1/T^2`, on the scale of the hard term's whatever the temperature. In
:func:`llmu.train.train` the hard term is the model's own loss weighted by
``task_loss_weight = 1 - alpha`` and the soft term is the ``extra_loss`` hook
:class:`DistillationLoss`, which runs the teacher(s) on each batch.
"""

from __future__ import annotations

import copy
import dataclasses
import statistics
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from llmu._checks import check_fraction, check_int, check_positive
from llmu.config import mixed_precision, select_device
from llmu.predict import TOKEN_COLUMNS
from llmu.train import TrainConfig, TrainResult, train


def _check_alpha(alpha: float) -> float:
    return check_fraction(alpha, "alpha", "It is the weight of the soft-target term.")


def _check_temperature(temperature: float) -> float:
    return check_positive(temperature, "temperature", "Hinton et al. use T from 1 to 20.")


def soft_targets(teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """The teacher's softened probabilities ``softmax(z / T)``, shape (batch, classes).

    ``teacher_logits`` of shape (members, batch, classes) is an ensemble: its soft targets are
    the mean of the members' softened distributions (Hinton et al. 2015, section 1).
    """
    t = _check_temperature(temperature)
    if teacher_logits.ndim not in (2, 3):
        raise ValueError(
            "teacher_logits must have shape (batch, classes) or (members, batch, classes), "
            f"got {tuple(teacher_logits.shape)}"
        )
    probs = torch.softmax(teacher_logits.float() / t, dim=-1)
    return probs.mean(dim=0) if probs.ndim == 3 else probs


def soft_target_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    r""":math:`T^2\,\mathrm{KL}(p^T_{\text{teacher}} \,\|\, p^T_{\text{student}})`, batch mean.

    Its gradient with respect to the student's logits is :math:`T\,(p^T_{\text{student}} -
    p^T_{\text{teacher}})`; without the :math:`T^2` it would be that divided by :math:`T^2`.
    """
    t = _check_temperature(temperature)
    targets = soft_targets(teacher_logits, t)
    if student_logits.ndim != 2 or student_logits.shape != targets.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} must have the shape (batch, classes) "
            f"of the teacher's, {tuple(targets.shape)}"
        )
    log_student = F.log_softmax(student_logits.float() / t, dim=-1)
    return t * t * F.kl_div(log_student, targets, reduction="batchmean")


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    r"""Hinton's loss
    :math:`\alpha\,T^2\,\mathrm{KL}(p^T_t \| p^T_s) + (1-\alpha)\,\mathrm{CE}(y, p_s)`.

    The cross-entropy with the hard labels uses temperature 1: the student is deployed at T = 1.
    """
    a = _check_alpha(alpha)
    soft = soft_target_loss(student_logits, teacher_logits, temperature)
    return a * soft + (1 - a) * F.cross_entropy(student_logits.float(), labels)


def teacher_logits(
    teachers: Sequence[torch.nn.Module], batch: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """Logits of every teacher on the token columns of ``batch``: shape (members, batch, classes).

    Teachers run in eval mode (no dropout) without gradients (they are not trained), in the
    mixed precision that training uses on the batch's device.
    """
    if not teachers:
        raise ValueError("pass at least one teacher model")
    inputs = {k: v for k, v in batch.items() if k in TOKEN_COLUMNS}
    device = inputs["input_ids"].device
    precision = mixed_precision(device)
    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
        if precision != "no"
        else nullcontext()
    )
    logits = []
    with torch.no_grad(), autocast:
        for teacher in teachers:
            teacher.eval()
            logits.append(teacher(**inputs).logits.float())
    return torch.stack(logits)


@dataclass(eq=False)
class DistillationLoss:
    """The soft-target term as an ``extra_loss(model, batch, outputs)`` for
    :func:`llmu.train.train`: ``alpha * soft_target_loss`` against the teachers.

    The teachers' logits are computed on the fly for each batch (:func:`teacher_logits`);
    pair the hook with ``TrainConfig(task_loss_weight=1 - alpha)`` for the hard-label term
    (or use :func:`distill`, which does).
    """

    teachers: Sequence[torch.nn.Module] = field(repr=False)
    temperature: float
    alpha: float

    def __post_init__(self) -> None:
        self.temperature = _check_temperature(self.temperature)
        self.alpha = _check_alpha(self.alpha)
        self.teachers = tuple(self.teachers)
        if not self.teachers:
            raise ValueError("pass at least one teacher model")

    @property
    def forward_passes(self) -> int:
        """Forward passes per batch on top of the student's (one per teacher, no backward)."""
        return len(self.teachers)

    def __call__(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], outputs: object
    ) -> torch.Tensor:
        targets = teacher_logits(self.teachers, batch)
        student = outputs.logits  # type: ignore[attr-defined]
        return self.alpha * soft_target_loss(student, targets, self.temperature)


def distill(
    student: torch.nn.Module,
    teachers: Sequence[torch.nn.Module],
    dataset: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    config: TrainConfig,
    temperature: float,
    alpha: float,
    device: torch.device | None = None,
) -> TrainResult:
    """Train ``student`` with :func:`distillation_loss` against ``teachers`` (one model or an
    ensemble).

    ``config.task_loss_weight`` is replaced by ``1 - alpha``; the teachers are moved to the device.
    """
    if "labels" not in dataset.column_names:
        raise ValueError(
            "distillation with hard labels needs a 'labels' column; "
            f"columns are {dataset.column_names}"
        )
    device = device or select_device()
    members = [teacher.to(device) for teacher in teachers]
    hook = DistillationLoss(members, temperature, alpha)
    config = dataclasses.replace(config, task_loss_weight=1 - hook.alpha)
    return train(student, dataset, tokenizer, config, extra_loss=hook, device=device)


def _layer_list(model: torch.nn.Module, n_layers: int) -> str:
    """The name of the model's one ``ModuleList`` of ``n_layers`` transformer layers."""
    names = [
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.ModuleList) and len(module) == n_layers
    ]
    if len(names) != 1:
        raise ValueError(
            f"expected one ModuleList of {n_layers} layers (config.num_hidden_layers) in "
            f"{type(model).__name__}, found {names or 'none'}; is it a BERT-like encoder?"
        )
    return names[0]


def student_from_teacher(
    teacher: PreTrainedModel, keep_layers: Sequence[int] | None = None
) -> PreTrainedModel:
    """A shallower copy of ``teacher`` (DistilBERT-style): the same architecture with only
    ``keep_layers``.

    Layer ``keep_layers[i]`` of the teacher becomes layer ``i`` of the student; everything else
    (embeddings, pooler, classification head) is copied as is. The default keeps every other
    layer, ``0, 2, 4, ...``. Works for models whose config has ``num_hidden_layers`` and whose
    layers sit in one ``ModuleList`` (BERT, RoBERTa, MiniLM, ELECTRA, ...).
    """
    n = getattr(getattr(teacher, "config", None), "num_hidden_layers", None)
    if not isinstance(n, int):
        raise ValueError(
            f"{type(teacher).__name__} has no config.num_hidden_layers; pass a BERT-like model"
        )
    keep = list(range(0, n, 2)) if keep_layers is None else [int(i) for i in keep_layers]
    if not keep or len(set(keep)) != len(keep) or not all(0 <= i < n for i in keep):
        raise ValueError(
            f"keep_layers must be distinct layer indices in [0, {n}), got {keep_layers!r}"
        )
    prefix = _layer_list(teacher, n) + "."
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(keep)
    student = type(teacher)(config)
    new_index = {old: new for new, old in enumerate(keep)}
    state = {}
    for key, value in teacher.state_dict().items():
        if key.startswith(prefix):
            layer, rest = key[len(prefix) :].split(".", 1)
            if int(layer) not in new_index:
                continue
            key = f"{prefix}{new_index[int(layer)]}.{rest}"
        state[key] = value.detach().clone()
    student.load_state_dict(state, strict=True)
    return student.to(next(teacher.parameters()).device).train(teacher.training)


def inference_throughput(
    models: Mapping[str, torch.nn.Module],
    batch: Mapping[str, torch.Tensor],
    repeats: int = 5,
    warmup: int = 1,
) -> dict[str, float]:
    """Examples per second of each model's forward pass on the same ``batch``: the median over
    ``repeats``.

    Each repeat times every model once, in turn, so a change in machine load hits all of them
    alike; ``warmup`` untimed rounds come first. Models run in eval mode without gradients on
    the device of the batch.
    """
    if not models:
        raise ValueError("pass at least one model to time, as {name: model}")
    repeats, warmup = check_int(repeats, "repeats"), check_int(warmup, "warmup", 0)
    inputs = {k: v for k, v in batch.items() if k in TOKEN_COLUMNS}
    if "input_ids" not in inputs:
        raise ValueError(
            f"the batch needs input_ids (a tokenized, padded batch), got keys {sorted(batch)}"
        )
    device = inputs["input_ids"].device
    size = len(inputs["input_ids"])
    seconds: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for round_ in range(warmup + repeats):
            for name, model in models.items():
                model.eval().to(device)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                started = time.perf_counter()
                model(**inputs)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                if round_ >= warmup:
                    seconds[name].append(time.perf_counter() - started)
    return {name: size / statistics.median(times) for name, times in seconds.items()}
