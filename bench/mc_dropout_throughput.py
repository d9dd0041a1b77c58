"""MC-dropout throughput: K stochastic passes batched along the batch dimension, against a loop
of K passes.

Both run the same model with every dropout sampling (``llmu.predict.dropout_active``) over the
same SST-2 dev sentences, sorted by length, with the same number of rows per forward pass
(``--batch-size``). The batched way repeats each sentence K times inside a batch
(``predict_logits(..., mc_samples=K)``: ``batch_size // K`` sentences a batch); the loop
predicts the whole set K times (``mc_samples=1``). Each way runs once untimed, then
``--repeats`` times, alternating; the median is kept. Prints sentence-passes per second of
each and their ratio last, and writes JSON.

    python bench/mc_dropout_throughput.py                  # CPU, small
    python bench/mc_dropout_throughput.py --backbone bert-base-cased --sentences 872 --samples 20
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from _report import report

from llmu.config import seed_everything, select_device
from llmu.data import load_sst2, take_subset, tokenize_texts
from llmu.models import load_classifier, load_tokenizer
from llmu.predict import dropout_active, predict_logits


def timed(run: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    logits = run()
    return time.perf_counter() - started, logits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--samples", type=int, default=10, help="K, dropout passes per sentence")
    parser.add_argument("--batch-size", type=int, default=64, help="rows per forward pass")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--output", type=Path, default=Path("_build/bench/mc_dropout_throughput.json")
    )
    args = parser.parse_args()
    if args.samples < 2 or args.batch_size < args.samples:
        parser.error("need --samples >= 2 and --batch-size >= --samples (one sentence a batch)")

    seed_everything(args.seed)
    device = select_device()
    tokenizer = load_tokenizer(args.backbone)
    model = load_classifier(args.backbone, ["negative", "positive"]).to(device)
    dev = take_subset(load_sst2()["validation"], args.sentences, seed=args.seed)
    encoded = tokenize_texts(dev, tokenizer, args.max_length, label_column=None)

    def batched() -> np.ndarray:
        return predict_logits(model, encoded, tokenizer, args.batch_size, mc_samples=args.samples)

    def looped() -> np.ndarray:
        return np.concatenate(
            [predict_logits(model, encoded, tokenizer, args.batch_size, mc_samples=1)
             for _ in range(args.samples)]
        )

    ways = {"batched (mc_samples=K)": batched, "loop of K passes": looped}
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    with torch.inference_mode(), dropout_active(model, seed=args.seed):
        for name, run in ways.items():
            _, logits = timed(run)  # warm-up, and a check that both give K samples a sentence
            if logits.shape != (args.samples, len(dev), 2):
                raise RuntimeError(f"{name} returned logits of shape {logits.shape}")
        for _ in range(args.repeats):
            for name, run in ways.items():
                seconds[name].append(timed(run)[0])
    passes = args.samples * len(dev)
    rates = {name: passes / statistics.median(times) for name, times in seconds.items()}
    for name, rate in rates.items():
        print(f"{name:24s} {rate:9.1f} sentence-passes/s")
    report(
        args.output,
        device,
        "ratio batched/loop",
        rates["batched (mc_samples=K)"] / rates["loop of K passes"],
        backbone=args.backbone,
        sentences=len(dev),
        samples=args.samples,
        batch_size=args.batch_size,
        sentence_passes_per_s=rates,
    )


if __name__ == "__main__":
    main()
