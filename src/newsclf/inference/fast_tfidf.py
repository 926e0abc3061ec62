"""An exact, faster ``transform`` for fitted TF-IDF vectorizers, swapped in at prediction time.

sklearn's ``TfidfVectorizer.transform`` builds every n-gram as a Python string and looks it up one at a time:
an AG News document has about a thousand ``char_wb`` 2-5 grams, so the char vectorizer alone runs at about
1,000 documents/s on one core. Four facts make the same features cheap:

- neither ``char_wb`` n-grams nor word tokens cross white space, so a document is a sequence of white-space
  chunks, and each distinct chunk is analysed once and kept (a bounded store): its char n-grams and word
  unigrams as column ids, its word tokens as integer ids;
- a new chunk's char n-grams are found without building strings: the characters become digits of an integer
  key per n-gram (numpy), looked up in a hash index of the vocabulary's keys;
- a batch's counts for every vectorizer at once are then one sparse product (documents x chunks) @
  (chunks x features), in C; word n-grams (n >= 2) may span chunks, so they are matched on the documents'
  token-id sequences, again with integer keys;
- a linear model needs ``X @ coef.T`` only: :meth:`FastFeatures.linear` folds the idf into the coefficients
  once, takes each vectorizer's dot products and squared norm from two products over the tf values, and
  divides by the norms afterwards, without building the tf-idf matrix.

The weighting repeats ``TfidfTransformer.transform`` (sublinear tf, idf, per-vectorizer norm), so
``transform`` equals ``sp.hstack([vec.transform(X) for vec in vecs])`` up to float rounding (tests compare
them, on random Unicode too). Column indices within a row stay in the order the product makes them, which
depends on the document alone, never on the batch or the store, so a document always gets the same scores.
Unsupported settings (custom analyzers, stop words, accent stripping, binary counts, ...) keep sklearn's
transform.
"""

from __future__ import annotations

import re
import threading
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
CACHE_WORDS = 100_000  # distinct white-space chunks kept (~350 B each with their columns): bounds memory


def supported(vec) -> bool:
    """Whether ``vec`` is a fitted TfidfVectorizer whose transform :class:`FastFeatures` reproduces."""
    if not isinstance(vec, TfidfVectorizer) or not hasattr(vec, "vocabulary_"):
        return False
    if vec.use_idf and not hasattr(vec, "idf_"):
        return False
    plain = (vec.input == "content" and vec.preprocessor is None and vec.tokenizer is None
             and vec.strip_accents is None and not vec.binary and vec.stop_words is None)
    if vec.analyzer == "char_wb":
        return plain
    return plain and vec.analyzer == "word" and vec.token_pattern == DEFAULT_TOKEN_PATTERN


