"""Profiles, devices, seeding, the lesson harness, backbone resolution and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from llmu import lesson
from llmu.cli import main
from llmu.config import PROFILES, data_dir, get_profile, seed_everything, select_device
from llmu.models import BackboneNotFoundError, count_parameters, load_classifier, resolve_backbone


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "LLMU_DATA_DIR"} | env
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120)


def test_profiles_differ_where_they_should():
    quick, full = PROFILES["quick"], PROFILES["full"]
    assert quick.backbone == "minilm" and full.backbone != "minilm"
    assert quick.train_examples is not None and full.train_examples is None
    assert get_profile("quick", backbone=None) is quick  # unset papermill parameters keep the default
    assert get_profile("quick", train_examples=10).train_examples == 10


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: get_profile("medium"), "unknown profile"),
        (lambda: get_profile("quick", epoch=3), "unknown profile field"),
        (lambda: select_device("tpu"), "unknown device"),
        (lambda: seed_everything(-1), "non-negative"),
        (lambda: resolve_backbone(""), "non-empty"),
        (lambda: lesson.resolve_lesson("99_nothing"), "unknown lesson"),
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


def test_offline_backbone_loads_and_counts_parameters():
    model = load_classifier("minilm", ["negative", "positive"])
    assert 22e6 < count_parameters(model) < 23e6
    assert model.config.id2label == {0: "negative", 1: "positive"}


def test_hub_backbone_offline_fails_with_the_fix():
    result = run_python("from llmu.models import load_tokenizer; load_tokenizer('bert-base-cased')", HF_HUB_OFFLINE="1")
    assert result.returncode != 0
    assert "BackboneNotFoundError" in result.stderr and "llmu prefetch" in result.stderr
    assert issubclass(BackboneNotFoundError, OSError)


def test_save_metrics_adds_the_run_and_rejects_bad_values(tmp_path):
    run = lesson.start("02_calibration", "quick", 3, tmp_path)
    path = run.save_metrics({"accuracy": 0.9, "sizes": [1, 2], "per_type": {"PER": 0.5}})
    saved = json.loads(path.read_text())
    assert saved["accuracy"] == 0.9 and saved["seed"] == 3 and saved["profile"] == "quick"
    assert saved["device"].startswith("cpu") and saved["runtime_s"] >= 0 and "torch" in saved["versions"]
    with pytest.raises(ValueError, match="finite"):
        run.save_metrics({"ece": float("nan")})
    with pytest.raises(ValueError, match="reserved"):
        run.save_metrics({"seed": 1})
    with pytest.raises(ValueError, match="ndarray"):
        import numpy as np

        run.save_metrics({"logits": np.zeros(3)})


def test_doctor_without_data_dir_explains_the_fix_and_fails():
    result = run_python("from llmu.cli import main; raise SystemExit(main(['doctor']))")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "LLMU_DATA_DIR: not set" in result.stdout
    assert "python -m llmu prefetch" in result.stdout and "export LLMU_DATA_DIR" in result.stdout


def test_doctor_with_the_course_data_passes():
    if not os.environ.get("LLMU_DATA_DIR"):
        pytest.skip("LLMU_DATA_DIR is not set")
    result = run_python("from llmu.cli import main; raise SystemExit(main(['doctor']))",
                        LLMU_DATA_DIR=os.environ["LLMU_DATA_DIR"])
    assert result.returncode == 0, result.stdout
    assert "all good" in result.stdout


def test_run_rejects_an_unknown_lesson_before_starting_a_kernel():
    with pytest.raises(ValueError, match="unknown lesson"):
        main(["run", "42"])
    with pytest.raises(SystemExit):
        main(["run", "02", "--profile", "medium"])
