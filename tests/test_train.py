"""The training loop: resume to identical weights, the extra-loss hook, batching, max_steps,
label smoothing, early stopping and dropout settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_bert
from datasets import Dataset

from llmu.config import seed_everything
from llmu.predict import predict_logits
from llmu.train import (
    EarlyStopping,
    TrainConfig,
    epoch_batches,
    set_dropout,
    task_loss,
    train,
)

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
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"label_smoothing": -0.1}, "label_smoothing"),
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


def test_task_loss_smooths_the_targets_and_ignores_padding():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 1.0, 3.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([0, 2, -100])
    outputs = type("Outputs", (), {"logits": logits, "loss": torch.tensor(7.0)})()
    assert task_loss(outputs, labels, 0.0).item() == 7.0  # the model's own loss, untouched
    eps = 0.3
    log_p = torch.log_softmax(logits[:2], dim=-1)
    target = torch.full((2, 3), eps / 3)
    target[0, 0] += 1 - eps
    target[1, 2] += 1 - eps
    expected = -(target * log_p).sum(dim=-1).mean()
    assert torch.isclose(task_loss(outputs, labels, eps), expected)
    with pytest.raises(ValueError, match="label_smoothing"):
        task_loss(outputs, labels, 1.0)


def test_label_smoothing_caps_the_confidence_the_model_learns(dataset, tokenizer):
    confidence = {}
    for eps in (0.0, 0.4):
        model = tiny_bert()
        settings = {**CONFIG, "epochs": 12.0, "learning_rate": 3e-3}
        config = TrainConfig(**settings, label_smoothing=eps)
        train(model, dataset, tokenizer, config)
        probs = torch.softmax(torch.as_tensor(predict_logits(model, dataset, tokenizer)), -1)
        confidence[eps] = probs.max(-1).values.mean().item()
    # the smoothed optimum puts 1 - eps + eps / 2 = 0.8 on the true class
    assert confidence[0.4] < 0.85 < confidence[0.0]


def test_early_stopping_stops_and_restores_the_best_weights(dataset, tokenizer):
    losses = iter([3.0, 2.0, 2.5, 2.6, 1.0])
    seen = {}

    def validation_loss(model):
        seen[len(seen) + 1] = {k: v.clone() for k, v in model.state_dict().items()}
        return next(losses)

    stopper = EarlyStopping(validation_loss, patience=2, name="val_nll")
    model = tiny_bert()
    config = TrainConfig(**{**CONFIG, "epochs": 10.0}, eval_every=2)
    result = train(model, dataset, tokenizer, config, callbacks=[stopper])
    assert result.stopped_early and result.steps == 8  # 2 evaluations without improvement
    assert [e["val_nll"] for e in result.evaluations] == [3.0, 2.0, 2.5, 2.6]
    assert (stopper.best_step, stopper.best_value, stopper.stopped_step) == (4, 2.0, 8)
    stopper.restore_best(model)
    for name, value in model.state_dict().items():
        assert torch.equal(value, seen[2][name]), name


def test_early_stopping_that_never_fires_trains_the_whole_budget(dataset, tokenizer):
    stopper = EarlyStopping(lambda model: 1.0, patience=5)
    config = TrainConfig(**{**CONFIG, "epochs": 2.0}, eval_every=3)
    result = train(tiny_bert(), dataset, tokenizer, config, callbacks=[stopper])
    assert not result.stopped_early and result.steps == 10
    assert [e["step"] for e in result.evaluations] == [3, 6, 9, 10]


def test_early_stopping_rejects_bad_settings():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(lambda model: 0.0, patience=0)
    with pytest.raises(TypeError, match="loss"):
        EarlyStopping(0.5)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="no evaluation"):
        EarlyStopping(lambda model: 0.0).restore_best(tiny_bert())


def test_set_dropout_changes_every_dropout_including_attention():
    model = set_dropout(tiny_bert(dropout=0.1), 0.0)
    rates = {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}
    assert rates == {0.0}
    model.train()  # with every dropout off, training mode is deterministic
    ids = torch.tensor([[101, 2307, 3185, 102]])
    assert torch.equal(model(input_ids=ids).logits, model(input_ids=ids).logits)
    with pytest.raises(ValueError, match="p must be"):
        set_dropout(model, 1.0)
    with pytest.raises(ValueError, match="no torch.nn.Dropout"):
        set_dropout(torch.nn.Linear(2, 2), 0.1)
