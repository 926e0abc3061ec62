"""What the tests of the two sentence-stacked stance stages share: training through the real configs, and the
checkpoint round trip (payload layout, no pickle, dev re-scored exactly, save -> load identical, predictor agrees)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from newsclf import workflows
from newsclf.checkpoint import Checkpoint, load_checkpoint
from newsclf.inference.predictor import Predictor
from newsclf.models.two_stage import TwoStageClassifier
from tests.conftest import custom_data_overrides


def train_stance(compose_cfg, paths, run_dir: Path, monkeypatch, overrides: list[str]) -> dict:
    run_dir.mkdir(exist_ok=True)
    monkeypatch.setattr(workflows, "run_dir", lambda: run_dir)
    return workflows.train(compose_cfg("config", [*custom_data_overrides(paths, "stance"), *overrides]))


def assert_stage_round_trip(run_dir: Path, metrics: dict, paths, tmp_path: Path, stage: str, kind: str,
                            state_file: str) -> Checkpoint:
    """The checkpoint in ``run_dir`` holds ``stage`` as ``kind`` (its ``state_file``, arrays and TF-IDF base model)
    and behaves after loading exactly as it did in training."""
    ckpt = load_checkpoint(run_dir / "checkpoint")
    assert ckpt.manifest["params"][stage]["kind"] == kind
    assert ckpt.manifest["params"][stage]["tfidf"]["kind"] == "tfidf.v1"
    files = set(ckpt.manifest["payload_sha256"])
    assert {f"{stage}/{state_file}", f"{stage}/arrays.safetensors", f"{stage}/tfidf/state.json"} <= files
    assert not any(f.endswith((".pkl", ".bin", ".pt")) for f in files)
    # the loaded checkpoint scores dev exactly as training did
    dev = [json.loads(line) for line in paths["dev"].read_text().splitlines()]
    again = workflows.score_split(ckpt.model, ckpt.input_spec, dev, ckpt.labels, True)
    assert again["fnc_score"] == metrics["dev/fnc_score"] and again["brier"] == metrics["dev/brier"]
    # save -> load -> identical probabilities; the predictor agrees with the model
    test = [json.loads(line) for line in paths["test"].read_text().splitlines()]
    inputs = ckpt.input_spec.model_inputs(test)
    ckpt.model.save(tmp_path / "copy")
    copy = TwoStageClassifier.load(tmp_path / "copy")
    assert np.array_equal(copy.predict_proba(inputs), ckpt.model.predict_proba(inputs))
    records = Predictor.from_checkpoint(run_dir / "checkpoint").predict(test)
    assert [r["label"] for r in records] == ckpt.model.predict(inputs)
    return ckpt
