"""LoRA adapters through peft: what trains, merging, saving, fine-tuning, bad input."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_bert
from datasets import ClassLabel, Dataset, Features, Value
from peft import PeftModel

from llmu.config import get_profile
from llmu.lora import adapter_bytes, add_lora, fine_tune_lora, merge_lora
from llmu.models import count_parameters
from llmu.predict import Classifier, predict_logits
from llmu.train import TrainConfig, train

IDS = torch.tensor([[101, 2307, 3185, 2003, 102], [101, 6659, 102, 0, 0]])
MASK = (IDS != 0).long()


def test_add_lora_trains_only_adapters_and_head_and_starts_as_the_base_model():
    base = tiny_bert()
    base.eval()
    before = base(input_ids=IDS, attention_mask=MASK).logits
    model = add_lora(tiny_bert(), rank=4)
    model.eval()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or "classifier" in n for n in trainable)
    assert any("query.lora_A" in n for n in trainable)
    assert any("value.lora_B" in n for n in trainable)
    assert not any("key.lora" in n for n in trainable)
    assert count_parameters(model, trainable_only=True) < 0.5 * count_parameters(model)
    # B = 0 at the start: the adapted model computes exactly what the base model computes
    assert torch.allclose(model(input_ids=IDS, attention_mask=MASK).logits, before)


def test_lora_training_leaves_the_base_frozen_and_merges_to_the_same_function(
    tmp_path, dataset, tokenizer
):
    model = add_lora(tiny_bert(), rank=4)
    frozen = {n: p.clone() for n, p in model.named_parameters() if not p.requires_grad}
    config = TrainConfig(epochs=2.0, batch_size=8, learning_rate=1e-2, seed=0, progress=False)
    train(model, dataset, tokenizer, config)
    for name, value in model.named_parameters():
        if name in frozen:
            assert torch.equal(value, frozen[name]), name
    assert any(p.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)
    classifier = Classifier(model, tokenizer, ["a", "b"], 32, 64, None)  # type: ignore[arg-type]
    merged = merge_lora(classifier)
    assert not isinstance(merged.model, PeftModel)
    assert isinstance(classifier.model, PeftModel)  # the original keeps its adapters
    adapted = predict_logits(classifier.model, dataset, tokenizer)
    assert torch.allclose(
        torch.as_tensor(predict_logits(merged.model, dataset, tokenizer)),
        torch.as_tensor(adapted),
        atol=1e-5,
    )
    size = adapter_bytes(classifier, tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    assert 0 < size < 4 * count_parameters(merged.model)  # float32 bytes of the whole model


@pytest.mark.parametrize(
    "options, message",
    [
        ({"rank": 0}, "rank"),
        ({"rank": -2}, "rank"),
        ({"target_modules": ("qkv",)}, "target_modules"),
        ({"target_modules": ()}, "target_modules"),
        ({"alpha": 0}, "alpha"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_add_lora_rejects_bad_settings(options, message):
    with pytest.raises(ValueError, match=message):
        add_lora(tiny_bert(), **options)


def test_merge_lora_needs_adapters(tokenizer):
    plain = Classifier(tiny_bert(), tokenizer, ["a", "b"], 32, 64, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="LoRA"):
        merge_lora(plain)


def test_fine_tune_lora_returns_an_ordinary_classifier():
    features = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})
    texts = ["a great film", "dull and slow", "loved it", "a mess"] * 4
    split = Dataset.from_dict({"text": texts, "label": [1, 0, 1, 0] * 4}, features=features)
    profile = get_profile("quick", max_length=16, batch_size=8)
    classifier = fine_tune_lora(split, profile, 0, rank=2, max_steps=2, progress=False)
    assert isinstance(classifier, Classifier) and classifier.result.steps == 2
    assert classifier.logits(split).shape == (16, 2)
    model = classifier.model
    assert count_parameters(model, trainable_only=True) < 0.05 * count_parameters(model)
