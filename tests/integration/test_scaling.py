"""Scaling out (README "Scaling out"): DDP on 2 CPU processes, a joblib multirun, the SLURM presets, and every
documented command composing its configuration."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from newsclf.checkpoint import load_checkpoint
from newsclf.training.distributed import shared_run_argv
from tests.conftest import CONFIGS, ROOT, custom_data_overrides

pytest.importorskip("newsclf.models.transformer")

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
TINY = ["model=tiny_transformer", "model.batch_size=4", "model.epochs=2", "model.dropout=0", "model.device=cpu"]


def _train(args: list[str], launcher: list[str] | None = None) -> subprocess.CompletedProcess:
    cmd = [*(launcher or [sys.executable]), str(ROOT / "scripts" / "train.py"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=ENV, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


# ------------------------------------------------------------------------------------------------ DDP
def test_two_process_ddp_on_cpu_matches_one_process_with_the_same_effective_batch(tiny_topic, tmp_path):
    """torchrun, 2 ranks x batch 4 (gloo) vs 1 process x batch 4 x 2 accumulation steps: the same optimizer
    steps. Dropout is off so that the two runs draw no different random numbers; what remains is float
    summation order, hence the tolerance (1e-4 on losses; metrics equal)."""
    data = custom_data_overrides(tiny_topic)
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517"]
    _train([*data, *TINY, f"hydra.run.dir={ddp}"], launcher=torchrun)
    _train([*data, *TINY, "model.grad_accum_steps=2", f"hydra.run.dir={single}"])

    start = _log(ddp)[0]
    assert start["event"] == "start" and start["world_size"] == 2 and start["effective_batch_size"] == 8
    assert _log(single)[0]["effective_batch_size"] == 8
    steps = {r["step"]: r["loss"] for r in _log(single) if r["event"] == "step"}
    ddp_steps = {r["step"]: r["loss"] for r in _log(ddp) if r["event"] == "step"}
    assert ddp_steps.keys() == steps.keys() and len(steps) >= 5
    assert all(abs(ddp_steps[s] - steps[s]) < 1e-4 for s in steps), (ddp_steps, steps)
    m_ddp, m_single = (json.loads((r / "metrics.json").read_text()) for r in (ddp, single))
    for key in ("dev/accuracy", "dev/macro_f1", "test/accuracy", "test/macro_f1"):
        assert m_ddp[key] == pytest.approx(m_single[key], abs=1e-9), key
    training = load_checkpoint(ddp / "checkpoint").model.training_
    assert training["world_size"] == 2 and training["effective_batch_size"] == 8
    # one run directory, written once: no per-rank folders or files
    assert sorted(p.name for p in ddp.iterdir() if p.is_dir()) == sorted(
        p.name for p in single.iterdir() if p.is_dir())


def test_tfidf_refuses_a_multi_process_launch(tiny_topic, tmp_path, compose_cfg, monkeypatch):
    from newsclf import workflows
    from newsclf.errors import NewsclfError

    monkeypatch.setenv("WORLD_SIZE", "2")
    cfg = compose_cfg("config", [*custom_data_overrides(tiny_topic), "model=tfidf"])
    monkeypatch.setattr(workflows, "run_dir", lambda: tmp_path)
    with pytest.raises(NewsclfError, match="one process"):
        workflows.train(cfg)


# ------------------------------------------------------------------------------------------------ run dirs
def test_ranks_of_one_node_share_a_run_dir_named_by_the_launcher():
    env = {"WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "RANK": "1"}
    argv = shared_run_argv(["task=topic"], env)
    assert argv == ["task=topic", "hydra.output_subdir=null"]  # rank 1 leaves .hydra/ to rank 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", env["NEWSCLF_RUN_STAMP"])
    env0 = {"WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "RANK": "0"}
    assert shared_run_argv(["task=topic"], env0) == ["task=topic"]
    assert env0["NEWSCLF_RUN_STAMP"] == env["NEWSCLF_RUN_STAMP"]  # same parent process, same name


def test_multi_node_without_a_run_dir_is_a_clear_error():
    from newsclf.errors import NewsclfError

    env = {"WORLD_SIZE": "16", "LOCAL_WORLD_SIZE": "8", "RANK": "9"}
    with pytest.raises(NewsclfError, match="hydra.run.dir"):
        shared_run_argv(["task=topic"], env)
    assert shared_run_argv(["hydra.run.dir=/shared/x"], env) == ["hydra.run.dir=/shared/x", "hydra.output_subdir=null"]


def test_a_sweep_is_named_once_at_launch():
    env: dict = {}
    assert shared_run_argv(["-m", "seed=1,2"], env) == ["-m", "seed=1,2"]
    assert "NEWSCLF_RUN_STAMP" in env
    assert shared_run_argv(["task=topic"], {}) == ["task=topic"]  # one plain process: untouched


# ------------------------------------------------------------------------------------------------ sweeps
def _compose_with_hydra(overrides: list[str]):
    """The train config with its ``hydra`` node (launcher, run dir), as ``--cfg all`` would show it."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
            return compose("config", overrides, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()


def test_joblib_multirun_of_two_tfidf_runs(tiny_topic, tmp_path):
    sweep = tmp_path / "sweep"
    _train(["-m", "cluster=joblib", *custom_data_overrides(tiny_topic), "model=tfidf", "model.C=1,3",
            f"hydra.sweep.dir={sweep}"])
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [p.name.split("+")[1] for p in jobs] == ["model.C-1", "model.C-3"]  # 0_data-custom+model.C-1+...
    for job in jobs:
        assert (job / "checkpoint" / "manifest.json").is_file()
        assert json.loads((job / "metrics.json").read_text())["dev/accuracy"] >= 0.5


@pytest.mark.parametrize("preset,partition,gpus", [("slurm_gpu", "gpu", 1), ("slurm_cpu", "cpu", None)])
def test_slurm_presets_compose(preset, partition, gpus, monkeypatch):
    monkeypatch.delenv("NEWSCLF_SLURM_PARTITION", raising=False)
    cfg = _compose_with_hydra([f"cluster={preset}", "model=transformer"])
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.partition == partition and launcher.gpus_per_node == gpus
    assert launcher.max_num_timeout >= 1 and cfg.resume == "auto"


# ------------------------------------------------------------------------------------------------ README
def _readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Scaling out", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [shlex.split(line) for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_documents_the_four_scaling_commands():
    commands = _readme_commands()
    configs = [c[c.index("--config_file") + 1] for c in commands if "--config_file" in c]
    assert configs == ["configs/accelerate/single_gpu.yaml", "configs/accelerate/multi_gpu.yaml",
                       "configs/accelerate/multi_node.yaml"]
    assert any("cluster=slurm_gpu" in c for c in commands)


@pytest.mark.parametrize("command", _readme_commands(), ids=lambda c: " ".join(c)[:60])
def test_readme_scaling_command_composes(command):
    from accelerate.commands.config.config_args import ClusterConfig

    if "--config_file" in command:
        launch = ClusterConfig.from_yaml_file(str(ROOT / command[command.index("--config_file") + 1]))
        assert launch.num_processes >= launch.num_machines
    script = next(i for i, token in enumerate(command) if token.endswith("scripts/train.py"))
    overrides = [t.split(",")[0] for t in command[script + 1:] if t != "-m"]  # a sweep's first point
    cfg = _compose_with_hydra(overrides)
    assert cfg.task.name == "topic"
