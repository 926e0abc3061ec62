"""Classification metrics from (y_true, y_pred, labels), via ``sklearn.metrics``; FNC-1 score for stance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from newsclf.errors import NewsclfError

FNC_UNRELATED = "unrelated"
FNC_RELATED = ("agree", "disagree", "discuss")
FNC_BASELINE_DEV = 0.7953  # official FNC-1 baseline on this very hold-out (fnc-1-baseline README)


def fnc_score(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """FNC-1 score as a fraction of the maximum.

    A correct ``unrelated`` earns 0.25; a related gold pair earns 0.25 for any related prediction and a
    further 0.75 when the label is exact. Maximum = 0.25 × #unrelated + 1.0 × #related.
    """
    score = best = 0.0
    for gold, pred in zip(y_true, y_pred, strict=True):
        if gold == FNC_UNRELATED:
            best += 0.25
            score += 0.25 if pred == FNC_UNRELATED else 0.0
        else:
            best += 1.0
            if pred in FNC_RELATED:
                score += 0.25 + (0.75 if pred == gold else 0.0)
    return score / best if best else 0.0


def check_f_avg_labels(f_avg_labels: Sequence[str] | None, labels: Sequence[str]) -> list[str] | None:
    """``task.f_avg_labels`` as a list, each one of ``labels`` (None / empty: no ``f_avg``)."""
    if not f_avg_labels:
        return None
    if isinstance(f_avg_labels, str):
        f_avg_labels = [f_avg_labels]
    unknown = [x for x in f_avg_labels if x not in labels]
    if unknown:
        raise NewsclfError(f"task.f_avg_labels: {unknown} not among the labels {list(labels)}")
    return [str(x) for x in f_avg_labels]


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str],
                           fnc: bool = False, f_avg_labels: Sequence[str] | None = None) -> dict:
    """Flat metrics: accuracy, macro-F1, per-class precision/recall/F1/support, confusion matrix (rows = gold).

    ``f_avg_labels``: also ``f_avg``, the mean F1 over those labels only (SemEval-2016 Task 6 scores stance by
    the mean of F1(FAVOR) and F1(AGAINST); ``NONE`` still moves their precision and recall)."""
    labels = list(labels)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out: dict = {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
    }
    for i, label in enumerate(labels):
        out[f"precision/{label}"] = float(p[i])
        out[f"recall/{label}"] = float(r[i])
        out[f"f1/{label}"] = float(f[i])
        out[f"support/{label}"] = int(s[i])
    f_avg_labels = check_f_avg_labels(f_avg_labels, labels)
    if f_avg_labels:
        out["f_avg"] = float(np.mean([out[f"f1/{label}"] for label in f_avg_labels]))
    if fnc:
        out["fnc_score"] = fnc_score(y_true, y_pred)
        out["fnc_score_all_unrelated"] = fnc_score(y_true, [FNC_UNRELATED] * len(y_true))
        out["fnc_score_baseline_published"] = FNC_BASELINE_DEV
    out["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    return out


def prefixed(metrics: dict, split: str) -> dict:
    return {f"{split}/{k}": v for k, v in metrics.items()}


def argmax_labels(probs: np.ndarray, labels: Sequence[str]) -> list[str]:
    return [labels[i] for i in np.asarray(probs).argmax(axis=1)]
