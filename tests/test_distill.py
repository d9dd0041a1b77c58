"""Knowledge distillation: the loss against a direct computation, the T^2 gradient scale,
students, the hook."""

from __future__ import annotations

import copy
import dataclasses
import inspect

import numpy as np
import pytest
import torch
from datasets import Dataset
from transformers import BertConfig, BertForSequenceClassification

from llmu import distill
from llmu.config import seed_everything
from llmu.models import count_parameters
from llmu.predict import collate
from llmu.train import TrainConfig, epoch_batches


def logits_pair(
    seed: int = 0, batch: int = 5, classes: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, classes, generator=generator) * 3, torch.randn(
        batch, classes, generator=generator
    ) * 3


def test_soft_target_loss_matches_direct_kl():
    student, teacher = logits_pair()
    for t in (0.5, 1.0, 4.0):
        p = torch.softmax(teacher / t, dim=1)
        log_q = torch.log(torch.softmax(student / t, dim=1))
        direct = t**2 * (p * (torch.log(p) - log_q)).sum(dim=1).mean()
        assert torch.allclose(distill.soft_target_loss(student, teacher, t), direct, atol=1e-6)


def test_distillation_loss_mixes_soft_and_hard_terms():
    student, teacher = logits_pair(1)
    labels = torch.tensor([0, 2, 1, 1, 0])
    hard = -torch.log(torch.softmax(student, dim=1))[torch.arange(5), labels].mean()
    soft = distill.soft_target_loss(student, teacher, 3.0)
    for alpha in (0.0, 0.3, 1.0):
        expected = alpha * soft + (1 - alpha) * hard
        assert torch.allclose(
            distill.distillation_loss(student, teacher, labels, 3.0, alpha), expected, atol=1e-6
        )


def test_loss_is_zero_when_the_student_matches_the_teacher():
    _, teacher = logits_pair(2)
    assert float(distill.soft_target_loss(teacher.clone(), teacher, 2.0)) == pytest.approx(
        0.0, abs=1e-6
    )


def test_gradient_is_t_times_probability_gap():
    student, teacher = logits_pair(3)
    student.requires_grad_(True)
    t = 2.5
    distill.soft_target_loss(student, teacher, t).backward()
    expected = (
        t * (torch.softmax(student.detach() / t, 1) - torch.softmax(teacher / t, 1)) / len(student)
    )
    assert torch.allclose(student.grad, expected, atol=1e-6)


def soft_gradient(
    student: torch.Tensor, teacher: torch.Tensor, t: float, times_t2: bool
) -> torch.Tensor:
    z = student.clone().requires_grad_(True)
    loss = distill.soft_target_loss(z, teacher, t)
    (loss if times_t2 else loss / t**2).backward()
    return z.grad


def test_t_squared_keeps_the_soft_gradient_scale():
    """Without T^2 the soft gradient shrinks as 1/T^2; with it, it tends to (z_s - z_t)/K (logit
    matching)."""
    student, teacher = logits_pair(4, batch=8, classes=4)
    norms = {
        t: float(soft_gradient(student, teacher, t, times_t2=False).norm()) for t in (20.0, 40.0)
    }
    assert norms[20.0] / norms[40.0] == pytest.approx(4.0, rel=0.02)
    centred = (student - student.mean(1, keepdim=True)) - (teacher - teacher.mean(1, keepdim=True))
    limit = centred / (4 * len(student))
    scaled = {
        t: soft_gradient(student, teacher, t, times_t2=True) for t in (1.0, 10.0, 100.0, 1000.0)
    }
    errors = [float((scaled[t] - limit).norm() / limit.norm()) for t in scaled]
    assert errors[0] > 0.3 and errors[3] < 0.003  # the gap to the limit closes as 1/T
    assert errors[2] / errors[3] == pytest.approx(10.0, rel=0.05)


def test_ensemble_targets_average_the_members_softened_probabilities():
    _, a = logits_pair(5)
    _, b = logits_pair(6)
    targets = distill.soft_targets(torch.stack([a, b]), 2.0)
    assert torch.allclose(targets, (torch.softmax(a / 2, 1) + torch.softmax(b / 2, 1)) / 2)
    student, _ = logits_pair(7)
    single = distill.soft_target_loss(student, a, 2.0)
    assert torch.allclose(distill.soft_target_loss(student, torch.stack([a, a]), 2.0), single)


@pytest.mark.parametrize("temperature", [0, -1.0, float("inf"), True, "2"])
def test_bad_temperature_is_rejected(temperature):
    student, teacher = logits_pair()
    with pytest.raises(ValueError, match="temperature"):
        distill.soft_target_loss(student, teacher, temperature)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, None])
def test_bad_alpha_is_rejected(alpha):
    student, teacher = logits_pair()
    with pytest.raises(ValueError, match="alpha"):
        distill.distillation_loss(student, teacher, torch.zeros(5, dtype=torch.long), 2.0, alpha)


def test_shape_mismatch_is_rejected():
    student, teacher = logits_pair()
    with pytest.raises(ValueError, match="shape"):
        distill.soft_target_loss(student[:, :2], teacher, 2.0)
    with pytest.raises(ValueError, match="shape"):
        distill.soft_targets(teacher[0], 2.0)


