"""The default ``model=transformer`` config on AG News (2,000-row regime): the issue's accuracy bar, end to end.

Slow (about 10-20 minutes on 2 cores): run with ``make test-slow``. The floor is the accuracy measured with this
exact config (see docs/transformer.md) minus a margin for other CPUs / library builds, and it stays above the
issue's bar (TF-IDF 0.8118 + 0.02).
"""

from __future__ import annotations

import json

import pytest

from newsclf import workflows

pytestmark = [pytest.mark.slow, pytest.mark.realdata]
TFIDF_TEST_ACCURACY = 0.8118
MEASURED = 0.8753  # test accuracy of this config, seed 42 (docs/transformer.md)
FLOOR = MEASURED - 0.02  # margin for thread counts / CPU kinds; still above TFIDF_TEST_ACCURACY + 0.02


def test_default_transformer_beats_tfidf_on_ag_news(compose_cfg, data_root, tmp_path, monkeypatch):
    monkeypatch.setattr(workflows, "run_dir", lambda: tmp_path)
    cfg = compose_cfg("config", ["task=topic", "model=transformer", f"data_root={data_root}", "model.progress=false"])
    metrics = workflows.train(cfg)
    assert FLOOR >= TFIDF_TEST_ACCURACY + 0.02
    assert metrics["test/accuracy"] >= FLOOR
    assert metrics["test/n"] == 7600
    manifest = json.loads((tmp_path / "checkpoint" / "manifest.json").read_text())
    assert manifest["model_kind"] == "transformer.v1" and manifest["params"]["pretrained"] == "minilm"
