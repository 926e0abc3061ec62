"""task.new_claim_weights end to end: training keeps its claims' hashes in the checkpoint, and train, evaluate and
predict weigh only the pairs whose headline the checkpoint has not seen."""

from __future__ import annotations

import json

import numpy as np
import pytest

from newsclf import workflows
from newsclf.checkpoint import load_checkpoint
from newsclf.errors import NewsclfError
from newsclf.evaluation.decision import claim_key, decide_indices
from newsclf.inference.predictor import Predictor
from tests.conftest import custom_data_overrides, load_benchmark, make_stance_rows, write_jsonl

WEIGHTS = "task.new_claim_weights={disagree:3.0}"  # a soft model (small C, no temperature) and a large weight:
# it moves labels on tiny data


@pytest.fixture
def run(compose_cfg, tmp_path, monkeypatch):
    rows = make_stance_rows(160)
    train, dev = rows[:100], rows[100:120]
    # test: a third of the pairs reuse a training headline with a new body (known claims), the rest are new claims
    test = [{**r, "id": f"t{i}", "headline": train[i]["headline"].upper() if i % 3 == 0 else r["headline"]}
            for i, r in enumerate(rows[120:])]
    data = tmp_path / "data"
    data.mkdir()
    paths = {name: write_jsonl(data / f"{name}.jsonl", recs) for name, recs in
             (("train", train), ("dev", dev), ("test", test))}
    out = tmp_path / "run"
    out.mkdir()
    monkeypatch.setattr(workflows, "run_dir", lambda: out)
    cfg = compose_cfg("config", [*custom_data_overrides(paths, "stance"), "model=tfidf", "model.C=0.05",
                                      "calibration=none", "task.decision=fnc", WEIGHTS])
    metrics = workflows.train(cfg)
    return {"dir": out, "metrics": metrics, "train": train, "test": test, "paths": paths}


def test_checkpoint_keeps_training_claims_and_every_entry_point_weighs_new_ones(run, compose_cfg, tmp_path,
                                                                                monkeypatch):
    ckpt = load_checkpoint(run["dir"] / "checkpoint")
    assert ckpt.manifest["task"]["new_claim_weights"] == {"disagree": 3.0}
    assert ckpt.seen_claims == {claim_key(r["headline"]) for r in run["train"]}
    assert run["metrics"]["test/new_claim_pairs"] == 26  # the upper-cased training headlines count as seen
    assert run["metrics"]["dev/new_claim_pairs"] == 20

    preds = Predictor(ckpt).predict(run["test"])
    probs = np.array([[p["scores"][v] for v in ckpt.labels] for p in preds])
    rule = decide_indices(probs, ckpt.labels, "fnc")
    got = np.array([ckpt.labels.index(p["label"]) for p in preds])
    known = np.array([i % 3 == 0 for i in range(len(preds))])
    assert np.array_equal(got[known], rule[known])  # a seen headline keeps the rule's label
    everywhere = load_benchmark("stance_decision_weights").reweighted(probs, ckpt.labels, "fnc", {"disagree": 3.0})
    assert (everywhere[known] != rule[known]).sum() >= 3  # the weight would move known claims too, were it applied
    assert np.array_equal(got[~known], everywhere[~known])
    assert (got[~known] != rule[~known]).sum() >= 5  # it moves new-claim labels...
    assert all(ckpt.labels[k] == "disagree" for k in got[got != rule])  # ...to disagree only

    # evaluate scores the test split exactly as training did, and reports the rule alone beside it
    ev_dir = tmp_path / "eval"
    ev_dir.mkdir()
    monkeypatch.setattr(workflows, "run_dir", lambda: ev_dir)
    ev = workflows.evaluate(compose_cfg("evaluate", [f"checkpoint={run['dir'] / 'checkpoint'}", "split=test"]))
    for key in ("macro_f1", "fnc_score", "new_claim_pairs", "unweighted/macro_f1", "unweighted/fnc_score"):
        assert ev[f"test/{key}"] == run["metrics"][f"test/{key}"]
    assert "- 26 of 40 pairs have a headline training never saw" in (ev_dir / "report.md").read_text()
    gold = [r["label"] for r in run["test"]]
    assert ev["test/accuracy"] == pytest.approx(np.mean([ckpt.labels[k] == g for k, g in zip(got, gold, strict=True)]))


def test_tampered_or_missing_claims_do_not_load(run):
    path = run["dir"] / "checkpoint"
    file = path / "seen_claims.json"
    data = json.loads(file.read_text())
    file.write_text(json.dumps({**data, "claims": data["claims"][1:]}))
    with pytest.raises(NewsclfError, match="seen_claims.json: sha256 does not match"):
        load_checkpoint(path)
    file.unlink()
    with pytest.raises(NewsclfError, match="training claims listed in the manifest are missing"):
        load_checkpoint(path)


def test_weights_need_fnc_labels(compose_cfg, tiny_topic, tmp_path, monkeypatch):
    monkeypatch.setattr(workflows, "run_dir", lambda: tmp_path)
    cfg = compose_cfg("config", [*custom_data_overrides(tiny_topic, "topic"), "model=tfidf", f"+{WEIGHTS}"])
    with pytest.raises(NewsclfError, match="task.new_claim_weights: weights among related labels need FNC-1 labels"):
        workflows.train(cfg)
    assert not (tmp_path / "checkpoint").exists()
