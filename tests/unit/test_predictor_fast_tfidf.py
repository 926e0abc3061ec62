"""FastTfidf / FastFeatures (the predictor's TF-IDF transform) give sklearn's features, on awkward text too."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from newsclf.inference.fast_tfidf import _DOC_BREAK, FastFeatures, FastTfidf, supported

CORPUS = [
    "Stocks rallied on Wall Street as oil prices fell; the Dow gained 1.2%.",
    "The striker scored twice\tin the second half.\nFans cheered  loudly!",
    "ΟΔΟΣ ΑΘΗΝΩΝ: Σε ΑΣΦΑΛΕΙΑ. İstanbul'da naïve café résumé — “quotes” and 'apostrophes'",
    "a b c d e single letters x y z and CamelCaseWords with_underscores and digits 2024 3.14",
    "Scientists at NASA launch a probe; the probe reaches Mars orbit. NASA said the probe works.",
    "",
]
AWKWARD = ["", " ", "\n\n", "a", "İİ", "ΣΣ Σ.", "naïve\u00a0café", "x\u2003y\u2028z", "tab\tsep\rcr", "Stocks  rallied"]


def _vectorizers():
    common = dict(sublinear_tf=True, dtype=np.float32)
    return [TfidfVectorizer(ngram_range=(1, 2), **common), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common),
            TfidfVectorizer(ngram_range=(1, 3), sublinear_tf=False, norm="l1"),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), lowercase=False, use_idf=False),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 6), sublinear_tf=True),  # short words: whole, once
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), norm=None)]


FITTED = [v.fit(CORPUS) for v in _vectorizers()]


def _same(vec, fast, docs):
    a, b = vec.transform(docs), fast.transform(docs)
    assert type(a) is type(b) and a.shape == b.shape
    np.testing.assert_allclose(b.toarray(), a.toarray(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("vec", FITTED, ids=lambda v: f"{v.analyzer}{v.ngram_range}")
def test_equals_sklearn_on_corpus_and_awkward_text(vec):
    fast = FastTfidf(vec)
    _same(vec, fast, CORPUS + AWKWARD)
    _same(vec, fast, CORPUS[::-1])  # warm cache, other order
    assert fast.vocabulary_ is vec.vocabulary_  # everything but transform is the vectorizer's own


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60), max_size=5))
def test_equals_sklearn_on_random_unicode(docs):
    for vec in FITTED[:2]:
        _same(vec, FastTfidf(vec), docs + CORPUS[:2])


def test_word_cache_is_bounded_and_stays_exact():
    vec = FITTED[1]
    fast = FastTfidf(vec, cache_words=5)
    _same(vec, fast, CORPUS)
    assert fast.cached_chunks <= 5


def test_unsupported_settings_keep_sklearn():
    vec = TfidfVectorizer(stop_words=["the"]).fit(CORPUS)
    assert not supported(vec) and not supported(TfidfVectorizer())  # unfitted
    with pytest.raises(ValueError):
        FastTfidf(vec)


def _pair():
    return [FITTED[0], FITTED[1]]  # word (1, 2) + char_wb (2, 5): the TextFeatures default


def test_features_together_equal_the_hstack_and_linear_equals_the_product():
    fast = FastFeatures(_pair())
    docs = CORPUS + AWKWARD
    want = sp.hstack([v.transform(docs) for v in _pair()], format="csr")
    got = fast.transform(docs)
    np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=0, atol=1e-6)
    coef = np.random.default_rng(0).normal(size=(3, want.shape[1])).astype(np.float32)
    np.testing.assert_allclose(fast.linear(docs, coef), want @ coef.T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("picks", [(0, 1), (2,), (3,), (5,), (0, 1, 2, 3, 4, 5), (2, 5, 1)])
def test_linear_equals_the_product_for_every_weighting(picks):
    """l2 / l1 / no norm, idf on / off, sublinear tf on / off, mixed in one FastFeatures: linear() folds idf and
    the norms into its constant matrices, so each combination must still give the features' product."""
    vecs = [FITTED[i] for i in picks]
    docs = CORPUS + AWKWARD
    want = sp.hstack([v.transform(docs) for v in vecs], format="csr")
    coef = np.random.default_rng(2).normal(size=(2, want.shape[1])).astype(np.float32)
    np.testing.assert_allclose(FastFeatures(vecs).linear(docs, coef), want @ coef.T, rtol=1e-5, atol=1e-5)


def test_a_document_scores_the_same_whatever_its_batch():
    fast = FastFeatures(_pair())
    coef = np.random.default_rng(1).normal(size=(4, fast.n_features)).astype(np.float32)
    docs = CORPUS + AWKWARD
    together = fast.linear(docs, coef)
    for i, doc in enumerate(docs):  # exact equality: the sums run in an order that depends on the document only
        assert np.array_equal(FastFeatures(_pair()).linear([doc], coef)[0], together[i])
        assert np.array_equal(fast.linear([doc], coef)[0], together[i])


def test_a_document_holding_the_batch_break_chunk_stays_exact():
    docs = ["before " + _DOC_BREAK + " after", "plain text here", _DOC_BREAK]
    for vec in FITTED[:2]:
        _same(vec, FastTfidf(vec), docs)
    assert _DOC_BREAK.split() == [_DOC_BREAK]  # one chunk: the batch split relies on it


def test_sklearn_analyzer_fallback_for_a_huge_alphabet():
    fast = FastTfidf(FITTED[1])
    fast._reset_store()
    fast.blocks[0].keyed = False  # what an alphabet too large for integer keys gets
    _same(FITTED[1], fast, CORPUS + AWKWARD)
