"""One training loop for every lesson, on Hugging Face Accelerate.

Mixed precision on GPU, dynamic padding with length-grouped batches, gradient accumulation,
label smoothing, an extra-loss hook, evaluation callbacks (early stopping is one), tqdm
progress, and safetensors checkpoints that resume mid-epoch to the same weights as an
uninterrupted run (on CPU).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from datasets import ClassLabel, Dataset, Value
from safetensors.torch import load_file, load_model, save_file, save_model
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase, get_linear_schedule_with_warmup
from transformers.trainer_pt_utils import get_length_grouped_indices

from llmu._checks import check_int, check_number
from llmu.config import Profile, mixed_precision, seed_everything, select_device
from llmu.data import tokenize_texts
from llmu.models import load_classifier, load_tokenizer
from llmu.predict import Classifier, batch_loader


@runtime_checkable
class ExtraLoss(Protocol):
    """An extra term of the training loss, added to ``task_loss_weight * outputs.loss`` each step.

    The course's hooks are dataclasses built from keyword settings, checked on construction,
    with ``forward_passes`` (forward passes per batch on top of the clean one):
    :class:`llmu.distill.DistillationLoss`, :class:`llmu.augment.MixupLoss`,
    :class:`llmu.adversarial.EmbeddingAdversary`. A plain function of the same call works too.
    """

    def __call__(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], outputs: Any
    ) -> torch.Tensor: ...


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of :func:`train`.

    Training runs ``epochs`` passes over the data, or exactly ``max_steps`` optimizer steps
    when that is set (``epochs`` is then ignored; the data is cycled as often as needed).
    ``label_smoothing`` > 0 trains on targets that put ``1 - label_smoothing`` on the true
    class and spread the rest evenly over all classes (see :func:`task_loss`).
    """

    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    grad_accum_steps: int = 1
    max_grad_norm: float | None = 1.0
    task_loss_weight: float = 1.0
    label_smoothing: float = 0.0
    seed: int = 0
    mixed_precision: str = "auto"
    group_by_length: bool = True
    max_steps: int | None = None
    checkpoint_dir: str | None = None
    checkpoint_every: int | None = None
    eval_every: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        checks = {
            "epochs must be > 0": self.epochs > 0,
            "batch_size must be >= 1": self.batch_size >= 1,
            "learning_rate must be > 0": self.learning_rate > 0,
            "grad_accum_steps must be >= 1": self.grad_accum_steps >= 1,
            "warmup_ratio must be in [0, 1)": 0 <= self.warmup_ratio < 1,
            "label_smoothing must be in [0, 1) (0: plain cross-entropy)": 0
            <= self.label_smoothing
            < 1,
            "mixed_precision must be 'auto', 'no', 'fp16' or 'bf16'": self.mixed_precision
            in {"auto", "no", "fp16", "bf16"},
            "max_steps must be >= 1 or None": self.max_steps is None or self.max_steps >= 1,
            "checkpoint_every needs checkpoint_dir": self.checkpoint_every is None
            or self.checkpoint_dir is not None,
        }
        failed = [message for message, ok in checks.items() if not ok]
        if failed:
            raise ValueError("invalid TrainConfig: " + "; ".join(failed))

    @classmethod
    def from_profile(cls, profile: Profile, seed: int, **overrides: object) -> TrainConfig:
        """The profile's epochs, batch size, learning rate, decay and warm-up, then overrides."""
        base = {
            "epochs": profile.epochs,
            "batch_size": profile.batch_size,
            "learning_rate": profile.learning_rate,
            "weight_decay": profile.weight_decay,
            "warmup_ratio": profile.warmup_ratio,
            "seed": seed,
        }
        return cls(**{**base, **overrides})  # type: ignore[arg-type]


@dataclass
class TrainResult:
    """What a run did: optimizer steps, the loss of each step, time and throughput.

    ``stopped_early`` is true when a callback (e.g. :class:`EarlyStopping`) ended the run
    before its step budget.
    """

    steps: int
    losses: list[float]
    seconds: float
    examples: int
    evaluations: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else float("nan")


#: ``callback(step, model) -> metrics`` runs every ``eval_every`` steps and at the end of training.
#: A callback with a true ``should_stop`` attribute after an evaluation ends training there.
EvalCallback = Callable[[int, torch.nn.Module], dict[str, float]]


