"""A real multi-seed sweep through the CLI, summarised by scripts/report.py; evaluate's plots beside its metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest

from newsclf import workflows
from tests.conftest import ROOT, make_topic_rows, write_jsonl


def run_script(name: str, args: list[str], cwd: Path, data_root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSCLF_DATA_ROOT": str(data_root), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """``train.py -m seed=1,2`` on a tiny topic set: one Hydra multirun folder with two runs."""
    base = tmp_path_factory.mktemp("report")
    data = base / "data"
    data.mkdir()
    rows = make_topic_rows()
    for name, part in (("train", rows[:60]), ("dev", rows[60:75]), ("test", rows[75:])):
        write_jsonl(data / f"{name}.jsonl", part)
    out = base / "multirun"
    proc = run_script("train.py", ["-m", "seed=1,2", "task=topic", "model=tfidf", "data=custom",
                                   f"data.train={data / 'train.jsonl'}", f"data.dev={data / 'dev.jsonl'}",
                                   f"data.test={data / 'test.jsonl'}", f"hydra.sweep.dir={out}"], base, data)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def assert_not_blank(path: Path) -> None:
    assert path.stat().st_size > 5_000
    assert matplotlib.image.imread(path)[..., :3].std() > 0.05


def test_each_seed_gets_its_own_run_directory(sweep):
    runs = sorted(p.parent.parent for p in sweep.glob("*/checkpoint/manifest.json"))
    # data paths are left out of the folder names (a '/' would nest folders); the job number keeps them apart;
    # no '=' or ',' in the names, so `checkpoint=<run dir>` parses as a Hydra override (see the evaluate test)
    assert [p.name for p in runs] == ["0_data-custom+model-tfidf+seed-1+task-topic",
                                      "1_data-custom+model-tfidf+seed-2+task-topic"]
    manifests = [json.loads((p / "checkpoint" / "manifest.json").read_text()) for p in runs]
    assert [m["seed"] for m in manifests] == [1, 2]
    for cal in (m["calibration"] for m in manifests):
        # what temperature scaling guarantees on dev is NLL, not ECE (see docs/evaluation.md)
        assert cal["method"] == "temperature" and cal["dev_n"] == 15
        assert cal["dev_nll_after"] <= cal["dev_nll_before"]
    for run in runs:
        assert (run / "metrics.json").is_file()
        assert_not_blank(run / "dev_confusion_matrix.png")
        assert_not_blank(run / "dev_reliability.png")


def test_report_script_writes_leaderboard(sweep, tmp_path):
    out = tmp_path / "board"
    proc = run_script("report.py", [f"runs=[{sweep}]", f"output={out}"], tmp_path, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    md = (out / "leaderboard.md").read_text()
    assert "## topic" in md and "Mean ± std over seeds" in md
    (agg,) = [line for line in md.splitlines() if "| 1,2 | 2 |" in line]  # one aggregated row over both seeds
    assert agg.count("±") >= 5
    page = (out / "leaderboard.html").read_text()
    assert page.count("data:image/png;base64,") == 1 + 2 * 2  # metric-per-config plot + each run's two dev PNGs
    assert not (out / ".hydra").exists()


def test_report_script_bad_input_is_one_line_exit_2(tmp_path):
    proc = run_script("report.py", [f"runs=[{tmp_path / 'missing'}]", f"output={tmp_path / 'board'}"], tmp_path, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("newsclf: error: runs=")
    assert "Traceback" not in proc.stderr


def test_evaluate_writes_plots_beside_metrics(sweep, compose_cfg, tmp_path, monkeypatch):
    run = next(sweep.glob("0_*"))
    monkeypatch.setattr(workflows, "run_dir", lambda: tmp_path)
    monkeypatch.setenv("NEWSCLF_DATA_ROOT", str(sweep.parent / "data"))
    metrics = workflows.evaluate(compose_cfg("evaluate", [f"checkpoint={run}", "split=test"]))
    assert_not_blank(tmp_path / "confusion_matrix.png")
    assert_not_blank(tmp_path / "reliability.png")
    report = (tmp_path / "report.md").read_text()
    assert "![confusion matrix](confusion_matrix.png)" in report and "ECE (15 bins)" in report
    # the confusion matrix drawn is the one in metrics.json, and calibration measures are recorded
    assert sum(map(sum, metrics["test/confusion_matrix"])) == metrics["test/n"]
    assert 0.0 <= metrics["test/ece"] <= 1.0 and 0.0 <= metrics["test/ece_uncalibrated"] <= 1.0
    assert sum(b["n"] for b in metrics["test/reliability"]) == metrics["test/n"]
