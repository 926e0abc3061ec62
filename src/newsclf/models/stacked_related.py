"""Related vs unrelated (stage 1 of stance) by stacking a TF-IDF pair model with sentence-embedding similarities.

The TF-IDF pair model (:class:`TfidfClassifier` with its relating features: cosines, overlap, BM25) tells a
body's topic from the headline's by shared words. It errs on pairs that share few words though they tell one
story (paraphrase, another name for the same thing) and on pairs that share common words across stories.
Frozen sentence embeddings see the former and ignore the latter: :class:`SentenceMatch` gives, per pair, the
cosine of the headline to its best-matching body sentences, to the lead and to the body's mean, and stance cues
(21 scalars). A logistic regression (the meta model) combines the TF-IDF model's *out-of-fold* log-probabilities
with the standardised scalars; its folds hold out whole bodies, since dev and test bodies are new.

Measured on FNC-1 (BENCHMARKS.md "Stage 1 = model=stacked_related"): fewer pairs called related that are not,
on the dev hold-out and on the topic split alike.

Saved as ``stacked_related.json`` (params, labels, temperature), ``arrays.safetensors`` (meta model and scaler)
and ``tfidf/`` (the base TF-IDF model in its own format). The sentence encoder is referenced by name, as in
:mod:`newsclf.models.stacked_stance`, and shared with a stage 2 of the same setting (one embedding per text).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from newsclf.errors import NewsclfError
from newsclf.features.sentence_match import N_SCALARS
from newsclf.models.base import softmax
from newsclf.models.stacked_stance import SentenceStacked, _align, _log, body_ids, fit_logistic


class StackedRelatedClassifier(SentenceStacked):
    """TF-IDF pair model + sentence-embedding similarity scalars, stacked by a logistic regression."""

    kind = "stacked_related.v1"
    STATE_FILE = "stacked_related.json"
    _PARAMS = ("encoder", "max_length", "encode_batch_size", "max_sentences", "top_k", "attention_temperature",
               "folds", "meta_C", "input_kind")

    def __init__(self, tfidf, encoder="minilm", max_length=64, encode_batch_size=64, max_sentences=60, top_k=3,
                 attention_temperature=0.05, folds=4, meta_C=0.1, input_kind="pair"):
        self.tfidf = tfidf
        self.encoder = encoder
        self.max_length = max_length
        self.encode_batch_size = encode_batch_size
        self.max_sentences = max_sentences
        self.top_k = top_k
        self.attention_temperature = attention_temperature
        self.folds = folds
        self.meta_C = meta_C
        self.input_kind = input_kind
        self.temperature_ = 1.0

    def get_params(self) -> dict:
        out = {k: getattr(self, k) for k in self._PARAMS}
        return {**out, "tfidf": {"kind": self.tfidf.kind, **self.tfidf.get_params()}}

    def _meta_inputs(self, p_tfidf: np.ndarray, scalars: np.ndarray) -> np.ndarray:
        return np.hstack([_log(p_tfidf), (scalars - self.scalar_mean_) / self.scalar_scale_])

    # ------------------------------------------------------------------------------------------- training
    def fit(self, X, y, seed=0, **_):
        if not isinstance(self.folds, int) or isinstance(self.folds, bool) or self.folds < 2:
            raise NewsclfError(f"model.folds: expected an integer >= 2 (body folds for stacking), found {self.folds!r}")
        X, y_names = list(X), [str(v) for v in y]
        self.labels_ = sorted(set(y_names))
        if len(self.labels_) < 2:
            raise NewsclfError(f"training data has {len(self.labels_)} label(s); need at least 2")
        y = np.array([self.labels_.index(v) for v in y_names])
        bodies = body_ids(X)
        if len(set(bodies.tolist())) < self.folds:
            raise NewsclfError(f"model.folds={self.folds}: the training pairs have only {len(set(bodies.tolist()))} "
                               "distinct bodies")
        # out-of-fold TF-IDF probabilities: each fold's bodies are new to the model that scores them
        p_tfidf = np.zeros((len(y), len(self.labels_)))
        folds = StratifiedGroupKFold(n_splits=self.folds, shuffle=True, random_state=seed)
        for fit_idx, held in folds.split(np.zeros(len(y)), y, bodies):
            base = self._tfidf_copy().fit([X[i] for i in fit_idx], [y_names[i] for i in fit_idx])
            p_tfidf[held] = _align(base, self.labels_, base.predict_proba([X[i] for i in held]))
        scalars, _ = self._matcher().transform(X)
        self.scalar_mean_, self.scalar_scale_ = scalars.mean(axis=0), scalars.std(axis=0) + 1e-6
        self.meta_coef_, self.meta_intercept_ = fit_logistic(self._meta_inputs(p_tfidf, scalars), y, self.meta_C)
        self.tfidf = self._tfidf_copy().fit(X, y_names)
        return self

    # ------------------------------------------------------------------------------------------- inference
    def logits(self, X) -> np.ndarray:
        X = list(X)
        if not X:
            return np.zeros((0, len(self.labels_)))
        scalars, _ = self._matcher().transform(X)
        p_tfidf = _align(self.tfidf, self.labels_, softmax(self.tfidf.logits(X)))
        return self._meta_inputs(p_tfidf, scalars) @ self.meta_coef_.T + self.meta_intercept_

    # ------------------------------------------------------------------------------------------- persistence
    def _arrays(self) -> dict[str, np.ndarray]:
        return {"meta.coef": self.meta_coef_, "meta.intercept": self.meta_intercept_,
                "scalar.mean": self.scalar_mean_, "scalar.scale": self.scalar_scale_}

    def _set_arrays(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.meta_coef_, self.meta_intercept_ = arrays["meta.coef"], arrays["meta.intercept"]
        self.scalar_mean_, self.scalar_scale_ = arrays["scalar.mean"], arrays["scalar.scale"]
        n = len(self.labels_)
        if self.meta_coef_.shape != (n, n + N_SCALARS) or self.meta_intercept_.shape != (n,) \
                or self.scalar_mean_.shape != (N_SCALARS,) or self.scalar_scale_.shape != (N_SCALARS,):
            raise NewsclfError(f"{directory}: arrays do not fit {n} labels and {N_SCALARS} similarity scalars")
