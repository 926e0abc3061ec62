"""TF-IDF feature extractors for single texts and (headline, body) pairs, with non-pickle state.

Each extractor is an sklearn transformer (``fit`` / ``transform``) and can export its fitted state as
``(json_dict, {name: ndarray})`` and rebuild itself from that, so that checkpoints never hold a pickle.
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from newsclf.errors import NewsclfError

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
# words that flag a refutation or a report of a claim; they separate agree / disagree / discuss
REFUTING = ("fake", "fraud", "hoax", "false", "deny", "denies", "denied", "not", "despite", "nope", "doubt",
            "doubts", "bogus", "debunk", "debunked", "debunks", "pranks", "prank", "retract", "retracted",
            "rejects", "rejected", "dismisses", "dismissed", "untrue", "never", "no", "myth", "satire")
HEDGING = ("reportedly", "allegedly", "claim", "claims", "claimed", "according", "unconfirmed", "rumor",
           "rumour", "rumors", "rumours", "alleged", "apparently", "purportedly", "may", "might", "could",
           "suggests", "appears", "believed", "unverified", "report", "reports", "said", "says")
COSINE_BINS = np.array([0.0, 0.02, 0.05, 0.08, 0.12, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.01])


def _vectorizer_state(vec: TfidfVectorizer, prefix: str) -> tuple[dict, dict]:
    terms = vec.get_feature_names_out().tolist()
    return {"params": _json_params(vec), "terms": terms}, {f"{prefix}.idf": vec.idf_.astype(np.float64)}


def _json_params(vec: TfidfVectorizer) -> dict:
    keep = ("analyzer", "ngram_range", "min_df", "max_df", "max_features", "sublinear_tf", "lowercase",
            "strip_accents", "norm", "use_idf", "smooth_idf", "dtype")
    out = {k: getattr(vec, k) for k in keep}
    out["ngram_range"] = list(out["ngram_range"])
    out["dtype"] = np.dtype(out["dtype"]).name
    return out


def _vectorizer_from_state(meta: dict, arrays: dict, prefix: str) -> TfidfVectorizer:
    params = dict(meta["params"])
    params["ngram_range"] = tuple(params["ngram_range"])
    params["dtype"] = np.dtype(params["dtype"]).type
    vec = TfidfVectorizer(vocabulary=meta["terms"], **params)
    vec.idf_ = arrays[f"{prefix}.idf"]
    return vec


class TextFeatures(BaseEstimator, TransformerMixin):
    """Word and character n-gram TF-IDF, concatenated. Input: a list of strings."""

    def __init__(self, word_ngram_range=(1, 2), char_ngram_range=(2, 5), min_df=1, max_df=1.0,
                 max_features=None, sublinear_tf=True):
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def _make(self) -> dict[str, TfidfVectorizer]:
        common = dict(min_df=self.min_df, max_df=self.max_df, max_features=self.max_features,
                      sublinear_tf=self.sublinear_tf, dtype=np.float32)
        vecs = {"word": TfidfVectorizer(ngram_range=tuple(self.word_ngram_range), **common)}
        if self.char_ngram_range:
            vecs["char"] = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(self.char_ngram_range), **common)
        return vecs

    def fit(self, X, y=None):
        self.vectorizers_ = {name: vec.fit(X) for name, vec in self._make().items()}
        self.__dict__.pop("fast_", None)
        return self

    def use_fast(self, fast) -> None:
        """Compute ``transform`` with ``fast`` (``newsclf.inference.fast_tfidf.FastFeatures`` built on these
        vectorizers; the predictor installs it). Refitting or loading state drops it."""
        self.fast_ = fast

    def transform(self, X):
        fast = self.__dict__.get("fast_")
        if fast is not None:
            return fast.transform(X)
        return sp.hstack([vec.transform(X) for vec in self.vectorizers_.values()], format="csr")

    def get_state(self) -> tuple[dict, dict]:
        meta, arrays = {"vectorizers": {}}, {}
        for name, vec in self.vectorizers_.items():
            meta["vectorizers"][name], a = _vectorizer_state(vec, name)
            arrays.update(a)
        return meta, arrays

    def set_state(self, meta: dict, arrays: dict) -> TextFeatures:
        self.vectorizers_ = {name: _vectorizer_from_state(m, arrays, name) for name, m in meta["vectorizers"].items()}
        self.__dict__.pop("fast_", None)
        return self


def _distinct(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in first-seen order and, for each input, the index of its distinct text."""
    index: dict[str, int] = {}
    idx = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts))
    return list(index), idx


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class PairFeatures(BaseEstimator, TransformerMixin):
    """(headline, body) features: TF-IDF of each side plus features that relate the two.

    Relating features: TF-IDF cosine (word and char), binned word cosine (so a linear model can learn a
    threshold), token overlap (Jaccard; share of headline tokens in the body and in its first 100 tokens),
    BM25 of the headline against the body, and refuting / hedging word indicators.

    ``body_char`` adds the body's character n-gram TF-IDF (short, noisy bodies such as tweets). ``headline_copies``
    is for a handful of fixed headlines (stance targets such as "Atheism"): the body blocks are repeated once per
    training headline, filled only in the rows of that headline, so a linear model learns weights shared by all
    targets plus a correction per target ("frustratingly easy" feature augmentation, Daumé III 2007). A headline
    unseen in training gets the shared weights alone.
    """

    MAX_HEADLINE_COPIES = 50  # a copy of the body vocabulary per headline: for targets, not for FNC-1's 1,600 claims

    def __init__(self, word_ngram_range=(1, 2), char_ngram_range=(2, 5), min_df=2, max_df=1.0,
                 max_features=50000, sublinear_tf=True, body_head_tokens=100, bm25_k1=1.2, bm25_b=0.75,
                 body_char=False, headline_copies=False):
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.body_head_tokens = body_head_tokens
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.body_char = body_char
        self.headline_copies = headline_copies

    def fit(self, X, y=None):
        headlines, bodies = zip(*X, strict=True) if len(X) else ((), ())
        self.headlines_ = sorted(set(headlines)) if self.headline_copies else []
        if len(self.headlines_) > self.MAX_HEADLINE_COPIES:
            raise NewsclfError(f"model.pair_headline_copies: the training pairs have {len(self.headlines_)} distinct "
                               f"headlines; expected at most {self.MAX_HEADLINE_COPIES} (one body copy per headline: "
                               "meant for a few stance targets)")
        texts = sorted(set(headlines)) + sorted(set(bodies))  # each unique text once: bodies repeat a lot
        self.text_ = TextFeatures(self.word_ngram_range, self.char_ngram_range, self.min_df, self.max_df,
                                  self.max_features, self.sublinear_tf).fit(texts)
        # BM25 statistics over the unique bodies
        docs = [set(_tokens(b)) for b in sorted(set(bodies))]
        vocab: dict[str, int] = {}
        for d in docs:
            for t in d:
                vocab[t] = vocab.get(t, 0) + 1
        n = max(len(docs), 1)
        self.bm25_terms_ = sorted(vocab)
        self.bm25_idf_ = np.array([np.log(1 + (n - vocab[t] + 0.5) / (vocab[t] + 0.5)) for t in self.bm25_terms_])
        self.bm25_avgdl_ = float(np.mean([len(_tokens(b)) for b in set(bodies)])) if bodies else 1.0
        self._index()
        return self

    def _index(self) -> None:
        self._bm25_lookup = dict(zip(self.bm25_terms_, self.bm25_idf_, strict=True))

    def _relating(self, h: list[str], b: list[str]) -> list[float]:
        hs, bs, head = set(h), set(b), set(b[: self.body_head_tokens])
        jacc = len(hs & bs) / max(len(hs | bs), 1)
        cover = len(hs & bs) / max(len(hs), 1)
        cover_head = len(hs & head) / max(len(hs), 1)
        tf: dict[str, int] = {}
        for t in b:
            tf[t] = tf.get(t, 0) + 1
        k1, bb, dl = self.bm25_k1, self.bm25_b, len(b) / max(self.bm25_avgdl_, 1.0)
        bm25 = sum(self._bm25_lookup.get(t, 0.0) * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - bb + bb * dl))
                   for t in hs if t in tf)
        ref_h = sum(t in hs for t in REFUTING)
        ref_b = sum(t in head for t in REFUTING)
        hedge_b = sum(t in head for t in HEDGING)
        return [jacc, cover, cover_head, np.log1p(bm25) / 4.0, min(ref_h, 3) / 3, min(ref_b, 5) / 5,
                min(hedge_b, 5) / 5, float(ref_h > 0 and cover > 0.3)]

    def transform(self, X):
        # bodies (and headlines) repeat across pairs: vectorise and tokenise each distinct text once
        heads, h_idx = _distinct([h for h, _ in X])
        bods, b_idx = _distinct([b for _, b in X])
        parts, cosines, body_blocks = [], [], []
        for name, vec in self.text_.vectorizers_.items():
            hv, bv = vec.transform(heads)[h_idx], vec.transform(bods)[b_idx]
            cosines.append(np.asarray(hv.multiply(bv).sum(axis=1)).ravel())  # rows are L2-normalised
            if name == "word":
                parts += [hv, bv]
                body_blocks.append(bv)
            elif self.body_char:
                parts.append(bv)
                body_blocks.append(bv)
        bins = np.zeros((len(X), len(COSINE_BINS) - 1), dtype=np.float32)
        bin_of = np.clip(np.digitize(cosines[0], COSINE_BINS) - 1, 0, len(COSINE_BINS) - 2)
        bins[np.arange(len(X)), bin_of] = 1.0
        h_tok = [_tokens(h) for h in heads]
        b_tok = [_tokens(b) for b in bods]
        rel = np.array([self._relating(h_tok[i], b_tok[j]) for i, j in zip(h_idx, b_idx, strict=True)],
                       dtype=np.float32).reshape(len(X), -1)
        dense = np.hstack([np.stack(cosines, axis=1), bins, rel]).astype(np.float32)
        if self.headlines_:  # one copy of the body blocks per training headline, non-zero in its rows only
            body = sp.hstack(body_blocks, format="csr")
            known = {h: k for k, h in enumerate(self.headlines_)}
            row_head = np.array([known.get(heads[i], -1) for i in h_idx], dtype=np.int64)
            parts += [sp.diags((row_head == k).astype(body.dtype)) @ body for k in range(len(self.headlines_))]
        return sp.hstack([*parts, sp.csr_matrix(dense)], format="csr")

    def get_state(self) -> tuple[dict, dict]:
        meta, arrays = self.text_.get_state()
        meta = {"text": meta, "bm25_terms": self.bm25_terms_, "bm25_avgdl": self.bm25_avgdl_,
                **({"headlines": self.headlines_} if self.headlines_ else {})}
        arrays["bm25.idf"] = self.bm25_idf_.astype(np.float64)
        return meta, arrays

    def set_state(self, meta: dict, arrays: dict) -> PairFeatures:
        self.text_ = TextFeatures(self.word_ngram_range, self.char_ngram_range).set_state(meta["text"], arrays)
        self.bm25_terms_, self.bm25_avgdl_ = meta["bm25_terms"], meta["bm25_avgdl"]
        self.bm25_idf_ = arrays["bm25.idf"]
        self.headlines_ = meta.get("headlines", [])
        if bool(self.headlines_) != bool(self.headline_copies) or not all(isinstance(h, str) for h in self.headlines_):
            raise NewsclfError("pair features: the saved headline list does not match pair_headline_copies="
                               f"{self.headline_copies} (expected a list of headlines exactly when it is on)")
        self._index()
        return self
