"""Bootstrap confidence intervals for a split's metrics: how far the numbers could move on another sample.

Rows (or whole groups of rows, e.g. every pair sharing an FNC-1 body, when rows are not independent) are drawn with
replacement ``n`` times; each draw's confusion matrix gives accuracy, macro-F1, per-class F1 and, for stance, the
FNC score; the interval is the central ``level`` share of those values (percentile bootstrap). The predictions are
fixed: this measures the test sample's noise, not the training seed's. Two systems' intervals overlapping does
not by itself say they are equal; for a comparison, score both on the same draws (``paired_difference``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from newsclf.errors import NewsclfError
from newsclf.evaluation.decision import utility
from newsclf.evaluation.metrics import check_f_avg_labels


def metrics_from_confusion(cm: np.ndarray, labels: Sequence[str], fnc: bool = False,
                           f_avg_labels: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Accuracy, macro-F1, per-class F1 (and FNC score, ``f_avg``) from confusion matrices ``cm[..., gold, predicted]``
    (counts or weights; any leading batch axes). F1 of a class that is neither gold nor predicted is 0, as
    ``sklearn.metrics.f1_score(..., zero_division=0)`` has it."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    gold, pred = cm.sum(axis=-1), cm.sum(axis=-2)
    total = gold.sum(axis=-1)
    denom = gold + pred
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    out = {"accuracy": np.divide(tp.sum(axis=-1), total, out=np.zeros_like(total), where=total > 0),
           "macro_f1": f1.mean(axis=-1)}
    for i, label in enumerate(labels):
        out[f"f1/{label}"] = f1[..., i]
    if f_avg_labels:
        out["f_avg"] = f1[..., [list(labels).index(x) for x in f_avg_labels]].mean(axis=-1)
    if fnc:
        u = utility("fnc", list(labels))  # FNC-1 points per (gold, predicted) pair
        best = (gold * np.diag(u)).sum(axis=-1)
        out["fnc_score"] = np.divide((cm * u).sum(axis=(-2, -1)), best, out=np.zeros_like(best), where=best > 0)
    return out


def _indices(values: Sequence[str], labels: Sequence[str], what: str) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    try:
        return np.array([index[v] for v in values], dtype=np.int64)
    except KeyError as exc:
        raise NewsclfError(f"bootstrap: {what} label {exc.args[0]!r} is not one of {list(labels)}") from None


class _Draws:
    """The ``n`` resamples of one sample: row weights per draw, rows or whole groups drawn with replacement."""

    def __init__(self, n_rows: int, groups: Sequence | None, n: int, seed: int, level: float):
        if not 0 < level < 1:
            raise NewsclfError(f"bootstrap: level={level}; expected a share between 0 and 1, e.g. 0.95")
        if n < 1:
            raise NewsclfError(f"bootstrap: n={n}; expected a positive number of resamples")
        if n_rows == 0:
            raise NewsclfError("bootstrap: no rows to resample; expected at least one labelled prediction")
        if groups is not None and len(groups) != n_rows:
            raise NewsclfError(f"bootstrap: {len(groups)} group keys for {n_rows} rows; expected one per row")
        if groups is None:
            self.unit, self.n_units = np.arange(n_rows), n_rows
        else:
            _, self.unit = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
            self.n_units = int(self.unit.max()) + 1
        self.n, self.seed = n, seed

    def weights(self):
        rng = np.random.default_rng(self.seed)
        for _ in range(self.n):
            picks = np.bincount(rng.integers(0, self.n_units, self.n_units), minlength=self.n_units)
            yield picks[self.unit].astype(np.float64)


def _confusions(cell: np.ndarray, k: int, weights) -> np.ndarray:
    """One ``k`` x ``k`` confusion matrix per row weight vector in ``weights`` (None: every row once);
    ``cell`` is each row's ``gold * k + predicted``."""
    return np.stack([np.bincount(cell, weights=w, minlength=k * k).reshape(k, k) for w in weights])


def bootstrap_intervals(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], *, fnc: bool = False,
                        f_avg_labels: Sequence[str] | None = None, groups: Sequence | None = None, n: int = 1000, seed: int = 0,
                        level: float = 0.95) -> dict[str, list[float]]:
    """``{metric: [low, high]}``: the central ``level`` share of ``n`` bootstrap values of each metric.

    ``groups``: one key per row; rows with the same key are drawn together (a cluster bootstrap)."""
    labels = list(labels)
    gold, pred = _indices(y_true, labels, "gold"), _indices(y_pred, labels, "predicted")
    if len(gold) != len(pred):
        raise NewsclfError(f"bootstrap: {len(gold)} gold labels for {len(pred)} predictions")
    draws = _Draws(len(gold), groups, n, seed, level)
    k = len(labels)
    values = metrics_from_confusion(_confusions(gold * k + pred, k, draws.weights()), labels, fnc,
                                    check_f_avg_labels(f_avg_labels, labels))
    tail = 100 * (1 - level) / 2
    return {name: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] for name, v in values.items()}


def paired_difference(y_true: Sequence[str], pred_a: Sequence[str], pred_b: Sequence[str], labels: Sequence[str], *,
                      fnc: bool = False, f_avg_labels: Sequence[str] | None = None, groups: Sequence | None = None,
                      n: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, dict[str, float]]:
    """System A minus system B on the same bootstrap draws: per metric ``{"diff", "low", "high", "p_le_0"}``, the
    observed difference, its interval, and the share of draws in which A did not beat B."""
    labels = list(labels)
    gold = _indices(y_true, labels, "gold")
    a, b = _indices(pred_a, labels, "predicted"), _indices(pred_b, labels, "predicted")
    if not len(gold) == len(a) == len(b):
        raise NewsclfError(f"bootstrap: {len(gold)} gold labels, {len(a)} and {len(b)} predictions")
    k = len(labels)
    draws = _Draws(len(gold), groups, n, seed, level)
    # one pass over the draws, both systems per draw: the row weights are never all held at once
    cells = (gold * k + a, gold * k + b)
    cms = np.stack([np.stack([_confusions(c, k, [w])[0] for c in cells]) for w in draws.weights()])
    f_avg_labels = check_f_avg_labels(f_avg_labels, labels)
    va, vb = (metrics_from_confusion(cms[:, i], labels, fnc, f_avg_labels) for i in (0, 1))
    point_a, point_b = (metrics_from_confusion(_confusions(c, k, [None])[0], labels, fnc, f_avg_labels)
                        for c in cells)
    tail = 100 * (1 - level) / 2
    out = {}
    for name in va:
        d = va[name] - vb[name]
        out[name] = {"diff": float(point_a[name] - point_b[name]), "low": float(np.percentile(d, tail)),
                     "high": float(np.percentile(d, 100 - tail)), "p_le_0": float(np.mean(d <= 0))}
    return out
