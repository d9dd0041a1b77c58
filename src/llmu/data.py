"""Loaders for the course data sets, returning Hugging Face ``datasets`` objects.

Every loader looks for its data in this order:

1. ``LLMU_DATA_DIR`` (see ``llmu.config.data_dir``): a prefetched copy in
   ``$LLMU_DATA_DIR/<folder>/hub/`` (written by :func:`prefetch_dataset`, read with
   ``load_from_disk``) if there is one, otherwise the plain files in ``$LLMU_DATA_DIR/<folder>/``
   (the layout of ``shared/data``). A missing folder or file there is an error, never a silent
   fallback to the Hub.
2. The Hugging Face Hub, through ``datasets.load_dataset`` on a parquet copy (no loading scripts).

With neither, or when the Hub cannot be reached or ``HF_HUB_OFFLINE`` is set, a
:class:`DataNotFoundError` says which data set is missing and how to get it. All loaders return
the same columns and label names whatever the source, and build their datasets in memory, so
nothing is ever written into the (read-only) data folder.
"""

from __future__ import annotations

import html
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from datasets import (
    ClassLabel,
    Dataset,
    DatasetDict,
    Features,
    List,
    Value,
    load_dataset,
    load_from_disk,
)

from llmu._checks import check_fraction, check_int, check_seed
from llmu.config import DATA_DIR_ENV, data_dir

__all__ = [
    "AMAZON_DOMAINS",
    "CONLL2003_TAGS",
    "DATASETS",
    "SENTIMENT_LABELS",
    "WNUT17_TAGS",
    "DataNotFoundError",
    "DatasetSpec",
    "HubSource",
    "clinc150_domains",
    "flip_labels",
    "load_amazon",
    "load_clinc150",
    "load_conll2003",
    "load_sst2",
    "load_triviaqa",
    "load_wnut17",
    "prefetch_dataset",
    "select_clinc_domains",
    "subset_indices",
    "take_subset",
    "tokenize_texts",
]

SENTIMENT_LABELS: tuple[str, ...] = ("negative", "positive")
AMAZON_DOMAINS: tuple[str, ...] = ("books", "dvd")
CONLL2003_TAGS: tuple[str, ...] = (
    "O",
    "B-PER",
    "I-PER",
    "B-ORG",
    "I-ORG",
    "B-LOC",
    "I-LOC",
    "B-MISC",
    "I-MISC",
)
WNUT17_TAGS: tuple[str, ...] = ("O",) + tuple(
    f"{prefix}-{kind}"
    for kind in ("corporation", "creative-work", "group", "location", "person", "product")
    for prefix in ("B", "I")
)
CLINC_OOS = "oos"
PREFETCH_COMMAND = "python -m llmu prefetch"

# domains.json is not part of any Hub copy of CLINC150; the Hub path reads it from the
# authors' repository at the commit the local copy was taken from.
_CLINC_DOMAINS_URL = (
    "https://raw.githubusercontent.com/clinc/oos-eval/"
    "828f8093932c8fe6ca7936c3d2e52903b1c523de/data/domains.json"
)

_SST2_FEATURES = Features(
    {"text": Value("string"), "label": ClassLabel(names=list(SENTIMENT_LABELS))}
)


class DataNotFoundError(FileNotFoundError):
    """A data set is neither in ``LLMU_DATA_DIR`` nor reachable on the Hugging Face Hub."""


@dataclass(frozen=True)
class HubSource:
    """One parquet copy of a data set on the Hugging Face Hub."""

    repo_id: str
    config: str | None = None
    revision: str | None = None

    def __str__(self) -> str:
        text = self.repo_id + (f" (config {self.config!r})" if self.config else "")
        return text + (f" @ {self.revision}" if self.revision else "")


@dataclass(frozen=True)
class DatasetSpec:
    """Registry entry: ``load()`` returns the whole data set (Amazon: a DatasetDict keyed by
    domain)."""

    name: str
    folder: str
    title: str
    load: Callable[[], DatasetDict]
    hub: tuple[HubSource, ...]
    #: Loaded by a full profile only (lesson 09's TriviaQA): the quick profile never needs it.
    full_only: bool = False


# --------------------------------------------------------------------------- errors and sources


def _fix_hint(name: str) -> str:
    spec = DATASETS[name]
    local = (
        f"set {DATA_DIR_ENV} to a folder that holds '{spec.folder}/' (the layout of shared/data)"
    )
    if not spec.hub:
        return (
            f"{local}; `{PREFETCH_COMMAND}` cannot fetch it, because it has no maintained copy "
            "on the Hub"
        )
    return (
        f"{local}, or run `{PREFETCH_COMMAND}` on a machine that reaches the Hugging Face Hub "
        f"and point {DATA_DIR_ENV} at the folder it writes"
    )


