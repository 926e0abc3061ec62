"""Sentence splitting, the frozen sentence encoder, sentence-match features, story groups and the numpy MLP."""

from __future__ import annotations

import numpy as np
import pytest

from newsclf.errors import NewsclfError
from newsclf.features.embeddings import SentenceEncoder, resolve_encoder_path, split_sentences
from newsclf.features.sentence_match import N_SCALARS, SentenceMatch
from newsclf.models.mlp import balanced_weights, fit_mlp, mlp_logits
from newsclf.models.stacked_stance import story_groups


def test_split_sentences_keeps_order_and_caps():
    body = 'The video is fake. "It never happened!" he said.\nOfficials deny it? Yes -- 1.'
    assert split_sentences(body) == ["The video is fake.", '"It never happened!"', "he said.", "Officials deny it?",
                                     "Yes -- 1."]
    assert split_sentences(body, 2) == ["The video is fake.", '"It never happened!"']
    assert split_sentences("ok") == ["ok"] and split_sentences("") == []


def test_encoder_gives_unit_vectors_and_encodes_each_string_once(tiny_encoder, monkeypatch):
    enc = SentenceEncoder(str(tiny_encoder), max_length=16, batch_size=2)
    calls = []
    original = enc._embed
    monkeypatch.setattr(enc, "_embed", lambda batch: calls.append(list(batch)) or original(batch))
    vecs = enc.encode(["a cat sat", "dogs bark loudly today", "a cat sat"])
    assert vecs.shape == (3, 32) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vecs[0], vecs[2])
    assert sorted(s for b in calls for s in b) == ["a cat sat", "dogs bark loudly today"]
    enc.encode(["dogs bark loudly today"])
    assert len(calls) == 1  # cached: no second call


def test_encoder_cache_is_bounded_and_keeps_the_current_call(tiny_encoder):
    enc = SentenceEncoder(str(tiny_encoder), max_length=16, max_cache=3)
    first = enc.encode(["one two", "three four"])
    enc.encode(["five six", "seven eight"])  # 2 + 2 > 3: the cache starts afresh with this call's texts
    assert set(enc.cache) == {"five six", "seven eight"}
    many = [f"word {i}" for i in range(5)]
    assert enc.encode(many).shape == (5, 32) and set(enc.cache) == set(many)  # a call is kept whole
    assert np.array_equal(enc.encode(["one two", "three four"]), first)  # re-encoded alike


def test_encoder_batches_do_not_change_vectors(tiny_encoder):
    texts = ["short", "a somewhat longer sentence about a hoax", "medium length text here"]
    one = SentenceEncoder(str(tiny_encoder), batch_size=1).encode(texts)
    three = SentenceEncoder(str(tiny_encoder), batch_size=3).encode(texts)
    assert np.allclose(one, three, atol=1e-5)  # padding is masked out of the mean


def test_encoder_batches_do_not_depend_on_input_or_set_order(tiny_encoder, monkeypatch):
    """Batch companions change padding and so the last float digits: batches must be the same whatever order
    (or PYTHONHASHSEED-dependent set order) the new texts come in, so that runs repeat exactly."""
    texts = ["cat one", "dog two", "owl six", "a longer sentence", "another longer one", "ab"]

    def batches(order):
        enc = SentenceEncoder(str(tiny_encoder), batch_size=2)
        seen = []
        original = enc._embed
        monkeypatch.setattr(enc, "_embed", lambda batch: seen.append(list(batch)) or original(batch))
        return seen, enc.encode(order)

    (first, a), (second, b) = batches(texts), batches(texts[::-1])
    assert first == second == [["ab", "cat one"], ["dog two", "owl six"], ["a longer sentence", "another longer one"]]
    assert np.array_equal(a, b[::-1])


def test_shared_encoder_is_one_per_setting_and_model_files(tiny_encoder, tmp_path):
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    from newsclf.features.embeddings import shared_encoder

    folder = tmp_path / "enc"
    shutil.copytree(tiny_encoder, folder)
    first = shared_encoder(str(folder), 16, 8)
    assert shared_encoder(str(folder), 16, 8) is first and shared_encoder(str(folder), 32, 8) is not first
    before = first.encode(["the claim"])
    torch.manual_seed(1)  # another model saved into the same folder: a new encoder, not the old cache
    BertModel(BertConfig(vocab_size=first._tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=48, max_position_embeddings=128)).save_pretrained(folder)
    second = shared_encoder(str(folder), 16, 8)
    assert second is not first and not np.allclose(second.encode(["the claim"]), before)


def test_encoder_refuses_hub_ids_and_missing_folders(tmp_path):
    with pytest.raises(NewsclfError, match="existing local model directory"):
        resolve_encoder_path("sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(NewsclfError, match="existing local model directory"):
        resolve_encoder_path(str(tmp_path / "missing"))


def test_sentence_match_features(tiny_encoder):
    enc = SentenceEncoder(str(tiny_encoder))
    match = SentenceMatch(enc, max_sentences=10, top_k=2, attention_temperature=0.05)
    body = "Police say the video is a hoax. Nobody was hurt. The mayor did not comment."
    pairs = [("Video shows a hoax?", body), ("Mayor speaks", body), ("Empty body", "")]
    scalars, vectors = match.transform(pairs)
    assert scalars.shape == (3, N_SCALARS) and vectors.shape == (3, 64)
    h = enc.encode(["Video shows a hoax?"])[0]
    cos = enc.encode(split_sentences(body)) @ h
    assert scalars[0, 0] == pytest.approx(cos.max(), abs=1e-5)          # best sentence
    assert scalars[0, 3] == pytest.approx(cos[0], abs=1e-5)             # lead sentence
    assert scalars[0, 6] == pytest.approx(np.log1p(3))                  # three sentences
    assert scalars[0, 19] == 1.0 and scalars[1, 19] == 0.0              # headline question mark
    assert np.isfinite(scalars).all() and np.isfinite(vectors).all()
    again, _ = SentenceMatch(SentenceEncoder(str(tiny_encoder)), 10, 2, 0.05).transform(pairs)
    assert np.array_equal(scalars, again)


def test_story_groups_join_headlines_and_bodies():
    pairs = [("h1", "b1"), ("h1", "b2"), ("h2", "b2"), ("h3", "b3"), ("h4", "b1")]
    groups = story_groups(pairs)
    assert groups.tolist() == [0, 0, 0, 1, 0]


def test_mlp_is_seeded_and_numpy_forward_matches_torch():
    import torch

    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int)
    a = fit_mlp(X, y, 3, hidden=8, epochs=60, learning_rate=0.05, seed=3)
    b = fit_mlp(X, y, 3, hidden=8, epochs=60, learning_rate=0.05, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(a["w1"])), net[0].bias.copy_(torch.tensor(a["b1"]))
        net[2].weight.copy_(torch.tensor(a["w2"])), net[2].bias.copy_(torch.tensor(a["b2"]))
        ref = net(torch.tensor((X - a["mean"]) / a["scale"])).numpy()
    assert np.allclose(mlp_logits(a, X), ref, atol=1e-5)
    assert (mlp_logits(a, X).argmax(axis=1) == y).mean() >= 0.8


def test_balanced_weights_power():
    y = np.array([0] * 6 + [1] * 2 + [2] * 1)
    assert np.allclose(balanced_weights(y, 3), [9 / 18, 9 / 6, 9 / 3])
    assert np.allclose(balanced_weights(y, 3, 0.0), 1.0)
    assert np.allclose(balanced_weights(y, 3, 0.5), np.sqrt([9 / 18, 9 / 6, 9 / 3]))
