"""Temperature scaling (Guo et al. 2017), expected calibration error and Brier score."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from newsclf.models.base import softmax


def nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    p = softmax(logits / temperature)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T > 0 minimising the NLL of softmax(logits / T) on held-out data (searched in log T)."""
    res = minimize_scalar(lambda log_t: nll(logits, y, float(np.exp(log_t))), bounds=(-4.0, 4.0), method="bounded",
                          options={"xatol": 1e-4})
    t = float(np.exp(res.x))
    return t if nll(logits, y, t) <= nll(logits, y, 1.0) else 1.0


def uncalibrated(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits) recovered from softmax(logits / T): log p = logits / T - c, so softmax(T log p) = softmax(logits).

    Lets evaluation report temperature-1 measures without a second forward pass (costly for a transformer).
    """
    if temperature == 1.0:
        return probs
    return softmax(temperature * np.log(np.clip(probs, 1e-300, None)))


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """ECE over ``n_bins`` equal-width confidence bins (top-label)."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def brier_score(probs: np.ndarray, y: np.ndarray) -> float:
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))


def reliability_bins(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> list[dict]:
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        out.append({"lo": float(lo), "hi": float(hi), "n": int(mask.sum()),
                    "accuracy": float(correct[mask].mean()) if mask.any() else None,
                    "confidence": float(conf[mask].mean()) if mask.any() else None})
    return out