def _not_found(name: str, reason: str) -> DataNotFoundError:
    title = DATASETS[name].title
    return DataNotFoundError(
        f"{title} ({name!r}) is not available: {reason}. To fix: {_fix_hint(name)}."
    )


def _require(name: str, path: Path) -> Path:
    """``path`` if it exists, else a DataNotFoundError naming exactly that path."""
    if not path.exists():
        raise _not_found(name, f"{DATA_DIR_ENV} is set, but {path} does not exist")
    return path


def _local_root(name: str) -> Path | None:
    root = data_dir()
    return None if root is None else root / DATASETS[name].folder


def _check_name(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid names: {sorted(DATASETS)}")
    return DATASETS[name]


_TRUE = {"1", "true", "yes", "on"}


def _offline_requested() -> bool:
    values = (os.environ.get(var, "") for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
    return any(value.strip().lower() in _TRUE for value in values)


def _datasets_in_offline_mode() -> bool:
    """Whether ``datasets`` itself runs offline (it reads the variables only when imported)."""
    import datasets.config
    import huggingface_hub.constants

    return bool(datasets.config.HF_HUB_OFFLINE) and bool(huggingface_hub.constants.HF_HUB_OFFLINE)


_CONNECTION_ERROR_NAMES = {
    "ConnectionError",
    "TimeoutError",
    "OfflineModeIsEnabled",
    "LocalEntryNotFoundError",
    "TransportError",
    "NetworkError",
    "ConnectError",
    "TimeoutException",
    "URLError",
}


def _is_connection_error(exc: BaseException) -> bool:
    """True if ``exc`` or anything in its cause/context chain means "no connection to the Hub"."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(cls.__name__ in _CONNECTION_ERROR_NAMES for cls in type(current).__mro__):
            return True
        current = current.__cause__ or current.__context__
    return False


def _from_hub(name: str) -> DatasetDict:
    """Download ``name`` from its Hub copies (first that works) and normalise it."""
    spec = DATASETS[name]
    if not spec.hub:
        raise _not_found(
            name, "it has no maintained copy on the Hugging Face Hub and LLMU_DATA_DIR is not set"
        )
    if _offline_requested() and not _datasets_in_offline_mode():
        # The variable was set after `datasets` was imported: calling it now could still hit the
        # network.
        raise _not_found(
            name, f"{DATA_DIR_ENV} is not set and HF_HUB_OFFLINE forbids the Hugging Face Hub"
        )
    failures: list[tuple[HubSource, Exception]] = []
    for source in spec.hub:
        try:
            raw = load_dataset(source.repo_id, source.config, revision=source.revision)
            if not isinstance(raw, DatasetDict):
                raise ValueError(f"expected a DatasetDict, got {type(raw).__name__}")
            return _HUB_NORMALISERS[name](raw)
        except DataNotFoundError:
            raise
        except Exception as exc:
            if _is_connection_error(exc):
                reason = (
                    f"{DATA_DIR_ENV} is not set and the Hugging Face Hub could not be reached "
                    f"({type(exc).__name__}: {exc})"
                )
                raise _not_found(name, reason) from exc
            failures.append((source, exc))
    details = "; ".join(f"{source}: {type(exc).__name__}: {exc}" for source, exc in failures)
    reason = f"{DATA_DIR_ENV} is not set and no Hub copy could be loaded ({details})"
    raise _not_found(name, reason) from failures[-1][1]


def _from_prefetched(
    name: str, path: Path, splits: Sequence[str], columns: Sequence[str]
) -> DatasetDict:
    """The copy written by :func:`prefetch_dataset`, loaded into memory (the folder may be
    read-only)."""
    loaded = load_from_disk(str(path), keep_in_memory=True)
    problem = None
    if not isinstance(loaded, DatasetDict):
        problem = f"it holds a {type(loaded).__name__}, not a DatasetDict"
    elif missing := [s for s in splits if s not in loaded]:
        problem = f"it lacks the split(s) {missing}"
    elif bad := [s for s in splits if loaded[s].column_names != list(columns)]:
        problem = (
            f"split {bad[0]!r} has columns {loaded[bad[0]].column_names}, expected {list(columns)}"
        )
    if problem:
        raise ValueError(
            f"prefetched copy of {name!r} at {path} is not usable: {problem}; "
            f"re-run `{PREFETCH_COMMAND}`"
        )
    assert isinstance(loaded, DatasetDict)
    return DatasetDict({s: loaded[s] for s in splits})


def _load(
    name: str,
    splits: Sequence[str],
    columns: Sequence[str],
    from_files: Callable[[Path], DatasetDict],
) -> DatasetDict:
    folder = _local_root(name)
    if folder is None:
        return _from_hub(name)
    hub_copy = folder / "hub"
    if hub_copy.is_dir():
        return _from_prefetched(name, hub_copy, splits, columns)
    return from_files(_require(name, folder))


def prefetch_dataset(name: str, target_dir: str | os.PathLike[str]) -> Path:
    """Download ``name`` from the Hub and save it to ``<target_dir>/<folder>/hub/``; return that
    path.

    ``<folder>`` is ``DATASETS[name].folder`` (the name itself, except ``amazon``, which has no
    Hub copy and raises DataNotFoundError). Point ``LLMU_DATA_DIR`` at ``target_dir`` to use it
    offline.
    """
    spec = _check_name(name)
    dataset = _from_hub(spec.name)
    out = Path(target_dir).expanduser() / spec.folder / "hub"
    out.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_to_disk(str(out))
    return out


# --------------------------------------------------------------------------- helpers


def _read_utf8(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not valid UTF-8 ({exc})") from exc


def _read_json(path: Path) -> Any:
    try:
        return json.loads(_read_utf8(path))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from exc


def _lines(text: str) -> list[str]:
    """Lines without their LF/CRLF ending; the empty string after a final newline is dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _label_lookup(feature: Any, names: Sequence[str], what: str) -> Callable[[Any], int]:
    """Map a Hub column's values (ClassLabel ids, plain ints in our order, or strings) to ids in
    ``names``."""
    index = {n: i for i, n in enumerate(names)}

    def by_name(value: str) -> int:
        try:
            return index[value]
        except KeyError:
            raise ValueError(
                f"{what}: unknown label {value!r}; expected one of {list(names)}"
            ) from None

    if isinstance(feature, ClassLabel):
        table = [by_name(n) for n in feature.names]
        return table.__getitem__
    dtype = getattr(feature, "dtype", None)
    if isinstance(feature, Value) and dtype in ("string", "large_string"):
        return by_name
    if isinstance(feature, Value) and str(dtype).startswith(("int", "uint")):

        def same_order(value: int) -> int:
            if not 0 <= value < len(names):
                raise ValueError(f"{what}: label id {value} outside 0..{len(names) - 1}")
            return int(value)

        return same_order
    raise ValueError(f"{what}: cannot read labels from a {feature!r} column")


def _sentiment_dict(text: list[str], label: list[int]) -> Dataset:
    return Dataset.from_dict({"text": text, "label": label}, features=_SST2_FEATURES)


# --------------------------------------------------------------------------- SST-2


def _read_sst2_tsv(path: Path) -> Dataset:
    lines = _lines(_read_utf8(path))
    if not lines or lines[0].split("\t") != ["sentence", "label"]:
        head = lines[0] if lines else ""
        raise ValueError(f"{path}:1: expected the header 'sentence<TAB>label', found {head!r}")
    texts: list[str] = []
    labels: list[int] = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 2 or fields[1] not in ("0", "1"):
            raise ValueError(f"{path}:{number}: expected 'sentence<TAB>0|1', found {line!r}")
        texts.append(fields[0].strip())
        labels.append(int(fields[1]))
    return _sentiment_dict(texts, labels)


def _sst2_from_files(folder: Path) -> DatasetDict:
    return DatasetDict(
        {
            "train": _read_sst2_tsv(_require("sst2", folder / "train.tsv")),
            "validation": _read_sst2_tsv(_require("sst2", folder / "dev.tsv")),
        }
    )


def _sst2_from_hub(raw: DatasetDict) -> DatasetDict:
    out = {}
    for split in ("train", "validation"):
        ds = raw[split]
        to_id = _label_lookup(ds.features["label"], SENTIMENT_LABELS, f"SST-2 {split}")
        rows = ds.select_columns(["sentence", "label"]).to_dict()
        out[split] = _sentiment_dict(
            [s.strip() for s in rows["sentence"]], [to_id(v) for v in rows["label"]]
        )
    return DatasetDict(out)


def load_sst2() -> DatasetDict:
    """SST-2 (GLUE): splits ``train`` and ``validation`` (GLUE dev); columns ``text`` (stripped)
    and ``label`` (ClassLabel negative/positive). The GLUE test split has no labels and is not
    loaded."""
    return _load("sst2", ("train", "validation"), ("text", "label"), _sst2_from_files)


# --------------------------------------------------------------------------- Amazon reviews

_REVIEW_OPEN = re.compile(r"<review>")
_REVIEW = re.compile(r"<review>(.*?)</review>", re.S)
_REVIEW_TEXT = re.compile(r"<review_text>(.*?)</review_text>", re.S)
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"))


def _decode_legacy(raw: bytes) -> str:
    """UTF-8 if the bytes are valid UTF-8 (this copy is), else cp1252, else latin-1 (never
    fails)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _clean_review(text: str) -> str:
    return " ".join(html.unescape(text).translate(_INVISIBLE).split())


def _read_reviews(path: Path) -> list[str]:
    """The ``<review_text>`` of every ``<review>`` block, parsed with regexes (the files are not
    XML)."""
    text = _decode_legacy(path.read_bytes())
    blocks = list(_REVIEW.finditer(text))
    opened = len(_REVIEW_OPEN.findall(text))
    if opened != len(blocks):
        raise ValueError(
            f"{path}: {opened} <review> tags but {len(blocks)} complete <review>...</review> blocks"
        )
    reviews = []
    for block in blocks:
        found = _REVIEW_TEXT.findall(block.group(1))
        if len(found) != 1:
            line = text.count("\n", 0, block.start()) + 1
            raise ValueError(
                f"{path}:{line}: review block has {len(found)} <review_text> elements, expected 1"
            )
        reviews.append(_clean_review(found[0]))
    return reviews


def load_amazon(domain: str) -> Dataset:
    """Multi-domain Amazon reviews (Blitzer et al. 2007) for ``domain`` in ``AMAZON_DOMAINS``.

    Columns ``text`` and ``label`` (the SST-2 ClassLabel: ``negative.review`` -> 0,
    ``positive.review`` -> 1), negatives first. ``text`` is the ``<review_text>`` only (not the
    title), with HTML entities such as ``&quot;`` unescaped, zero-width characters removed and
    whitespace collapsed to single spaces; the U+FFFD characters already present in the files are
    kept. Local folder only: there is no maintained copy on the Hub.
    """
    if domain not in AMAZON_DOMAINS:
        raise ValueError(f"unknown Amazon domain {domain!r}; valid domains: {list(AMAZON_DOMAINS)}")
    folder = _local_root("amazon")
    if folder is None:
        reason = (
            f"{DATA_DIR_ENV} is not set and there is no maintained copy on the Hugging Face Hub"
        )
        raise _not_found("amazon", reason)
    domain_dir = _require("amazon", _require("amazon", folder) / domain)
    texts: list[str] = []
    labels: list[int] = []
    for label, file in enumerate(("negative.review", "positive.review")):
        reviews = _read_reviews(_require("amazon", domain_dir / file))
        texts += reviews
        labels += [label] * len(reviews)
    return _sentiment_dict(texts, labels)


def _load_amazon_all() -> DatasetDict:
    return DatasetDict({domain: load_amazon(domain) for domain in AMAZON_DOMAINS})


# --------------------------------------------------------------------------- CLINC150

_CLINC_SPLITS = {  # our split -> key in data_full.json
    "train": "train",
    "validation": "val",
    "test": "test",
    "oos_train": "oos_train",
    "oos_validation": "oos_val",
    "oos_test": "oos_test",
}
_CLINC_COLUMNS = ("text", "intent", "domain")


def _intent_domains(mapping: object, where: str) -> dict[str, str]:
    """Check the shape of domains.json (domain -> list of intents) and invert it."""
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(f"{where}: expected a JSON object mapping domains to lists of intents")
    domain_of: dict[str, str] = {}
    for domain, intents in mapping.items():
        if not isinstance(intents, list) or not all(isinstance(i, str) for i in intents):
            raise ValueError(f"{where}: domain {domain!r} must map to a list of intent names")
        for intent in intents:
            if intent in domain_of or intent == CLINC_OOS:
                raise ValueError(f"{where}: intent {intent!r} is listed twice or reserved")
            domain_of[intent] = domain
    return domain_of


def _build_clinc(
    pairs: Mapping[str, Sequence[Sequence[Any]]], domain_of: Mapping[str, str], source: str
) -> DatasetDict:
    names = sorted(domain_of) + [CLINC_OOS]
    features = Features(
        {"text": Value("string"), "intent": ClassLabel(names=names), "domain": Value("string")}
    )
    index = {n: i for i, n in enumerate(names)}
    out = {}
    for split, rows in pairs.items():
        oos_split = split.startswith("oos_")
        texts: list[str] = []
        intents: list[int] = []
        domains: list[str] = []
        for position, row in enumerate(rows):
            if len(row) != 2 or not isinstance(row[0], str) or not isinstance(row[1], str):
                raise ValueError(
                    f"{source} [{split}][{position}]: expected [text, intent], found {row!r}"
                )
            text, intent = row
            if (intent == CLINC_OOS) != oos_split or intent not in index:
                expected = "'oos'" if oos_split else "an in-scope intent listed in domains.json"
                raise ValueError(
                    f"{source} [{split}][{position}]: intent {intent!r}, expected {expected}"
                )
            texts.append(text.strip())
            intents.append(index[intent])
            domains.append(CLINC_OOS if oos_split else domain_of[intent])
        out[split] = Dataset.from_dict(
            {"text": texts, "intent": intents, "domain": domains}, features=features
        )
    return DatasetDict(out)


def _clinc_from_files(folder: Path) -> DatasetDict:
    data_path = _require("clinc150", folder / "data_full.json")
    domains_path = _require("clinc150", folder / "domains.json")
    data = _read_json(data_path)
    keys = sorted(_CLINC_SPLITS.values())
    if not isinstance(data, dict) or not set(keys) <= set(data):
        raise ValueError(f"{data_path}: expected a JSON object with the keys {keys}")
    domain_of = _intent_domains(_read_json(domains_path), str(domains_path))
    return _build_clinc(
        {ours: data[theirs] for ours, theirs in _CLINC_SPLITS.items()}, domain_of, str(data_path)
    )


def _fetch_clinc_domains() -> dict[str, str]:
    """domains.json from the authors' GitHub repository (the Hub copies have no domains)."""
    try:
        with urllib.request.urlopen(_CLINC_DOMAINS_URL, timeout=30) as response:
            mapping = json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise _not_found(
            "clinc150", f"could not download domains.json from {_CLINC_DOMAINS_URL} ({exc})"
        ) from exc
    return _intent_domains(mapping, _CLINC_DOMAINS_URL)


def _clinc_from_hub(raw: DatasetDict) -> DatasetDict:
    domain_of = _fetch_clinc_domains()
    pairs: dict[str, list[tuple[str, str]]] = {}
    for split in ("train", "validation", "test"):
        ds = raw[split]
        feature = ds.features["intent"]
        rows = ds.select_columns(["text", "intent"]).to_dict()
        intents = rows["intent"]
        if isinstance(feature, ClassLabel):
            intents = [feature.int2str(i) for i in intents]
        pairs[split] = [(t, i) for t, i in zip(rows["text"], intents) if i != CLINC_OOS]
        pairs[f"oos_{split}"] = [(t, i) for t, i in zip(rows["text"], intents) if i == CLINC_OOS]
    # in the split order of the local files: in-scope splits first, then the out-of-scope ones
    ordered = {split: pairs[split] for split in _CLINC_SPLITS}
    return _build_clinc(ordered, domain_of, "clinc/clinc_oos")


def load_clinc150() -> DatasetDict:
    """CLINC150 ("full" version): splits ``train``, ``validation``, ``test`` (in-scope, 150 intents)
    and ``oos_train``, ``oos_validation``, ``oos_test`` (out-of-scope).

    Columns ``text``, ``intent`` (ClassLabel: the 150 in-scope intents sorted, ids 0..149, then
    ``"oos"`` = 150) and ``domain`` (from domains.json; ``"oos"`` for out-of-scope). The Hub copy is
    the ``plus`` configuration, identical except that ``oos_train`` has 250 examples instead of 100.
    """
    return _load("clinc150", tuple(_CLINC_SPLITS), _CLINC_COLUMNS, _clinc_from_files)


def clinc150_domains(dataset: DatasetDict | None = None) -> dict[str, list[str]]:
    """Domain -> sorted in-scope intent names, read from ``dataset`` (default:
    :func:`load_clinc150`).

    Use it to keep a few domains, e.g. ``ds.filter(lambda d: d in keep, input_columns="domain")``.
    """
    ds = load_clinc150() if dataset is None else dataset
    if (
        not isinstance(ds, DatasetDict)
        or "train" not in ds
        or ds["train"].column_names != list(_CLINC_COLUMNS)
    ):
        raise ValueError("expected the DatasetDict returned by load_clinc150()")
    train = ds["train"]
    feature = train.features["intent"]
    rows = train.select_columns(["intent", "domain"]).to_dict()
    mapping: dict[str, set[str]] = {}
    for intent, domain in zip(rows["intent"], rows["domain"]):
        mapping.setdefault(domain, set()).add(feature.int2str(intent))
    return {domain: sorted(mapping[domain]) for domain in sorted(mapping)}


def select_clinc_domains(dataset: DatasetDict, domains: Sequence[str]) -> DatasetDict:
    """CLINC150 restricted to a few domains: a smaller intent classifier for a quick run.

    The in-scope splits keep the rows of ``domains`` only, and their ``intent`` becomes a
    ClassLabel of just those domains' intents (sorted), so a classifier trained on ``train``
    has exactly that many classes. The out-of-scope splits are kept whole, with ``intent``
    set to -1 (datasets' "no label"): an out-of-scope query belongs to none of the classes.
    """
    known = clinc150_domains(dataset)
    if isinstance(domains, str) or not domains:
        raise ValueError(f"domains must be a non-empty list of domain names, got {domains!r}")
    unknown = sorted(set(domains) - set(known))
    if unknown:
        raise ValueError(f"unknown CLINC150 domains {unknown}; the domains are {sorted(known)}")
    names = sorted(intent for domain in set(domains) for intent in known[domain])
    old = dataset["train"].features["intent"]
    new_id = {old.str2int(name): i for i, name in enumerate(names)}
    features = Features(
        {"text": Value("string"), "intent": ClassLabel(names=names), "domain": Value("string")}
    )
    keep = set(domains)
    out = {}
    for split, ds in dataset.items():
        if split.startswith("oos_"):
            out[split] = ds.map(lambda _: {"intent": -1}, features=features)
        else:
            chosen = ds.filter(lambda domain: domain in keep, input_columns="domain")
            out[split] = chosen.map(
                lambda row: {"intent": new_id[row["intent"]]}, features=features
            )
    return DatasetDict(out)


# --------------------------------------------------------------------------- CoNLL-style NER


def _read_columns(
    path: Path,
    *,
    n_columns: int,
    tag_column: int,
    tags: Sequence[str],
    separator: str | None,
    docstart: bool,
) -> dict[str, list[Any]]:
    """Read a CoNLL-style column file: one token a line, blank (or whitespace-only) lines between
    sentences. ``separator=None`` splits on runs of whitespace. With ``docstart``, ``-DOCSTART-``
    lines start a new document (0-based ``document_id``) and are not sentences. Checks the column
    count, the tag set and IOB2 (an ``I-X`` must follow ``B-X`` or ``I-X``); errors name file:line.
    """
    tag_id = {t: i for i, t in enumerate(tags)}
    sep_name = "whitespace" if separator is None else repr(separator)
    tokens: list[list[str]] = []
    tag_ids: list[list[int]] = []
    documents: list[int] = []
    document = -1
    sentence: list[str] = []
    sentence_tags: list[int] = []
    previous = "O"

    def flush() -> None:
        nonlocal document, sentence, sentence_tags, previous
        if sentence:
            document = max(document, 0)
            tokens.append(sentence)
            tag_ids.append(sentence_tags)
            documents.append(document)
        sentence, sentence_tags, previous = [], [], "O"

    for number, line in enumerate(_lines(_read_utf8(path)), start=1):
        if not line.strip():
            flush()
            continue
        fields = line.split(separator)
        if len(fields) != n_columns:
            raise ValueError(
                f"{path}:{number}: expected {n_columns} columns separated by {sep_name}, "
                f"found {len(fields)}: {line!r}"
            )
        if docstart and fields[0] == "-DOCSTART-":
            flush()
            document += 1
            continue
        tag = fields[tag_column]
        if tag not in tag_id:
            raise ValueError(f"{path}:{number}: unknown tag {tag!r}; expected one of {list(tags)}")
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            raise ValueError(f"{path}:{number}: IOB2 violation: {tag!r} follows {previous!r}")
        sentence.append(fields[0])
        sentence_tags.append(tag_id[tag])
        previous = tag
    flush()
    columns: dict[str, list[Any]] = {"tokens": tokens, "ner_tags": tag_ids}
    if docstart:
        columns["document_id"] = documents
    return columns


def _ner_features(tags: Sequence[str], with_documents: bool) -> Features:
    features = {"tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=list(tags)))}
    if with_documents:
        features["document_id"] = Value("int32")
    return Features(features)


def _ner_from_hub(
    raw: DatasetDict, tags: Sequence[str], with_documents: bool, title: str
) -> DatasetDict:
    out = {}
    for split in ("train", "validation", "test"):
        ds = raw[split]
        column = "ner_tags" if "ner_tags" in ds.column_names else "tags"
        to_id = _label_lookup(ds.features[column].feature, tags, f"{title} {split}")
        wanted = ["tokens", column] + (["document_id"] if "document_id" in ds.column_names else [])
        rows = ds.select_columns(wanted).to_dict()
        columns: dict[str, list[Any]] = {
            "tokens": rows["tokens"],
            "ner_tags": [[to_id(t) for t in sentence] for sentence in rows[column]],
        }
        if with_documents:  # -1: the copy has no document boundaries
            columns["document_id"] = rows.get("document_id", [-1] * len(ds))
        out[split] = Dataset.from_dict(columns, features=_ner_features(tags, with_documents))
    return DatasetDict(out)


_CONLL_FILES = {"train": "train.txt", "validation": "valid.txt", "test": "test.txt"}
_WNUT_FILES = {
    "train": "wnut17train.conll",
    "validation": "emerging.dev.conll",
    "test": "emerging.test.annotated",
}


def _ner_from_files(
    name: str,
    folder: Path,
    files: Mapping[str, str],
    tags: Sequence[str],
    with_documents: bool,
    **reader: Any,
) -> DatasetDict:
    """Read every split of a CoNLL-style NER data set with :func:`_read_columns`."""
    features = _ner_features(tags, with_documents=with_documents)
    return DatasetDict(
        {
            split: Dataset.from_dict(
                _read_columns(
                    _require(name, folder / file), tags=tags, docstart=with_documents, **reader
                ),
                features=features,
            )
            for split, file in files.items()
        }
    )


def _conll_from_files(folder: Path) -> DatasetDict:
    return _ner_from_files(
        "conll2003",
        folder,
        _CONLL_FILES,
        CONLL2003_TAGS,
        True,
        n_columns=4,
        tag_column=3,
        separator=None,
    )


def load_conll2003() -> DatasetDict:
    """CoNLL-2003 English NER (IOB2): splits ``train``, ``validation``, ``test``.

    Columns ``tokens``, ``ner_tags`` (sequence of ClassLabel ``CONLL2003_TAGS``) and ``document_id``
    (0-based, one per ``-DOCSTART-`` line; -1 when loaded from a Hub copy without document ids).
    """
    return _load(
        "conll2003", tuple(_CONLL_FILES), ("tokens", "ner_tags", "document_id"), _conll_from_files
    )


def _wnut_from_files(folder: Path) -> DatasetDict:
    return _ner_from_files(
        "wnut17", folder, _WNUT_FILES, WNUT17_TAGS, False, n_columns=2, tag_column=1, separator="\t"
    )


def load_wnut17() -> DatasetDict:
    """WNUT-17 emerging entities (IOB2): splits ``train``, ``validation`` (dev) and ``test``
    (``emerging.test.annotated``); columns ``tokens`` and ``ner_tags`` (ClassLabel ``WNUT17_TAGS``).

    Files are ``token<TAB>tag``; sentence breaks are empty lines or, in the train file, a lone tab.
    Tokens are split on tabs only, so tokens keep any other whitespace-like characters.
    """
    return _load("wnut17", tuple(_WNUT_FILES), ("tokens", "ner_tags"), _wnut_from_files)


def _triviaqa_from_hub(raw: DatasetDict) -> DatasetDict:
    """TriviaQA ``rc.nocontext``: keep ``question`` and ``answers`` (the answer's ``value``
    first, then its ``aliases``, without repeats) of the validation split."""
    if "validation" not in raw:
        raise ValueError(f"TriviaQA Hub copy has no 'validation' split; splits: {list(raw)}")
    split = raw["validation"]
    missing = {"question", "answer"} - set(split.column_names)
    if missing:
        raise ValueError(f"TriviaQA Hub copy lacks column(s) {sorted(missing)}")
    answers = [
        list(dict.fromkeys([a["value"], *a["aliases"]])) for a in split["answer"]
    ]
    return DatasetDict({"validation": Dataset.from_dict(
        {"question": split["question"], "answers": answers},
        features=Features({"question": Value("string"), "answers": [Value("string")]}),
    )})


def _triviaqa_from_files(folder: Path) -> DatasetDict:
    raise _not_found(
        "triviaqa", f"{folder} holds no prefetched copy ({folder / 'hub'}); the course reads "
        "TriviaQA only from the Hub or from what prefetch writes"
    )


def load_triviaqa() -> DatasetDict:
    """TriviaQA (Joshi et al. 2017), ``rc.nocontext`` validation questions: columns
    ``question`` and ``answers`` (the answer and its aliases). Hub or prefetched copy only:
    lesson 09's full profile."""
    return _load("triviaqa", ("validation",), ("question", "answers"), _triviaqa_from_files)


# --------------------------------------------------------------------------- subsets


def _check_dataset(ds: object, caller: str) -> None:
    if not isinstance(ds, Dataset):
        raise TypeError(f"{caller} expects a datasets.Dataset, got {type(ds).__name__}")


def _class_label(ds: Dataset, column: str, argument: str) -> ClassLabel:
    feature = ds.features.get(column)
    if not isinstance(feature, ClassLabel):
        raise ValueError(
            f"{argument}={column!r} must name a ClassLabel column; columns: {dict(ds.features)}"
        )
    return feature


def take_subset(ds: Dataset, n: int | None, seed: int, stratify_by: str | None = None) -> Dataset:
    """A deterministic random subset of ``n`` rows (``None``: all rows), kept in the original order.

    With ``stratify_by`` (a ClassLabel column), each class gets its share of ``n`` by largest
    remainders, so class proportions are kept as closely as integers allow. The rows are those of
    :func:`subset_indices` with the same arguments.
    """
    rows = subset_indices(ds, n, seed, stratify_by)
    return ds if n is None else ds.select(rows)


def subset_indices(
    ds: Dataset, n: int | None, seed: int, stratify_by: str | None = None
) -> np.ndarray:
    """The sorted row indices that :func:`take_subset` keeps (``None``: every row), e.g. to pick the
    same rows from predictions already computed for the whole split."""
    _check_dataset(ds, "subset_indices")
    check_seed(seed)
    if stratify_by is not None:
        _class_label(ds, stratify_by, "stratify_by")
    if n is None:
        return np.arange(len(ds))
    check_int(n, "n", 0, "Or None for every row.")
    total = len(ds)
    if n > total:
        raise ValueError(f"cannot take {n} examples from a dataset of {total}")
    rng = np.random.default_rng(int(seed))
    if stratify_by is None:
        chosen = rng.choice(total, size=int(n), replace=False)
    else:
        labels = np.asarray(ds[stratify_by][:])  # [:] reads the column at once, not row by row
        classes, counts = np.unique(labels, return_counts=True)
        exact = counts * (n / total)
        quota = np.floor(exact).astype(int)
        leftover = int(n - quota.sum())
        order = np.lexsort((classes, -(exact - quota)))  # largest remainder first, ties by class id
        quota[order[:leftover]] += 1
        chosen = np.concatenate(
            [
                rng.choice(np.flatnonzero(labels == c), size=k, replace=False)
                for c, k in zip(classes, quota)
            ]
        )
    return np.sort(chosen)


def flip_labels(ds: Dataset, rate: float, seed: int, label_column: str = "label") -> Dataset:
    """A copy of ``ds`` with exactly ``round(rate * len(ds))`` labels changed (synthetic label
    noise).

    The rows to corrupt are drawn without replacement, and each gets a different class drawn
    uniformly from the other ``K - 1`` classes of the ClassLabel column ``label_column``; every
    other column and the row order stay as they are. Deterministic for a given ``seed``. To know
    which rows were flipped, compare the two label columns.
    """
    _check_dataset(ds, "flip_labels")
    check_seed(seed)
    feature = _class_label(ds, label_column, "label_column")
    rate = check_fraction(rate, "rate", "It is the fraction of labels to flip.")
    if feature.num_classes < 2:
        raise ValueError(f"flipping needs at least 2 classes; {label_column!r} has {feature.names}")
    labels = np.asarray(ds[label_column], dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= feature.num_classes):
        raise ValueError(
            f"{label_column!r} holds labels outside 0..{feature.num_classes - 1} "
            "(e.g. -1, 'no label'); "
            "only fully labelled data can be corrupted"
        )
    rng = np.random.default_rng(int(seed))
    chosen = rng.choice(len(labels), size=round(float(rate) * len(labels)), replace=False)
    noisy = labels.copy()
    # Adding an offset in 1..K-1 modulo K moves to each other class with equal probability.
    noisy[chosen] = (
        labels[chosen] + rng.integers(1, feature.num_classes, size=chosen.size)
    ) % feature.num_classes
    corrupted = ds.remove_columns(label_column).add_column(
        label_column, noisy.tolist(), feature=feature
    )
    return corrupted.select_columns(ds.column_names)


def tokenize_texts(
    ds: Dataset,
    tokenizer: Any,
    max_length: int,
    text_column: str = "text",
    label_column: str | None = "label",
) -> Dataset:
    """Tokenize a text-classification split for :mod:`llmu.train`: token columns plus ``labels``.

    No padding here (batches are padded dynamically); texts longer than ``max_length``
    tokens are truncated. Every other column is dropped.
    """
    if text_column not in ds.column_names:
        raise ValueError(f"no text column {text_column!r}; columns are {ds.column_names}")
    if label_column is not None and label_column not in ds.column_names:
        raise ValueError(
            f"no label column {label_column!r}; columns are {ds.column_names} "
            "(use label_column=None)"
        )
    check_int(max_length, "max_length", 2)

    # One tokenizer call on the whole column: Dataset.map would hash the tokenizer to
    # fingerprint its function, which costs more than tokenizing a few hundred texts.
    encoded = dict(tokenizer(ds[text_column][:], truncation=True, max_length=max_length))
    if label_column is not None:
        encoded["labels"] = ds[label_column][:]
    return Dataset.from_dict(encoded)


# --------------------------------------------------------------------------- registry

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("sst2", "sst2", "SST-2", load_sst2, (HubSource("stanfordnlp/sst2"),)),
        DatasetSpec(
            "amazon",
            "amazon_multidomain_sentiment",
            "Amazon multi-domain sentiment",
            _load_amazon_all,
            (),
        ),
        DatasetSpec(
            "clinc150",
            "clinc150",
            "CLINC150",
            load_clinc150,
            (HubSource("clinc/clinc_oos", "plus"),),
        ),
        DatasetSpec(
            "conll2003",
            "conll2003",
            "CoNLL-2003",
            load_conll2003,
            (
                HubSource("lhoestq/conll2003"),
                HubSource("eriktks/conll2003", revision="refs/convert/parquet"),
            ),
        ),
        DatasetSpec(
            "wnut17",
            "wnut17",
            "WNUT-17",
            load_wnut17,
            (
                HubSource("leondz/wnut_17", revision="refs/convert/parquet"),
                HubSource("flaitenberger/wnut_17"),
            ),
        ),
        DatasetSpec(
            "triviaqa",
            "triviaqa",
            "TriviaQA",
            load_triviaqa,
            (HubSource("mandarjoshi/trivia_qa", "rc.nocontext"),),
            full_only=True,
        ),
    )
}

_HUB_NORMALISERS: dict[str, Callable[[DatasetDict], DatasetDict]] = {
    "sst2": _sst2_from_hub,
    "clinc150": _clinc_from_hub,
    "conll2003": lambda raw: _ner_from_hub(raw, CONLL2003_TAGS, True, "CoNLL-2003"),
    "wnut17": lambda raw: _ner_from_hub(raw, WNUT17_TAGS, False, "WNUT-17"),
    "triviaqa": _triviaqa_from_hub,
}
