"""Compare finished runs: scan run directories (Hydra multirun folders included) into a leaderboard.

A run directory is any folder holding ``checkpoint/manifest.json`` (as written by ``scripts/train.py``); beside
it, ``metrics.json`` and Hydra's ``.hydra/`` files are read when present. One row per run, plus one aggregated
row (mean ± sample std) per group of runs whose resolved configs differ only in ``seed``. Output:
``leaderboard.md`` (text) and ``leaderboard.html`` (self-contained: plots embedded as base64 PNG).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from newsclf.errors import NewsclfError

log = logging.getLogger("newsclf")
MANIFEST = Path("checkpoint") / "manifest.json"
# config keys that do not define an experiment: runs differing only in these are repeats of one another
NOT_EXPERIMENT = ("seed", "data_root", "resume")
MAX_VALUE_CHARS = 40


@dataclass
class Run:
    path: Path
    task: str
    model: str
    seed: int | None
    select_metric: str
    labels: list[str]
    metrics: dict
    config: dict  # flattened resolved config without the NOT_EXPERIMENT keys
    overrides: list[str] = field(default_factory=list)

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint"

    def group_key(self) -> str:
        # without its config a run cannot be shown to repeat another one: it stays on its own
        return json.dumps([self.task, self.model, self.config or str(self.path)], sort_keys=True, default=str)

    def score(self, key: str) -> float:
        value = self.metrics.get(key)
        return float(value) if isinstance(value, (int, float)) else float("-inf")


@dataclass
class Group:
    runs: list[Run]

    @property
    def first(self) -> Run:
        return self.runs[0]

    def values(self, key: str) -> list[float]:
        return [r.metrics[key] for r in self.runs if isinstance(r.metrics.get(key), (int, float))]


# ----------------------------------------------------------------------------------------------- reading
def _read_json(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise NewsclfError(f"{path}: cannot read JSON ({e})") from None
    if not isinstance(obj, dict):
        raise NewsclfError(f"{path}: expected a JSON object")
    return obj


def _read_yaml(path: Path):
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise NewsclfError(f"{path}: cannot read YAML ({e})") from None


def flatten(node, prefix: str = "") -> dict:
    """{'model': {'C': 1}} -> {'model.C': 1}; lists stay values."""
    if not isinstance(node, dict):
        return {prefix: node} if prefix else {}
    out = {}
    for key, value in node.items():
        out.update(flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def find_runs(roots) -> list[Path]:
    """Every run directory under ``roots`` (each a run, a checkpoint, or a folder of them), sorted, no repeats.

    A missing root is skipped with a warning (the default roots ``runs`` and ``multirun`` need not both exist);
    :func:`load_runs` fails when nothing at all is found.
    """
    found: set[Path] = set()
    for root in map(Path, roots):
        if not root.exists():
            log.warning("runs: %s does not exist; skipped", root)
            continue
        if (root / "manifest.json").is_file() and root.name == "checkpoint":
            found.add(root.parent)
            continue
        for here, dirs, _ in os.walk(root):
            here_path = Path(here)
            if (here_path / MANIFEST).is_file():
                found.add(here_path)
            # a checkpoint holds no runs; hidden folders are Hydra's and atomic writes' temporaries
            dirs[:] = sorted(d for d in dirs if d != "checkpoint" and not d.startswith("."))
    return sorted(found)


def load_run(path: Path) -> Run:
    manifest = _read_json(path / MANIFEST)
    metrics = _read_json(path / "metrics.json") if (path / "metrics.json").is_file() else dict(manifest.get("metrics", {}))
    calibration = manifest.get("calibration") or {}
    # runs written before metrics carried these: take them from the manifest's calibration record
    metrics.setdefault("dev/ece_uncalibrated", calibration.get("dev_ece_before"))
    metrics.setdefault("temperature", calibration.get("temperature", metrics.get("dev/temperature")))
    config = _read_yaml(path / "checkpoint" / "config.yaml") or {}
    hydra = _read_yaml(path / ".hydra" / "hydra.yaml") or {}
    choices = ((hydra.get("hydra") or {}).get("runtime") or {}).get("choices") or {}
    task = manifest.get("task") or {}
    return Run(path=path, task=str(task.get("name", "?")), model=str(choices.get("model") or manifest.get("model_kind")),
               seed=manifest.get("seed"), select_metric=str(task.get("select_metric", "macro_f1")),
               labels=[str(x) for x in manifest.get("labels", [])], metrics=metrics,
               config={k: v for k, v in flatten(config).items() if k not in NOT_EXPERIMENT},
               overrides=[str(o) for o in (_read_yaml(path / ".hydra" / "overrides.yaml") or [])])


def load_runs(roots) -> list[Run]:
    paths = find_runs(roots)
    if not paths:
        raise NewsclfError(f"runs={list(map(str, roots))}: no run directories (folders with {MANIFEST}) found; "
                           "pass the folders scripts/train.py wrote, e.g. runs=multirun/topic")
    return [load_run(p) for p in paths]


# ----------------------------------------------------------------------------------------------- tables
def group_runs(runs: list[Run]) -> list[Group]:
    """Runs whose configs are equal but for the seed, in first-seen order (one group per run if none repeat)."""
    groups: dict[str, Group] = {}
    for run in runs:
        groups.setdefault(run.group_key(), Group([])).runs.append(run)
    return list(groups.values())


def key_params(run: Run, peers: list[Run]) -> str:
    """The config values that tell ``run`` apart from its peers (same task and model); else its overrides."""
    keys = sorted({k for p in peers for k in p.config})
    varying = [k for k in keys if len({json.dumps(p.config.get(k), default=str) for p in peers}) > 1]
    if varying:
        items = [f"{k}={json.dumps(run.config.get(k), default=str)}" for k in varying]
    else:
        items = [o for o in run.overrides if o.split("=")[0].lstrip("+~") not in ("task", "model", "seed")]
    text = ", ".join(i if len(i) <= MAX_VALUE_CHARS else i[: MAX_VALUE_CHARS - 1] + "…" for i in items)
    return text or "defaults"


def metric_columns(task_runs: list[Run]) -> list[tuple[str, str]]:
    """(header, metrics key) for the columns at least one run of the task has a number for."""
    select = task_runs[0].select_metric
    wanted = []
    for split in ("dev", "test"):
        for name in dict.fromkeys((select, "accuracy", "macro_f1")):
            wanted.append((f"{split} {name}", f"{split}/{name}"))
    wanted += [("dev ECE T=1", "dev/ece_uncalibrated"), ("dev ECE", "dev/ece"), ("test ECE T=1", "test/ece_uncalibrated"),
               ("test ECE", "test/ece"), ("dev Brier", "dev/brier"), ("T", "temperature"), ("train s", "train_time_s")]
    return [(h, k) for h, k in wanted if any(isinstance(r.metrics.get(k), (int, float)) for r in task_runs)]


def _fmt(value, key: str) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    return f"{value:.1f}" if key == "train_time_s" else f"{value:.3f}" if key == "temperature" else f"{value:.4f}"


def _fmt_group(group: Group, key: str) -> str:
    vals = group.values(key)
    if not vals:
        return "—"
    std = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{_fmt(statistics.fmean(vals), key)} ± {_fmt(std, key)}"


def _seed_order(seed: str) -> tuple:
    return (0, int(seed), "") if seed.lstrip("-").isdigit() else (1, 0, seed)


def display_path(path: Path) -> str:
    """Relative to the working directory when below it (short rows), else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(Path(path).resolve())
    return str(Path(path).resolve()) if rel.split(os.sep)[0] == ".." else rel


