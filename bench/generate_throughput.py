"""Sampling throughput: ``llmu.generate.generate_answers`` against transformers'
``model.generate(num_return_sequences=K)``.

Both sample K answers per question at the same temperature and token limit, for the same
capital questions (lesson 09's prompts, prefilled stems), in batches of the same number of
questions. ``generate_answers`` runs each prompt once (the prefix all prompts share once per
batch) and copies its key-value cache for the K samples; ``model.generate`` repeats each prompt
K times before its first forward pass. Each way runs once untimed, then ``--repeats`` times,
alternating; the median is kept. Prints answer tokens per second of each (tokens up to and
including the end-of-turn token) and their ratio last, and writes JSON.

    python bench/generate_throughput.py                    # SmolLM2 on the CPU
    python bench/generate_throughput.py --generator Qwen/Qwen2.5-1.5B-Instruct --samples 10
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from _report import report

from llmu import generate as gen
from llmu.config import seed_everything, select_device


def hf_answer_tokens(model, tokenizer, prompts: list[str], args: argparse.Namespace) -> int:
    """Sample with ``model.generate``; count each row's tokens up to its first stop token."""
    stop = set(gen.stop_token_ids(tokenizer, model))
    total = 0
    for start in range(0, len(prompts), args.batch_size):
        batch = tokenizer(prompts[start : start + args.batch_size], return_tensors="pt",
                          padding=True, add_special_tokens=False).to(model.device)
        out = model.generate(**batch, do_sample=True, temperature=args.temperature, top_k=0,
                             top_p=1.0, max_new_tokens=args.max_new_tokens,
                             num_return_sequences=args.samples, pad_token_id=tokenizer.pad_token_id)
        for row in out[:, batch["input_ids"].shape[1] :].tolist():
            ends = [i for i, token in enumerate(row) if token in stop]
            total += ends[0] + 1 if ends else len(row)
    return total


def llmu_answer_tokens(model, tokenizer, prompts: list[str], args: argparse.Namespace) -> int:
    generations = gen.generate_answers(
        model, tokenizer, prompts, n_samples=args.samples, temperature=args.temperature,
        max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, seed=args.seed,
        greedy=False,
    )
    return generations.n_answer_tokens


def timed(run: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    tokens = run()
    return time.perf_counter() - started, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default=gen.SMOLLM2)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--samples", type=int, default=5, help="K, sampled answers a question")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--max-new-tokens", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=25, help="questions per batch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--output", type=Path, default=Path("_build/bench/generate_throughput.json")
    )
    args = parser.parse_args()
    if args.samples < 2:
        parser.error("need --samples >= 2")

    seed_everything(args.seed)
    device = select_device()
    model, tokenizer = gen.load_generator(args.generator)
    model.to(device)
    questions = gen.capital_questions(args.questions, args.seed)
    prompts = gen.chat_prompts(tokenizer, [q.text for q in questions],
                               [q.prefill for q in questions])
    ways = {
        "llmu.generate_answers": lambda: llmu_answer_tokens(model, tokenizer, prompts, args),
        "model.generate": lambda: hf_answer_tokens(model, tokenizer, prompts, args),
    }
    rates: dict[str, list[float]] = {name: [] for name in ways}
    with torch.inference_mode():
        for run in ways.values():
            timed(run)  # warm-up
        for _ in range(args.repeats):
            for name, run in ways.items():
                seconds, tokens = timed(run)
                rates[name].append(tokens / seconds)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, rate in medians.items():
        print(f"{name:24s} {rate:9.1f} answer tokens/s")
    report(
        args.output,
        device,
        "ratio llmu/generate",
        medians["llmu.generate_answers"] / medians["model.generate"],
        generator=args.generator,
        questions=len(prompts),
        samples=args.samples,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        answer_tokens_per_s=medians,
    )


if __name__ == "__main__":
    main()
