"""Two-stage stance: is the body related to the headline at all, then how (agree / disagree / discuss).

FNC-1 is three quarters ``unrelated`` pairs, told apart by topical similarity, while the rare ``disagree`` class
needs a model that looks at the related pairs only. Each stage is any newsclf classifier (TF-IDF or transformer,
configured under ``model.related`` / ``model.stance``); the probabilities compose as
``P(unrelated) = p1(unrelated)`` and ``P(s) = p1(related) * p2(s)``. Each stage is temperature-calibrated on
its own dev rows; the workflow then fits one temperature on the composed log-probabilities.

Saved as one directory: ``two_stage.json`` naming each stage's kind, and ``related/``, ``stance/`` holding the
stages in their own formats. Loading looks the stage kinds up in the fixed registry; nothing is imported by name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from newsclf.errors import NewsclfError
from newsclf.models.base import FromLogits

STATE_FILE = "two_stage.json"
RELATED, UNRELATED = "related", "unrelated"


class TwoStageClassifier(FromLogits):
    """``related`` decides related vs ``negative``; ``stance`` labels the related pairs."""

    kind = "two_stage.v1"

    def __init__(self, related, stance, negative: str = UNRELATED, skip_below: float = 0.0,
                 input_kind: str = "pair"):
        self.related, self.stance = related, stance
        self.negative, self.skip_below, self.input_kind = negative, float(skip_below), input_kind
        self.temperature_ = 1.0

    def get_params(self) -> dict:
        return {"negative": self.negative, "skip_below": self.skip_below, "input_kind": self.input_kind,
                "related": {"kind": self.related.kind, **self.related.get_params()},
                "stance": {"kind": self.stance.kind, **self.stance.get_params()}}

    # ------------------------------------------------------------------------------------------- training
    def fit(self, X, y, X_dev=None, y_dev=None, seed=0, run_dir=None, resume=None, **_):
        X, y = list(X), [str(v) for v in y]
        if self.negative not in y:
            raise NewsclfError(f"model.negative={self.negative!r} never occurs in the training labels")
        self.labels_ = sorted(set(y))
        binary = [UNRELATED if v == self.negative else RELATED for v in y]
        keep = [i for i, v in enumerate(y) if v != self.negative]
        dev = list(X_dev or []), [str(v) for v in (y_dev or [])]
        dev_binary = [UNRELATED if v == self.negative else RELATED for v in dev[1]]
        dev_keep = [i for i, v in enumerate(dev[1]) if v != self.negative]
        for stage in (self.related, self.stance):
            stage.input_kind = self.input_kind
        sub = (lambda name: Path(run_dir) / name) if run_dir is not None else (lambda name: None)
        self.related.fit(X, binary, X_dev=dev[0], y_dev=dev_binary, seed=seed, run_dir=sub("related"),
                         resume=_stage_resume(resume, "related"))
        self.stance.fit([X[i] for i in keep], [y[i] for i in keep], X_dev=[dev[0][i] for i in dev_keep],
                        y_dev=[dev[1][i] for i in dev_keep], seed=seed, run_dir=sub("stance"),
                        resume=_stage_resume(resume, "stance"))
        _calibrate(self.related, dev[0], dev_binary)
        _calibrate(self.stance, [dev[0][i] for i in dev_keep], [dev[1][i] for i in dev_keep])
        self.training_ = {name: getattr(stage, "training_", {}) for name, stage in
                          (("related", self.related), ("stance", self.stance))}
        return self

    # ------------------------------------------------------------------------------------------- inference
    def composed_proba(self, X) -> np.ndarray:
        X = list(X)
        p1 = self.related.predict_proba(X)
        p_related = p1[:, list(self.related.labels_).index(RELATED)]
        # stage 2 only where stage 1 leaves a chance: a slow stage 2 (a transformer) then scores ~1/4 of
        # FNC-1's pairs; skipped pairs split their (< skip_below) related mass evenly
        p2 = np.full((len(X), len(self.stance.labels_)), 1.0 / len(self.stance.labels_))
        run = np.flatnonzero(p_related >= self.skip_below)
        if len(run):
            p2[run] = self.stance.predict_proba([X[i] for i in run])
        out = np.zeros((len(X), len(self.labels_)))
        out[:, self.labels_.index(self.negative)] = 1.0 - p_related
        for j, label in enumerate(self.stance.labels_):
            out[:, self.labels_.index(label)] = p_related * p2[:, j]
        return out

    def logits(self, X) -> np.ndarray:
        return np.log(np.clip(self.composed_proba(X), 1e-12, 1.0))

    def predict(self, X) -> list[str]:
        return [self.labels_[i] for i in self.composed_proba(X).argmax(axis=1)]

    # ------------------------------------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.related.save(directory / "related")
        self.stance.save(directory / "stance")
        state = {"negative": self.negative, "skip_below": self.skip_below, "input_kind": self.input_kind,
                 "labels": self.labels_,
                 "temperature": self.temperature_, "stages": {"related": self.related.kind,
                                                              "stance": self.stance.kind}}
        (directory / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TwoStageClassifier:
        from newsclf.models import registry

        directory = Path(directory)
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        kinds = registry()
        stages = {}
        for name in ("related", "stance"):
            kind = state.get("stages", {}).get(name)
            if kind not in kinds or kinds[kind] is cls:  # no nesting: a stage is a plain model kind
                raise NewsclfError(f"{directory / STATE_FILE}: stage {name!r} has unknown kind {kind!r}; "
                                   f"expected one of {sorted(k for k in kinds if kinds[k] is not cls)}")
            stages[name] = kinds[kind].load(directory / name)
        model = cls(stages["related"], stages["stance"], state["negative"], float(state.get("skip_below", 0.0)),
                    state["input_kind"])
        model.labels_ = list(state["labels"])
        model.temperature_ = float(state.get("temperature", 1.0))
        return model


def _stage_resume(resume, name: str):
    """``resume=RUN_DIR`` continues each stage from ``RUN_DIR/<stage>``; ``auto`` stays ``auto``."""
    if resume in (None, "", False, "none", "null", "auto"):
        return resume
    return str(Path(str(resume)) / name)


def _calibrate(stage, X_dev, y_dev) -> np.ndarray | None:
    """One temperature per stage on its own dev rows (none when there are none); returns the dev logits it
    fitted on (None when it fitted nothing), so that a caller need not compute them again."""
    if not y_dev:
        return None
    from newsclf.evaluation.calibration import fit_temperature

    index = {label: i for i, label in enumerate(stage.labels_)}
    if any(v not in index for v in y_dev):
        return None
    logits = stage.logits(X_dev)
    stage.temperature_ = fit_temperature(logits, np.array([index[v] for v in y_dev]))
    return logits
