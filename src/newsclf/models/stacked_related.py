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

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from newsclf.errors import NewsclfError
from newsclf.features.embeddings import resolve_encoder_path, shared_encoder
from newsclf.features.sentence_match import N_SCALARS, SentenceMatch
from newsclf.models.base import FromLogits, softmax
from newsclf.models.stacked_stance import _align, _log, body_ids
from newsclf.models.tfidf import TfidfClassifier

STATE_FILE, ARRAYS_FILE, TFIDF_DIR = "stacked_related.json", "arrays.safetensors", "tfidf"


class StackedRelatedClassifier(FromLogits):
    """TF-IDF pair model + sentence-embedding similarity scalars, stacked by a logistic regression."""

    kind = "stacked_related.v1"
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

    def _matcher(self) -> SentenceMatch:
        if getattr(self, "matcher_", None) is None:
            encoder = shared_encoder(self.encoder, self.max_length, self.encode_batch_size)
            self.matcher_ = SentenceMatch(encoder, self.max_sentences, self.top_k, self.attention_temperature)
        return self.matcher_

    def _tfidf_copy(self) -> TfidfClassifier:
        params = dict(self.tfidf.get_params())
        params["input_kind"] = self.input_kind
        return TfidfClassifier(**params)

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
        meta = LogisticRegression(C=self.meta_C, max_iter=3000).fit(self._meta_inputs(p_tfidf, scalars), y)
        coef, intercept = meta.coef_, meta.intercept_
        if coef.shape[0] == 1:  # binary: [0, z] so that the softmax is the sigmoid
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, intercept[0]])
        self.meta_coef_, self.meta_intercept_ = coef.astype(np.float64), intercept.astype(np.float64)
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
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tfidf.save(directory / TFIDF_DIR)
        arrays = {"meta.coef": self.meta_coef_, "meta.intercept": self.meta_intercept_,
                  "scalar.mean": self.scalar_mean_, "scalar.scale": self.scalar_scale_}
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(directory / ARRAYS_FILE))
        params = {k: v for k, v in self.get_params().items() if k != "tfidf"}
        state = {"params": params, "labels": self.labels_, "temperature": self.temperature_}
        (directory / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> StackedRelatedClassifier:
        directory = Path(directory)
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        arrays = load_file(str(directory / ARRAYS_FILE))
        params = dict(state["params"])
        resolve_encoder_path(params.get("encoder"))  # 'minilm' or a local folder: never a download
        model = cls(TfidfClassifier.load(directory / TFIDF_DIR), **params)
        model.labels_ = list(state["labels"])
        model.temperature_ = float(state.get("temperature", 1.0))
        model.meta_coef_, model.meta_intercept_ = arrays["meta.coef"], arrays["meta.intercept"]
        model.scalar_mean_, model.scalar_scale_ = arrays["scalar.mean"], arrays["scalar.scale"]
        n = len(model.labels_)
        if model.meta_coef_.shape != (n, n + N_SCALARS) or model.meta_intercept_.shape != (n,) \
                or model.scalar_mean_.shape != (N_SCALARS,) or model.scalar_scale_.shape != (N_SCALARS,):
            raise NewsclfError(f"{directory}: arrays do not fit {n} labels and {N_SCALARS} similarity scalars")
        if model.tfidf.labels_ != model.labels_:
            raise NewsclfError(f"{directory}: the base TF-IDF model's labels {model.tfidf.labels_} differ from "
                               f"{model.labels_}")
        return model
