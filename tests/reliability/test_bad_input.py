"""Every bad-input case in tests/reliability/cases.py fails cleanly: exit 2, one line on stderr naming the
file / line / field, no traceback, no output left behind.

Every case runs in this process through the script's own ``__main__`` (the same code a user runs, without
paying Python's start-up per case); a representative subset also runs as real subprocesses, which proves
the exit code and the stderr format end to end.
"""

from __future__ import annotations

import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hydra
import pytest
from hydra.core.global_hydra import GlobalHydra

from newsclf.cli import guard, run
from tests.reliability.cases import CASES
from tests.reliability.harness import ROOT, Outcome, display_message, problems, run_inprocess, run_subprocess

IN_PROCESS = [c for c in CASES if not c.hydra]  # Hydra's own errors happen before newsclf code runs
SUBPROCESS = [c for c in CASES if c.subprocess]
DOC = ROOT / "docs" / "bad_inputs.md"


@pytest.fixture(scope="session")
def documented() -> dict[str, str]:
    """case name -> message, as docs/bad_inputs.md shows them."""
    rows = re.findall(r"^\| \d+ \| `(\w+)`: .*\| `(.*)` \|$", DOC.read_text(encoding="utf-8"), flags=re.M)
    return {name: message.replace("\\|", "|") for name, message in rows}


def check_documented(case, outcome: Outcome, work: Path, env, documented: dict[str, str]) -> None:
    """The table in docs/bad_inputs.md shows what the scripts print today."""
    assert documented.get(case.name) == display_message(outcome, work, env), \
        f"docs/bad_inputs.md is out of date for {case.name}: run python scripts/gen_bad_input_table.py"


def test_the_table_is_big_enough():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 30
    assert len(SUBPROCESS) >= 10


@pytest.mark.parametrize("case", IN_PROCESS, ids=lambda c: c.name)
def test_bad_input_in_process(case, env, tmp_path, documented):
    outcome = run_inprocess(case.make(tmp_path, env))
    assert problems(case, outcome) == [], outcome.stderr
    check_documented(case, outcome, tmp_path, env, documented)


@pytest.fixture(scope="session")
def subprocess_outcomes(env, tmp_path_factory) -> dict[str, tuple[Path, Outcome]]:
    """All subprocess cases, two at a time (each is mostly interpreter start-up and imports)."""
    works = {c.name: tmp_path_factory.mktemp(c.name) for c in SUBPROCESS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {c.name: pool.submit(run_subprocess, c.make(works[c.name], env)) for c in SUBPROCESS}
        return {name: (works[name], f.result()) for name, f in futures.items()}


@pytest.mark.parametrize("case", SUBPROCESS, ids=lambda c: c.name)
def test_bad_input_subprocess(case, env, subprocess_outcomes, documented):
    work, outcome = subprocess_outcomes[case.name]
    assert problems(case, outcome) == [], outcome.stderr
    check_documented(case, outcome, work, env, documented)


@pytest.mark.parametrize("override, expected", [
    ("data.trian=x", "config: Could not override 'data.trian'. To append to your config use +data.trian=x"),
    ("model=tfdif", "config: In 'config': Could not find 'model/tfdif' Available options in 'model':"),
])
def test_cli_run_makes_hydra_errors_one_line(override, expected, monkeypatch, capsys):
    """``newsclf.cli.run(main)`` (for the scripts' ``__main__``) turns Hydra's multi-line report into one line."""

    @hydra.main(config_path=str(ROOT / "configs"), config_name="config", version_base="1.3")
    @guard
    def main(cfg):
        raise AssertionError("composition must fail before the task runs")

    monkeypatch.setattr(sys, "argv", ["train.py", override])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    GlobalHydra.instance().clear()
    with pytest.raises(SystemExit) as exit_info:
        run(main)
    GlobalHydra.instance().clear()
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2
    assert len(err) == 1 and err[0].startswith(f"newsclf: error: {expected}")