def task_loss(
    outputs: Any, labels: torch.Tensor | None, label_smoothing: float = 0.0
) -> torch.Tensor | None:
    """The task's cross-entropy: the model's own ``outputs.loss``, or with label smoothing.

    With ``label_smoothing`` = eps the target of an example of class y is
    ``(1 - eps) * onehot(y) + eps / C`` over the C classes (Szegedy et al. 2016), as
    ``torch.nn.functional.cross_entropy(..., label_smoothing=eps)`` computes it. Labels of -100
    (padding, sub-word continuations) are ignored, so token classifiers work too.
    """
    eps = check_number(
        label_smoothing, "label_smoothing", 0.0, 1.0, open_high=True, hint="0 turns it off."
    )
    if eps == 0.0 or labels is None:
        return outputs.loss
    logits = outputs.logits.float()
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        labels.reshape(-1),
        ignore_index=-100,
        label_smoothing=eps,
    )


@dataclass
class EarlyStopping:
    """Early stopping as an evaluation callback: stop when the validation loss stops falling.

    ``loss(model)`` computes a validation loss (lower is better, e.g. the NLL on a held-out
    split). Called by :func:`train` every ``eval_every`` steps, it keeps a copy of the best
    weights and sets ``should_stop`` once ``patience`` evaluations in a row failed to beat
    the best by more than ``min_delta``. Call :meth:`restore_best` after training to get the
    weights of ``best_step``. Its state is not checkpointed: do not combine it with resuming.
    """

    loss: Callable[[torch.nn.Module], float]
    patience: int = 2
    min_delta: float = 0.0
    name: str = "val_loss"
    best_step: int = field(default=0, init=False)
    best_value: float = field(default=math.inf, init=False)
    stopped_step: int | None = field(default=None, init=False)
    _misses: int = field(default=0, init=False, repr=False)
    _best_state: dict[str, torch.Tensor] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not callable(self.loss):
            raise TypeError("loss must be a function model -> validation loss (a float)")
        check_int(self.patience, "patience", hint="Evaluations without improvement to wait.")
        check_number(self.min_delta, "min_delta", 0.0)

    @property
    def should_stop(self) -> bool:
        return self.stopped_step is not None

    def __call__(self, step: int, model: torch.nn.Module) -> dict[str, float]:
        value = float(self.loss(model))
        if not math.isfinite(value):
            raise ValueError(f"the validation loss at step {step} is {value}; check the model")
        if value < self.best_value - self.min_delta:
            self.best_step, self.best_value, self._misses = step, value, 0
            self._best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self._misses += 1
            if self._misses >= self.patience and self.stopped_step is None:
                self.stopped_step = step
        return {self.name: value}

    def restore_best(self, model: torch.nn.Module) -> None:
        """Load the weights of the best evaluation into ``model``."""
        if self._best_state is None:
            raise RuntimeError("no evaluation has run yet; train with eval_every and this callback")
        model.load_state_dict(self._best_state)


def set_dropout(model: torch.nn.Module, p: float) -> torch.nn.Module:
    """Set the probability of every dropout of ``model`` to ``p`` (attention's too); returns it.

    BERT-style models read their attention dropout from the ``nn.Dropout`` module of each
    attention layer, so this changes hidden, attention and classifier dropout alike.
    """
    rate = check_number(p, "p", 0.0, 1.0, open_high=True, hint="A dropout probability.")
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no torch.nn.Dropout module to set")
    for layer in layers:
        layer.p = rate
    return model


def model_columns(dataset: Dataset) -> list[str]:
    """The columns of a tokenized data set that go into batches (strings are left out)."""
    if "input_ids" not in dataset.column_names:
        raise ValueError(
            f"the data set is not tokenized (columns {dataset.column_names}); tokenize it first"
        )
    text = {"string", "large_string"}
    return [
        c for c, f in dataset.features.items() if not (isinstance(f, Value) and f.dtype in text)
    ]