def tiny_teacher(layers: int = 4, seed: int = 0) -> BertForSequenceClassification:
    seed_everything(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertForSequenceClassification(config).eval()


def test_student_copies_the_chosen_teacher_layers():
    teacher = tiny_teacher(layers=4)
    for keep in (None, [1, 3], [3]):
        student = distill.student_from_teacher(teacher, keep)
        chosen = [0, 2] if keep is None else keep
        assert student.config.num_hidden_layers == len(chosen) == len(student.bert.encoder.layer)
        assert teacher.config.num_hidden_layers == 4
        for new, old in enumerate(chosen):
            for (name, p), (_, q) in zip(
                student.bert.encoder.layer[new].named_parameters(),
                teacher.bert.encoder.layer[old].named_parameters(),
            ):
                assert torch.equal(p, q), name
        for module in ("bert.embeddings", "bert.pooler", "classifier"):
            for (name, p), (_, q) in zip(
                student.get_submodule(module).named_parameters(),
                teacher.get_submodule(module).named_parameters(),
            ):
                assert torch.equal(p, q) and p.data_ptr() != q.data_ptr(), name
        assert count_parameters(student) < count_parameters(teacher)


def test_student_runs_and_with_all_layers_equals_the_teacher():
    teacher = tiny_teacher(layers=3)
    inputs = {
        "input_ids": torch.tensor([[101, 2204, 3185, 102], [101, 2919, 102, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]),
    }
    student = distill.student_from_teacher(teacher)
    with torch.no_grad():
        assert student(**inputs).logits.shape == (2, 2)
        full = distill.student_from_teacher(teacher, keep_layers=[0, 1, 2])
        assert torch.allclose(full(**inputs).logits, teacher(**inputs).logits)


@pytest.mark.parametrize("keep", [[], [0, 0], [4], [-1]])
def test_bad_keep_layers_are_rejected(keep):
    with pytest.raises(ValueError, match="keep_layers"):
        distill.student_from_teacher(tiny_teacher(layers=4), keep)


def test_student_needs_a_layered_model():
    with pytest.raises(ValueError, match="num_hidden_layers"):
        distill.student_from_teacher(torch.nn.Linear(2, 2))  # type: ignore[arg-type]


def test_training_loss_is_the_distillation_loss_with_the_teachers_logits(dataset, tokenizer):
    """The first step's loss in llmu.train equals distillation_loss on that batch (dropout is
    off)."""
    teachers = [tiny_teacher(layers=4, seed=1), tiny_teacher(layers=4, seed=2)]
    student = distill.student_from_teacher(teachers[0])
    config = TrainConfig(
        epochs=1, batch_size=8, learning_rate=1e-3, seed=5, progress=False, warmup_ratio=0.0
    )
    first = epoch_batches(
        [len(x) for x in dataset["input_ids"]], 8, config.seed, 0, config.group_by_length
    )[0]
    batch = collate([dataset[i] for i in first], tokenizer)
    tokens = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        ensemble = torch.stack([teacher(**tokens).logits for teacher in teachers])
        expected = distill.distillation_loss(
            student(**tokens).logits, ensemble, batch["labels"], 3.0, 0.7
        )
    before = copy.deepcopy(teachers[0].state_dict())
    result = distill.distill(
        student,
        teachers,
        dataset,
        tokenizer,
        config,
        temperature=3.0,
        alpha=0.7,
        device=torch.device("cpu"),
    )
    assert result.losses[0] == pytest.approx(float(expected), abs=1e-5)
    assert all(
        torch.equal(before[k], v) for k, v in teachers[0].state_dict().items()
    )  # teachers stay frozen


def test_distillation_loss_is_a_hook_object_like_the_other_extra_losses(dataset, tokenizer):
    from llmu.adversarial import EmbeddingAdversary
    from llmu.augment import MixupLoss

    teachers = [tiny_teacher(seed=1), tiny_teacher(seed=2)]
    hook = distill.DistillationLoss(teachers, temperature=2.0, alpha=0.25)
    assert hook.teachers == tuple(teachers) and hook.forward_passes == 2
    assert "teachers" not in repr(hook) and "alpha=0.25" in repr(hook)
    batch = collate([dataset[i] for i in range(4)], tokenizer)
    student = distill.student_from_teacher(teachers[0])
    outputs = student(**batch)
    tokens = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        ensemble = torch.stack([t(**tokens).logits for t in teachers])
    expected = 0.25 * distill.soft_target_loss(outputs.logits, ensemble, 2.0)
    torch.testing.assert_close(hook(student, batch, outputs), expected)
    # every extra loss: a dataclass built from keyword settings, called as (model, batch, outputs)
    for other in (MixupLoss(alpha=0.4), EmbeddingAdversary(epsilon=0.1), hook):
        assert dataclasses.is_dataclass(other) and isinstance(other.forward_passes, int)
        assert list(inspect.signature(other.__call__).parameters) == ["model", "batch", "outputs"]
    with pytest.raises(ValueError, match="at least one teacher"):
        distill.DistillationLoss([], temperature=2.0, alpha=0.5)
    with pytest.raises(ValueError, match="alpha"):
        distill.DistillationLoss(teachers, temperature=2.0, alpha=1.5)


def test_distill_needs_labels(dataset, tokenizer):
    with pytest.raises(ValueError, match="labels"):
        distill.distill(
            tiny_teacher(2),
            [tiny_teacher(2)],
            dataset.remove_columns("labels"),
            tokenizer,
            TrainConfig(progress=False),
            2.0,
            0.5,
        )


def test_inference_throughput_times_every_model(dataset, tokenizer):
    batch = collate([dataset[i] for i in range(8)], tokenizer)
    speeds = distill.inference_throughput(
        {"deep": tiny_teacher(4), "shallow": tiny_teacher(1)}, batch, repeats=3
    )
    assert set(speeds) == {"deep", "shallow"} and all(s > 0 for s in speeds.values())
    with pytest.raises(ValueError, match="at least one model"):
        distill.inference_throughput({}, batch)
    with pytest.raises(ValueError, match="input_ids"):
        distill.inference_throughput({"m": tiny_teacher(1)}, {"labels": batch["labels"]})
