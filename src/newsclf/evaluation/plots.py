"""Evaluation plots as PNG: a confusion matrix and a reliability diagram, drawn from metrics alone.

Both take what ``metrics.json`` already holds (the confusion matrix, the reliability bins), so a report can
redraw them for any finished run without loading its model. Figures are built on ``matplotlib.figure.Figure``
and rendered by the Agg canvas: no pyplot, no global backend switch, no display needed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from newsclf.utils import atomic_path

CONFUSION_PNG, RELIABILITY_PNG = "confusion_matrix.png", "reliability.png"
DPI = 100  # small files (tens of kB) that stay readable in a browser and in git


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # attach the raster canvas explicitly: savefig never asks for a GUI backend
    return fig


def confusion_matrix_figure(cm: Sequence[Sequence[int]], labels: Sequence[str], title: str) -> Figure:
    """Counts in every cell; colour = share of the gold row (recall), so rare classes stay visible."""
    cm = np.asarray(cm, dtype=np.int64)
    k = len(labels)
    if cm.shape != (k, k):
        raise ValueError(f"confusion matrix has shape {cm.shape}; expected ({k}, {k}) for labels {list(labels)}")
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)
    side = max(4.0, 1.0 + 0.75 * k)
    fig = _new_figure(side + 1.0, side)
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of gold row")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=9 if k <= 8 else 7,
                    color="white" if share[i, j] > 0.55 else "black")
    ax.set_xticks(range(k), labels=list(labels), rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), labels=list(labels))
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=10)
    return fig


def _bin_arrays(bins: Sequence[dict]) -> tuple[np.ndarray, ...]:
    lo = np.array([b["lo"] for b in bins], dtype=np.float64)
    hi = np.array([b["hi"] for b in bins], dtype=np.float64)
    n = np.array([b["n"] for b in bins], dtype=np.int64)
    acc = np.array([np.nan if b["accuracy"] is None else b["accuracy"] for b in bins], dtype=np.float64)
    conf = np.array([np.nan if b["confidence"] is None else b["confidence"] for b in bins], dtype=np.float64)
    return lo, hi, n, acc, conf


def reliability_figure(bins: Sequence[dict], title: str, ece: float | None = None, temperature: float = 1.0,
                       bins_before: Sequence[dict] | None = None, ece_before: float | None = None) -> Figure:
    """Top-label reliability diagram (Guo et al. 2017) with the confidence histogram underneath.

    ``bins`` are :func:`newsclf.evaluation.calibration.reliability_bins` of the probabilities as served (at
    ``temperature``); ``bins_before`` (optional) the same at temperature 1, drawn as a red line and step
    histogram to show what scaling changed.
    """
    lo, hi, n, acc, conf = _bin_arrays(bins)
    fig = _new_figure(5.2, 6.4)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    width, centre = hi - lo, (lo + hi) / 2
    filled = n > 0
    label = f"accuracy per bin, T={temperature:.3g}" + (f" (ECE {ece:.3f})" if ece is not None else "")
    top.bar(centre[filled], acc[filled], width=width[filled], color="#4c72b0", edgecolor="black", linewidth=0.5,
            label=label)
    # the gap between confidence and accuracy is the bin's calibration error
    top.bar(centre[filled], conf[filled] - acc[filled], bottom=acc[filled], width=width[filled], color="#dd8452",
            alpha=0.45, edgecolor="#dd8452", hatch="//", linewidth=0.5, label="gap to mean confidence")
    top.plot([0, 1], [0, 1], linestyle="--", color="gray", label="perfect calibration")
    if bins_before is not None:
        _, _, n_b, acc_b, conf_b = _bin_arrays(bins_before)
        used = n_b > 0
        label_b = "T=1" + (f" (ECE {ece_before:.3f})" if ece_before is not None else "")
        top.plot(conf_b[used], acc_b[used], marker="o", markersize=4, color="#c44e52", label=label_b)
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(title, fontsize=10)
    # below the axes: inside, the legend would hide the temperature-1 curve where it matters most
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    bottom.bar(centre, n, width=width, color="#4c72b0", edgecolor="black", linewidth=0.5)
    if bins_before is not None:
        bottom.step(np.append(lo, 1.0), np.append(n_b, n_b[-1]), where="post", color="#c44e52", linewidth=1)
    bottom.set_xlabel("confidence (top-label probability)")
    bottom.set_ylabel("examples per bin")
    return fig


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` atomically (a crash never leaves a truncated PNG under the final name)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return Path(path)


def split_figures(metrics: dict, labels: Sequence[str], title: str) -> dict[str, Figure]:
    """The plots one split's (unprefixed) metrics support: file name -> figure."""
    figures = {CONFUSION_PNG: confusion_matrix_figure(metrics["confusion_matrix"], labels,
                                                      f"{title}: confusion matrix (n={metrics['n']})")}
    if metrics.get("reliability"):
        temperature = float(metrics.get("temperature", 1.0))
        scaled = temperature != 1.0  # at T = 1 the "before" curve is the same as the bars
        figures[RELIABILITY_PNG] = reliability_figure(
            metrics["reliability"], f"{title}: reliability (n={metrics['n']})", ece=metrics.get("ece"),
            temperature=temperature, bins_before=metrics.get("reliability_uncalibrated") if scaled else None,
            ece_before=metrics.get("ece_uncalibrated") if scaled else None)
    return figures


def write_split_plots(directory: str | Path, metrics: dict, labels: Sequence[str], title: str,
                      prefix: str = "") -> list[Path]:
    """Write the confusion-matrix and reliability PNGs of one split into ``directory``; return their paths."""
    return [save_png(fig, Path(directory) / f"{prefix}{name}")
            for name, fig in split_figures(metrics, labels, title).items()]


def metric_by_group_figure(series: Sequence[tuple[str, Sequence[float]]], metric: str, title: str) -> Figure:
    """One row per config: a dot per run (seed) and, for repeated runs, the mean with a ± sample-std bar."""
    series = [(name, list(values)) for name, values in series if values]
    fig = _new_figure(7.0, 1.2 + 0.45 * len(series))
    ax = fig.add_subplot()
    for row, (_, values) in enumerate(series):
        ax.scatter(values, [row] * len(values), color="#4c72b0", s=22, zorder=3)
        if len(values) > 1:
            ax.errorbar(np.mean(values), row, xerr=np.std(values, ddof=1), fmt="D", color="#c44e52", markersize=6,
                        capsize=4, zorder=2)
    ax.set_yticks(range(len(series)), labels=[name if len(name) <= 60 else name[:59] + "…" for name, _ in series],
                  fontsize=8)
    ax.set_ylim(-0.7, len(series) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel(metric)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=10)
    return fig
