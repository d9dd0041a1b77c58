"""The benchmarks run end to end on tiny sizes and write the JSON they promise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PATHS


@pytest.mark.parametrize(
    ("script", "options", "ratio_of"),
    [
        (
            "mc_dropout_throughput",
            ["--sentences", "12", "--samples", "3", "--batch-size", "6", "--repeats", "1"],
            "sentence_passes_per_s",
        ),
        (
            "generate_throughput",
            ["--questions", "4", "--samples", "2", "--max-new-tokens", "2", "--batch-size", "2",
             "--repeats", "1"],
            "answer_tokens_per_s",
        ),
        (
            "train_throughput",
            ["--steps", "2", "--warmup-steps", "1", "--batch-size", "4"],
            "examples_per_s",
        ),
    ],
)
def test_benchmark_runs_and_reports_its_ratio(
    tmp_path: Path, script: str, options: list[str], ratio_of: str
) -> None:
    output = tmp_path / f"{script}.json"
    done = subprocess.run(
        [sys.executable, str(PATHS.root / "bench" / f"{script}.py"), *options,
         "--output", str(output)],
        capture_output=True, text=True, timeout=300, cwd=PATHS.root,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1].startswith("ratio")  # the ratio is printed last
    record = json.loads(output.read_text(encoding="utf-8"))
    rates = list(record[ratio_of].values())
    assert len(rates) == 2 and all(rate > 0 for rate in rates)
    assert record["ratio"] == pytest.approx(rates[0] / rates[1])
