"""The training loop: resume to identical weights, the extra-loss hook, batching, max_steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_bert
from datasets import Dataset

from llmu.config import seed_everything
from llmu.predict import predict_logits
from llmu.train import TrainConfig, epoch_batches, train

CONFIG = dict(epochs=1.5, batch_size=8, learning_rate=1e-3, seed=3, progress=False)


class Interrupt(Exception):
    pass


def test_resume_mid_epoch_gives_identical_weights(tmp_path, dataset, tokenizer):
    reference = tiny_bert()
    seed_everything(0)
    done = train(reference, dataset, tokenizer, TrainConfig(**CONFIG))
    assert done.steps == 8  # 1.5 epochs of 5 batches

    def kill_at_step_3(step: int, model: torch.nn.Module) -> dict[str, float]:
        if step == 3:
            raise Interrupt
        return {}

    checkpoint = str(tmp_path / "ckpt")
    config = TrainConfig(**CONFIG, checkpoint_dir=checkpoint, checkpoint_every=2, eval_every=1)
    interrupted_model = tiny_bert()
    seed_everything(0)
    with pytest.raises(Interrupt):
        train(interrupted_model, dataset, tokenizer, config, callbacks=[kill_at_step_3])
    seed_everything(123)  # the RNG state must come from the checkpoint, not from here
    resumed_model = tiny_bert(seed=99)  # and the weights too
    resumed = train(resumed_model, dataset, tokenizer, config)
    assert resumed.steps == done.steps
    assert resumed.losses == done.losses
    for (name, a), b in zip(reference.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), name
    assert not any(p.suffix == ".bin" or p.suffix == ".pt" for p in (tmp_path / "ckpt").iterdir())


def test_resume_refuses_a_different_config(tmp_path, dataset, tokenizer):
    checkpoint = str(tmp_path / "ckpt")
    train(
        tiny_bert(),
        dataset,
        tokenizer,
        TrainConfig(**{**CONFIG, "epochs": 0.4}, checkpoint_dir=checkpoint),
    )
    changed = TrainConfig(
        **{**CONFIG, "epochs": 0.4, "learning_rate": 1e-2}, checkpoint_dir=checkpoint
    )
    with pytest.raises(ValueError, match="learning_rate"):
        train(tiny_bert(), dataset, tokenizer, changed)


def test_extra_loss_hook_alone_trains_the_model(dataset, tokenizer):
    calls = []

    def push_logits_up(model, batch, outputs):
        calls.append(batch["input_ids"].shape[0])
        return -outputs.logits[:, 1].mean()

    model = tiny_bert()
    config = TrainConfig(**{**CONFIG, "epochs": 3.0}, task_loss_weight=0.0)
    before = predict_logits(model, dataset, tokenizer)[:, 1].mean()
    train(model, dataset, tokenizer, config, extra_loss=push_logits_up)
    after = predict_logits(model, dataset, tokenizer)[:, 1].mean()
    assert sum(calls) == 3 * len(dataset)
    assert after > before + 0.1


def test_max_steps_trains_exactly_that_many_steps_across_epochs(dataset, tokenizer):
    config = TrainConfig(batch_size=8, learning_rate=1e-3, max_steps=12, progress=False)
    result = train(tiny_bert(), dataset, tokenizer, config)  # 5 batches an epoch
    assert result.steps == 12 and len(result.losses) == 12
    assert result.examples == 12 * 8


def test_gradient_accumulation_counts_optimizer_steps(dataset, tokenizer):
    result = train(
        tiny_bert(),
        dataset,
        tokenizer,
        TrainConfig(**{**CONFIG, "epochs": 1.0}, grad_accum_steps=5),
    )
    assert result.steps == 1 and result.examples == len(dataset)


def test_epoch_batches_are_a_deterministic_partition():
    lengths = list(np.random.default_rng(0).integers(1, 50, size=103))
    first = epoch_batches(lengths, 10, seed=1, epoch=0, group_by_length=True)
    assert first == epoch_batches(lengths, 10, seed=1, epoch=0, group_by_length=True)
    assert first != epoch_batches(lengths, 10, seed=1, epoch=1, group_by_length=True)
    assert sorted(i for b in first for i in b) == list(range(103))
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in first])
    shuffled = epoch_batches(lengths, 10, seed=1, epoch=0, group_by_length=False)
    assert spread < np.mean([np.ptp([lengths[i] for i in b]) for b in shuffled])


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"mixed_precision": "fp8"}, "mixed_precision"),
        ({"checkpoint_every": 5}, "checkpoint_dir"),
        ({"warmup_ratio": 1.5}, "warmup_ratio"),
    ],
)
def test_train_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


def test_train_rejects_untokenized_or_empty_data(tokenizer):
    with pytest.raises(ValueError, match="not tokenized"):
        train(
            tiny_bert(),
            Dataset.from_dict({"text": ["a"], "labels": [0]}),
            tokenizer,
            TrainConfig(),
        )
    with pytest.raises(ValueError, match="empty"):
        train(
            tiny_bert(),
            Dataset.from_dict({"input_ids": [], "labels": []}),
            tokenizer,
            TrainConfig(),
        )
