"""Profiles, devices, seeding and the data folder (``llmu.config``); backbone resolution
(``llmu.models``)."""

from __future__ import annotations

import pytest
import torch

from conftest import run_python
from llmu.config import PROFILES, data_dir, get_profile, seed_everything, select_device
from llmu.models import BackboneNotFoundError, count_parameters, load_classifier, resolve_backbone


def test_profiles_differ_where_they_should():
    quick, full = PROFILES["quick"], PROFILES["full"]
    assert quick.backbone == "minilm" and full.backbone != "minilm"
    assert quick.train_examples is not None and full.train_examples is None
    assert get_profile("quick", backbone=None) is quick  # unset papermill parameters keep it
    assert get_profile("quick", train_examples=10).train_examples == 10
    assert PROFILES["quick"].train_examples == quick.train_examples != 10  # not changed in place


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: get_profile("medium"), "unknown profile"),
        (lambda: get_profile("quick", epoch=3), "unknown profile field"),
        (lambda: select_device("tpu"), "unknown device"),
        (lambda: seed_everything(-1), "non-negative"),
        (lambda: resolve_backbone(""), "non-empty"),
        (lambda: load_classifier("minilm", ["only-one"]), "at least 2 labels"),
        (lambda: load_classifier("minilm", ["a", "a"]), "unique"),
    ],
)
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_cuda_asked_for_without_a_gpu_is_an_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        select_device("cuda")


def test_data_dir_must_exist(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMU_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="LLMU_DATA_DIR"):
        data_dir()
    monkeypatch.delenv("LLMU_DATA_DIR")
    assert data_dir() is None


def test_seeding_repeats_dropout_masks():
    seed_everything(5)
    first = torch.nn.functional.dropout(torch.ones(100), 0.5)
    seed_everything(5)
    assert torch.equal(first, torch.nn.functional.dropout(torch.ones(100), 0.5))
    seed_everything(6)
    assert not torch.equal(first, torch.nn.functional.dropout(torch.ones(100), 0.5))


def test_offline_backbone_loads_and_counts_parameters():
    model = load_classifier("minilm", ["negative", "positive"])
    assert 22e6 < count_parameters(model) < 23e6
    assert model.config.id2label == {0: "negative", 1: "positive"}


def test_hub_backbone_offline_fails_with_the_fix():
    result = run_python(
        "from llmu.models import load_tokenizer; load_tokenizer('bert-base-cased')",
        HF_HUB_OFFLINE="1",
    )
    assert result.returncode != 0
    assert "BackboneNotFoundError" in result.stderr and "llmu prefetch" in result.stderr
    assert issubclass(BackboneNotFoundError, OSError)
