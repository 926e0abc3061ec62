"""An exact, faster ``transform`` for fitted TF-IDF vectorizers, swapped in at prediction time.

sklearn's ``TfidfVectorizer.transform`` builds every n-gram as a Python string and looks it up one at a time:
an AG News document has about a thousand ``char_wb`` 2-5 grams, so the char vectorizer alone runs at about
1,000 documents/s on one core. Two facts make the same features cheap:

- ``char_wb`` n-grams never cross white space, so a document's counts are the sum of its words' counts. Each
  distinct word is analysed once, by sklearn's own analyzer, and cached; a batch's count matrix is then one
  sparse product (documents x words) @ (words x n-grams).
- word n-grams: tokens (sklearn's own preprocessor and tokenizer) map to integer ids once, and the ids of the
  n-grams are found with numpy (an integer key per n-gram, binary search in the sorted vocabulary keys).

The tf-idf weighting repeats ``TfidfTransformer.transform`` step for step, so ``FastTfidf(vec).transform(X)``
equals ``vec.transform(X)`` (tests compare them). Unsupported settings (custom analyzers, stop words,
accent stripping, binary counts, ...) keep sklearn's transform.
"""

from __future__ import annotations

from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
CACHE_WORDS = 100_000  # distinct words whose n-grams are kept (~370 B each): bounds memory on endless streams


def supported(vec) -> bool:
    """Whether ``vec`` is a fitted TfidfVectorizer whose transform :class:`FastTfidf` reproduces exactly."""
    if not isinstance(vec, TfidfVectorizer) or not hasattr(vec, "vocabulary_"):
        return False
    if vec.use_idf and not hasattr(vec, "idf_"):
        return False
    plain = (vec.input == "content" and vec.preprocessor is None and vec.tokenizer is None
             and vec.strip_accents is None and not vec.binary and vec.stop_words is None)
    if vec.analyzer == "char_wb":
        return plain
    return plain and vec.analyzer == "word" and vec.token_pattern == DEFAULT_TOKEN_PATTERN


