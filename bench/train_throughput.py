"""Training throughput: ``llmu.train`` against ``transformers.Trainer``.

Same backbone, same SST-2 examples, same batch size, same number of optimizer steps, dynamic
padding with length-grouped batches and the same mixed-precision mode in both. Each loop is
timed from its first to its last step (model loading excluded), after one untimed warm-up
run of a few steps per loop. Prints examples/s of each and their ratio, and writes JSON.

    python bench/train_throughput.py                       # CPU, small
    python bench/train_throughput.py --backbone bert-base-cased --steps 200 --batch-size 32
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from _report import report
from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

from llmu.config import mixed_precision, seed_everything, select_device
from llmu.data import load_sst2, take_subset, tokenize_texts
from llmu.models import load_classifier, load_tokenizer, quiet_transformers
from llmu.train import TrainConfig, train


def run_llmu(
    args: argparse.Namespace, dataset, tokenizer, device: torch.device, steps: int
) -> float:
    seed_everything(args.seed)
    model = load_classifier(args.backbone, ["negative", "positive"]).to(device)
    config = TrainConfig(
        batch_size=args.batch_size, max_steps=steps, seed=args.seed, progress=False
    )
    result = train(model, dataset, tokenizer, config, device=device)
    return result.examples / result.seconds


def run_trainer(
    args: argparse.Namespace, dataset, tokenizer, device: torch.device, steps: int
) -> float:
    seed_everything(args.seed)
    model = load_classifier(args.backbone, ["negative", "positive"])
    precision = mixed_precision(device)
    with tempfile.TemporaryDirectory() as scratch:
        training_args = TrainingArguments(
            output_dir=scratch,
            per_device_train_batch_size=args.batch_size,
            max_steps=steps,
            learning_rate=5e-5,
            weight_decay=0.01,
            warmup_steps=0.1,  # a float below 1 is a fraction of the steps (warm-up ratio)
            train_sampling_strategy="group_by_length",
            use_cpu=device.type == "cpu",
            bf16=precision == "bf16",
            fp16=precision == "fp16",
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
            seed=args.seed,
        )
        with quiet_transformers():
            trainer = Trainer(
                model=model,
                args=training_args,
                train_dataset=dataset,
                data_collator=DataCollatorWithPadding(tokenizer),
            )
            started = time.perf_counter()
            trainer.train()
            seconds = time.perf_counter() - started
    return steps * args.batch_size / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("_build/bench/train_throughput.json"))
    args = parser.parse_args()

    device = select_device()
    tokenizer = load_tokenizer(args.backbone)
    examples = args.batch_size * (args.steps + args.warmup_steps)
    train_split = take_subset(load_sst2()["train"], examples, seed=args.seed)
    dataset = tokenize_texts(train_split, tokenizer, args.max_length)

    results = {}
    for name, run in (("llmu.train", run_llmu), ("transformers.Trainer", run_trainer)):
        run(args, dataset, tokenizer, device, args.warmup_steps)
        results[name] = run(args, dataset, tokenizer, device, args.steps)
        print(f"{name:22s} {results[name]:8.1f} examples/s")
    report(
        args.output,
        device,
        "ratio llmu/Trainer",
        results["llmu.train"] / results["transformers.Trainer"],
        backbone=args.backbone,
        batch_size=args.batch_size,
        steps=args.steps,
        mixed_precision=mixed_precision(device),
        examples_per_s=results,
    )


if __name__ == "__main__":
    main()
