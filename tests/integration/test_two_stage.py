"""``model=two_stage`` (stance: related vs unrelated, then agree / disagree / discuss) through the real configs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from newsclf import workflows
from newsclf.checkpoint import load_checkpoint
from newsclf.errors import NewsclfError
from newsclf.inference.predictor import Predictor
from tests.conftest import custom_data_overrides


def _train(compose_cfg, paths, run_dir, monkeypatch, extra=()):
    run_dir.mkdir(exist_ok=True)
    monkeypatch.setattr(workflows, "run_dir", lambda: run_dir)
    cfg = compose_cfg("config", [*custom_data_overrides(paths, "stance"), "model=two_stage",
                                 "model.related.char_ngram_range=null", "model.stance.char_ngram_range=null", *extra])
    return workflows.train(cfg)


def test_two_stage_trains_saves_and_loads_one_checkpoint(compose_cfg, tiny_stance, tmp_path, monkeypatch):
    metrics = _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch)
    assert metrics["dev/fnc_score"] >= 0.6 and metrics["dev/accuracy"] >= 0.6
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint")
    assert ckpt.manifest["model_kind"] == "two_stage.v1"
    assert ckpt.labels == ["agree", "disagree", "discuss", "unrelated"]
    assert ckpt.manifest["params"]["related"]["kind"] == "tfidf.v1"
    rows = [json.loads(line) for line in tiny_stance["test"].read_text().splitlines()]
    inputs = ckpt.input_spec.model_inputs(rows)
    p = ckpt.model.predict_proba(inputs)
    assert np.allclose(p.sum(axis=1), 1.0)
    # the composed probabilities: P(unrelated) = 1 - p1(related); the rest split p1(related) by stage 2
    composed = ckpt.model.composed_proba(inputs)
    p1 = ckpt.model.related.predict_proba(inputs)[:, ckpt.model.related.labels_.index("related")]
    assert np.allclose(composed[:, 3], 1 - p1) and np.allclose(composed[:, :3].sum(axis=1), p1)
    records = Predictor.from_checkpoint(tmp_path / "run" / "checkpoint").predict(rows)
    assert [r["label"] for r in records] == ckpt.model.predict(inputs)


def test_two_stage_refuses_an_unknown_stage_kind(compose_cfg, tiny_stance, tmp_path, monkeypatch):
    _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch)
    model_dir = tmp_path / "run" / "checkpoint" / "model"
    state = json.loads((model_dir / "two_stage.json").read_text())
    state["stages"]["stance"] = "two_stage.v1"  # no nesting, no kinds outside the registry
    (model_dir / "two_stage.json").write_text(json.dumps(state))
    from newsclf.models.two_stage import TwoStageClassifier

    with pytest.raises(NewsclfError, match="unknown kind"):
        TwoStageClassifier.load(model_dir)


def test_fnc1_topic_split_holds_out_whole_stories():
    from newsclf.data.sources import topic_split

    pairs = []
    for story in range(10):
        for b in range(3):
            pairs.append({"headline": f"h{story}", "body_id": f"{story}-{b}", "body": "x", "label": "discuss"})
    for story in range(10):  # unrelated pairs across stories
        pairs.append({"headline": f"h{story}", "body_id": f"{(story + 1) % 10}-0", "body": "x", "label": "unrelated"})
    train, dev = topic_split(pairs, 0.3, seed=0)
    assert {r["headline"] for r in train}.isdisjoint({r["headline"] for r in dev})
    assert {r["body_id"] for r in train}.isdisjoint({r["body_id"] for r in dev})
    assert len({r["headline"] for r in dev}) == 3
    unrelated_share = sum(r["label"] == "unrelated" for r in train) / len(train)
    dev_share = sum(r["label"] == "unrelated" for r in dev) / len(dev)
    assert abs(dev_share - unrelated_share) < 0.15  # topped up with cross-story pairs made inside dev


def test_fnc_decision_is_recorded_and_applied_by_evaluate_and_predict(compose_cfg, tiny_stance, tmp_path,
                                                                       monkeypatch):
    from newsclf.evaluation.decision import decide

    metrics = _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch, ["task.decision=fnc"])
    assert metrics["dev/decision"] == "fnc" and 0.0 <= metrics["dev/argmax/fnc_score"] <= 1.0
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint")
    assert ckpt.decision == "fnc" and ckpt.manifest["task"]["decision"] == "fnc"
    ckpt.model.temperature_ = 50.0  # flat probabilities: unrelated is often the most probable, never the best bet
    rows = [json.loads(line) for line in tiny_stance["test"].read_text().splitlines()]
    probs = ckpt.model.predict_proba(ckpt.input_spec.model_inputs(rows))
    fnc, plain = decide(probs, ckpt.labels, "fnc"), decide(probs, ckpt.labels, "argmax")
    assert "unrelated" in plain and fnc != plain
    assert [r["label"] for r in Predictor(ckpt).predict(rows)] == fnc
    assert [r["label"] for r in Predictor(ckpt, decision="argmax").predict(rows)] == plain
    top1 = Predictor(ckpt, top_k=1).predict(rows)
    assert [r["label"] for r in top1] == fnc and all(r["label"] in r["scores"] for r in top1)
    assert Predictor(ckpt).describe()["decision"] == "fnc"
    with pytest.raises(NewsclfError, match="decision: expected one of"):
        Predictor(ckpt, decision="max")

    monkeypatch.setattr(workflows, "run_dir", lambda: tmp_path / "eval")
    (tmp_path / "eval").mkdir()
    ev = workflows.evaluate(compose_cfg("evaluate", [f"checkpoint={tmp_path / 'run'}", "split=dev"]))
    assert ev["dev/decision"] == "fnc" and ev["dev/fnc_score"] == metrics["dev/fnc_score"]
    assert "most probable label" in (tmp_path / "eval" / "report.md").read_text()
    plain_ev = workflows.evaluate(compose_cfg("evaluate", [f"checkpoint={tmp_path / 'run'}", "split=dev",
                                                          "decision=argmax"]))
    assert plain_ev["dev/decision"] == "argmax" and plain_ev["dev/fnc_score"] == metrics["dev/argmax/fnc_score"]

    manifest = tmp_path / "run" / "checkpoint" / "manifest.json"
    state = json.loads(manifest.read_text())
    state["task"]["decision"] = "exec"
    manifest.write_text(json.dumps(state))
    with pytest.raises(NewsclfError, match=r"field 'task.decision': expected one of"):
        load_checkpoint(tmp_path / "run" / "checkpoint")


def test_fnc_decision_is_refused_for_labels_it_cannot_score(compose_cfg, tiny_topic, tmp_path, monkeypatch):
    monkeypatch.setattr(workflows, "run_dir", lambda: tmp_path)
    cfg = compose_cfg("config", [*custom_data_overrides(tiny_topic, "topic"), "task.decision=fnc"])
    with pytest.raises(NewsclfError, match="task.decision: 'fnc' needs FNC-1 labels"):
        workflows.train(cfg)
    assert not (tmp_path / "checkpoint").exists()
