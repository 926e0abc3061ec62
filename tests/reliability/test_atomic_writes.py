"""Every output is written under a temporary name and renamed into place, and a crash at any moment of a
checkpoint save leaves nothing that the loader accepts except the previous, complete checkpoint."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from newsclf.checkpoint import load_checkpoint, save_checkpoint
from newsclf.errors import NewsclfError
from tests.reliability.harness import Call, custom_data, run_inprocess


def test_every_output_is_renamed_into_place(env, tmp_path, monkeypatch):
    renamed: list[Path] = []
    for name in ("replace", "rename"):
        real = getattr(os, name)

        def spy(src, dst, *args, _real=real, **kwargs):
            renamed.append(Path(dst).resolve())
            return _real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, name, spy)
    run, ev, pred = tmp_path / "run", tmp_path / "eval", tmp_path / "pred.jsonl"
    calls = [Call("train", [*custom_data("topic", env.topic_data), f"hydra.run.dir={run}"], []),
             Call("evaluate", [f"checkpoint={run}", "split=test", f"hydra.run.dir={ev}"], []),
             Call("predict", [f"checkpoint={run}", f"input={env.topic_data['test']}", f"output={pred}"], [])]
    for call in calls:
        outcome = run_inprocess(call)
        assert outcome.rc == 0, outcome.stderr
    # Hydra's own .hydra/ record and *.log files are logs, appended as the run goes; everything else is output
    outputs = [p for d in (run, ev) for p in d.iterdir() if not p.name.startswith(".") and p.suffix != ".log"]
    assert {"checkpoint", "metrics.json"} <= {p.name for p in outputs}
    assert {"metrics.json", "report.md"} <= {p.name for p in outputs if p.parent == ev}
    not_atomic = [str(p) for p in [*outputs, pred] if p.resolve() not in renamed]
    assert not_atomic == []


# A save killed (SIGKILL: no cleanup code runs) at two moments: after the payload is complete but before the
# manifest, and between moving the old checkpoint aside and renaming the new one into place.
KILLED_SAVE = """
import os, signal, sys
from newsclf.checkpoint import load_checkpoint, save_checkpoint

old, target, moment = sys.argv[1:]
ckpt = load_checkpoint(old)
model, real_save, real_replace = ckpt.model, ckpt.model.save, os.replace
replaced = []

def save_then_die(directory):
    real_save(directory)
    os.kill(os.getpid(), signal.SIGKILL)

def replace_then_die(src, dst):
    replaced.append(dst)
    if len(replaced) == 2:  # the old checkpoint is aside, the new one not yet in place
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)

if moment == "after_payload":
    model.save = save_then_die
else:
    os.replace = replace_then_die
save_checkpoint(target, model, task=ckpt.manifest["task"], input_spec=ckpt.input_spec, extra={}, config_yaml="")
"""


@pytest.mark.parametrize("moment", ["after_payload", "between_renames"])
def test_sigkill_during_save_never_leaves_a_loadable_partial_checkpoint(env, tmp_path, moment):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copytree(env.topic, run / "checkpoint")  # an earlier, complete checkpoint being overwritten
    before = load_checkpoint(run / "checkpoint").fingerprint
    proc = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(env.topic), str(run / "checkpoint"), moment],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == -9, proc.stderr
    hidden = {p.name.rsplit(".", 1)[-1].split("-")[0]: p for p in run.iterdir() if p.name.startswith(".checkpoint.")}
    if moment == "after_payload":
        # the temporary folder holds a payload without a manifest: refused; the old checkpoint still loads
        assert set(hidden) == {"tmp"}
        with pytest.raises(NewsclfError, match="is not a checkpoint"):
            load_checkpoint(hidden["tmp"])
        assert load_checkpoint(run).fingerprint == before
    else:
        # nothing under the final name: refused, never half-loaded. Both hidden folders are complete
        # checkpoints (the old one set aside, the new one not yet renamed), recoverable by renaming.
        with pytest.raises(NewsclfError, match="is not a checkpoint"):
            load_checkpoint(run)
        assert set(hidden) == {"tmp", "old"}
        assert {load_checkpoint(p).fingerprint for p in hidden.values()} == {before}


def test_save_that_raises_keeps_the_old_checkpoint_and_no_temporary(env, tmp_path):
    target = tmp_path / "checkpoint"
    shutil.copytree(env.topic, target)
    before = load_checkpoint(target)
    model = before.model

    def failing_save(directory):
        directory.mkdir(parents=True)
        (directory / "arrays.safetensors").write_bytes(b"half")
        raise OSError("disk full")

    model.save = failing_save
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(target, model, task=before.manifest["task"], input_spec=before.input_spec, extra={},
                        config_yaml="")
    assert load_checkpoint(target).fingerprint == before.fingerprint
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint"]


def test_a_run_dir_whose_save_never_finished_is_not_a_checkpoint(env, tmp_path):
    run = tmp_path / "run"
    partial = run / ".checkpoint.abc123.tmp"
    shutil.copytree(env.topic, partial)
    (partial / "manifest.json").unlink()  # the manifest is written last: a crash before it leaves this
    for path in (run, partial):
        with pytest.raises(NewsclfError, match="is not a checkpoint"):
            load_checkpoint(path)
