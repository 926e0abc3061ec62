"""Same seed and data give identical metrics, and identical weights, for both model kinds on CPU.

Each reference run is trained once per session (the bad-input checkpoints, the tiny-transformer run); each
test trains once more through ``scripts/train.py`` with the same arguments and compares.
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import payload_hashes, run_metrics, transformer_args
from tests.reliability.harness import Call, custom_data, run_inprocess


def train(args: list[str]) -> None:
    outcome = run_inprocess(Call("train", args, []))
    assert outcome.rc == 0, outcome.stderr


@pytest.mark.parametrize("task", ["topic", "stance"])
def test_tfidf_same_seed_same_metrics_and_payload(env, tmp_path, task):
    reference = env.root / task  # trained by build_env with exactly these arguments
    data = env.topic_data if task == "topic" else env.stance_data
    train([*custom_data(task, data), f"hydra.run.dir={tmp_path / 'again'}"])
    assert run_metrics(tmp_path / "again") == run_metrics(reference)
    assert payload_hashes(tmp_path / "again") == payload_hashes(reference)  # byte-identical model files


def test_transformer_same_seed_same_metrics_and_weights(env, transformer_run, tmp_path):
    train(transformer_args(env, tmp_path / "again"))
    assert run_metrics(tmp_path / "again") == run_metrics(transformer_run)
    # the weights file is byte-identical; newsclf_transformer.json also records wall-clock speeds
    assert payload_hashes(tmp_path / "again")["model.safetensors"] == payload_hashes(transformer_run)["model.safetensors"]
