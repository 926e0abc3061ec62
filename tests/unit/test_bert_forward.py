"""The inference-only BERT forward gives the HF forward's logits (same weights, less work)."""

import numpy as np
import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
)

from newsclf.inference.bert_forward import fast_forward
from newsclf.training.batching import collate
from newsclf.training.loop import predict_logits


def _bert(layers=3, **kw):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=97, hidden_size=48, num_hidden_layers=layers, num_attention_heads=4,
                        intermediate_size=96, max_position_embeddings=64, num_labels=3, **kw)
    return BertForSequenceClassification(config).eval()


def _encoded(n=23, seed=1, pairs=True):
    rng = np.random.default_rng(seed)
    ids, types = [], []
    for _ in range(n):
        a, b = int(rng.integers(1, 20)), int(rng.integers(1, 20)) if pairs else 0
        ids.append([2] + rng.integers(5, 97, a + b).tolist() + [3])
        types.append([0] * (a + 1) + [1] * (b + 1))
    return {"input_ids": ids, "token_type_ids": types}


@pytest.mark.parametrize("layers", [1, 3])
def test_logits_match_hf_forward_with_and_without_padding(layers):
    model = _bert(layers)
    forward = fast_forward(model)
    assert forward is not None
    encoded = _encoded()
    with torch.inference_mode():
        padded = collate(encoded, list(range(23)), pad_id=0)  # mixed lengths: mask used
        assert not bool(padded["attention_mask"].all())
        same = collate({k: [v[0]] * 4 for k, v in encoded.items()}, range(4), pad_id=0)  # no padding: no mask
        for inputs in (padded, same):
            want = model(**inputs).logits
            got = forward(**inputs)
            assert got.shape == want.shape
            assert float((got - want).abs().max()) <= 1e-5
        # without token types (single texts) both default to type 0
        no_types = {k: v for k, v in padded.items() if k != "token_type_ids"}
        assert float((forward(**no_types) - model(**no_types).logits).abs().max()) <= 1e-5


def test_predict_logits_uses_it_and_keeps_input_order(monkeypatch):
    import newsclf.training.loop as loop

    model = _bert()
    encoded = _encoded(40, seed=3)
    calls = []
    monkeypatch.setattr(loop, "fast_forward", lambda m: calls.append(m) or fast_forward(m))
    got = predict_logits(model, encoded, batch_size=8, device=torch.device("cpu"), pad_id=0, with_types=True)
    assert calls == [model]
    with torch.inference_mode():
        for i in (0, 17, 39):
            one = collate(encoded, [i], pad_id=0)
            assert np.abs(got[i] - model(**one).logits[0].numpy()).max() <= 1e-5


def test_other_models_and_training_mode_fall_back():
    assert fast_forward(_bert().train()) is None
    assert fast_forward(_bert(position_embedding_type="relative_key")) is None
    distil = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=97, dim=32, n_layers=1, n_heads=2,
                                                                  hidden_dim=64, max_position_embeddings=64))
    assert fast_forward(distil.eval()) is None
