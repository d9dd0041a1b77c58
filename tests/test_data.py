"""Tests for llmu.data: parsers on tiny invented fixtures, the Hub/offline paths with fakes, and
(when LLMU_DATA_DIR is set) the real course data against the counts in its PROVENANCE files."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections import Counter
from pathlib import Path

import datasets.config
import huggingface_hub.constants
import numpy as np
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value

from llmu import data as D
from llmu.data import DataNotFoundError

FIXTURES = Path(__file__).parent / "fixtures" / "data"
REAL_DATA = os.environ.get("LLMU_DATA_DIR")
real_data = pytest.mark.skipif(
    not REAL_DATA,
    reason="LLMU_DATA_DIR is not set: the checks against the real course data need it",
)


@pytest.fixture
def fixtures(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLMU_DATA_DIR", str(FIXTURES))
    return FIXTURES


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the fixture folder, used as LLMU_DATA_DIR."""
    root = tmp_path / "data"
    shutil.copytree(FIXTURES, root)
    monkeypatch.setenv("LLMU_DATA_DIR", str(root))
    return root


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make every socket connection fail, and record the attempts (the test asserts there were
    none)."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def tag_names(ds: Dataset, sentence: int) -> list[str]:
    names = ds.features["ner_tags"].feature.names
    return [names[t] for t in ds[sentence]["ner_tags"]]


# ----------------------------------------------------------------------------- parsers on fixtures


def test_sst2_fixture(fixtures: Path) -> None:
    ds = D.load_sst2()
    assert list(ds) == ["train", "validation"]
    assert (len(ds["train"]), len(ds["validation"])) == (5, 2)
    assert ds["train"].features["label"] == ClassLabel(names=["negative", "positive"])
    assert ds["train"][0] == {
        "text": "a gentle , funny little film about lighthouse keepers",
        "label": 1,
    }
    assert ds["train"]["label"][:2] == [1, 0]
    assert ds["validation"][0]["text"] == "the orchestra of clichés never stops playing"


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("text\tlabel\nfine film \t1\n", 1),  # wrong header
        ("sentence\tlabel\nfine film \t1\nno tab here\n", 3),
        ("sentence\tlabel\nfine film \t1\nbad label \t2\n", 3),
    ],
)
def test_sst2_malformed(scratch: Path, content: str, line: int) -> None:
    path = scratch / "sst2" / "dev.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=f"dev.tsv:{line}:"):
        D.load_sst2()


def test_amazon_fixture(fixtures: Path) -> None:
    books = D.load_amazon("books")
    assert books.features["label"] == ClassLabel(names=["negative", "positive"])
    assert books["label"] == [0, 0, 1, 1]  # negatives first
    # the <data> wrapper is ignored, whitespace collapsed, entities unescaped, a bare '&' kept,
    # UTF-8 decoded
    expected = 'Smith & Jones wrote a "page-turner". The café scenes are "perfect".'
    assert books[2]["text"] == expected
    assert books[0]["text"] == "Nothing happens for 300 pages."
    dvd = D.load_amazon("dvd")  # cp1252 bytes, not valid UTF-8
    assert dvd["text"] == [
        "The disc wouldn\u2019t play & the case was cracked.",
        "Naïve but fun \u2013 the kids loved it.",
    ]
    assert dvd["label"] == [0, 1]
    assert set(D.DATASETS["amazon"].load()) == {"books", "dvd"}


def test_amazon_bad_domain_lists_valid_ones(fixtures: Path) -> None:
    with pytest.raises(ValueError, match=r"'kitchen'.*\['books', 'dvd'\]"):
        D.load_amazon("kitchen")


def test_amazon_malformed(scratch: Path) -> None:
    path = scratch / "amazon_multidomain_sentiment" / "dvd" / "negative.review"
    path.write_bytes(path.read_bytes().replace(b"</review_text>", b""))
    with pytest.raises(ValueError, match=r"negative.review:1: review block has 0 <review_text>"):
        D.load_amazon("dvd")
    path.write_bytes(b"<review>\n<review_text>\nunfinished\n")
    with pytest.raises(ValueError, match="1 <review> tags but 0 complete"):
        D.load_amazon("dvd")