@dataclass
class TaskTable:
    """Everything one task's section shows, computed once for both the Markdown and the HTML writer."""

    task: str
    columns: list[tuple[str, str]]
    aggregated: list[list[str]]  # rows of strings: model, key params, seeds, n, metrics..., folder
    runs: list[list[str]]        # rows of strings: checkpoint, model, key params, seed, metrics...
    run_objects: list[Run]
    groups: list[Group]


def task_tables(runs: list[Run]) -> list[TaskTable]:
    tables = []
    for task in sorted({r.task for r in runs}):
        task_runs = [r for r in runs if r.task == task]
        select = task_runs[0].select_metric
        task_runs.sort(key=lambda r: (-r.score(f"dev/{select}"), str(r.path)))
        cols = metric_columns(task_runs)
        peers = {m: [r for r in task_runs if r.model == m] for m in {r.model for r in task_runs}}
        groups = [g for g in group_runs(task_runs) if len(g.runs) > 1]
        groups.sort(key=lambda g: -(statistics.fmean(g.values(f"dev/{select}") or [float("-inf")])))
        aggregated = [[g.first.model, key_params(g.first, peers[g.first.model]),
                       ",".join(sorted((str(r.seed) for r in g.runs), key=_seed_order)), str(len(g.runs)),
                       *[_fmt_group(g, k) for _, k in cols], display_path(Path(os.path.commonpath([r.path for r in g.runs])))]
                      for g in groups]
        rows = [[display_path(r.checkpoint), r.model, key_params(r, peers[r.model]), str(r.seed),
                 *[_fmt(r.metrics.get(k), k) for _, k in cols]] for r in task_runs]
        tables.append(TaskTable(task, cols, aggregated, rows, task_runs, groups))
    return tables