class _Block:
    """One vectorizer's constants: where its columns start and how to analyse chunks for it."""

    def __init__(self, vec: TfidfVectorizer, offset: int):
        self.vec, self.offset, self.size = vec, offset, len(vec.vocabulary_)
        self.char = vec.analyzer == "char_wb"
        self.lowercase = bool(vec.lowercase)
        self.min_n, self.max_n = vec.ngram_range
        self.analyzer = vec.build_analyzer()
        if self.char:
            self._index_char_ngrams()
        else:
            self.findall = re.compile(vec.token_pattern).findall
            self._index_word_ngrams()

    # -- char_wb: an integer key per n-gram (its characters as digits), looked up in a hash index -----------
    def _index_char_ngrams(self) -> None:
        vocab = self.vec.vocabulary_
        terms = list(vocab)
        self.alphabet = np.array(sorted({ord(ch) for t in terms for ch in t}), dtype=np.uint32)
        self.base = len(self.alphabet) + 2  # digits: 1..A for the alphabet, A+1 for any other character
        # digit of each code point up to the alphabet's largest; any larger one is "other" (the last slot)
        top = int(self.alphabet[-1]) + 1 if len(self.alphabet) else 0
        self.digit_of = np.full(top + 1, len(self.alphabet) + 1, dtype=np.int64)
        self.digit_of[self.alphabet.astype(np.int64)] = np.arange(1, len(self.alphabet) + 1)
        longest = max(map(len, terms), default=1)
        self.keyed = self.base ** max(longest, self.max_n) < 2**62
        if not self.keyed:  # a huge alphabet: fall back to sklearn's analyzer for new chunks
            return
        import pandas as pd

        lens = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        digits = self._digits("".join(terms))
        starts = np.zeros(len(terms), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        keys = np.zeros(len(terms), dtype=np.int64)
        for j in range(int(lens.max(initial=0))):
            has = lens > j
            keys[has] = keys[has] * self.base + digits[starts[has] + j]
        self.key_index = pd.Index(keys)
        self.key_feature = np.fromiter(map(vocab.get, terms), dtype=np.int64, count=len(terms))

    def _digits(self, text: str) -> np.ndarray:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return self.digit_of[np.minimum(codes, len(self.digit_of) - 1)]

    def char_grams(self, chunks: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(chunk index, column id)`` of every char_wb n-gram of ``chunks`` (already lower-cased as the
        vectorizer does) that is in the vocabulary: one list per n-gram size (and one for chunks shorter than
        every size), each grouped by chunk. Needs ``keyed`` (else :meth:`_char_grams_sklearn`, on the chunks as
        written)."""
        lens = np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks)) + 2  # padded: ' ' + w + ' '
        digits = self._digits(" " + "  ".join(chunks) + " ")
        chunk_of = np.repeat(np.arange(len(chunks)), lens)
        key = np.zeros(len(digits), dtype=np.int64)
        keys, owners = [], []
        for n in range(1, self.max_n + 1):
            m = len(digits) - n + 1
            if m <= 0:
                break
            key = key[:m] * self.base + digits[n - 1:]
            if n >= self.min_n:
                inside = chunk_of[:m] == chunk_of[n - 1:]  # the window stays within one padded chunk
                keys.append(key[inside])
                owners.append(chunk_of[:m][inside])
        short = np.flatnonzero(lens < self.min_n)  # a padded word shorter than every size: itself, once
        if len(short):
            keys.append(np.array([self._key(" " + chunks[i] + " ") for i in short], dtype=np.int64))
            owners.append(short)
        pos = self.key_index.get_indexer(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
        out, at = [], 0
        for part, owner in zip(keys, owners, strict=True):
            found = pos[at:at + len(part)]
            at += len(part)
            hit = found >= 0
            out.append((owner[hit], self.key_feature[found[hit]] + self.offset))
        return out

    def _key(self, gram: str) -> int:
        key = 0
        for d in self._digits(gram).tolist():
            key = key * self.base + d
        return key

    def _char_grams_sklearn(self, chunks: list[str]) -> tuple[np.ndarray, np.ndarray]:
        get = self.vec.vocabulary_.get
        owners, cols = [], []
        for i, chunk in enumerate(chunks):
            ids = np.fromiter((get(g, -1) for g in self.analyzer(chunk)), dtype=np.int64)
            ids = ids[ids >= 0]
            owners.append(np.full(len(ids), i, dtype=np.int64))
            cols.append(ids + self.offset)
        if not cols:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(owners), np.concatenate(cols)

    # -- word n-grams: token ids; an integer key per n-gram for n >= 2 -----------------------------------------
    def _index_word_ngrams(self) -> None:
        vocab = self.vec.vocabulary_
        terms = sorted(vocab, key=vocab.get)
        split = [t.split(" ") for t in terms]
        self.token_id: dict[str, int] = {}
        for parts in split:
            for tok in parts:
                self.token_id.setdefault(tok, len(self.token_id))
        self.base = max(len(self.token_id), 1)
        if self.base ** self.max_n >= 2**62:
            raise ValueError("FastFeatures: vocabulary too large for integer n-gram keys")
        # unigram feature of each token id (-1: the token is only part of longer n-grams)
        self.unigram = np.full(len(self.token_id) + 1, -1, dtype=np.int64)  # last slot: unknown token
        import pandas as pd

        self.keys: dict[int, tuple[pd.Index, np.ndarray]] = {}  # n -> (hash index of n-gram keys, column ids)
        for n in range(max(self.min_n, 2), self.max_n + 1):
            idx = [vocab[t] for t, p in zip(terms, split, strict=True) if len(p) == n]
            ids = np.array([[self.token_id[x] for x in p] for p in split if len(p) == n], dtype=np.int64)
            self.keys[n] = (pd.Index(self.combine(ids.reshape(-1, n))), np.array(idx, dtype=np.int64))
        if self.min_n <= 1:
            for t, p in zip(terms, split, strict=True):
                if len(p) == 1:
                    self.unigram[self.token_id[t]] = vocab[t]

    def combine(self, ids: np.ndarray) -> np.ndarray:
        key = np.zeros(ids.shape[0], dtype=np.int64)
        for j in range(ids.shape[1]):
            key = key * self.base + ids[:, j]
        return key

    def tokens(self, chunks: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(tokens per chunk, token ids)`` of ``chunks`` (lower-cased as the vectorizer does); a token
        outside the vocabulary gets ``len(token_id)``."""
        per_chunk = list(map(self.findall, chunks))
        counts = np.fromiter(map(len, per_chunk), dtype=np.int64, count=len(per_chunk))
        flat = list(chain.from_iterable(per_chunk))
        ids = np.fromiter(map(self.token_id.get, flat, repeat(len(self.token_id))), dtype=np.int64,
                          count=len(flat))
        return counts, ids


class _Ragged:
    """Rows of int32 values in one growing flat array (``ptr[i]:ptr[i + 1]`` is row ``i``)."""

    def __init__(self):
        self.ptr = np.zeros(1, dtype=np.int32)
        self.flat = np.zeros(0, dtype=np.int32)

    @property
    def rows(self) -> int:
        return len(self.ptr) - 1

    def append(self, ptr: np.ndarray, flat: np.ndarray) -> None:
        size = int(self.ptr[-1])
        if size + len(flat) >= 2**31:
            raise ValueError("FastFeatures: chunk store over 2**31 values")
        if size + len(flat) > len(self.flat):
            grown = np.zeros(max(2 * len(self.flat), size + len(flat)), dtype=np.int32)
            grown[:size] = self.flat[:size]
            self.flat = grown
        self.flat[size:size + len(flat)] = flat
        self.ptr = np.concatenate([self.ptr, (size + ptr[1:]).astype(np.int32)])


def _take(ptr: np.ndarray, flat: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ptr, flat)`` of the ragged rows ``rows``, in that order."""
    lens = (ptr[rows + 1] - ptr[rows]).astype(np.int64)
    out = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lens, out=out[1:])
    return out, flat[np.repeat(ptr[rows] - out[:-1], lens) + np.arange(out[-1])]


_DOC_BREAK = "\x00\x07\x00"  # a chunk put between documents to split a whole batch at once


class FastFeatures:
    """``hstack`` of several fitted vectorizers' transforms (word and/or char_wb), computed together."""

    def __init__(self, vecs: list[TfidfVectorizer], cache_words: int = CACHE_WORDS):
        if not vecs or not all(supported(v) for v in vecs):
            raise ValueError("FastFeatures: unsupported vectorizer settings; keep sklearn's transform")
        self.blocks: list[_Block] = []
        offset = 0
        for vec in vecs:
            self.blocks.append(_Block(vec, offset))
            offset += self.blocks[-1].size
        self.n_features = offset
        if offset >= 2**31:
            raise ValueError("FastFeatures: too many features for int32 column ids")
        self.cache_words = cache_words
        self._sequenced = [b for b in self.blocks if not b.char and b.max_n >= 2]
        self._lock = threading.Lock()
        self._reset_store()
        self._dtype = vecs[0].dtype
        self._ones = np.ones(0, dtype=self._dtype)
        self._idf = np.concatenate([np.asarray(b.vec.idf_, dtype=np.float64) if b.vec.use_idf
                                    else np.ones(b.size) for b in self.blocks]).astype(self._dtype)
        self._starts = np.array([b.offset for b in self.blocks], dtype=np.int64)
        self._as_output = type(vecs[0].transform([""]))  # csr_matrix or csr_array, as sklearn returns
        self._by_block = None  # (coef, *its constant matrices) for linear()
        self._member = {}  # norm -> (features x blocks) indicator of the blocks with that norm
        self._prime()

    def _prime(self) -> None:
        """Analyse the word vocabulary's words (as written and capitalised) up front, up to half the store:
        most chunks of news text are such words, so the first batches find them ready (a worker process forked
        later inherits them). Exactness does not depend on it: any chunk is analysed when first met."""
        words = [t for b in self.blocks if not b.char for t in b.token_id]
        candidates = list(dict.fromkeys(chain.from_iterable((w, w.capitalize()) for w in words)))
        if candidates:
            self._chunk_rows([" ".join(candidates[: self.cache_words // 2])])

    def _reset_store(self) -> None:
        # analysed chunks: chunk -> row (a str -> int dict: the garbage collector need not walk it), and per
        # row the chunk's feature columns and, per word block with n >= 2, its token ids
        self._slot: dict[str, int] = {}
        self._cols = _Ragged()
        self._seqs = [_Ragged() for _ in self._sequenced]

    @property
    def cached_chunks(self) -> int:
        return self._cols.rows

    # -- public: features, or features times a coefficient matrix ----------------------------------------------
    def transform(self, docs) -> sp.spmatrix:
        parts = self._counts(docs)
        X = parts[0]
        for part in parts[1:]:
            X = (X + part).tocsr()  # the parts' columns are disjoint
        self._tf_idf(X)
        norms = self._norms([X])
        if len(self.blocks) == 1:
            scale = np.repeat(norms[:, 0], np.diff(X.indptr))
        else:
            block = np.searchsorted(self._starts, X.indices, side="right") - 1
            scale = norms[np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)), block]
        X.data = (X.data / scale).astype(self._dtype)
        return self._as_output(X)

    def linear(self, docs, coef: np.ndarray) -> np.ndarray:
        """``transform(docs) @ coef.T`` without building the normalised matrix.

        Two sparse products over the documents' tf values (counts after sublinear scaling) give everything: tf
        @ (idf x coef, spread so that block b fills columns b*C..) the per-block dot products, and tf^2 @ idf^2
        (l2) or tf @ idf (l1) per block the squared norms; the idf is folded into those constant matrices, the
        division by each block's norm happens on the (documents x classes) result."""
        parts = self._counts(docs)
        k, n_out = len(self.blocks), coef.shape[0]
        if self._by_block is None or self._by_block[0] is not coef:
            self._by_block = (coef, *self._linear_constants(coef))
        _, by_tf, by_tf2 = self._by_block
        n_docs = len(parts[0].indptr) - 1
        acc = np.zeros((n_docs, by_tf.shape[1]), dtype=np.float64)
        sq = np.zeros((n_docs, k), dtype=np.float64) if by_tf2 is not None else None
        for part in parts:
            self._tf(part)
            acc += part @ by_tf
            if sq is not None:
                part.data *= part.data
                sq += part @ by_tf2
        z = acc[:, :k * n_out].reshape(-1, k, n_out)
        norms = np.ones((n_docs, k), dtype=np.float64)
        for i, b in enumerate(self.blocks):
            if b.vec.norm == "l1":
                norms[:, i] = acc[:, k * n_out + i]
            elif b.vec.norm == "l2":
                norms[:, i] = np.sqrt(sq[:, i])
        norms[norms == 0.0] = 1.0
        return (z / norms[:, :, None]).sum(axis=1)

    def _linear_constants(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(by_tf, by_tf2)`` for :meth:`linear`: idf x coef with block b in columns b*C.., then one column per
        block with an l1 norm (its idf), if any; and idf^2 per block, if any block has an l2 norm (else None)."""
        k, n_out = len(self.blocks), coef.shape[0]
        idf = self._idf.astype(np.float64)
        norms = [b.vec.norm for b in self.blocks]
        by_tf = np.zeros((self.n_features, k * n_out + (k if "l1" in norms else 0)), dtype=self._dtype)
        by_tf2 = np.zeros((self.n_features, k), dtype=self._dtype) if "l2" in norms else None
        for i, b in enumerate(self.blocks):
            cols = slice(b.offset, b.offset + b.size)
            by_tf[cols, i * n_out:(i + 1) * n_out] = coef[:, cols].T * idf[cols, None]
            if b.vec.norm == "l1":
                by_tf[cols, k * n_out + i] = idf[cols]
            elif b.vec.norm == "l2":
                by_tf2[cols, i] = idf[cols] ** 2
        return by_tf, by_tf2

    # -- counts ------------------------------------------------------------------------------------------------
    def _counts(self, docs) -> list[sp.csr_matrix]:
        """Raw counts, as matrices with disjoint columns that add up to the documents' counts: the chunks' own
        features (char n-grams, word unigrams), then each word block's n-grams with n >= 2."""
        slots, lens, (ptr, flat, seqs, ones) = self._chunk_rows(list(docs))
        n_docs, rows = len(lens), len(ptr) - 1
        doc_ptr = np.zeros(n_docs + 1, dtype=np.int32)
        np.cumsum(lens, out=doc_ptr[1:])
        doc_chunks = sp.csr_matrix((ones[:len(slots)], slots, doc_ptr), shape=(n_docs, rows))
        chunk_feats = sp.csr_matrix((ones[:len(flat)], flat, ptr), shape=(rows, self.n_features))
        parts = [(doc_chunks @ chunk_feats).tocsr()]
        if self._sequenced:
            doc_of_chunk = np.repeat(np.arange(n_docs), lens)
            for block, (seq_ptr, seq_flat) in zip(self._sequenced, seqs, strict=True):
                found_rows, found_cols = self._word_ngrams(block, seq_ptr, seq_flat, slots, doc_of_chunk)
                parts.append(_count_pairs(found_rows, found_cols, n_docs, self.n_features, self._dtype))
        return parts

    def _chunk_rows(self, docs: list[str]):
        """Each document's white-space chunks as store rows (analysing new chunks), chunks per document, and
        the store as it is then: ``(ptr, flat, [(ptr, tokens), ...], ones)``. Thread-safe: the store changes
        under a lock, and only by appending past what a snapshot covers (or by starting new arrays)."""
        # split the raw text: each block lower-cases a chunk itself, and lower-casing never creates or removes
        # white space, so the chunks (and their n-grams and tokens) are exactly those of the whole document
        flat = f" {_DOC_BREAK} ".join(docs).split()
        codes, distinct = _factorize(flat)  # Python-level work below is per distinct chunk
        breaks = len(docs) - 1
        if _DOC_BREAK in distinct:
            at = np.flatnonzero(codes == distinct.index(_DOC_BREAK))
            breaks = len(at)
        if breaks != max(len(docs) - 1, 0):  # a document holds the break chunk itself: split one by one
            per_doc = list(map(str.split, docs))
            codes, distinct = _factorize(list(chain.from_iterable(per_doc)))
            lens = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(docs))
            keep = None
        elif len(docs) > 1:
            lens = np.diff(np.concatenate([[-1], at, [len(flat)]])) - 1
            keep = np.ones(len(codes), dtype=bool)
            keep[at] = False
        else:
            lens, keep = np.array([len(flat)] * len(docs), dtype=np.int64), None
        with self._lock:
            slot_of = np.fromiter(map(self._slot.get, distinct, repeat(-1)), dtype=np.int32, count=len(distinct))
            missing = np.flatnonzero(slot_of < 0)
            if len(missing) and self._cols.rows + len(missing) > self.cache_words and self._cols.rows:
                self._reset_store()  # full: start afresh with this batch's chunks
                slot_of[:] = -1
                missing = np.arange(len(distinct))
            if len(missing):
                new = [distinct[i] for i in missing]
                first = self._cols.rows
                self._slot.update(zip(new, range(first, first + len(new)), strict=True))
                (ptr, cols), seqs = self._analyse(new)
                self._cols.append(ptr, cols)
                for store, (p, t) in zip(self._seqs, seqs, strict=True):
                    store.append(p, t)
                slot_of[missing] = np.arange(first, first + len(new), dtype=np.int32)
            need = max(len(codes), int(self._cols.ptr[-1]))
            if len(self._ones) < need:
                self._ones = np.ones(2 * need, dtype=self._dtype)
            snapshot = (self._cols.ptr, self._cols.flat[:self._cols.ptr[-1]],
                        [(st.ptr, st.flat[:st.ptr[-1]]) for st in self._seqs], self._ones)
            if self._cols.rows > self.cache_words:  # one batch overfilled it: keep the bound for the next
                self._reset_store()
        slots = slot_of[codes]
        return (slots if keep is None else slots[keep]), lens, snapshot

    def _analyse(self, new: list[str]):
        joined = " ".join(new)  # lower-casing the join = lower-casing each chunk (white space bounds context)
        lowered = joined.lower().split(" ") if any(b.lowercase for b in self.blocks) else new
        parts, seqs = [], []
        for b in self.blocks:
            text = lowered if b.lowercase else new
            if b.char:  # the sklearn fallback lower-cases itself, so it gets the chunks as written
                parts.extend(b.char_grams(text) if b.keyed else [b._char_grams_sklearn(new)])
                continue
            counts, ids = b.tokens(text)
            owner = np.repeat(np.arange(len(new)), counts)
            uni = b.unigram[ids]
            keep = uni >= 0
            parts.append((owner[keep], uni[keep] + b.offset))
            if b.max_n >= 2:
                ptr = np.zeros(len(new) + 1, dtype=np.int64)
                np.cumsum(counts, out=ptr[1:])
                seqs.append((ptr, ids))
        return _interleave(parts, len(new)), seqs

    # -- word n-grams (n >= 2): on the documents' token-id sequences -------------------------------------------
    def _word_ngrams(self, block: _Block, tok_ptr: np.ndarray, toks: np.ndarray, codes: np.ndarray,
                     doc_of_chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(document, column id)`` of every word n-gram (n >= 2) in the vocabulary, in document order."""
        none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        if not len(codes) or not len(toks):
            return none
        ptr, ids = _take(tok_ptr, toks, codes)  # each chunk occurrence's tokens, in order
        ids = ids.astype(np.int64)
        doc_of = np.repeat(doc_of_chunk, np.diff(ptr))
        total, unknown = len(ids), len(block.token_id)
        found = []  # (position of the n-gram's first token, column)
        for n, (index, feats) in block.keys.items():
            m = total - n + 1
            if m <= 0 or len(feats) == 0:
                continue
            ok = doc_of[:m] == doc_of[n - 1:]
            key = np.zeros(m, dtype=np.int64)
            for j in range(n):
                part = ids[j:j + m]
                ok &= part != unknown
                key = key * block.base + part
            at = np.flatnonzero(ok)
            pos = index.get_indexer(key[at])
            hit = pos >= 0
            found.append((at[hit], feats[pos[hit]] + block.offset))
        if not found:
            return none
        at = np.concatenate([f[0] for f in found])
        cols = np.concatenate([f[1] for f in found])
        if len(found) > 1:
            order = np.argsort(at, kind="stable")
            at, cols = at[order], cols[order]
        return doc_of[at], cols

    # -- tf-idf weighting: TfidfTransformer.transform, per block ------------------------------------------------
    def _tf(self, X: sp.csr_matrix) -> None:
        """Counts -> tf (sublinear where the block says so), in place."""
        data = X.data
        sublinear = [b.vec.sublinear_tf for b in self.blocks]
        if all(sublinear):
            np.log(data, out=data)
            data += 1.0
        elif any(sublinear):
            sel = np.zeros(self.n_features, dtype=bool)
            for b, sub in zip(self.blocks, sublinear, strict=True):
                sel[b.offset:b.offset + b.size] = sub
            sel = sel[X.indices]
            data[sel] = np.log(data[sel]) + 1.0

    def _tf_idf(self, X: sp.csr_matrix) -> None:
        """Counts -> tf x idf, in place."""
        self._tf(X)
        X.data *= self._idf[X.indices]

    def _norms(self, parts: list[sp.csr_matrix]) -> np.ndarray:
        """Each row's norm per block over ``parts`` (documents x blocks); 1 for a block without a norm and for
        an empty row."""
        k = len(self.blocks)
        out = np.ones((parts[0].shape[0], k), dtype=np.float64)
        for norm in {b.vec.norm for b in self.blocks} - {None}:
            if norm not in self._member:
                member = np.zeros((self.n_features, k), dtype=np.float64)  # this norm's blocks
                for i, b in enumerate(self.blocks):
                    if b.vec.norm == norm:
                        member[b.offset:b.offset + b.size, i] = 1.0
                self._member[norm] = member
            member = self._member[norm]
            total = np.zeros_like(out)
            for X in parts:
                data = X.data.astype(np.float64)
                powered = sp.csr_matrix((data * data if norm == "l2" else np.abs(data), X.indices, X.indptr),
                                        shape=X.shape)
                total += powered @ member
            if norm == "l2":
                np.sqrt(total, out=total)
            used = member.any(axis=0)
            out[:, used] = np.where(total[:, used] == 0.0, 1.0, total[:, used])
        return out


def _count_pairs(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int, dtype) -> sp.csr_matrix:
    """CSR counts of ``(row, col)`` pairs given in row order; a row's columns in first-seen order."""
    import pandas as pd

    codes, uniq = pd.factorize(rows.astype(np.int64) * n_cols + cols)
    counts = np.bincount(codes, minlength=len(uniq)).astype(dtype)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(uniq // n_cols, minlength=n_rows), out=indptr[1:])
    return sp.csr_matrix((counts, uniq % n_cols, indptr), shape=(n_rows, n_cols))


def _interleave(parts: list[tuple[np.ndarray, np.ndarray]], n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge ``(row, value)`` lists, each sorted by row, into CSR ``(indptr, values)``: a row holds the first
    list's values, then the second's, ..., each in its own order (a counting placement, no sort)."""
    counts = [np.bincount(rows, minlength=n_rows) for rows, _ in parts]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(sum(counts) if counts else np.zeros(n_rows, dtype=np.int64), out=indptr[1:])
    out = np.empty(indptr[-1], dtype=np.int64)
    base = indptr[:-1].copy()
    for (rows, values), count in zip(parts, counts, strict=True):
        first = np.cumsum(count) - count  # where each row starts within this list
        out[base[rows] + np.arange(len(rows)) - first[rows]] = values
        base += count
    return indptr, out


class FastTfidf(FastFeatures):
    """One vectorizer: ``transform`` is fast; every other attribute is the vectorizer's own."""

    def __init__(self, vec: TfidfVectorizer, cache_words: int = CACHE_WORDS):
        if not supported(vec):
            raise ValueError("FastTfidf: unsupported vectorizer settings; keep sklearn's transform")
        self.vec = vec
        super().__init__([vec], cache_words)

    def __getattr__(self, name):  # only called for attributes this wrapper does not have
        return getattr(self.__dict__["vec"], name)


def _factorize(items: list[str]) -> tuple[np.ndarray, list[str]]:
    """``(codes, distinct)`` with ``distinct[codes[i]] == items[i]``, distinct in first-seen order (a C hash
    table: pandas; faster than a dict lookup per item)."""
    import pandas as pd

    if not items:
        return np.zeros(0, dtype=np.int64), []
    codes, distinct = pd.factorize(np.asarray(items, dtype=object))
    return codes, distinct.tolist()


def accelerate(model) -> int:
    """Swap fast transforms into a loaded TF-IDF model; return how many vectorizers now run fast.

    A text feature holder (``vectorizers_`` dict with a ``use_fast`` method, :class:`TextFeatures`) gets one
    :class:`FastFeatures` for all its vectorizers; other holders (pair features' per-side use) get a
    :class:`FastTfidf` per vectorizer. Looks at the model pipeline's steps and their ``text_`` part; anything
    else is left alone, so an unknown model simply keeps its own transform.
    """
    stages = [getattr(model, name, None) for name in ("related", "stance")]  # a two-stage model's parts
    swapped = sum(accelerate(stage) for stage in stages if stage is not None and stage is not model)
    pipeline = getattr(model, "pipeline_", None)
    steps = getattr(pipeline, "named_steps", {}) or {}
    for step in steps.values():
        holders = [step, getattr(step, "text_", None)]
        for holder in holders:
            vecs = getattr(holder, "vectorizers_", None)
            if not isinstance(vecs, dict):
                continue
            if holder is step and hasattr(holder, "use_fast") and vecs and all(map(supported, vecs.values())):
                holder.use_fast(FastFeatures(list(vecs.values())))
                swapped += len(vecs)
                continue
            for name, vec in vecs.items():
                if supported(vec):
                    vecs[name] = FastTfidf(vec)
                    swapped += 1
    return swapped
