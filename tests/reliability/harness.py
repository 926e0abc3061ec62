"""Run the real scripts on a case and judge the outcome; build the tiny checkpoints the cases use.

Clean means: exit code 2, exactly one line on stderr (``newsclf: error: ...``) that names the file / line /
field and what was expected, no traceback, and no output left behind (no predictions file, no
``metrics.json`` / ``report.md`` / ``checkpoint/``, no temporary file). Hydra's ``.hydra/`` record and log of
a failed run are not outputs and may stay.

Shared by ``tests/reliability/test_bad_input.py`` and ``scripts/gen_bad_input_table.py`` (which writes
docs/bad_inputs.md from the same table, so the documented messages are the ones the tests saw).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import runpy
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import make_stance_rows, make_topic_rows, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
PREFIX = "newsclf: error: "
DATA_ROOT_ENV = "NEWSCLF_DATA_ROOT"


# ----------------------------------------------------------------------------------------------- plumbing
@dataclass(frozen=True)
class Call:
    """One script invocation: Hydra overrides, stdin bytes, and the outputs that must not appear."""

    script: str  # train | evaluate | predict
    args: list[str]
    outputs: list[Path]
    stdin: bytes = b""
    unset_env: tuple[str, ...] = ()
    run_dir: Path | None = None  # a Hydra run dir: after a failure it may hold only .hydra/ and *.log


@dataclass(frozen=True)
class Env:
    """What every case may use: tiny data sets and TF-IDF checkpoints trained by the real train script."""

    root: Path
    topic: Path  # RUN_DIR/checkpoint of a topic (text) model
    stance: Path  # RUN_DIR/checkpoint of a stance (pair) model
    topic_data: dict[str, Path] = field(default_factory=dict)
    stance_data: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    make: Callable[[Path, Env], Call]
    expect: str  # a regex the error message must contain
    subprocess: bool = False  # the test suite also runs it as a real subprocess
    hydra: bool = False  # Hydra's own composition error (it fails before newsclf runs): see docs/reliability.md


@dataclass(frozen=True)
class Outcome:
    rc: int
    stdout: str
    stderr: str
    leftovers: list[str]


@contextlib.contextmanager
def _script_context(call: Call):
    """sys.argv / stdin / environment as a fresh process would see them; logging restored afterwards."""
    saved = sys.argv, sys.stdin, {k: os.environ.get(k) for k in (*call.unset_env, "HYDRA_FULL_ERROR")}
    root_logger = logging.getLogger()
    handlers, level = root_logger.handlers[:], root_logger.level
    sys.argv = [str(SCRIPTS / f"{call.script}.py"), *call.args]
    sys.stdin = io.TextIOWrapper(io.BytesIO(call.stdin), encoding="utf-8")
    for key in (*call.unset_env, "HYDRA_FULL_ERROR"):
        os.environ.pop(key, None)
    try:
        yield
    finally:
        sys.argv, sys.stdin, env = saved
        for key, value in env.items():
            if value is not None:
                os.environ[key] = value
        root_logger.handlers[:] = handlers
        root_logger.setLevel(level)


def run_inprocess(call: Call) -> Outcome:
    """Run ``scripts/<script>.py`` as ``__main__`` in this process (the same code path, without the start-up)."""
    from hydra.core.global_hydra import GlobalHydra

    out, err = io.StringIO(), io.StringIO()
    GlobalHydra.instance().clear()
    rc = 0
    with _script_context(call), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(sys.argv[0], run_name="__main__")
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except Exception:  # Hydra re-raises under a tracer (debugger, coverage): record it like a crash
            err.write(traceback.format_exc())
            rc = 1
        finally:
            GlobalHydra.instance().clear()
    return Outcome(rc, out.getvalue(), err.getvalue(), leftovers(call))


def run_subprocess(call: Call, timeout: float = 300) -> Outcome:
    """Run the script as a user would: a fresh interpreter, real exit code and stderr."""
    env = {k: v for k, v in os.environ.items() if k not in (*call.unset_env, "HYDRA_FULL_ERROR")}
    env["HF_HUB_OFFLINE"] = "1"
    proc = subprocess.run([sys.executable, str(SCRIPTS / f"{call.script}.py"), *call.args], input=call.stdin,
                          capture_output=True, env=env, timeout=timeout, cwd=ROOT, check=False)
    return Outcome(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"),
                   leftovers(call))


def leftovers(call: Call) -> list[str]:
    """Outputs that exist after the call, and temporary files an atomic write left behind."""
    found = [str(p) for p in call.outputs if p.exists()]
    if call.run_dir is not None and call.run_dir.is_dir():
        found += [str(p) for p in call.run_dir.iterdir() if not p.name.startswith(".") and p.suffix != ".log"]
    for folder in {p.parent for p in call.outputs if p.parent.is_dir()}:
        found += [str(p) for p in folder.iterdir() if p.name.startswith(".") and ".tmp" in p.name]
    return sorted(set(found))


# A tqdm progress line ('predict: 2048 docs [00:01, 1500 docs/s]'): predict shows one on stderr while it writes
# a file, so a failure mid-stream follows it. Tolerated: progress, not a second error (docs/reliability.md).
_PROGRESS = re.compile(r"\[\d\d:\d\d(?:<|,|\])")


def error_lines(stderr: str) -> list[str]:
    """stderr's lines without tqdm progress lines (which end in carriage returns, not newlines)."""
    lines = stderr.replace("\r", "\n").splitlines()
    return [x for x in lines if x.strip() and not (_PROGRESS.search(x) and not x.startswith(PREFIX))]