AGG_HEAD = ["model", "key params", "seeds", "n"]
NOTE = ("Sorted by each task's dev selection metric. ECE: 15 bins, top label; 'T=1' is before temperature scaling, "
        "which is fitted on dev (so dev ECE after scaling is optimistic; test ECE is not). Aggregated rows: "
        "mean ± sample std over runs whose configs differ only in 'seed'.")
RUN_HEAD = ["checkpoint", "model", "key params", "seed"]


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + \
        ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]


def markdown(tables: list[TaskTable]) -> str:
    lines = ["# Leaderboard", "", NOTE, ""]
    for t in tables:
        metric_head = [h for h, _ in t.columns]
        lines += [f"## {t.task}", ""]
        if t.aggregated:
            lines += ["### Mean ± std over seeds", ""]
            lines += _md_table(AGG_HEAD + metric_head + ["folder"], t.aggregated) + [""]
        lines += ["### Runs", ""] + _md_table(RUN_HEAD + metric_head, t.runs) + [""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- HTML
CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0;
font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}
td:nth-child(-n+3){text-align:left}img{max-width:420px;margin:4px;vertical-align:top}details{margin:4px 0}
p.note{color:#555;max-width:60em}"""


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def run_plots(run: Run) -> list[tuple[str, bytes]]:
    """The run's dev plots: the PNGs train wrote beside the checkpoint, else redrawn from its dev metrics."""
    from newsclf.evaluation.plots import CONFUSION_PNG, RELIABILITY_PNG, png_bytes, split_figures

    names = [CONFUSION_PNG, RELIABILITY_PNG]
    if all((run.path / f"dev_{n}").is_file() for n in names):
        return [(n, (run.path / f"dev_{n}").read_bytes()) for n in names]
    dev = {k[len("dev/"):]: v for k, v in run.metrics.items() if k.startswith("dev/")}
    if "confusion_matrix" not in dev or len(run.labels) != len(dev["confusion_matrix"]):
        return []
    return [(n, png_bytes(fig)) for n, fig in split_figures(dev, run.labels, f"{run.task} / dev").items()]


def _task_html(t: TaskTable) -> list[str]:
    from newsclf.evaluation.plots import metric_by_group_figure, png_bytes

    metric_head = [h for h, _ in t.columns]
    select = t.run_objects[0].select_metric
    peers = t.run_objects
    series = [(f"{g.first.model}: {key_params(g.first, [p for p in peers if p.model == g.first.model])}",
               g.values(f"dev/{select}")) for g in group_runs(t.run_objects)]
    parts = [f"<h2>{html.escape(t.task)}</h2>"]
    if any(values for _, values in series):
        fig = metric_by_group_figure(series, f"dev {select}", f"{t.task}: dev {select} per config (dots = seeds)")
        parts.append(_img(png_bytes(fig), f"{t.task} dev {select}"))
    if t.aggregated:
        parts += ["<h3>Mean ± std over seeds</h3>", _html_table(AGG_HEAD + metric_head + ["folder"], t.aggregated)]
    parts += ["<h3>Runs</h3>", _html_table(RUN_HEAD + metric_head, t.runs)]
    for run in t.run_objects:
        images = "".join(_img(png, name) for name, png in run_plots(run))
        if images:
            parts.append(f"<details><summary>{html.escape(display_path(run.path))}: dev plots</summary>{images}</details>")
    return parts


def html_page(tables: list[TaskTable]) -> str:
    body = [f"<h1>Leaderboard</h1><p class=note>{html.escape(NOTE)}</p>"]
    for t in tables:
        body += _task_html(t)
    return ("<!DOCTYPE html><html><head><meta charset=utf-8><title>newsclf leaderboard</title>"
            f"<style>{CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n")


def write_leaderboard(roots, output: str | Path) -> dict[str, Path]:
    """Scan ``roots`` and write ``leaderboard.md`` and ``leaderboard.html`` into the folder ``output``."""
    from newsclf.utils import write_text_atomic

    tables = task_tables(load_runs(list(roots)))
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "leaderboard.md", "html": out / "leaderboard.html"}
    write_text_atomic(paths["markdown"], markdown(tables))
    write_text_atomic(paths["html"], html_page(tables))
    return paths