class FastTfidf:
    """Wraps a fitted vectorizer: ``transform`` is fast; every other attribute is the vectorizer's own."""

    def __init__(self, vec: TfidfVectorizer, cache_words: int = CACHE_WORDS):
        if not supported(vec):
            raise ValueError("FastTfidf: unsupported vectorizer settings; keep sklearn's transform")
        self.vec = vec
        self.n_features = len(vec.vocabulary_)
        self.cache_words = cache_words
        self._preprocess = vec.build_preprocessor()
        self._analyzer = vec.build_analyzer()
        self._cache: dict[str, np.ndarray] = {}
        self._idf = np.asarray(vec.idf_) if vec.use_idf else None
        self._as_output = type(vec.transform([""]))  # csr_matrix or csr_array, as sklearn returns
        if vec.analyzer == "word":
            self._index_word_ngrams()

    def __getattr__(self, name):  # only called for attributes this wrapper does not have
        return getattr(self.__dict__["vec"], name)

    def transform(self, docs) -> sp.spmatrix:
        docs = list(docs)
        counts = self._word_counts(docs) if self.vec.analyzer == "word" else self._char_wb_counts(docs)
        return self._as_output(self._weight(counts))

    # -- tf-idf weighting: TfidfTransformer.transform, step for step ------------------------------------------
    def _weight(self, X: sp.csr_matrix) -> sp.csr_matrix:
        X = X.astype(self.vec.dtype, copy=False)
        # sorted column order, as sklearn's: float sums (norms, dot products) then add up in the same order
        # whatever batch a document came in, so a document always gets the same scores
        X.sort_indices()
        if self.vec.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        if self.vec.use_idf:
            X.data *= self._idf[X.indices]
        if self.vec.norm is not None:
            X = normalize(X, norm=self.vec.norm, copy=False)
        return X

    # -- char_wb: per-word n-grams, cached -------------------------------------------------------------------
    def _analyse(self, words: list[str]) -> list[np.ndarray]:
        """Feature ids of the n-grams of new words: one analyzer call for all of them, cut by n-gram counts."""
        min_n, max_n = self.vec.ngram_range
        counts = [_char_wb_count(len(self._preprocess(w)) + 2, min_n, max_n) for w in words]  # +2: the padding
        grams = self._analyzer(" ".join(words))
        if len(grams) != sum(counts):  # cannot happen (see _char_wb_counts); stay exact regardless
            parts = [self._lookup(self._analyzer(w)) for w in words]
        else:
            parts = np.split(self._lookup(grams), np.cumsum(counts)[:-1])
        if len(self._cache) + len(words) > self.cache_words:
            self._cache.clear()  # crude but bounded; the next batches refill it with the common words
        out = []
        for word, part in zip(words, parts, strict=True):
            feats = part[part >= 0]
            if len(self._cache) < self.cache_words:
                self._cache[word] = feats
            out.append(feats)
        return out

    def _lookup(self, grams: list[str]) -> np.ndarray:
        get = self.vec.vocabulary_.get
        return np.fromiter(map(get, grams, repeat(-1)), dtype=np.int32, count=len(grams))

    def _char_wb_counts(self, docs: list[str]) -> sp.csr_matrix:
        # split the raw text: the analyzer lower-cases each word itself, and lower-casing never creates or
        # removes white space, so the words (and their n-grams) are exactly those of the whole document
        words_per_doc = [d.split() for d in docs]
        flat = list(chain.from_iterable(words_per_doc))
        cols, words = _factorize(flat)  # Python-level work below is per distinct word, not per word
        rows = np.repeat(np.arange(len(docs)), [len(w) for w in words_per_doc])
        doc_words = sp.csr_matrix((np.ones(len(flat), dtype=np.float32), (rows, cols)),
                                  shape=(len(docs), len(words)))
        grams = list(map(self._cache.get, words))
        missing = [i for i, g in enumerate(grams) if g is None]
        for i, feats in zip(missing, self._analyse([words[i] for i in missing]) if missing else [], strict=True):
            grams[i] = feats
        indptr = np.zeros(len(grams) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, grams), dtype=np.int64, count=len(grams)), out=indptr[1:])
        indices = np.concatenate(grams) if grams else np.zeros(0, dtype=np.int32)
        word_grams = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                                   shape=(len(words), self.n_features))
        return (doc_words @ word_grams).tocsr()

    # -- word n-grams: integer keys ---------------------------------------------------------------------------
    def _index_word_ngrams(self) -> None:
        terms = sorted(self.vec.vocabulary_, key=self.vec.vocabulary_.get)
        self._token_id: dict[str, int] = {}
        split = [t.split(" ") for t in terms]
        for parts in split:
            for tok in parts:
                self._token_id.setdefault(tok, len(self._token_id))
        self._base = max(len(self._token_id), 1)
        min_n, max_n = self.vec.ngram_range
        if self._base ** max_n >= 2**62:
            raise ValueError("FastTfidf: vocabulary too large for integer n-gram keys")
        self._keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n in range(min_n, max_n + 1):
            idx = [self.vec.vocabulary_[t] for t, p in zip(terms, split, strict=True) if len(p) == n]
            ids = np.array([[self._token_id[x] for x in p] for p in split if len(p) == n], dtype=np.int64)
            keys = self._combine(ids.reshape(-1, n), n)
            order = np.argsort(keys)
            self._keys[n] = (keys[order], np.array(idx, dtype=np.int64)[order])

    def _combine(self, ids: np.ndarray, n: int) -> np.ndarray:
        key = np.zeros(ids.shape[0], dtype=np.int64)
        for j in range(n):
            key = key * self._base + ids[:, j]
        return key

    def _word_counts(self, docs: list[str]) -> sp.csr_matrix:
        tokenize, preprocess = self.vec.build_tokenizer(), self._preprocess
        toks = [tokenize(preprocess(d)) for d in docs]
        lens = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
        codes, distinct = _factorize(list(chain.from_iterable(toks)))
        get = self._token_id.get
        ids = np.fromiter(map(get, distinct, repeat(-1)), dtype=np.int64, count=len(distinct))[codes]
        doc_of = np.repeat(np.arange(len(docs)), lens)
        rows, cols = [], []
        for n, (keys, feats) in self._keys.items():
            m = len(ids) - n + 1
            if m <= 0 or len(keys) == 0:
                continue
            window = np.stack([ids[j:j + m] for j in range(n)], axis=1)
            ok = (window >= 0).all(axis=1) & (doc_of[:m] == doc_of[n - 1:n - 1 + m])
            key = self._combine(window[ok], n)
            pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
            hit = keys[pos] == key
            rows.append(doc_of[:m][ok][hit])
            cols.append(feats[pos[hit]])
        r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        return sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(len(docs), self.n_features))


def _factorize(items: list[str]) -> tuple[np.ndarray, list[str]]:
    """``(codes, distinct)`` with ``distinct[codes[i]] == items[i]``, distinct in first-seen order (a C hash
    table: pandas; about 20x faster than a dict built in a Python loop)."""
    import pandas as pd

    if not items:
        return np.zeros(0, dtype=np.int64), []
    codes, distinct = pd.factorize(np.asarray(items, dtype=object))
    return codes.astype(np.int64, copy=False), distinct.tolist()


def _char_wb_count(padded: int, min_n: int, max_n: int) -> int:
    """How many n-grams sklearn's char_wb makes of one padded word: all of each size; a word no longer than
    a size gives itself once and ends the sizes."""
    total = 0
    for n in range(min_n, max_n + 1):
        if padded <= n:
            return total + 1
        total += padded - n + 1
    return total


def accelerate(model) -> int:
    """Swap the fast transform into a loaded TF-IDF model's vectorizers; return how many were swapped.

    Looks for ``vectorizers_`` dicts on the model pipeline's steps (and on their ``text_`` part, as pair
    features hold one); anything else is left alone, so an unknown model simply keeps its own transform.
    """
    stages = [getattr(model, name, None) for name in ("related", "stance")]  # a two-stage model's parts
    swapped = sum(accelerate(stage) for stage in stages if stage is not None and stage is not model)
    pipeline = getattr(model, "pipeline_", None)
    steps = getattr(pipeline, "named_steps", {}) or {}
    for step in steps.values():
        for holder in (step, getattr(step, "text_", None)):
            vecs = getattr(holder, "vectorizers_", None)
            if not isinstance(vecs, dict):
                continue
            for name, vec in vecs.items():
                if supported(vec):
                    vecs[name] = FastTfidf(vec)
                    swapped += 1
    return swapped
