"""Plots are real images (not blank), and the calibration numbers they draw are right."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from newsclf.evaluation.calibration import (
    expected_calibration_error,
    fit_temperature,
    nll,
    reliability_bins,
    uncalibrated,
)
from newsclf.evaluation.plots import (
    CONFUSION_PNG,
    RELIABILITY_PNG,
    confusion_matrix_figure,
    metric_by_group_figure,
    png_bytes,
    reliability_figure,
    save_png,
    write_split_plots,
)
from newsclf.models.base import softmax

LABELS = ["Business", "Sci/Tech", "Sports", "World"]
CM = [[50, 10, 2, 3], [4, 60, 1, 2], [0, 3, 70, 5], [6, 2, 4, 55]]


def overconfident(n: int = 400, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose argmax is right about 70% of the time, scaled up so softmax is overconfident."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, k))
    right = rng.random(n) < 0.7
    logits[right, y[right]] += 2.0
    return logits * 4.0, y


def assert_real_png(path, min_bytes: int = 5_000) -> np.ndarray:
    assert path.stat().st_size > min_bytes
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
    # not blank: a white canvas has zero variance; axes, bars and text give plenty
    assert image[..., :3].std() > 0.05
    return image


def test_confusion_matrix_png_is_a_real_image(tmp_path):
    path = save_png(confusion_matrix_figure(CM, LABELS, "topic / dev"), tmp_path / "cm.png")
    image = assert_real_png(path)
    assert (image[..., :3] < 0.5).any(axis=-1).mean() > 0.01  # dark pixels: dark cells and text


def test_confusion_matrix_shape_must_match_labels():
    with pytest.raises(ValueError, match=r"shape \(2, 2\); expected \(4, 4\)"):
        confusion_matrix_figure([[1, 0], [0, 1]], LABELS, "bad")


def test_reliability_png_before_and_after(tmp_path):
    logits, y = overconfident()
    t = fit_temperature(logits, y)
    after, before = softmax(logits / t), softmax(logits)
    fig = reliability_figure(reliability_bins(after, y), "rel", ece=expected_calibration_error(after, y), temperature=t,
                             bins_before=reliability_bins(before, y), ece_before=expected_calibration_error(before, y))
    assert_real_png(save_png(fig, tmp_path / "rel.png"))


def test_write_split_plots_from_metrics(tmp_path):
    logits, y = overconfident(k=4)
    probs = softmax(logits / 2.0)
    metrics = {"n": len(y), "confusion_matrix": CM, "ece": 0.1, "ece_uncalibrated": 0.3, "temperature": 2.0,
               "reliability": reliability_bins(probs, y), "reliability_uncalibrated": reliability_bins(softmax(logits), y)}
    paths = write_split_plots(tmp_path, metrics, LABELS, "topic / dev", prefix="dev_")
    assert [p.name for p in paths] == [f"dev_{CONFUSION_PNG}", f"dev_{RELIABILITY_PNG}"]
    for p in paths:
        assert_real_png(p)
    # metrics without reliability bins (an older run) still give the confusion matrix
    only = write_split_plots(tmp_path / "", {"n": 3, "confusion_matrix": CM}, LABELS, "x")
    assert [p.name for p in only] == [CONFUSION_PNG]


def test_metric_by_group_png_is_not_blank(tmp_path):
    fig = metric_by_group_figure([("tfidf: defaults", [0.80, 0.82, 0.81]), ("tfidf: model.C=1", [0.78])], "macro_f1", "t")
    png = png_bytes(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    path = tmp_path / "m.png"
    path.write_bytes(png)
    assert_real_png(path, min_bytes=3_000)


# ----------------------------------------------------------------------------------------------- calibration
def test_uncalibrated_recovers_temperature_one():
    logits, _ = overconfident(n=50)
    for t in (0.25, 1.0, 3.0):
        np.testing.assert_allclose(uncalibrated(softmax(logits / t), t), softmax(logits), atol=1e-9)


def test_ece_hand_computed():
    # two examples in the 0.9 bin (one right: acc 0.5, conf 0.9) and two in the 0.6 bin (both right: acc 1, conf 0.6)
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    y = np.array([0, 1, 0, 1])
    assert expected_calibration_error(probs, y) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    bins = reliability_bins(probs, y)
    assert sum(b["n"] for b in bins) == 4 and len(bins) == 15


def test_temperature_never_worsens_dev_nll_and_fixes_overconfidence():
    logits, y = overconfident()
    t = fit_temperature(logits, y)
    assert t > 1.0  # overconfident logits are softened
    assert nll(logits, y, t) <= nll(logits, y, 1.0)
    assert expected_calibration_error(softmax(logits / t), y) < expected_calibration_error(softmax(logits), y)


def test_calibrate_without_labelled_dev_fits_no_temperature_and_says_so(caplog):
    """The final refit (e.g. FNC-1 ``data.dev_split=none``) has no dev split: no temperature, a warning, a record."""
    from newsclf.errors import NewsclfError
    from newsclf.workflows import calibrate

    for dev in ([], [{"text": "a", "label": None}]):  # no dev split, or an unlabeled one
        caplog.clear()  # each case must log its own warning
        with caplog.at_level("WARNING", logger="newsclf"):
            record = calibrate(None, None, dev, "temperature")  # the model is never touched
        assert record == {"method": "none", "requested": "temperature", "skipped": "no labelled dev split"}
        assert "no temperature is fitted" in caplog.text
    assert calibrate(None, None, [], "none") == {"method": "none"}
    with pytest.raises(NewsclfError, match="calibration: expected 'none' or 'temperature', found 'platt'"):
        calibrate(None, None, [], "platt")
