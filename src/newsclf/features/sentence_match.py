"""(headline, body) features from frozen sentence embeddings: how, and where, the body meets the headline.

The body is split into sentences; headline and sentences are embedded once (:class:`SentenceEncoder`, cached by
string). For each pair, with ``c_i`` = cosine(headline, sentence i):

- scalars: max ``c``, mean of the ``top_k`` best, mean ``c``, ``c`` of the lead sentence, mean over the first
  three, relative position of the best sentence, log sentence count, cosine to the body's mean sentence, cosine
  to the attention summary ``v`` (below), the second-best ``c``;
- stance cues: refuting / hedging / negation word counts in the ``top_k`` best-matching sentences, the same per
  100 words of the whole body, the same in the headline, a question mark in the headline / in the best sentences;
- vectors: ``h * v`` and ``|h - v|``, where ``v`` is the softmax(``c`` / ``attention_temperature``)-weighted
  mean of the sentence vectors (mostly the best-matching sentence), re-normalised.

Sentence vectors describe what a sentence says, not which words a training claim used, so these features carry
over to new topics better than TF-IDF vocabularies (BENCHMARKS.md "Stance").
"""

from __future__ import annotations

import numpy as np

from newsclf.features.embeddings import SentenceEncoder, split_sentences
from newsclf.features.tfidf import HEDGING, REFUTING, _tokens

NEGATION = frozenset(("not", "no", "never", "none", "nothing", "neither", "nor", "without"))
_REF, _HEDGE = frozenset(REFUTING), frozenset(HEDGING)
N_SCALARS = 21  # 10 similarity scalars + 11 cue features


def _cues(tokens: list[str]) -> list[float]:
    return [float(sum(t in _REF for t in tokens)), float(sum(t in _HEDGE for t in tokens)),
            float(sum(t in NEGATION for t in tokens))]


class SentenceMatch:
    """Pairs -> (scalars ``[n, 21]``, vectors ``[n, 2 * dim]``), float32. Holds no fitted state."""

    def __init__(self, encoder: SentenceEncoder, max_sentences: int = 60, top_k: int = 3,
                 attention_temperature: float = 0.05):
        self.encoder, self.max_sentences = encoder, int(max_sentences)
        self.top_k, self.attention_temperature = int(top_k), float(attention_temperature)

    def transform(self, pairs: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        pairs = list(pairs)
        sentences = {b: split_sentences(b, self.max_sentences) for b in {b for _, b in pairs}}
        # every distinct headline and sentence goes through the encoder once (it caches by string)
        self.encoder.encode(sorted({h for h, _ in pairs} | {s for sents in sentences.values() for s in sents}))
        body_tokens = {b: _tokens(b) for b in sentences}
        scalars = np.zeros((len(pairs), N_SCALARS), dtype=np.float32)
        vectors = np.zeros((len(pairs), 2 * self.encoder.dim), dtype=np.float32)
        matrices: dict[str, np.ndarray] = {}
        for n, (h, b) in enumerate(pairs):
            if b not in matrices:
                matrices[b] = self.encoder.encode(sentences[b] or [""])
            scalars[n], vectors[n] = self._pair(h, sentences[b] or [""], matrices[b], body_tokens[b])
        return scalars, vectors

    def _pair(self, headline: str, sents: list[str], S: np.ndarray, body_tokens: list[str]):
        h = self.encoder.encode([headline])[0]
        c = S @ h
        order = np.argsort(-c, kind="stable")
        w = np.exp((c - c.max()) / self.attention_temperature)
        v = (w / w.sum()) @ S
        v = v / (np.linalg.norm(v) + 1e-9)
        mean = S.mean(axis=0)
        mean = mean / (np.linalg.norm(mean) + 1e-9)
        best = [sents[i] for i in order[: self.top_k]]
        top_tokens = _tokens(" ".join(best))
        second = np.sort(c)[-2] if len(c) > 1 else c.max()
        sims = [c.max(), c[order[: self.top_k]].mean(), c.mean(), c[0], c[:3].mean(), order[0] / len(c),
                np.log1p(len(c)), float(h @ mean), float(h @ v), second]
        per_100 = [x / max(len(body_tokens), 1) * 100 for x in _cues(body_tokens)]
        cues = [*_cues(top_tokens), *per_100, *_cues(_tokens(headline)), float(headline.strip().endswith("?")),
                float("?" in " ".join(best))]
        return np.array(sims + cues, dtype=np.float32), np.concatenate([h * v, np.abs(h - v)])
