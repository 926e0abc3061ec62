"""Transformer training killed mid-epoch resumes to exactly the uninterrupted run (CPU, fixed seed).

The child process is the real ``scripts/train.py``; a hook makes the signal arrive at a chosen optimizer step
(after step 7 of 12 in the first epoch, between the saves at steps 4 and 8), so the test is deterministic.
SIGKILL runs no cleanup at all: the resume starts from the last periodic save and must redo steps 5-7.
SIGTERM (and Ctrl-C, SIGINT) let the step finish, save the state at that step and exit 128 + signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.reliability.conftest import (
    TRANSFORMER_STEPS_PER_EPOCH,
    payload_hashes,
    run_metrics,
    transformer_args,
)
from tests.reliability.harness import SCRIPTS, Call, run_inprocess

pytest.importorskip("newsclf.models.transformer")
from newsclf.training.state import find_save, load_part  # noqa: E402  (after the skip: torch-only module)

KILL_AT = 7
assert 4 < KILL_AT < 8 < TRANSFORMER_STEPS_PER_EPOCH  # mid-epoch, after one periodic save, before the next

# Runs scripts/train.py with a signal sent to itself at a given optimizer step (before that step's bookkeeping).
CHILD = """
import os, runpy, sys
from newsclf.training.loop import FineTuner

step, signum = int(sys.argv[1]), int(sys.argv[2])
original = FineTuner._after_step

def after_step(self, *args):
    if self.pos.step == step:
        os.kill(os.getpid(), signum)
    original(self, *args)

FineTuner._after_step = after_step
sys.argv = sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def interrupted_run(env, run, signum: int, *extra: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-c", CHILD, str(KILL_AT), str(int(signum)), str(SCRIPTS / "train.py"),
            *transformer_args(env, run, *extra)]
    return subprocess.run(args, capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def saved_step(run) -> int:
    save = find_save(run)
    assert save is not None, f"no training state under {run}"
    return load_part(save, "trainer")["position"]["step"]


def resume(env, run, how: str | None = None) -> None:
    outcome = run_inprocess(Call("train", transformer_args(env, run, f"resume={how or run}"), []))
    assert outcome.rc == 0, outcome.stderr
    assert f"resumed from {run}" in outcome.stderr


def assert_same_as_uninterrupted(run, full) -> None:
    assert run_metrics(run) == run_metrics(full)
    assert payload_hashes(run)["model.safetensors"] == payload_hashes(full)["model.safetensors"]


def test_sigkill_mid_epoch_then_the_same_command_auto_resumes(env, transformer_run, tmp_path):
    """A cluster job killed without warning and requeued: the identical command line (``resume=auto``, as the
    SLURM presets set) starts fresh the first time and continues from the last save the second time."""
    run = tmp_path / "killed"
    proc = interrupted_run(env, run, signal.SIGKILL, "resume=auto")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (run / "checkpoint").exists() and not (run / "metrics.json").exists()
    assert saved_step(run) == 4  # the last periodic save before the kill
    resume(env, run, "auto")
    assert_same_as_uninterrupted(run, transformer_run)


@pytest.mark.slow  # ~30 s each on 2 busy cores; the default run keeps the SIGKILL test (and the transformer
# suite's in-process SIGTERM + resume=auto test)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_save_a_resumable_state(env, transformer_run, tmp_path, signum):
    run = tmp_path / "stopped"
    proc = interrupted_run(env, run, signum)
    assert proc.returncode == 128 + signum, proc.stderr
    assert f"{signal.Signals(signum).name} at step {KILL_AT}: training state saved" in proc.stderr
    assert f"continue with resume={run}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (run / "checkpoint").exists()
    assert saved_step(run) == KILL_AT  # saved at the step it stopped, not at the last periodic save
    if signum == signal.SIGTERM:  # one resume is enough to show the saved state is the right one
        resume(env, run)
        assert_same_as_uninterrupted(run, transformer_run)
