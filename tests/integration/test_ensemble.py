"""``model=ensemble`` (a weighted geometric mean of whole models) through the real configs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from newsclf import workflows
from newsclf.checkpoint import load_checkpoint
from newsclf.errors import NewsclfError
from newsclf.evaluation.decision import decide
from newsclf.inference.predictor import Predictor
from newsclf.models.base import softmax
from newsclf.models.ensemble import EnsembleClassifier
from tests.conftest import custom_data_overrides

MEMBERS = ["+model@model.members.lr=tfidf", "model.members.lr.char_ngram_range=null",
           "+model@model.members.staged=two_stage", "model.members.staged.related.char_ngram_range=null",
           "model.members.staged.stance.char_ngram_range=null", "+model.weights.lr=1", "+model.weights.staged=3"]


def _train(compose_cfg, paths, run_dir, monkeypatch, extra=()):
    run_dir.mkdir(exist_ok=True)
    monkeypatch.setattr(workflows, "run_dir", lambda: run_dir)
    cfg = compose_cfg("config", [*custom_data_overrides(paths, "stance"), "model=ensemble", *MEMBERS,
                                 "task.decision=fnc", *extra])
    return workflows.train(cfg)


def test_ensemble_trains_saves_and_loads_one_checkpoint(compose_cfg, tiny_stance, tmp_path, monkeypatch):
    metrics = _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch)
    assert metrics["dev/fnc_score"] >= 0.6 and metrics["dev/accuracy"] >= 0.6
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint")
    model = ckpt.model
    assert ckpt.manifest["model_kind"] == "ensemble.v1"
    assert ckpt.manifest["params"]["members"]["staged"]["kind"] == "two_stage.v1"
    assert model.weights == {"lr": 0.25, "staged": 0.75}
    assert ckpt.labels == ["agree", "disagree", "discuss", "unrelated"]
    rows = [json.loads(line) for line in tiny_stance["test"].read_text().splitlines()]
    inputs = ckpt.input_spec.model_inputs(rows)
    # the ensemble's probabilities: softmax of the weighted mean of the members' calibrated log-probabilities
    mean_log = sum(w * np.log(model.members[n].predict_proba(inputs)) for n, w in model.weights.items())
    p = model.predict_proba(inputs)
    assert np.allclose(p, softmax(mean_log / model.temperature_), atol=1e-9)
    assert np.allclose(p.sum(axis=1), 1.0)
    records = Predictor.from_checkpoint(tmp_path / "run" / "checkpoint").predict(rows)
    assert [r["label"] for r in records] == decide(p, ckpt.labels, "fnc")


def test_ensemble_refuses_bad_weights_and_bad_saved_members(compose_cfg, tiny_stance, tmp_path, monkeypatch):
    with pytest.raises(NewsclfError, match="expected one per member"):
        _train(compose_cfg, tiny_stance, tmp_path / "bad", monkeypatch, ["~model.weights.lr"])
    with pytest.raises(NewsclfError, match="weight of 'lr' is -1"):
        _train(compose_cfg, tiny_stance, tmp_path / "bad", monkeypatch, ["model.weights.lr=-1"])
    _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch)
    model_dir = tmp_path / "run" / "checkpoint" / "model"
    saved = (model_dir / "ensemble.json").read_text()
    for members, match in (({"lr": "tfidf.v1", "staged": "ensemble.v1"}, "unknown kind"),  # no nesting
                           ({"lr": "tfidf.v1", "../staged": "two_stage.v1"}, "not a lower-case identifier")):
        state = json.loads(saved)
        state["members"] = members
        (model_dir / "ensemble.json").write_text(json.dumps(state))
        with pytest.raises(NewsclfError, match=match):
            EnsembleClassifier.load(model_dir)
    state = json.loads(saved)
    state["weights"] = {"lr": 1.0}
    (model_dir / "ensemble.json").write_text(json.dumps(state))
    with pytest.raises(NewsclfError, match="ensemble.json: weights name"):
        EnsembleClassifier.load(model_dir)
    (model_dir / "ensemble.json").write_text("{not json")
    with pytest.raises(NewsclfError, match="not a readable ensemble state"):
        EnsembleClassifier.load(model_dir)


def test_ensemble_same_seed_same_metrics(compose_cfg, tiny_stance, tmp_path, monkeypatch):
    first = _train(compose_cfg, tiny_stance, tmp_path / "a", monkeypatch)
    second = _train(compose_cfg, tiny_stance, tmp_path / "b", monkeypatch)
    keys = [k for k in first if k.startswith("dev/") and isinstance(first[k], float)]
    assert keys and all(first[k] == second[k] for k in keys)
