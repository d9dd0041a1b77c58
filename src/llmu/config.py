"""Run profiles, device selection, seeding and the local data folder."""

from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DATA_DIR_ENV = "LLMU_DATA_DIR"
CACHE_DIR_ENV = "LLMU_CACHE_DIR"
NUM_THREADS_ENV = "LLMU_NUM_THREADS"
#: CPU threads of the quick profile when ``LLMU_NUM_THREADS`` is unset.
QUICK_THREADS = 2


@dataclass(frozen=True)
class Profile:
    """The knobs a lesson derives from ``profile = "quick" | "full"``.

    ``train_examples=None`` means the whole training split.
    """

    name: str
    backbone: str
    max_length: int
    batch_size: int
    eval_batch_size: int
    epochs: float
    learning_rate: float
    weight_decay: float
    warmup_ratio: float
    train_examples: int | None
    bootstrap_samples: int

    def replace(self, **changes: object) -> Profile:
        """A copy with some fields changed; unknown field names raise ``ValueError``."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown profile field(s) {unknown}; known fields: {sorted(known)}")
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


PROFILES: dict[str, Profile] = {
    # CPU, offline: a lesson in at most 120 s on 2 idle cores (the budget test allows the
    # equivalent of 180 s, in reference steps: see llmu.lesson.reference_step_seconds).
    "quick": Profile(
        name="quick",
        backbone="minilm",
        max_length=64,
        batch_size=32,
        # Batches are sorted by length and padded to their longest row: on 2 cores, batches
        # of 32 SST-2 sentences pad less and predict about 25% faster than batches of 128.
        eval_batch_size=32,
        epochs=2.0,
        learning_rate=2e-4,
        weight_decay=0.01,
        warmup_ratio=0.1,
        train_examples=4000,
        bootstrap_samples=1000,
    ),
    # GPU, Hub backbone, whole splits: the scale of the published numbers.
    "full": Profile(
        name="full",
        backbone="bert-base-cased",
        max_length=128,
        batch_size=32,
        eval_batch_size=256,
        epochs=3.0,
        learning_rate=2e-5,
        weight_decay=0.01,
        warmup_ratio=0.1,
        train_examples=None,
        bootstrap_samples=2000,
    ),
}


def get_profile(name: str, **overrides: object) -> Profile:
    """The profile called ``name`` (``"quick"`` or ``"full"``), with optional field overrides.

    Overrides set to ``None`` are ignored, so papermill parameters left unset keep the default.
    """
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    return PROFILES[name].replace(**changes) if changes else PROFILES[name]


def select_device(preferred: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple MPS, then CPU; otherwise the named device, checked."""
    if preferred == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preferred not in {"cpu", "cuda", "mps"}:
        raise ValueError(f"unknown device {preferred!r}; use 'auto', 'cpu', 'cuda' or 'mps'")
    if preferred == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was asked for but torch sees no CUDA GPU; use 'auto' or 'cpu'"
        )
    if preferred == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            "device 'mps' was asked for but this torch has no MPS backend; use 'auto' or 'cpu'"
        )
    return torch.device(preferred)


def mixed_precision(device: torch.device) -> str:
    """Accelerate's mixed-precision mode for ``device``: bf16 where supported, else fp16 on CUDA."""
    if device.type != "cuda":
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def pin_threads(profile: str) -> int:
    """Set torch's CPU threads: ``LLMU_NUM_THREADS`` if set, else 2 in the quick profile.

    A fixed thread count makes the quick profile's numbers the same on every machine with the
    same library versions (the order of floating-point sums depends on it). The full profile
    keeps torch's default unless the variable is set. Returns the thread count in use.
    """
    value = os.environ.get(NUM_THREADS_ENV)
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{NUM_THREADS_ENV}={value!r}; set it to a positive integer, e.g. 2")
        torch.set_num_threads(int(value))
    elif profile == "quick":
        torch.set_num_threads(QUICK_THREADS)
    return torch.get_num_threads()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and make torch pick deterministic kernels.

    On CPU this makes a run repeatable bit for bit; on GPU it removes the avoidable sources
    of nondeterminism (some CUDA kernels still have none to offer and only warn).
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def data_dir() -> Path | None:
    """The local data folder named by ``LLMU_DATA_DIR``, or ``None`` when unset.

    A variable that names a missing folder is an error, not a silent fallback to the Hub.
    """
    value = os.environ.get(DATA_DIR_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"{DATA_DIR_ENV}={value!r} is not a folder; point it at the course data "
            "(e.g. ../shared/data) or unset it to load from the Hugging Face Hub"
        )
    return path.resolve()


def cache_dir() -> Path:
    """Where the course keeps converted models: ``LLMU_CACHE_DIR``, else ``~/.cache/llmu``.

    Created on first use. On Colab, point it at Google Drive to keep the copies across sessions.
    """
    value = os.environ.get(CACHE_DIR_ENV)
    path = Path(value).expanduser() if value else Path.home() / ".cache" / "llmu"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()
