"""benchmarks/compare_checkpoints.py: two checkpoints on one split, intervals and a paired difference."""

from __future__ import annotations

import pytest

from newsclf import workflows
from newsclf.errors import NewsclfError
from tests.conftest import custom_data_overrides, load_benchmark, make_topic_rows, write_jsonl


def _train(compose_cfg, paths, run_dir, monkeypatch, *extra):
    run_dir.mkdir()
    monkeypatch.setattr(workflows, "run_dir", lambda: run_dir)
    return workflows.train(compose_cfg("config", [*custom_data_overrides(paths, "topic"), "model=tfidf", *extra]))


def test_compare_two_checkpoints_on_one_split(compose_cfg, tiny_topic, tmp_path, monkeypatch):
    compare = load_benchmark("compare_checkpoints").compare
    first = _train(compose_cfg, tiny_topic, tmp_path / "a", monkeypatch)
    second = _train(compose_cfg, tiny_topic, tmp_path / "b", monkeypatch, "model.C=0.01", "model.max_features=20")
    result = compare(str(tmp_path / "a"), str(tmp_path / "b"), split="test", draws=300)
    a, b = result["systems"]["A"], result["systems"]["B"]
    for key in ("accuracy", "macro_f1"):  # the points are what training measured on that split
        assert a["point"][key] == pytest.approx(first[f"test/{key}"], abs=1e-12)
        assert b["point"][key] == pytest.approx(second[f"test/{key}"], abs=1e-12)
        assert result["difference"][key]["diff"] == pytest.approx(first[f"test/{key}"] - second[f"test/{key}"])
        assert a["intervals"][key][0] <= a["point"][key] <= a["intervals"][key][1]
    assert (result["rows"], result["group"], result["draws"]) == (first["test/n"], "row", 300)
    same = compare(str(tmp_path / "a"), str(tmp_path / "a"), split="test", draws=50)["difference"]["accuracy"]
    assert same == {"diff": 0.0, "low": 0.0, "high": 0.0, "p_le_0": 1.0}

    other = {name: write_jsonl(tmp_path / f"{name}.jsonl", rows)
             for name, rows in zip(("train", "dev", "test"), (make_topic_rows()[:50], make_topic_rows()[50:70],
                                                              make_topic_rows()[70:]), strict=True)}
    _train(compose_cfg, other, tmp_path / "c", monkeypatch)
    with pytest.raises(NewsclfError, match="the test split's data fingerprints differ"):
        compare(str(tmp_path / "a"), str(tmp_path / "c"), split="test", draws=10)
