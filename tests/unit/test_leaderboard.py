"""Leaderboard over hand-made run directories: discovery, seed aggregation, key params, self-contained HTML."""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path

import pytest
import yaml

from newsclf.errors import NewsclfError
from newsclf.evaluation.leaderboard import find_runs, load_runs, task_tables, write_leaderboard

LABELS = ["a", "b"]


def make_run(path: Path, *, seed: int, dev_f1: float, task: str = "topic", C: float = 1.0, model: str = "tfidf",
             overrides: list[str] | None = None, with_hydra: bool = True) -> Path:
    """A run directory as scripts/train.py leaves it (minus the model payload, which the report never reads)."""
    (path / "checkpoint").mkdir(parents=True)
    select = "fnc_score" if task == "stance" else "macro_f1"
    manifest = {"format_version": 1, "model_kind": "tfidf.v1", "labels": LABELS, "seed": seed,
                "task": {"name": task, "select_metric": select},
                "calibration": {"method": "temperature", "temperature": 0.5, "dev_ece_before": 0.3, "dev_ece_after": 0.1}}
    (path / "checkpoint" / "manifest.json").write_text(json.dumps(manifest))
    config = {"task": {"name": task}, "model": {"_target_": "x", "C": C}, "seed": seed, "data_root": str(path)}
    (path / "checkpoint" / "config.yaml").write_text(yaml.safe_dump(config))
    metrics = {"train_time_s": 2.0, f"dev/{select}": dev_f1, "dev/accuracy": dev_f1, "dev/ece": 0.1, "dev/n": 10,
               "dev/confusion_matrix": [[4, 1], [1, 4]]}
    (path / "metrics.json").write_text(json.dumps(metrics))
    if with_hydra:
        (path / ".hydra").mkdir()
        (path / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides or [f"seed={seed}", f"task={task}"]))
        (path / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"runtime": {"choices": {"model": model}}}}))
    return path


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """A Hydra multirun folder: three seeds of one config, plus a fourth run with another C."""
    root = tmp_path / "multirun" / "topic" / "2025-01-01_00-00-00"
    for i, (seed, f1) in enumerate([(1, 0.80), (2, 0.90), (3, 1.00)]):
        make_run(root / f"{i}_seed={seed}", seed=seed, dev_f1=f1)
    make_run(root / "3_model.C=10,seed=1", seed=1, dev_f1=0.95, C=10.0, overrides=["model.C=10", "seed=1"])
    (root / "multirun.yaml").write_text("{}")
    (root / "0_seed=1" / "eval-test").mkdir()  # an evaluate output inside a run is not a run
    return tmp_path / "multirun"


def test_find_runs_walks_multirun_folders(sweep):
    runs = find_runs([sweep])
    assert [p.name for p in runs] == ["0_seed=1", "1_seed=2", "2_seed=3", "3_model.C=10,seed=1"]
    # a run directory, or a checkpoint inside it, given directly; repeats collapse
    assert find_runs([runs[0], runs[0] / "checkpoint", sweep]) == runs


def test_seed_groups_aggregate_mean_and_sample_std(sweep):
    (table,) = task_tables(load_runs([sweep]))
    assert len(table.aggregated) == 1  # the C=10 run has no repeats
    row = dict(zip(["model", "key params", "seeds", "n"] + [h for h, _ in table.columns], table.aggregated[0], strict=False))
    assert row["seeds"] == "1,2,3" and row["n"] == "3"
    assert row["dev macro_f1"] == "0.9000 ± 0.1000"  # mean of .8/.9/1.0, sample std 0.1
    assert row["key params"] == "model.C=1.0"
    # runs sorted by dev macro_f1, best first; the C=10 run is told apart by its config
    assert [r[3] for r in table.runs] == ["3", "1", "2", "1"]
    assert table.runs[1][2] == "model.C=10.0"
    # the manifest's calibration record fills ECE before scaling and T for runs whose metrics lack them
    cols = dict(table.columns)
    assert "dev ECE T=1" in cols and "T" in cols


def test_runs_that_differ_in_more_than_seed_are_not_grouped(tmp_path):
    make_run(tmp_path / "r1", seed=1, dev_f1=0.8)
    make_run(tmp_path / "r2", seed=2, dev_f1=0.9, C=2.0)
    make_run(tmp_path / "r3", seed=1, dev_f1=0.7, task="stance")
    tables = task_tables(load_runs([tmp_path]))
    assert [t.task for t in tables] == ["stance", "topic"]
    assert all(not t.aggregated for t in tables)
    assert tables[0].columns[0] == ("dev fnc_score", "dev/fnc_score")  # each task leads with its own metric


def test_key_params_fall_back_to_overrides(tmp_path):
    make_run(tmp_path / "r1", seed=1, dev_f1=0.8, overrides=["task=topic", "seed=1", "max_train_samples=500"])
    (table,) = task_tables(load_runs([tmp_path]))
    assert table.runs[0][2] == "max_train_samples=500"


def test_write_leaderboard_md_and_self_contained_html(sweep, tmp_path):
    paths = write_leaderboard([sweep], tmp_path / "out")
    md = paths["markdown"].read_text()
    assert "0.9000 ± 0.1000" in md and "## topic" in md and "Mean ± std over seeds" in md
    page = paths["html"].read_text()
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing fetched from elsewhere
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    # the per-config metric plot + each run's confusion matrix, redrawn from metrics.json (these hand-made runs have
    # neither the dev PNGs train writes nor reliability bins)
    assert len(images) == 1 + 4
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)


def test_runs_without_hydra_files_or_metrics_json(tmp_path):
    run = make_run(tmp_path / "plain", seed=5, dev_f1=0.5, with_hydra=False)
    manifest = json.loads((run / "checkpoint" / "manifest.json").read_text())
    manifest["metrics"] = json.loads((run / "metrics.json").read_text())
    (run / "checkpoint" / "manifest.json").write_text(json.dumps(manifest))
    (run / "metrics.json").unlink()
    (table,) = task_tables(load_runs([tmp_path]))
    assert table.runs[0][1] == "tfidf.v1"  # model kind from the manifest when Hydra's choices are absent
    assert table.runs[0][4] == "0.5000"


def test_missing_root_warns_and_no_runs_is_an_error(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="newsclf"), pytest.raises(NewsclfError, match="no run directories"):
        load_runs([tmp_path / "nope", tmp_path])
    assert "nope does not exist" in caplog.text


def test_corrupt_manifest_names_the_file(tmp_path):
    run = make_run(tmp_path / "r", seed=1, dev_f1=0.5)
    (run / "checkpoint" / "manifest.json").write_text("{not json")
    with pytest.raises(NewsclfError, match=r"r/checkpoint/manifest.json: cannot read JSON"):
        load_runs([tmp_path])
