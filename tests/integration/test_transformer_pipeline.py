"""``model=tiny_transformer`` through the real configs: train -> evaluate -> predict, and resume via the workflow."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch

from newsclf import workflows
from newsclf.checkpoint import load_checkpoint
from newsclf.training.loop import FineTuner
from tests.conftest import custom_data_overrides


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # tiny_transformer sets one thread


def _train(compose_cfg, paths, task, run_dir, monkeypatch, extra=()):
    run_dir.mkdir(exist_ok=True)
    monkeypatch.setattr(workflows, "run_dir", lambda: run_dir)
    cfg = compose_cfg("config", [*custom_data_overrides(paths, task), "model=tiny_transformer", *extra])
    return workflows.train(cfg)


@pytest.mark.parametrize("task", ["topic", "stance"])
def test_train_evaluate_predict(compose_cfg, tiny_topic, tiny_stance, tmp_path, monkeypatch, task):
    paths = tiny_topic if task == "topic" else tiny_stance
    run = tmp_path / "run"
    metrics = _train(compose_cfg, paths, task, run, monkeypatch)
    manifest = json.loads((run / "checkpoint" / "manifest.json").read_text())
    assert manifest["model_kind"] == "transformer.v1"
    assert manifest["params"]["select_metric"] == ("fnc_score" if task == "stance" else "macro_f1")
    payload = set(manifest["payload_sha256"])
    assert {"model.safetensors", "config.json", "tokenizer.json", "newsclf_transformer.json"} <= payload
    if task == "topic":
        assert metrics["test/accuracy"] >= 0.5  # above chance (1/3) even for a random tiny BERT in 3 epochs

    ev_dir = tmp_path / "eval"
    ev_dir.mkdir()
    monkeypatch.setattr(workflows, "run_dir", lambda: ev_dir)
    ev = workflows.evaluate(compose_cfg("evaluate", [f"checkpoint={run / 'checkpoint'}", "split=test"]))
    for key in ("accuracy", "macro_f1", "ece", "brier"):
        assert ev[f"test/{key}"] == metrics[f"test/{key}"]

    out = tmp_path / "pred.jsonl"
    workflows.predict(compose_cfg("predict", [f"checkpoint={run}", f"input={paths['test']}", f"output={out}"]))
    preds = [json.loads(line) for line in out.read_text().splitlines()]
    inputs = [json.loads(line) for line in paths["test"].read_text().splitlines()]
    assert [p["id"] for p in preds] == [r["id"] for r in inputs]
    labels = load_checkpoint(run / "checkpoint").labels
    for p in preds:
        assert set(p["scores"]) == set(labels) and p["model"] == "transformer.v1"
        assert sum(p["scores"].values()) == pytest.approx(1.0, abs=1e-6)


def test_resume_through_the_workflow(compose_cfg, tiny_topic, tmp_path, monkeypatch):
    full = _train(compose_cfg, tiny_topic, "topic", tmp_path / "full", monkeypatch)

    original = FineTuner._after_step

    def interrupted(self, *args):
        original(self, *args)
        if self.pos.step == 11:
            os.kill(os.getpid(), signal.SIGTERM)

    with monkeypatch.context() as m:
        m.setattr(FineTuner, "_after_step", interrupted)
        with pytest.raises(SystemExit) as stop:
            _train(compose_cfg, tiny_topic, "topic", tmp_path / "cut", monkeypatch)
    assert stop.value.code == 128 + signal.SIGTERM
    assert not (tmp_path / "cut" / "checkpoint").exists()
    # a requeued job: same run dir, resume=auto
    resumed = _train(compose_cfg, tiny_topic, "topic", tmp_path / "cut", monkeypatch, ["resume=auto"])
    full.pop("train_time_s"), resumed.pop("train_time_s")
    assert resumed == full
    lines = (tmp_path / "cut" / "train_log.jsonl").read_text().splitlines()
    entries = [(json.loads(line)["step"], json.loads(line)["event"]) for line in lines]
    assert [s for s, _ in entries] == sorted(s for s, _ in entries)  # in step order
    assert len(entries) == len(set(entries))  # nothing logged twice across the resume
