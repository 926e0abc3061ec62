"""Reliability fixtures: tiny TF-IDF checkpoints trained once per session through scripts/train.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.reliability.harness import Call, Env, build_env, custom_data, run_inprocess


@pytest.fixture(scope="session")
def env(tmp_path_factory) -> Env:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return build_env(tmp_path_factory.mktemp("reliability_env"))


# A tiny random BERT (configs/model/tiny_transformer.yaml) on the tiny topic set: batch 2 gives 12 optimizer steps
# an epoch, so a run can be interrupted mid-epoch between two saves (every 4 steps).
TRANSFORMER_STEPS_PER_EPOCH = 12


def transformer_args(env: Env, run: Path, *extra: str) -> list[str]:
    return [*custom_data("topic", env.topic_data, model="tiny_transformer"), "model.batch_size=2",
            "model.epochs=2", f"hydra.run.dir={run}", *extra]


@pytest.fixture(scope="session")
def transformer_run(env, tmp_path_factory) -> Path:
    """An uninterrupted tiny-transformer run directory (the reference for determinism and resume)."""
    pytest.importorskip("newsclf.models.transformer")
    run = tmp_path_factory.mktemp("transformer") / "full"
    outcome = run_inprocess(Call("train", transformer_args(env, run), []))
    assert outcome.rc == 0, outcome.stderr
    return run


def run_metrics(run: Path) -> dict:
    """metrics.json without the wall-clock entries, which no two runs share."""
    metrics = json.loads((run / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if not k.endswith("_time_s")}


def payload_hashes(run: Path) -> dict:
    return json.loads((run / "checkpoint" / "manifest.json").read_text())["payload_sha256"]
