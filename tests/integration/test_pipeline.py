"""Compose the real configs, shrink them to tiny data, and run train -> evaluate -> predict."""

from __future__ import annotations

import json

import pytest

from newsclf import workflows
from newsclf.checkpoint import load_checkpoint
from newsclf.errors import NewsclfError
from tests.conftest import SEED_ARTICLE, custom_data_overrides, write_jsonl


def _train(compose_cfg, paths, task, run_dir, monkeypatch, extra=()):
    monkeypatch.setattr(workflows, "run_dir", lambda: run_dir)
    cfg = compose_cfg("config", [*custom_data_overrides(paths, task), "model=tfidf", *extra])
    return workflows.train(cfg)


@pytest.mark.parametrize("task", ["topic", "stance"])
def test_train_evaluate_predict(compose_cfg, tiny_topic, tiny_stance, tmp_path, monkeypatch, task):
    paths = tiny_topic if task == "topic" else tiny_stance
    run = tmp_path / "run"
    run.mkdir()
    metrics = _train(compose_cfg, paths, task, run, monkeypatch)
    assert (run / "checkpoint" / "manifest.json").is_file()
    on_disk = json.loads((run / "metrics.json").read_text())
    assert on_disk["dev/accuracy"] == metrics["dev/accuracy"]
    assert metrics["dev/accuracy"] >= 0.6  # synthetic classes are separable

    # evaluate reproduces train's numbers on the same split
    ev_dir = tmp_path / "eval"
    ev_dir.mkdir()
    monkeypatch.setattr(workflows, "run_dir", lambda: ev_dir)
    ev = workflows.evaluate(compose_cfg("evaluate", [f"checkpoint={run / 'checkpoint'}", "split=test"]))
    for key in ("accuracy", "macro_f1", "ece"):
        assert ev[f"test/{key}"] == pytest.approx(metrics[f"test/{key}"], abs=1e-12)
    report = (ev_dir / "report.md").read_text()
    assert report.count("|") > 10
    if task == "stance":
        assert "test/fnc_score" in ev
    # 95% bootstrap intervals by default, in metrics.json and the report; groups by a record field on request
    boot = ev["test/bootstrap"]
    assert (boot["draws"], boot["unit"], boot["units"]) == (1000, "row", ev["test/n"])
    lo, hi = boot["intervals"]["accuracy"]
    assert 0 <= lo <= ev["test/accuracy"] <= hi <= 1
    assert f"accuracy: {ev['test/accuracy']:.4f} (95% interval {lo:.4f}-{hi:.4f})" in report
    field = "text" if task == "topic" else "headline"
    grouped = workflows.evaluate(compose_cfg("evaluate", [f"checkpoint={run}", "split=test",
                                                          f"bootstrap_group={field}", "bootstrap=200"]))
    assert grouped["test/bootstrap"]["unit"] == field and grouped["test/bootstrap"]["draws"] == 200
    assert grouped["test/accuracy"] == ev["test/accuracy"]
    with pytest.raises(NewsclfError, match=r"bootstrap_group='nope', but the record has no 'nope' value"):
        workflows.evaluate(compose_cfg("evaluate", [f"checkpoint={run}", "split=test", "bootstrap_group=nope"]))
    with pytest.raises(NewsclfError, match="bootstrap=-1: expected a number of resamples >= 0"):
        workflows.evaluate(compose_cfg("evaluate", [f"checkpoint={run}", "split=test", "bootstrap=-1"]))
    assert "test/bootstrap" not in workflows.evaluate(
        compose_cfg("evaluate", [f"checkpoint={run}", "split=test", "bootstrap=0"]))

    # predict: one record per input, in order, scores sum to 1
    out = tmp_path / "pred.jsonl"
    workflows.predict(compose_cfg("predict", [f"checkpoint={run}", f"input={paths['test']}", f"output={out}"]))
    preds = [json.loads(line) for line in out.read_text().splitlines()]
    inputs = [json.loads(line) for line in paths["test"].read_text().splitlines()]
    assert [p["id"] for p in preds] == [r["id"] for r in inputs]
    ckpt = load_checkpoint(run / "checkpoint")
    for p in preds:
        assert set(p["scores"]) == set(ckpt.labels)
        assert sum(p["scores"].values()) == pytest.approx(1.0, abs=1e-9)
        assert p["label"] == max(p["scores"], key=p["scores"].get)


