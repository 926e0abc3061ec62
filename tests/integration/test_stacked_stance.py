"""``model.stance=stacked_stance`` (TF-IDF + sentence-embedding MLP, stacked on story folds) inside the two-stage
stance model, through the real configs, with a tiny random BERT as the sentence encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from newsclf.errors import NewsclfError
from newsclf.models.stacked_stance import StackedStanceClassifier
from newsclf.models.tfidf import TfidfClassifier
from tests.conftest import make_stance_rows
from tests.integration.stacked_checks import assert_stage_round_trip, train_stance


def _overrides(encoder, *extra):
    return ["model=two_stage", "model@model.stance=stacked_stance", f"model.stance.encoder={encoder}",
            "model.related.char_ngram_range=null", "model.stance.tfidf.char_ngram_range=null",
            "model.stance.max_length=16", "model.stance.folds=3", "model.stance.mlp_epochs=30", *extra]


def _train(compose_cfg, paths, run_dir, monkeypatch, encoder, *extra):
    return train_stance(compose_cfg, paths, run_dir, monkeypatch, _overrides(encoder, *extra))


def test_stacked_stage_trains_saves_and_reloads_identically(compose_cfg, tiny_stance, tiny_encoder, tmp_path,
                                                            monkeypatch):
    metrics = _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch, tiny_encoder)
    assert metrics["dev/fnc_score"] >= 0.6 and metrics["dev/accuracy"] >= 0.6
    assert_stage_round_trip(tmp_path / "run", metrics, tiny_stance, tmp_path, "stance", "stacked_stance.v1",
                            "stacked_stance.json")


def test_same_seed_same_metrics(compose_cfg, tiny_stance, tiny_encoder, tmp_path, monkeypatch):
    a = _train(compose_cfg, tiny_stance, tmp_path / "a", monkeypatch, tiny_encoder)
    b = _train(compose_cfg, tiny_stance, tmp_path / "b", monkeypatch, tiny_encoder)
    assert {k: v for k, v in a.items() if not k.endswith("_time_s")} == \
        {k: v for k, v in b.items() if not k.endswith("_time_s")}


def _pairs(n=90, seed=1):
    rows = [r for r in make_stance_rows(n, seed) if r["label"] != "unrelated"]
    return [(r["headline"], r["body"]) for r in rows], [r["label"] for r in rows]


def _stacked(encoder, **kw):
    tfidf = TfidfClassifier(char_ngram_range=None, min_df=1, input_kind="pair")
    return StackedStanceClassifier(tfidf, **{"encoder": str(encoder), "max_length": 16, "folds": 3, "mlp_epochs": 30,
                                             **kw})


def test_bias_tuning_uses_training_folds_only(tiny_encoder, tmp_path):
    X, y = _pairs()
    model = _stacked(tiny_encoder, tune_biases=True).fit(X, y, seed=0)
    assert model.biases_.shape == (3,) and model.biases_[np.bincount([model.labels_.index(v) for v in y]).argmax()] == 0
    lo, hi, _ = model.bias_grid
    assert all(lo <= b <= hi for b in model.biases_)
    model.save(tmp_path / "m")
    loaded = StackedStanceClassifier.load(tmp_path / "m")
    assert np.array_equal(loaded.biases_, model.biases_)
    # a loaded model re-encodes the texts in other batches than training did: equal up to float rounding
    assert np.allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-5)
    assert np.array_equal(loaded.predict_proba(X), StackedStanceClassifier.load(tmp_path / "m").predict_proba(X))


def test_too_few_stories_and_bad_grids_are_refused(tiny_encoder):
    X, y = _pairs()
    with pytest.raises(NewsclfError, match="only 1 story groups"):
        _stacked(tiny_encoder).fit([("same headline", b) for _, b in X], y)
    with pytest.raises(NewsclfError, match="model.folds"):
        _stacked(tiny_encoder, folds=1).fit(X, y)
    with pytest.raises(NewsclfError, match="model.bias_grid"):
        _stacked(tiny_encoder, bias_grid=[0.5, 3.0, 0.25]).fit(X, y)
    for regimes in ([], ["topic"]):
        with pytest.raises(NewsclfError, match="model.regimes"):
            _stacked(tiny_encoder, regimes=regimes).fit(X, y)


@pytest.mark.parametrize(("regimes", "familiarity", "n_meta"), [(["story"], False, 3 + 3 + 21),
                                                                 (["story", "body"], True, 3 + 3 + 21 + 7)])
def test_meta_inputs_follow_regimes_and_familiarity(tiny_encoder, regimes, familiarity, n_meta):
    X, y = _pairs()
    model = _stacked(tiny_encoder, regimes=regimes, familiarity=familiarity).fit(X, y)
    assert model.meta_coef_.shape == (3, n_meta)
    heads = model._matcher().encoder.encode([h for h, _ in X])
    assert np.allclose((heads @ model.headlines_.T).max(axis=1), 1.0, atol=1e-5)  # training headlines: familiar


def test_a_checkpoint_cannot_name_a_hub_encoder(tiny_encoder, tmp_path):
    X, y = _pairs()
    _stacked(tiny_encoder).fit(X, y).save(tmp_path / "m")
    state_file = tmp_path / "m" / "stacked_stance.json"
    state = json.loads(state_file.read_text())
    state["params"]["encoder"] = "someone/remote-model"  # must never be fetched
    state_file.write_text(json.dumps(state))
    with pytest.raises(NewsclfError, match="existing local model directory"):
        StackedStanceClassifier.load(tmp_path / "m")