def epoch_batches(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int, group_by_length: bool
) -> list[list[int]]:
    """The batches (lists of example indices) of one epoch: a pure function of seed and epoch."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    if group_by_length:
        order = get_length_grouped_indices(list(lengths), batch_size, generator=generator)
    else:
        order = torch.randperm(len(lengths), generator=generator).tolist()
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def train(
    model: torch.nn.Module,
    dataset: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    config: TrainConfig,
    extra_loss: ExtraLoss | None = None,
    callbacks: Sequence[EvalCallback] = (),
    device: torch.device | None = None,
) -> TrainResult:
    """Fine-tune ``model`` on a tokenized ``dataset`` (with a ``labels`` column).

    With ``config.checkpoint_dir`` set, the model, optimizer, scheduler and RNG state are
    saved there as safetensors + JSON every ``checkpoint_every`` steps and at the end; a call
    that finds a checkpoint there resumes from it, skipping the batches already seen.
    """
    if len(dataset) == 0:
        raise ValueError("the training set is empty")
    if "labels" not in dataset.column_names and extra_loss is None:
        raise ValueError("the training set has no 'labels' column and no extra_loss was given")
    device = device or select_device()
    precision = (
        mixed_precision(device) if config.mixed_precision == "auto" else config.mixed_precision
    )
    accelerator = Accelerator(
        cpu=device.type == "cpu",
        mixed_precision=precision,
        gradient_accumulation_steps=config.grad_accum_steps,
    )
    columns = model_columns(dataset)
    data = dataset.with_format(columns=columns)
    lengths = [len(ids) for ids in dataset["input_ids"][:]]
    batches_per_epoch = math.ceil(len(dataset) / config.batch_size)
    total_steps = config.max_steps or math.ceil(
        config.epochs * batches_per_epoch / config.grad_accum_steps
    )

    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.learning_rate,
        fused=device.type in {"cpu", "cuda"},  # one kernel for all parameters, as Trainer's default
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, round(config.warmup_ratio * total_steps), total_steps
    )
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    state = {"step": 0, "batch": 0, "losses": [], "examples": 0, "evaluations": []}
    checkpoint = Path(config.checkpoint_dir) if config.checkpoint_dir else None
    if checkpoint is not None and (checkpoint / "trainer_state.json").is_file():
        state = _load_checkpoint(
            checkpoint, accelerator.unwrap_model(model), optimizer, scheduler, config
        )

    model.train()
    progress = tqdm(
        total=total_steps, initial=state["step"], desc="training", disable=not config.progress
    )
    started = time.perf_counter()
    running_loss = 0.0
    stopped = False
    while state["step"] < total_steps and not stopped:
        epoch, first = divmod(state["batch"], batches_per_epoch)
        batches = epoch_batches(
            lengths, config.batch_size, config.seed, epoch, config.group_by_length
        )
        loader = batch_loader(data, batches[first:], tokenizer)
        for batch in loader:
            batch = {k: v.to(accelerator.device) for k, v in batch.items()}
            with accelerator.accumulate(model):
                outputs = model(**batch)
                task = task_loss(outputs, batch.get("labels"), config.label_smoothing)
                loss = config.task_loss_weight * task if task is not None else 0.0
                if extra_loss is not None:
                    loss = loss + extra_loss(model, batch, outputs)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.max_grad_norm is not None:
                    accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            state["batch"] += 1
            state["examples"] += len(batch["input_ids"])
            running_loss += float(loss.detach()) / config.grad_accum_steps
            if not accelerator.sync_gradients:
                continue
            state["step"] += 1
            state["losses"].append(round(running_loss, 6))
            running_loss = 0.0
            progress.update(1)
            progress.set_postfix(loss=f"{state['losses'][-1]:.4f}")
            step = state["step"]
            if config.eval_every and step % config.eval_every == 0 and step < total_steps:
                state["evaluations"].append(_evaluate(callbacks, step, model))
                stopped = any(getattr(c, "should_stop", False) for c in callbacks)
            if (
                checkpoint is not None
                and config.checkpoint_every
                and step % config.checkpoint_every == 0
            ):
                _save_checkpoint(
                    checkpoint, accelerator.unwrap_model(model), optimizer, scheduler, state, config
                )
            if step >= total_steps or stopped:
                break
    progress.close()
    if callbacks and not stopped:  # a stopping callback has just evaluated this step
        state["evaluations"].append(_evaluate(callbacks, state["step"], model))
    if checkpoint is not None:
        _save_checkpoint(
            checkpoint, accelerator.unwrap_model(model), optimizer, scheduler, state, config
        )
    model.eval()
    return TrainResult(
        steps=state["step"],
        losses=state["losses"],
        seconds=time.perf_counter() - started,
        examples=state["examples"],
        evaluations=state["evaluations"],
        stopped_early=stopped,
    )


def _evaluate(
    callbacks: Sequence[EvalCallback], step: int, model: torch.nn.Module
) -> dict[str, float]:
    was_training = model.training
    model.eval()
    record: dict[str, float] = {"step": step}
    for callback in callbacks:
        record.update(callback(step, model))
    model.train(was_training)
    return record


def _save_checkpoint(
    directory: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: dict,
    config: TrainConfig,
) -> None:
    """Write the checkpoint to a temporary folder, then swap it in: a kill never leaves half."""
    staging = directory.with_name(directory.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    save_model(model, str(staging / "model.safetensors"))
    optim_state = optimizer.state_dict()
    tensors = {
        f"{pid}.{key}": value.detach().cpu().contiguous()
        for pid, values in optim_state["state"].items()
        for key, value in values.items()
    }
    tensors["rng.torch"] = torch.get_rng_state()
    save_file(tensors, str(staging / "optimizer.safetensors"))
    meta = {
        **state,
        "param_groups": optim_state["param_groups"],
        "scheduler": scheduler.state_dict(),
        "config": asdict(config),
    }
    (staging / "trainer_state.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)


def _load_checkpoint(
    directory: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: TrainConfig,
) -> dict:
    meta = json.loads((directory / "trainer_state.json").read_text(encoding="utf-8"))
    saved = {
        k: v
        for k, v in meta["config"].items()
        if k not in {"max_steps", "progress", "checkpoint_every", "eval_every"}
    }
    current = {k: v for k, v in asdict(config).items() if k in saved}
    if saved != current:
        changed = sorted(k for k in saved if saved[k] != current[k])
        raise ValueError(
            f"checkpoint in {directory} was made with a different TrainConfig ({changed}); "
            "use another checkpoint_dir or delete it"
        )
    missing, unexpected = load_model(model, str(directory / "model.safetensors"), strict=True)
    tensors = load_file(str(directory / "optimizer.safetensors"))
    torch.set_rng_state(tensors.pop("rng.torch"))
    optim_state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        pid, key = name.split(".", 1)
        optim_state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": optim_state, "param_groups": meta["param_groups"]})
    scheduler.load_state_dict(meta["scheduler"])
    return {k: meta[k] for k in ("step", "batch", "losses", "examples", "evaluations")}


def fine_tune_classifier(
    train_split: Dataset,
    profile: Profile,
    seed: int,
    device: torch.device | None = None,
    label_column: str = "label",
    extra_loss: ExtraLoss | None = None,
    callbacks: Sequence[EvalCallback] = (),
    prepare: Callable[[torch.nn.Module], torch.nn.Module] | None = None,
    **train_overrides: object,
) -> Classifier:
    """Fine-tune the profile's backbone with a fresh classification head on ``train_split``.

    The label names come from the split's ``ClassLabel`` column; hyper-parameters from the
    profile (see :meth:`TrainConfig.from_profile`), with ``train_overrides`` on top;
    ``extra_loss`` and ``callbacks`` are passed to :func:`train`. ``prepare(model)``, if
    given, changes the freshly loaded model before training and returns the model to train
    (e.g. ``lambda m: set_dropout(m, 0.3)``, or :func:`llmu.lora.add_lora`).
    """
    feature = train_split.features.get(label_column)
    if not isinstance(feature, ClassLabel):
        raise ValueError(
            f"{label_column!r} must be a ClassLabel column of the training split; "
            f"features are {dict(train_split.features)}"
        )
    seed_everything(seed)
    tokenizer = load_tokenizer(profile.backbone)
    model = load_classifier(profile.backbone, feature.names)
    if prepare is not None:
        model = prepare(model)
    encoded = tokenize_texts(train_split, tokenizer, profile.max_length, label_column=label_column)
    config = TrainConfig.from_profile(profile, seed, **train_overrides)
    result = train(
        model, encoded, tokenizer, config, extra_loss=extra_loss, callbacks=callbacks, device=device
    )
    return Classifier(
        model, tokenizer, list(feature.names), profile.max_length, profile.eval_batch_size, result
    )
