"""The training loop: resume to identical weights, the extra-loss hook, batching, prediction order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from transformers import BertConfig, BertForSequenceClassification

from llmu.config import seed_everything
from llmu.train import TrainConfig, collate, epoch_batches, predict_logits, train



def tiny_model(seed: int = 0) -> BertForSequenceClassification:
    seed_everything(seed)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=2)
    return BertForSequenceClassification(config)


CONFIG = dict(epochs=1.5, batch_size=8, learning_rate=1e-3, seed=3, progress=False)


class Interrupt(Exception):
    pass


def test_resume_mid_epoch_gives_identical_weights(tmp_path, dataset, tokenizer):
    reference = tiny_model()
    seed_everything(0)
    done = train(reference, dataset, tokenizer, TrainConfig(**CONFIG))
    assert done.steps == 8  # 1.5 epochs of 5 batches

    def kill_at_step_3(step: int, model: torch.nn.Module) -> dict[str, float]:
        if step == 3:
            raise Interrupt
        return {}

    checkpoint = str(tmp_path / "ckpt")
    config = TrainConfig(**CONFIG, checkpoint_dir=checkpoint, checkpoint_every=2, eval_every=1)
    interrupted_model = tiny_model()
    seed_everything(0)
    with pytest.raises(Interrupt):
        train(interrupted_model, dataset, tokenizer, config, callbacks=[kill_at_step_3])
    seed_everything(123)  # the RNG state must come from the checkpoint, not from here
    resumed_model = tiny_model(seed=99)  # and the weights too
    resumed = train(resumed_model, dataset, tokenizer, config)
    assert resumed.steps == done.steps
    assert resumed.losses == done.losses
    for (name, a), b in zip(reference.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), name
    assert not any(p.suffix == ".bin" or p.suffix == ".pt" for p in (tmp_path / "ckpt").iterdir())


def test_resume_refuses_a_different_config(tmp_path, dataset, tokenizer):
    checkpoint = str(tmp_path / "ckpt")
    train(tiny_model(), dataset, tokenizer, TrainConfig(**{**CONFIG, "epochs": 0.4}, checkpoint_dir=checkpoint))
    changed = TrainConfig(**{**CONFIG, "epochs": 0.4, "learning_rate": 1e-2}, checkpoint_dir=checkpoint)
    with pytest.raises(ValueError, match="learning_rate"):
        train(tiny_model(), dataset, tokenizer, changed)


def test_extra_loss_hook_alone_trains_the_model(dataset, tokenizer):
    calls = []

    def push_logits_up(model, batch, outputs):
        calls.append(batch["input_ids"].shape[0])
        return -outputs.logits[:, 1].mean()

    model = tiny_model()
    config = TrainConfig(**{**CONFIG, "epochs": 3.0}, task_loss_weight=0.0)
    before = predict_logits(model, dataset, tokenizer)[:, 1].mean()
    train(model, dataset, tokenizer, config, extra_loss=push_logits_up)
    after = predict_logits(model, dataset, tokenizer)[:, 1].mean()
    assert sum(calls) == 3 * len(dataset)
    assert after > before + 0.1


def test_gradient_accumulation_counts_optimizer_steps(dataset, tokenizer):
    result = train(tiny_model(), dataset, tokenizer, TrainConfig(**{**CONFIG, "epochs": 1.0}, grad_accum_steps=5))
    assert result.steps == 1 and result.examples == len(dataset)


def test_predict_logits_keeps_dataset_order(dataset, tokenizer):
    model = tiny_model().eval()
    batched = predict_logits(model, dataset, tokenizer, batch_size=7)
    with torch.no_grad():
        one_by_one = np.stack([
            model(input_ids=torch.tensor([ids])).logits[0].numpy() for ids in dataset["input_ids"]
        ])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_epoch_batches_are_a_deterministic_partition():
    lengths = list(np.random.default_rng(0).integers(1, 50, size=103))
    first = epoch_batches(lengths, 10, seed=1, epoch=0, group_by_length=True)
    assert first == epoch_batches(lengths, 10, seed=1, epoch=0, group_by_length=True)
    assert first != epoch_batches(lengths, 10, seed=1, epoch=1, group_by_length=True)
    assert sorted(i for b in first for i in b) == list(range(103))
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in first])
    shuffled = epoch_batches(lengths, 10, seed=1, epoch=0, group_by_length=False)
    assert spread < np.mean([np.ptp([lengths[i] for i in b]) for b in shuffled])


def test_collate_pads_dynamically_and_masks_token_labels(tokenizer):
    features = [
        {"input_ids": [101, 7592, 102], "attention_mask": [1, 1, 1], "labels": [-100, 3, -100]},
        {"input_ids": [101, 102], "attention_mask": [1, 1], "labels": [-100, -100]},
    ]
    batch = collate(features, tokenizer)
    assert batch["input_ids"].shape == (2, 3)
    assert batch["labels"].tolist() == [[-100, 3, -100], [-100, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]


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
        train(tiny_model(), Dataset.from_dict({"text": ["a"], "labels": [0]}), tokenizer, TrainConfig())
    with pytest.raises(ValueError, match="empty"):
        train(tiny_model(), Dataset.from_dict({"input_ids": [], "labels": []}), tokenizer, TrainConfig())
