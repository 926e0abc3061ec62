"""What every model kind shares: the softmax and temperature-scaled predictions from logits."""

from __future__ import annotations

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class FromLogits:
    """``predict_proba`` and ``predict`` for a model with ``logits(X)``, ``labels_`` and a calibrated
    ``temperature_`` (1.0 until calibration sets it)."""

    def predict_proba(self, X) -> np.ndarray:
        return softmax(self.logits(X) / self.temperature_)

    def predict(self, X) -> list[str]:
        return [self.labels_[i] for i in self.logits(X).argmax(axis=1)]
