"""What every benchmark does last: print the ratio, then write the run's JSON record."""

from __future__ import annotations

import json
from pathlib import Path

import torch


def report(
    path: Path, device: torch.device, ratio_label: str, ratio: float, **fields: object
) -> None:
    """Print ``ratio`` last; write ``fields``, the device, threads and ratio to ``path``."""
    print(f"{ratio_label:24s} {ratio:9.3f}")
    record = {
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(),
        "threads": torch.get_num_threads(),
        **fields,
        "ratio": ratio,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