def test_clinc150_fixture(fixtures: Path) -> None:
    ds = D.load_clinc150()
    assert list(ds) == ["train", "validation", "test", "oos_train", "oos_validation", "oos_test"]
    assert [len(ds[s]) for s in ds] == [5, 2, 1, 1, 1, 2]
    intent = ds["train"].features["intent"]
    assert intent.names == ["bake_bread", "boil_egg", "prune_roses", "water_plants", "oos"]
    assert ds["train"][0] == {
        "text": "when should i water the ferns",
        "intent": 3,
        "domain": "garden",
    }
    assert ds["oos_test"]["intent"] == [4, 4]
    assert ds["oos_test"]["domain"] == ["oos", "oos"]
    assert all(ds[s].features == ds["train"].features for s in ds)
    assert D.clinc150_domains() == {
        "garden": ["prune_roses", "water_plants"],
        "pantry": ["bake_bread", "boil_egg"],
    }
    assert D.clinc150_domains(ds) == D.clinc150_domains()


def test_select_clinc_domains(fixtures: Path) -> None:
    ds = D.select_clinc_domains(D.load_clinc150(), ["garden"])
    assert ds["train"].features["intent"].names == ["prune_roses", "water_plants"]
    assert set(ds["train"]["domain"]) == {"garden"}
    assert ds["train"][0] == {
        "text": "when should i water the ferns",
        "intent": 1,
        "domain": "garden",
    }
    assert ds["oos_test"]["intent"] == [-1, -1] and len(ds["oos_test"]) == 2
    with pytest.raises(ValueError, match=r"unknown CLINC150 domains \['kitchen'\]"):
        D.select_clinc_domains(D.load_clinc150(), ["garden", "kitchen"])
    with pytest.raises(ValueError, match="non-empty list"):
        D.select_clinc_domains(D.load_clinc150(), "garden")


