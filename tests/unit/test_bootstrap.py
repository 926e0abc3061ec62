"""Bootstrap intervals: the confusion-matrix metrics equal the reported ones, the widths follow sampling theory,
clusters widen them, and paired differences see what separate intervals cannot."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from newsclf.errors import NewsclfError
from newsclf.evaluation.bootstrap import bootstrap_intervals, metrics_from_confusion, paired_difference
from newsclf.evaluation.metrics import classification_metrics

FNC = ["agree", "disagree", "discuss", "unrelated"]


def _noisy(n: int, labels: list[str], keep: float, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    gold = [str(v) for v in rng.choice(labels, n)]
    pred = [g if rng.random() < keep else str(rng.choice(labels)) for g in gold]
    return gold, pred


@pytest.mark.parametrize("fnc", [False, True])
def test_confusion_metrics_equal_the_reported_metrics(fnc):
    gold, pred = _noisy(500, FNC, 0.7, seed=3)
    pred = [p if p != "disagree" else "agree" for p in pred]  # a class never predicted: F1 0, as sklearn has it
    ours = metrics_from_confusion(confusion_matrix(gold, pred, labels=FNC), FNC, fnc)
    ref = classification_metrics(gold, pred, FNC, fnc=fnc)
    keys = ["accuracy", "macro_f1", *(f"f1/{v}" for v in FNC)] + (["fnc_score"] if fnc else [])
    assert sorted(ours) == sorted(keys)
    for key in keys:
        assert float(ours[key]) == pytest.approx(ref[key], abs=1e-12)
    assert ref["f1/disagree"] == 0.0


def test_accuracy_interval_matches_the_binomial_width():
    # 400 rows, 320 right: the normal approximation's 95% interval is 0.8 +- 1.96 * sqrt(0.8 * 0.2 / 400) = +- 0.039
    gold = ["a"] * 200 + ["b"] * 200
    pred = ["a"] * 160 + ["b"] * 40 + ["b"] * 160 + ["a"] * 40
    lo, hi = bootstrap_intervals(gold, pred, ["a", "b"], n=2000)["accuracy"]
    assert lo < 0.8 < hi
    assert 0.068 <= hi - lo <= 0.089


def test_same_seed_same_intervals_other_seed_other_draws():
    gold, pred = _noisy(300, FNC, 0.8, seed=1)
    a = bootstrap_intervals(gold, pred, FNC, fnc=True, n=200, seed=5)
    assert a == bootstrap_intervals(gold, pred, FNC, fnc=True, n=200, seed=5)
    assert a != bootstrap_intervals(gold, pred, FNC, fnc=True, n=200, seed=6)


def test_clusters_are_drawn_whole():
    """Ten copies of 100 rows hold the information of 100 rows: drawn by row they look ~sqrt(10) times more
    certain than they are; drawn by group they give the width of the 100 rows themselves."""
    gold, pred = _noisy(100, ["x", "y"], 0.75, seed=2)
    copies_gold, copies_pred = gold * 10, pred * 10
    groups = list(range(100)) * 10
    base = np.diff(bootstrap_intervals(gold, pred, ["x", "y"], n=2000)["accuracy"])[0]
    by_row = np.diff(bootstrap_intervals(copies_gold, copies_pred, ["x", "y"], n=2000)["accuracy"])[0]
    by_group = np.diff(bootstrap_intervals(copies_gold, copies_pred, ["x", "y"], groups=groups,
                                           n=2000)["accuracy"])[0]
    assert by_row < 0.45 * base
    assert by_group == pytest.approx(base, rel=0.2)


def test_paired_difference():
    gold, worse = _noisy(1000, FNC, 0.7, seed=4)
    same = paired_difference(gold, worse, worse, FNC, fnc=True, n=300)
    assert same["macro_f1"] == {"diff": 0.0, "low": 0.0, "high": 0.0, "p_le_0": 1.0}
    # fixing 60 errors and breaking none: better on every draw that holds one of them
    better = list(worse)
    fixed = [i for i, (g, p) in enumerate(zip(gold, worse, strict=True)) if g != p][:60]
    for i in fixed:
        better[i] = gold[i]
    diff = paired_difference(gold, better, worse, FNC, fnc=True, n=300)
    assert diff["accuracy"]["diff"] == pytest.approx(0.06)
    assert 0 < diff["accuracy"]["low"] <= 0.06 <= diff["accuracy"]["high"]
    assert diff["accuracy"]["p_le_0"] == 0.0 and diff["fnc_score"]["low"] > 0


@pytest.mark.parametrize(("call", "match"), [
    (lambda: bootstrap_intervals(["a", "c"], ["a", "a"], ["a", "b"]), r"gold label 'c' is not one of \['a', 'b'\]"),
    (lambda: bootstrap_intervals(["a", "b"], ["a"], ["a", "b"]), "2 gold labels for 1 predictions"),
    (lambda: bootstrap_intervals(["a"], ["a"], ["a", "b"], level=95), "level=95; expected a share between 0 and 1"),
    (lambda: bootstrap_intervals(["a"], ["a"], ["a", "b"], n=0), "n=0; expected a positive number"),
    (lambda: bootstrap_intervals(["a", "b"], ["a", "b"], ["a", "b"], groups=[1]), "1 group keys for 2 rows"),
    (lambda: paired_difference([], [], [], ["a", "b"]), "no rows to resample"),
])
def test_bad_arguments_get_one_line_errors(call, match):
    with pytest.raises(NewsclfError, match=match):
        call()


def test_f_avg_from_confusion_equals_the_reported_metric_and_gets_an_interval():
    labels = ["AGAINST", "FAVOR", "NONE"]
    rng = np.random.default_rng(3)
    gold = rng.choice(labels, 300).tolist()
    pred = [g if rng.random() < 0.7 else rng.choice(labels) for g in gold]
    point = classification_metrics(gold, pred, labels, f_avg_labels=["AGAINST", "FAVOR"])["f_avg"]
    ours = metrics_from_confusion(confusion_matrix(gold, pred, labels=labels), labels, False, ["AGAINST", "FAVOR"])
    assert float(ours["f_avg"]) == pytest.approx(point)
    low, high = bootstrap_intervals(gold, pred, labels, f_avg_labels=["AGAINST", "FAVOR"], n=200)["f_avg"]
    assert low < point < high and high - low < 0.2
    diff = paired_difference(gold, pred, gold, labels, f_avg_labels=["AGAINST", "FAVOR"], n=50)["f_avg"]
    assert diff["diff"] == pytest.approx(point - 1.0)