def problems(case: Case, outcome: Outcome) -> list[str]:
    """Everything that makes ``outcome`` not a clean failure for ``case`` (empty = clean)."""
    found = []
    lines = error_lines(outcome.stderr)
    if outcome.rc == 0:
        found.append("exit code 0")
    if "Traceback" in outcome.stderr:
        found.append("a traceback on stderr")
    if not case.hydra:
        if outcome.rc != 2:
            found.append(f"exit code {outcome.rc}, expected 2")
        if len(lines) != 1 or not lines[0].startswith(PREFIX):
            found.append(f"stderr has {len(lines)} line(s); expected one starting {PREFIX!r}")
    if not re.search(case.expect, outcome.stderr):
        found.append(f"message does not match {case.expect!r}")
    if outcome.leftovers:
        found.append(f"left behind: {outcome.leftovers}")
    return found


# ----------------------------------------------------------------------------------------------- tiny data
def write_splits(folder: Path, rows: list[dict]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(rows)
    cuts = {"train": rows[: n // 2], "dev": rows[n // 2: 3 * n // 4], "test": rows[3 * n // 4:]}
    return {name: write_jsonl(folder / f"{name}.jsonl", part) for name, part in cuts.items()}


def custom_data(task: str, paths: dict[str, Path], model: str = "tfidf") -> list[str]:
    return [f"task={task}", "data=custom", f"model={model}", *(f"data.{k}={v}" for k, v in paths.items())]


def build_env(root: Path) -> Env:
    """Tiny data sets and one checkpoint per input kind, trained through scripts/train.py (in this process)."""
    topic_data = write_splits(root / "data" / "topic", make_topic_rows(n_per_class=16))
    stance_data = write_splits(root / "data" / "stance", make_stance_rows(n=64))
    for name, task, paths in (("topic", "topic", topic_data), ("stance", "stance", stance_data)):
        call = Call("train", [*custom_data(task, paths), f"hydra.run.dir={root / name}"], [])
        outcome = run_inprocess(call)
        if outcome.rc != 0:
            raise RuntimeError(f"training the {name} fixture failed:\n{outcome.stderr}")
    return Env(root, root / "topic" / "checkpoint", root / "stance" / "checkpoint", topic_data, stance_data)


def display_message(outcome: Outcome, work: Path, env: Env) -> str:
    """The error as docs/bad_inputs.md shows it: scratch paths replaced by WORK / TMP, lines joined by ' ⏎ '."""
    text = " ⏎ ".join(error_lines(outcome.stderr))
    for path, name in ((work, "WORK"), (env.root, "TMP"), (ROOT, ".")):
        text = text.replace(str(path), name)
    return text