def test_clinc150_malformed(scratch: Path) -> None:
    path = scratch / "clinc150" / "data_full.json"
    path.write_text(path.read_text().replace('"boil_egg"]', '"oos"]', 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[train\]\[2\]: intent 'oos'"):
        D.load_clinc150()
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="data_full.json:1: invalid JSON"):
        D.load_clinc150()


def test_conll2003_fixture(fixtures: Path) -> None:
    ds = D.load_conll2003()
    assert [len(ds[s]) for s in ("train", "validation", "test")] == [3, 1, 2]
    train = ds["train"]
    assert train.features["ner_tags"] == List(ClassLabel(names=list(D.CONLL2003_TAGS)))
    assert train["document_id"] == [
        0,
        0,
        1,
    ]  # -DOCSTART- lines start documents and are not sentences
    assert train[0]["tokens"] == ["Mira", "Kovac", "visited", "Portvale", "."]
    assert tag_names(train, 0) == ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert tag_names(train, 2) == ["O", "B-MISC", "O", "O", "O"]
    # test.txt has no final newline: the last sentence is still read
    assert ds["test"]["tokens"] == [["Brindle", "won"], ["Rain", "fell"]]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("Otto NNP B-PER", "valid.txt:3: expected 4 columns"),
        ("Otto NNP B-NP B-PERSON", "valid.txt:3: unknown tag 'B-PERSON'"),
        ("Otto NNP B-NP I-PER", "valid.txt:3: IOB2 violation: 'I-PER' follows 'O'"),
    ],
)
def test_conll2003_malformed(scratch: Path, bad_line: str, message: str) -> None:
    path = scratch / "conll2003" / "valid.txt"
    path.write_text(path.read_text().replace("Otto NNP B-NP B-PER", bad_line), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        D.load_conll2003()


def test_conll2003_iob2_type_change(scratch: Path) -> None:
    path = scratch / "conll2003" / "train.txt"
    path.write_text(
        path.read_text().replace("Kovac NNP I-NP I-PER", "Kovac NNP I-NP I-LOC"), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="train.txt:4: IOB2 violation: 'I-LOC' follows 'B-PER'"):
        D.load_conll2003()


def test_wnut17_fixture(fixtures: Path) -> None:
    ds = D.load_wnut17()
    assert [len(ds[s]) for s in ("train", "validation", "test")] == [3, 1, 2]
    assert ds["train"].column_names == ["tokens", "ner_tags"]
    assert ds["train"].features["ner_tags"].feature.names == list(D.WNUT17_TAGS)
    assert len(D.WNUT17_TAGS) == 13
    # a lone tab separates sentences; a no-break space inside a token does not split it
    assert ds["train"]["tokens"][1:] == [
        ["off", "to", "Lake", "Wobegone"],
        ["Big\u00a0Al", "says", "hi"],
    ]
    assert tag_names(ds["train"], 1) == ["O", "O", "B-location", "I-location"]
    assert tag_names(ds["validation"], 0) == [
        "O",
        "B-creative-work",
        "I-creative-work",
        "I-creative-work",
    ]
    assert ds["test"][0]["tokens"][:3] == ["&", "gt", ";"]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("off O", "wnut17train.conll:8: expected 2 columns separated by '\\\\t'"),
        ("off\tO\tO", "wnut17train.conll:8: expected 2 columns"),
        ("off\tB-place", "wnut17train.conll:8: unknown tag 'B-place'"),
        ("off\tI-group", "wnut17train.conll:8: IOB2 violation"),
    ],
)
def test_wnut17_malformed(scratch: Path, bad_line: str, message: str) -> None:
    path = scratch / "wnut17" / "wnut17train.conll"
    path.write_text(path.read_text(encoding="utf-8").replace("off\tO", bad_line), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        D.load_wnut17()


# ----------------------------------------------------------------------- missing data, Hub, offline

LOADERS = {
    "sst2": D.load_sst2,
    "amazon": lambda: D.load_amazon("books"),
    "clinc150": D.load_clinc150,
    "conll2003": D.load_conll2003,
    "wnut17": D.load_wnut17,
}


def test_registry() -> None:
    assert list(D.DATASETS) == ["sst2", "amazon", "clinc150", "conll2003", "wnut17", "triviaqa"]
    assert {n: s.folder for n, s in D.DATASETS.items()}["amazon"] == "amazon_multidomain_sentiment"
    assert all(s.hub for n, s in D.DATASETS.items() if n != "amazon")
    assert not D.DATASETS["amazon"].hub
    with pytest.raises(ValueError, match="valid names"):
        D.prefetch_dataset("imdb", "/tmp")


@pytest.mark.parametrize("name", list(LOADERS))
def test_missing_folder(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMU_DATA_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError) as info:
        LOADERS[name]()
    message = str(info.value)
    assert str(tmp_path / D.DATASETS[name].folder) in message
    assert "LLMU_DATA_DIR" in message and "python -m llmu prefetch" in message
    assert isinstance(info.value, FileNotFoundError)


def test_missing_file_is_named(scratch: Path) -> None:
    (scratch / "conll2003" / "valid.txt").unlink()
    with pytest.raises(DataNotFoundError, match=str(scratch / "conll2003" / "valid.txt")):
        D.load_conll2003()


@pytest.mark.parametrize("name", list(LOADERS))
def test_offline_without_data_dir(
    name: str, monkeypatch: pytest.MonkeyPatch, no_network: list[object]
) -> None:
    monkeypatch.delenv("LLMU_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(
        datasets.config, "HF_HUB_OFFLINE", False
    )  # as if set after `datasets` was imported

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("load_dataset must not be called while HF_HUB_OFFLINE is set")

    monkeypatch.setattr(D, "load_dataset", must_not_run)
    with pytest.raises(DataNotFoundError) as info:
        LOADERS[name]()
    message = str(info.value)
    assert D.DATASETS[name].title in message
    assert "LLMU_DATA_DIR" in message and "python -m llmu prefetch" in message
    assert no_network == []


def test_offline_mode_of_datasets_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: list[object]
) -> None:
    """With `datasets` really in offline mode, the real load_dataset runs, fails without network,
    and its ConnectionError comes back as a DataNotFoundError that chains it."""
    monkeypatch.delenv("LLMU_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "empty-cache")
    with pytest.raises(DataNotFoundError, match="could not be reached") as info:
        D.load_sst2()
    assert isinstance(info.value.__cause__, ConnectionError)
    assert no_network == []


def test_hub_connection_error_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMU_DATA_DIR", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    error = ConnectionError("Couldn't reach 'stanfordnlp/sst2' on the Hub")

    def unreachable(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(D, "load_dataset", unreachable)
    with pytest.raises(DataNotFoundError, match="python -m llmu prefetch") as info:
        D.load_sst2()
    assert info.value.__cause__ is error


def test_hub_other_errors_try_next_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMU_DATA_DIR", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    calls: list[str] = []

    def broken(repo_id: str, *args: object, **kwargs: object) -> None:
        calls.append(repo_id)
        raise RuntimeError("Dataset scripts are no longer supported")

    monkeypatch.setattr(D, "load_dataset", broken)
    with pytest.raises(DataNotFoundError, match="no Hub copy could be loaded"):
        D.load_wnut17()
    assert calls == [s.repo_id for s in D.DATASETS["wnut17"].hub]


# fakes shaped like the Hub copies (labels in a different order than ours, to test the mapping)
def fake_sst2_hub() -> DatasetDict:
    label = ClassLabel(names=["negative", "positive"])
    feats = Features({"idx": Value("int32"), "sentence": Value("string"), "label": label})
    split = {"idx": [0, 1], "sentence": ["a bright film ", "a dim one "], "label": [1, 0]}
    return DatasetDict(
        {s: Dataset.from_dict(split, features=feats) for s in ("train", "validation", "test")}
    )


def fake_conll_hub() -> DatasetDict:
    shuffled = ["B-PER", "O", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    feats = Features(
        {
            "id": Value("string"),
            "tokens": List(Value("string")),
            "ner_tags": List(ClassLabel(names=shuffled)),
        }
    )
    split = {"id": ["0"], "tokens": [["Ada", "Byron", "spoke"]], "ner_tags": [[0, 2, 1]]}
    return DatasetDict(
        {s: Dataset.from_dict(split, features=feats) for s in ("train", "validation", "test")}
    )


def fake_wnut_hub() -> DatasetDict:  # string tags
    feats = Features({"tokens": List(Value("string")), "ner_tags": List(Value("string"))})
    split = {
        "tokens": [["go", "Lake", "Wobegone"]],
        "ner_tags": [["O", "B-location", "I-location"]],
    }
    return DatasetDict(
        {s: Dataset.from_dict(split, features=feats) for s in ("train", "validation", "test")}
    )


def fake_clinc_hub() -> DatasetDict:
    feats = Features(
        {"text": Value("string"), "intent": ClassLabel(names=["water_plants", "oos", "boil_egg"])}
    )
    split = {"text": ["water the ferns", "what is a quasar", "soft egg time"], "intent": [0, 1, 2]}
    return DatasetDict(
        {s: Dataset.from_dict(split, features=feats) for s in ("train", "validation", "test")}
    )


FAKE_HUB = {
    "sst2": fake_sst2_hub,
    "conll2003": fake_conll_hub,
    "wnut17": fake_wnut_hub,
    "clinc150": fake_clinc_hub,
}


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    monkeypatch.delenv("LLMU_DATA_DIR", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    calls: list[tuple[object, ...]] = []
    by_repo = {D.DATASETS[name].hub[0].repo_id: make for name, make in FAKE_HUB.items()}

    def fake_load_dataset(
        repo_id: str, config: str | None = None, revision: str | None = None
    ) -> DatasetDict:
        calls.append((repo_id, config, revision))
        return by_repo[repo_id]()

    monkeypatch.setattr(D, "load_dataset", fake_load_dataset)
    monkeypatch.setattr(
        D, "_fetch_clinc_domains", lambda: {"water_plants": "garden", "boil_egg": "pantry"}
    )
    return calls


def test_hub_copies_are_normalised(fake_hub: list[tuple[object, ...]]) -> None:
    sst2 = D.load_sst2()
    assert list(sst2) == ["train", "validation"]
    assert sst2["train"].features == D.load_sst2()["validation"].features
    assert sst2["train"][0] == {"text": "a bright film", "label": 1}

    conll = D.load_conll2003()
    assert conll["test"].column_names == ["tokens", "ner_tags", "document_id"]
    assert tag_names(conll["test"], 0) == ["B-PER", "I-PER", "O"]
    assert conll["test"]["document_id"] == [-1]

    wnut = D.load_wnut17()
    assert tag_names(wnut["train"], 0) == ["O", "B-location", "I-location"]

    clinc = D.load_clinc150()
    assert clinc["train"].features["intent"].names == ["boil_egg", "water_plants", "oos"]
    assert clinc["train"]["text"] == ["water the ferns", "soft egg time"]
    assert clinc["train"]["domain"] == ["garden", "pantry"]
    assert clinc["oos_validation"][0] == {"text": "what is a quasar", "intent": 2, "domain": "oos"}
    assert ("clinc/clinc_oos", "plus", None) in fake_hub


def test_prefetch_round_trip(
    fake_hub: list[tuple[object, ...]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "prefetched"
    for name in ("sst2", "conll2003"):
        out = D.prefetch_dataset(name, target)
        assert out == target / name / "hub" and out.is_dir()
    with pytest.raises(DataNotFoundError, match="no maintained copy"):
        D.prefetch_dataset("amazon", target)
    fake_hub.clear()
    monkeypatch.setenv("LLMU_DATA_DIR", str(target))
    sst2 = D.load_sst2()  # read from <target>/sst2/hub/ although no raw files are there
    assert sst2["train"][0] == {"text": "a bright film", "label": 1}
    assert D.load_conll2003()["train"].features["ner_tags"].feature.names == list(D.CONLL2003_TAGS)
    assert fake_hub == []  # the Hub was not asked again
    with pytest.raises(DataNotFoundError, match="wnut17"):
        D.load_wnut17()  # not prefetched, and LLMU_DATA_DIR has no raw files for it


def test_prefetched_copy_is_preferred_to_raw_files(scratch: Path) -> None:
    D.load_sst2()["train"].select([0]).to_dict()  # raw files work
    stale = DatasetDict({"train": Dataset.from_dict({"text": ["x"], "label": [0]})})
    stale.save_to_disk(str(scratch / "sst2" / "hub"))
    with pytest.raises(ValueError, match="lacks the split"):
        D.load_sst2()


# ----------------------------------------------------------------------------- take_subset


def labelled(n_neg: int, n_pos: int) -> Dataset:
    labels = [0] * n_neg + [1] * n_pos
    return Dataset.from_dict(
        {"text": [str(i) for i in range(len(labels))], "label": labels},
        features=Features(
            {"text": Value("string"), "label": ClassLabel(names=["negative", "positive"])}
        ),
    )


def test_take_subset() -> None:
    ds = labelled(80, 20)
    assert D.take_subset(ds, None, seed=0) is ds
    sub = D.take_subset(ds, 10, seed=3)
    assert len(sub) == 10 and sub["text"] == D.take_subset(ds, 10, seed=3)["text"]
    assert sub["text"] != D.take_subset(ds, 10, seed=4)["text"]
    assert [int(t) for t in sub["text"]] == sorted(
        int(t) for t in sub["text"]
    )  # original order kept
    strat = D.take_subset(ds, 11, seed=1, stratify_by="label")
    assert Counter(strat["label"]) == {0: 9, 1: 2}  # 8.8 and 2.2, largest remainder to negative
    assert Counter(D.take_subset(ds, 100, seed=1, stratify_by="label")["label"]) == {0: 80, 1: 20}
    assert len(D.take_subset(ds, 0, seed=1)) == 0
    for n, stratify_by in ((10, None), (11, "label"), (None, None)):  # the rows take_subset keeps
        rows = D.subset_indices(ds, n, seed=3, stratify_by=stratify_by)
        assert (
            ds.select(rows)["text"] == D.take_subset(ds, n, seed=3, stratify_by=stratify_by)["text"]
        )


def test_take_subset_validation() -> None:
    ds = labelled(3, 2)
    with pytest.raises(ValueError, match=r"6 .* 5"):
        D.take_subset(ds, 6, seed=0)
    with pytest.raises(ValueError, match="ClassLabel"):
        D.take_subset(ds, 2, seed=0, stratify_by="text")
    with pytest.raises(ValueError, match="ClassLabel"):
        D.take_subset(ds, 2, seed=0, stratify_by="missing")
    with pytest.raises(ValueError, match="seed"):
        D.take_subset(ds, 2, seed=-1)
    with pytest.raises(ValueError, match="non-negative"):
        D.take_subset(ds, -1, seed=0)
    with pytest.raises(TypeError):
        D.take_subset(DatasetDict({"train": ds}), 2, seed=0)


# ----------------------------------------------------------------------------- flip_labels


def three_classes(n: int) -> Dataset:
    return Dataset.from_dict(
        {"text": [f"t{i}" for i in range(n)], "label": [i % 3 for i in range(n)]},
        features=Features({"text": Value("string"), "label": ClassLabel(names=["a", "b", "c"])}),
    )


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25, 1 / 3, 0.5, 1.0])
def test_flip_labels_flips_exactly_round_rate_n_to_another_class(rate: float) -> None:
    ds = three_classes(301)
    noisy = D.flip_labels(ds, rate, seed=7)
    changed = np.array(noisy["label"]) != np.array(ds["label"])
    assert changed.sum() == round(rate * 301)  # every chosen row really changes class
    assert noisy.features == ds.features and noisy.column_names == ds.column_names
    assert noisy["text"] == ds["text"]  # rows keep their order and their other columns
    assert ds["label"] == [i % 3 for i in range(301)]  # the input is not modified


def test_flip_labels_is_deterministic_per_seed() -> None:
    ds = three_classes(200)
    assert D.flip_labels(ds, 0.3, seed=1)["label"] == D.flip_labels(ds, 0.3, seed=1)["label"]
    assert D.flip_labels(ds, 0.3, seed=1)["label"] != D.flip_labels(ds, 0.3, seed=2)["label"]


def test_flip_labels_binary_and_uniform_over_other_classes() -> None:
    binary = labelled(30, 20)
    assert D.flip_labels(binary, 1.0, seed=0)["label"] == [1 - y for y in binary["label"]]
    ds = three_classes(6000)
    noisy = np.array(D.flip_labels(ds, 1.0, seed=3)["label"])
    clean = np.array(ds["label"])
    for k in range(3):
        targets = Counter(noisy[clean == k].tolist())
        assert set(targets) == {0, 1, 2} - {k}
        assert all(
            abs(count / 2000 - 0.5) < 0.05 for count in targets.values()
        )  # ~5 standard errors


def test_flip_labels_validation() -> None:
    ds = three_classes(10)
    for rate in (-0.1, 1.5, "0.2", True, float("nan")):
        with pytest.raises(ValueError, match="rate"):
            D.flip_labels(ds, rate, seed=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed"):
        D.flip_labels(ds, 0.2, seed=-1)
    with pytest.raises(ValueError, match="ClassLabel"):
        D.flip_labels(ds, 0.2, seed=0, label_column="text")
    with pytest.raises(ValueError, match="ClassLabel"):
        D.flip_labels(ds, 0.2, seed=0, label_column="missing")
    unlabelled = ds.map(lambda _: {"label": -1}, features=ds.features)
    with pytest.raises(ValueError, match="outside"):
        D.flip_labels(unlabelled, 0.2, seed=0)
    single = Dataset.from_dict(
        {"label": [0, 0]}, features=Features({"label": ClassLabel(names=["only"])})
    )
    with pytest.raises(ValueError, match="at least 2 classes"):
        D.flip_labels(single, 0.5, seed=0)
    with pytest.raises(TypeError):
        D.flip_labels(DatasetDict({"train": ds}), 0.2, seed=0)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the real data


@real_data
def test_real_sst2() -> None:
    start = time.perf_counter()
    ds = D.load_sst2()
    assert time.perf_counter() - start < 5
    assert {s: len(ds[s]) for s in ds} == {"train": 67_349, "validation": 872}
    assert np.bincount(ds["train"]["label"]).tolist() == [29_780, 37_569]
    assert np.bincount(ds["validation"]["label"]).tolist() == [428, 444]
    assert ds["train"].features["label"].names == ["negative", "positive"]


@real_data
@pytest.mark.parametrize("domain", D.AMAZON_DOMAINS)
def test_real_amazon(domain: str) -> None:
    ds = D.load_amazon(domain)
    assert np.bincount(ds["label"]).tolist() == [1000, 1000]
    assert all(text and "<" not in text[:1] and "</review" not in text for text in ds["text"])


@real_data
def test_real_clinc150() -> None:
    start = time.perf_counter()
    ds = D.load_clinc150()
    assert time.perf_counter() - start < 5
    sizes = [
        len(ds[s])
        for s in ("train", "validation", "test", "oos_train", "oos_validation", "oos_test")
    ]
    assert sizes == [15_000, 3_000, 4_500, 100, 100, 1_000]
    names = ds["train"].features["intent"].names
    assert len(names) == 151 and names[-1] == "oos" and names[:-1] == sorted(names[:-1])
    assert set(Counter(ds["train"]["intent"]).values()) == {100}
    assert set(ds["oos_test"]["intent"]) == {150}
    domains = D.clinc150_domains(ds)
    assert len(domains) == 10 and all(len(v) == 15 for v in domains.values())


@real_data
def test_real_conll2003() -> None:
    ds = D.load_conll2003()
    expected = {  # sentences, tokens, documents, entities (PROVENANCE.md)
        "train": (14_041, 203_621, 946, 23_499),
        "validation": (3_250, 51_362, 216, 5_942),
        "test": (3_453, 46_435, 231, 5_648),
    }
    names = ds["train"].features["ner_tags"].feature.names
    assert names == list(D.CONLL2003_TAGS)
    begins = {i for i, n in enumerate(names) if n.startswith("B-")}
    for split, (sentences, tokens, documents, entities) in expected.items():
        rows = ds[split].to_dict()
        assert len(rows["tokens"]) == sentences
        assert sum(map(len, rows["tokens"])) == tokens
        assert max(rows["document_id"]) + 1 == documents and min(rows["document_id"]) == 0
        assert sum(t in begins for tags in rows["ner_tags"] for t in tags) == entities


@real_data
def test_real_wnut17() -> None:
    ds = D.load_wnut17()
    expected = {
        "train": (3_394, 62_730, 1_975),
        "validation": (1_009, 15_733, 836),
        "test": (1_287, 23_394, 1_079),
    }
    names = ds["train"].features["ner_tags"].feature.names
    assert names == list(D.WNUT17_TAGS)
    begins = {i for i, n in enumerate(names) if n.startswith("B-")}
    for split, (sentences, tokens, entities) in expected.items():
        rows = ds[split].to_dict()
        assert len(rows["tokens"]) == sentences
        assert sum(map(len, rows["tokens"])) == tokens
        assert sum(t in begins for tags in rows["ner_tags"] for t in tags) == entities


# ----------------------------------------------------------------------------- tokenization


def test_tokenize_texts_matches_the_tokenizer_and_keeps_the_order() -> None:
    from llmu.models import load_tokenizer

    tokenizer = load_tokenizer("minilm")
    texts = ["a gripping , moving film", "dull", "word " * 40]
    split = Dataset.from_dict(
        {"text": texts, "label": [1, 0, 0], "idx": [7, 8, 9]},
        features=Features(
            {"text": Value("string"), "label": ClassLabel(names=["neg", "pos"]),
             "idx": Value("int64")}
        ),
    )
    encoded = D.tokenize_texts(split, tokenizer, max_length=16)
    expected = tokenizer(texts, truncation=True, max_length=16)
    assert encoded["input_ids"][:] == expected["input_ids"]
    assert encoded["attention_mask"][:] == expected["attention_mask"]
    assert encoded["labels"][:] == [1, 0, 0]
    assert "idx" not in encoded.column_names and "text" not in encoded.column_names
    assert len(encoded["input_ids"][2]) == 16  # truncated to max_length
    unlabelled = D.tokenize_texts(split, tokenizer, max_length=16, label_column=None)
    assert "labels" not in unlabelled.column_names
    with pytest.raises(ValueError, match="no text column 'sentence'"):
        D.tokenize_texts(split, tokenizer, 16, text_column="sentence")
    with pytest.raises(ValueError, match="use label_column=None"):
        D.tokenize_texts(split.remove_columns("label"), tokenizer, 16)
