"""TF-IDF + logistic regression baseline: an sklearn ``Pipeline`` with named steps ``features`` and ``clf``.

Single texts get word + character n-gram TF-IDF; pairs get :class:`PairFeatures` (TF-IDF of both sides and
similarity features). The fitted state is saved as JSON + safetensors (model kind ``tfidf.v1``), never pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.pipeline import Pipeline

from newsclf.errors import NewsclfError
from newsclf.features.tfidf import PairFeatures, TextFeatures
from newsclf.models.base import FromLogits

STATE_FILE, ARRAYS_FILE = "state.json", "arrays.safetensors"


class TfidfClassifier(FromLogits):
    """Linear classifier over TF-IDF features. ``predict_proba`` columns follow ``labels_``."""

    kind = "tfidf.v1"

    def __init__(self, word_ngram_range=(1, 2), char_ngram_range=(2, 5), min_df=1, max_df=1.0,
                 max_features=None, sublinear_tf=True, classifier="logistic", C=4.0, class_weight="balanced",
                 max_iter=2000, pair_body_char=False, pair_headline_copies=False, input_kind="text"):
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.classifier = classifier
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.pair_body_char = pair_body_char  # pairs: the body's char n-grams as features too (tweets)
        self.pair_headline_copies = pair_headline_copies  # pairs: body features per training headline (targets)
        self.input_kind = input_kind
        self.temperature_ = 1.0

    def get_params(self) -> dict:
        keys = ("word_ngram_range", "char_ngram_range", "min_df", "max_df", "max_features", "sublinear_tf", "classifier", "C",
                "class_weight", "max_iter", "pair_body_char", "pair_headline_copies", "input_kind")
        out = {k: getattr(self, k) for k in keys}
        for k in ("word_ngram_range", "char_ngram_range"):
            out[k] = list(out[k]) if out[k] else None
        return out

    def _features(self):
        pair = {}
        for key in ("pair_body_char", "pair_headline_copies"):
            value = getattr(self, key)
            if not isinstance(value, bool):
                raise NewsclfError(f"model.{key}: expected true or false, found {value!r}")
            if value and self.input_kind != "pair":
                raise NewsclfError(f"model.{key}=true applies to pair inputs (task.input=pair); this task's input is "
                                   f"{self.input_kind!r}")
        if self.pair_body_char and not self.char_ngram_range:
            raise NewsclfError("model.pair_body_char=true needs model.char_ngram_range (found null)")
        if self.input_kind == "pair":
            pair = {"body_char": self.pair_body_char, "headline_copies": self.pair_headline_copies}
        cls = PairFeatures if self.input_kind == "pair" else TextFeatures
        return cls(word_ngram_range=tuple(self.word_ngram_range),
                   char_ngram_range=tuple(self.char_ngram_range) if self.char_ngram_range else None,
                   min_df=self.min_df, max_df=self.max_df, max_features=self.max_features,
                   sublinear_tf=self.sublinear_tf, **pair)

    def _class_weight(self):
        cw = self.class_weight
        if cw in (None, "none", "balanced"):
            return None if cw in (None, "none") else "balanced"
        if isinstance(cw, dict):
            return {str(k): float(v) for k, v in cw.items()}
        raise NewsclfError(f"model.class_weight: expected null, 'balanced' or a {{label: weight}} map, found {cw!r}")

    def _linear(self, class_weight):
        """The linear head. ``ridge`` (least squares, alpha = 1 / C) has no probabilities of its own: its scores
        become probabilities through the softmax with a temperature fitted on dev (``calibration``)."""
        if isinstance(self.C, bool) or not isinstance(self.C, (int, float)) or not self.C > 0:
            raise NewsclfError(f"model.C: expected a positive number (inverse regularisation), found {self.C!r}")
        if self.classifier == "logistic":
            return LogisticRegression(C=self.C, class_weight=class_weight, max_iter=self.max_iter)
        if self.classifier == "ridge":
            return RidgeClassifier(alpha=1.0 / self.C, class_weight=class_weight, max_iter=self.max_iter)
        raise NewsclfError(f"model.classifier: expected 'logistic' or 'ridge', found {self.classifier!r}")

    def fit(self, X, y, **_) -> TfidfClassifier:
        self.labels_ = sorted(set(y))
        if len(self.labels_) < 2:
            raise NewsclfError(f"training data has {len(self.labels_)} label(s); need at least 2")
        cw = self._class_weight()
        if isinstance(cw, dict) and set(cw) - set(self.labels_):
            raise NewsclfError(f"model.class_weight names unknown label(s) {sorted(set(cw) - set(self.labels_))}")
        self.pipeline_ = Pipeline([("features", self._features()), ("clf", self._linear(cw))]).fit(list(X), list(y))
        # binary ridge keeps a 1-d coef_; logits expect one row per output
        self._coef = np.ascontiguousarray(np.atleast_2d(self.pipeline_.named_steps["clf"].coef_), dtype=np.float32)
        self._intercept = np.atleast_1d(self.pipeline_.named_steps["clf"].intercept_).astype(np.float32)
        return self

    def logits(self, X) -> np.ndarray:
        """Pre-softmax scores, one column per label (binary LR: ``[0, z]`` so softmax = sigmoid)."""
        features = self.pipeline_.named_steps["features"]
        fast = getattr(features, "fast_", None)  # the predictor's fast transform (newsclf.inference.fast_tfidf)
        if fast is not None:
            z = fast.linear(list(X), self._coef) + self._intercept
        else:
            z = np.asarray(features.transform(list(X)) @ self._coef.T) + self._intercept
        if len(self.labels_) == 2 and z.shape[1] == 1:
            z = np.hstack([np.zeros_like(z), z])
        return z.astype(np.float64)

    # -- persistence: JSON + safetensors -------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta, arrays = self.pipeline_.named_steps["features"].get_state()
        arrays["clf.coef"], arrays["clf.intercept"] = self._coef, self._intercept
        # safetensors writes raw memory: a Fortran-ordered array (sklearn's coef_ can be) must be made C-ordered
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(directory / ARRAYS_FILE))
        state = {"params": self.get_params(), "labels": self.labels_, "features": meta,
                 "temperature": self.temperature_}
        (directory / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TfidfClassifier:
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        arrays = load_file(str(directory / ARRAYS_FILE))
        model = cls(**state["params"])
        feats = model._features().set_state(state["features"], arrays)
        model.labels_ = list(state["labels"])
        model._coef, model._intercept = arrays["clf.coef"], arrays["clf.intercept"]
        clf = model._linear(None)
        clf.coef_, clf.intercept_ = model._coef, model._intercept
        model.pipeline_ = Pipeline([("features", feats), ("clf", clf)])
        model.temperature_ = float(state.get("temperature", 1.0))
        n_out = model._coef.shape[0]
        if n_out != (1 if len(model.labels_) == 2 else len(model.labels_)):
            raise NewsclfError(f"{directory}: weights have {n_out} output(s) for {len(model.labels_)} labels")
        return model