def test_same_seed_same_metrics(compose_cfg, tiny_topic, tmp_path, monkeypatch):
    runs = []
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir()
        runs.append(_train(compose_cfg, tiny_topic, "topic", d, monkeypatch, extra=["seed=7"]))
    runs[0].pop("train_time_s"), runs[1].pop("train_time_s")
    assert runs[0] == runs[1]


def test_predict_seed_article_txt(compose_cfg, tiny_topic, tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    _train(compose_cfg, tiny_topic, "topic", run, monkeypatch)
    out = tmp_path / "seed.jsonl"
    workflows.predict(compose_cfg("predict", [f"checkpoint={run}", f"input={SEED_ARTICLE}", f"output={out}"]))
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert rec["id"] == SEED_ARTICLE.stem
    assert sum(rec["scores"].values()) == pytest.approx(1.0)


def test_target_stance_on_semeval_files_reports_f_avg_everywhere(compose_cfg, tmp_path, monkeypatch):
    """``task=target_stance`` end to end on files in SemEval-2016's own format (cp1252, tab-separated): F_avg in
    train's metrics, the manifest, evaluate's metrics, intervals and report; predict takes (target, text) pairs."""
    import random

    rng = random.Random(0)
    words = {("guns", "AGAINST"): "ban outlaw stop", ("guns", "FAVOR"): "allow protect defend",
             ("smoking", "AGAINST"): "allow protect defend", ("smoking", "FAVOR"): "ban outlaw stop"}
    filler = "people say today this that we they really think about".split()

    def lines(n, start):
        out = []
        for i in range(n):
            target, stance = rng.choice(["guns", "smoking"]), rng.choice(["AGAINST", "FAVOR", "NONE"])
            cue = rng.choice(words[target, stance].split()) if stance != "NONE" else "weather"
            body = " ".join([*rng.sample(filler, 3), cue, *rng.sample(filler, 3)])
            out.append(f"{start + i}\t{target}\t{body} \u2019 #SemST\t{stance}\r\n")
        return "ID\tTarget\tTweet\tStance\r\n" + "".join(out)

    root = tmp_path / "data" / "semeval2016_task6"
    root.mkdir(parents=True)
    (root / "semeval2016-task6-trainingdata.txt").write_bytes(lines(240, 100).encode("cp1252"))
    (root / "SemEval2016-Task6-subtaskA-testdata-gold.txt").write_text(lines(60, 9000).replace("\u2019", "'"))
    run, ev_dir = tmp_path / "run", tmp_path / "eval"
    run.mkdir(), ev_dir.mkdir()
    monkeypatch.delenv("NEWSCLF_DATA_ROOT", raising=False)
    monkeypatch.setattr(workflows, "run_dir", lambda: run)
    metrics = workflows.train(compose_cfg("config", ["task=target_stance", f"data_root={tmp_path / 'data'}"]))
    assert metrics["test/f_avg"] >= 0.9, metrics["test/f_avg"]  # each cue word flips with the target
    assert metrics["test/f_avg"] == pytest.approx((metrics["test/f1/AGAINST"] + metrics["test/f1/FAVOR"]) / 2)
    manifest = json.loads((run / "checkpoint" / "manifest.json").read_text())
    assert manifest["task"]["f_avg_labels"] == ["AGAINST", "FAVOR"] and manifest["task"]["name"] == "target_stance"
    monkeypatch.setattr(workflows, "run_dir", lambda: ev_dir)
    ev = workflows.evaluate(compose_cfg("evaluate", [f"checkpoint={run}", "split=test", "bootstrap=100"]))
    assert ev["test/f_avg"] == metrics["test/f_avg"] and "test/fnc_score" not in ev
    lo, hi = ev["test/bootstrap"]["intervals"]["f_avg"]
    assert lo <= ev["test/f_avg"] <= hi
    assert f"F_avg (mean F1 of AGAINST, FAVOR): {ev['test/f_avg']:.4f}" in (ev_dir / "report.md").read_text()
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [{"id": "a", "headline": "guns", "body": "we say ban it"},
                                                   {"id": "b", "headline": "smoking", "body": "we say ban it"}])
    out = tmp_path / "pred.jsonl"
    workflows.predict(compose_cfg("predict", [f"checkpoint={run}", f"input={pairs}", f"output={out}"]))
    preds = [json.loads(line)["label"] for line in out.read_text().splitlines()]
    assert preds == ["AGAINST", "FAVOR"]
