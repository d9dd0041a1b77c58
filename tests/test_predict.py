"""Inference: batching, prediction order, MC dropout and ensembles (llmu.predict)."""

from __future__ import annotations

import numpy as np
import torch
from conftest import tiny_bert

from llmu.predict import collate, predict_logits


def test_predict_logits_keeps_dataset_order(dataset, tokenizer):
    model = tiny_bert().eval()
    batched = predict_logits(model, dataset, tokenizer, batch_size=7)
    with torch.no_grad():
        one_by_one = np.stack(
            [model(input_ids=torch.tensor([ids])).logits[0].numpy() for ids in dataset["input_ids"]]
        )
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_collate_pads_dynamically_and_masks_token_labels(tokenizer):
    features = [
        {"input_ids": [101, 7592, 102], "attention_mask": [1, 1, 1], "labels": [-100, 3, -100]},
        {"input_ids": [101, 102], "attention_mask": [1, 1], "labels": [-100, -100]},
    ]
    batch = collate(features, tokenizer)
    assert batch["input_ids"].shape == (2, 3)
    assert batch["labels"].tolist() == [[-100, 3, -100], [-100, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
