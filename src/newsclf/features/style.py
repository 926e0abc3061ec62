"""Writing-style features of a marker-free text (``title\\nbody``), for the syndication task.

Wire copy and staff copy differ less in *what* they report than in *how*: agency copy has long sentences, "said
on Tuesday", "told reporters", "per cent"; NDTV's staff copy says "Mr Sidhu", "tweeted", "told NDTV", asks
questions. Two views of that, both computed from the model input only (footers, credits and datelines are
gone before this module sees the text, so injecting one cannot change a feature):

- :data:`PATTERNS` / :func:`style_vector`: a table of named regular expressions (each counted per 100 body
  words and as present / absent) plus sentence, word and title statistics: :data:`STYLE_NAMES` names every
  column. Each table row carries a text it must count and one it must not (the unit tests iterate over them).
- :func:`mask_content_words`: the text with every content word replaced by its shape (``C`` capitalised,
  ``w`` lower case, ``D`` a number) and function words, reporting words and punctuation kept, so n-grams of it
  ("C said on C", "Mr C tweeted") see the syntax of a story, not its topic.

:class:`StyleFeatures` stacks word TF-IDF, masked-text TF-IDF and the standardised style vector (each block
scaled by a weight) into one sparse matrix; its state is JSON + arrays, never a pickle.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from newsclf.errors import NewsclfError
from newsclf.features.tfidf import TextFeatures, _vectorizer_from_state, _vectorizer_state

_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"


class Pattern(NamedTuple):
    name: str
    regex: str
    matches: str  # a text the row counts (at least once)
    ignores: str  # a text it does not count


PATTERNS: tuple[Pattern, ...] = (
    # reporting formulas of agency copy
    Pattern("said_on_day", rf"\bsaid on {_DAY}\b", "The minister said on Tuesday that", "He said Tuesday's vote"),
    Pattern("on_day", rf"\bon {_DAY}\b", "talks on Friday", "talks on Fridays"),
    Pattern("day_any", rf"\b{_DAY}\b", "Sunday's match", "a sunday paper"),
    Pattern("told_reporters", r"\btold reporters\b", "he told reporters.", "he told the reporters"),
    Pattern("said_here", rf"\b(?:said|told \w+) here\b|\bhere on {_DAY}\b",
            "the official said here.", "he said there"),
    Pattern("officials_said", r"\bofficials? said\b", "officials said the", "officials say"),
    Pattern("according_to", r"\baccording to\b", "according to the police", "accordingly"),
    Pattern("pronoun_said", r"\b(?:he|she|they|it) said\b", '"Yes," she said.', "He said."),
    Pattern("said", r"\bsaid\b", "she said", "unsaid"),
    Pattern("says", r"\bsays\b", "she says", "Says"),
    Pattern("told", r"\btold\b", "told PTI", "untold"),
    Pattern("added", r"\badded\b", "he added", "value-addedness"),
    Pattern("reported", r"\breported\b|\breport said\b", "the report said", "reporter"),
    Pattern("statement", r"\bin a statement\b|\bstatement said\b", "said in a statement", "statements"),
    Pattern("sources", r"\bsources\b", "sources said", "source"),
    # house style of NDTV's own reporting
    Pattern("honorific", r"\b(?:Mr|Ms|Mrs|Dr)\b", "Mr Sidhu said", "Mrinal said"),
    Pattern("ndtv", r"\bNDTV\b", "told NDTV on", "ndtvs"),
    Pattern("tweet", r"\btweet(?:ed|s)?\b|\bTwitter\b", "he tweeted", "tweety"),
    Pattern("handle", r"@\w+", "(@narendramodi)", "mail at home"),
    Pattern("pic_twitter", r"pic\.twitter\.com", "pic.twitter.com/abc", "twitter dot com"),
    Pattern("also_read", r"\bAlso [Rr]ead\b|\bRead [Mm]ore\b", "Also Read: x", "also reading"),
    Pattern("watch_video", r"\b[Ww]atch\b|\bvideo\b", "Watch the video", "watchdog"),
    Pattern("agency_india", r"\b(?:PTI|ANI|IANS)\b", "told PTI", "PTIs"),
    Pattern("agency_world", r"\b(?:Reuters|AFP|AP|Associated Press|Bloomberg|Xinhua)\b", "told Reuters", "APT"),
    # numbers and their formatting
    Pattern("per_cent", r"\bper cent\b", "5 per cent", "percent"),
    Pattern("percent", r"\bpercent\b", "5 percent", "per cent"),
    Pattern("percent_sign", r"%", "5%", "5 pc"),
    Pattern("rupee_sign", r"₹", "₹ 5 crore", "Rs 5 crore"),
    Pattern("rs", r"\bRs\.?\s?\d", "Rs 5 crore", "Rsvp 5"),
    Pattern("crore_lakh", r"\b(?:crore|lakh)s?\b", "5 lakh", "lakhani"),
    Pattern("million_billion", r"\b(?:million|billion)\b", "5 million", "millionaire"),
    Pattern("dollar", r"\$", "$5", "USD 5"),
    Pattern("month_abbr", r"\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.? \d{1,2}\b", "on Oct 5", "October"),
    Pattern("month_day", rf"\b{_MONTH} \d{{1,2}}\b", "on October 5", "in October"),
    Pattern("number", r"\b\d[\d,.]*\b", "5,000 people", "five people"),
    Pattern("year", r"\b(?:19|20)\d\d\b", "in 2021", "in 3021"),
    Pattern("clock_time", r"\b\d{1,2}(?::\d\d)?\s?(?:am|pm|a\.m\.|p\.m\.)", "at 5 pm", "at 5"),
    # voice and punctuation
    Pattern("first_person", r"\b(?:I|we|We|our|Our|my|My)\b", "I think", "it"),
    Pattern("you", r"\b[Yy]ou\b", "you know", "young"),
    Pattern("question", r"\?", "Why?", "Why."),
    Pattern("exclamation", r"!", "Wow!", "Wow."),
    Pattern("double_quote", r'["“”]', '"Yes"', "'Yes'"),
    Pattern("single_quoted_phrase", r"(?:^|\s)'[^'\n]{3,60}'", "the 'Status of vaccines' list", "it's Ram's"),
    Pattern("parenthesis", r"\(", "(CRPF)", "CRPF"),
    Pattern("acronym_in_parens", r"\([A-Z]{2,}\)", "(CRPF)", "(Crpf)"),
    Pattern("spaced_dash", r" [-–—] ", "Sidhu - whose", "well-known"),
    Pattern("colon", r":", "said:", "said"),
    Pattern("semicolon", r";", "a; b", "a, b"),
    Pattern("acronym", r"\b[A-Z]{2,}\b", "the BJP", "the Bjp"),
    # connectives and function words
    Pattern("earlier", r"\b[Ee]arlier\b", "Earlier, he", "early"),
    Pattern("however", r"\b[Hh]owever\b", "However, he", "how ever"),
    Pattern("meanwhile", r"\b[Mm]eanwhile\b", "Meanwhile, the", "mean while"),
    Pattern("also", r"\balso\b", "he also said", "Also"),
    Pattern("the", r"\b[Tt]he\b", "the man", "then"),
    Pattern("which", r"\bwhich\b", "which is", "witch"),
    Pattern("that", r"\bthat\b", "said that", "than"),
    Pattern("would", r"\bwould\b", "it would", "wood"),
    Pattern("has_have", r"\b(?:has|have)\b", "has been", "hash"),
    Pattern("was_were", r"\b(?:was|were)\b", "was held", "wash"),
    Pattern("will", r"\bwill\b", "will be", "willing"),
    Pattern("is_are", r"\b(?:is|are)\b", "it is", "isle"),
    Pattern("amid", r"\bamid\b", "amid protests", "amidst"),
    Pattern("over", r"\bover\b", "over the issue", "overall"),
    Pattern("today", r"\btoday\b", "said today", "todays"),
)
_COMPILED = tuple(re.compile(p.regex) for p in PATTERNS)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’]))\s+(?=[\"“A-Z0-9])")
_TITLE_QUOTE = re.compile(r"[\"“”']")
_TITLE_SAYS = re.compile(r"\b(?:Says|Said)\b")
_TITLE_REPORT = re.compile(r"\bReport\b")
_DIGIT = re.compile(r"\d")
_FIRST_SAID = re.compile(r"\bsaid\b")
_FIRST_DAY = re.compile(rf"\b{_DAY}\b")
_FIRST_TODAY = re.compile(r"\btoday\b")

TEXT_STATS = ("log_words", "log_chars", "log_sentences", "sentence_words_mean", "sentence_words_std",
              "sentence_words_median", "long_sentence_share", "short_sentence_share", "word_length_mean",
              "capitalised_word_share", "quoted_sentence_share", "quote_ending_sentence_share")
TITLE_STATS = ("title_words", "title_chars", "title_colon", "title_quote", "title_question", "title_digit",
               "title_says", "title_capitalised_share", "title_report")
LEAD_STATS = ("lead_words", "lead_said", "lead_weekday", "lead_today")
STYLE_NAMES: tuple[str, ...] = (TEXT_STATS + TITLE_STATS
                                + tuple(f"{p.name}{s}" for p in PATTERNS for s in ("_per_100_words", "_present"))
                                + LEAD_STATS)


def sentences(body: str) -> list[str]:
    """Sentences of a body: split after ``.``/``!``/``?`` (and a closing quote) before a capital, digit or quote."""
    return [s for s in _SENTENCE_END.split(body) if s.strip()]


@lru_cache(maxsize=8192)  # CV and calibration look at the same texts again; the tuple is immutable
def _style_tuple(text: str) -> tuple[float, ...]:
    title, _, body = text.partition("\n")
    if not body:  # no title line: the whole text is the body
        title, body = "", title
    words = _WORD.findall(body)
    n = max(len(words), 1)
    sents = sentences(body)
    lengths = np.array([len(_WORD.findall(s)) for s in sents] or [0], dtype=np.float64)
    n_sents = max(len(sents), 1)
    title_words = _WORD.findall(title)
    out = [np.log1p(len(words)), np.log1p(len(body)), np.log1p(len(sents)), lengths.mean(), lengths.std(),
           float(np.median(lengths)), float((lengths > 35).mean()), float((lengths < 12).mean()),
           float(np.mean([len(w) for w in words])) if words else 0.0,
           sum(w[0].isupper() for w in words) / n,
           sum('"' in s or "“" in s for s in sents) / n_sents,
           sum(s.rstrip().endswith(('"', "”")) for s in sents) / n_sents,
           float(len(title_words)), float(len(title)), float(":" in title), float(bool(_TITLE_QUOTE.search(title))),
           float(title.rstrip().endswith("?")), float(bool(_DIGIT.search(title))),
           float(bool(_TITLE_SAYS.search(title))),
           sum(w[0].isupper() for w in title_words) / max(len(title_words), 1),
           float(bool(_TITLE_REPORT.search(title)))]
    for rx in _COMPILED:
        count = len(rx.findall(body))
        out += [100.0 * count / n, float(count > 0)]
    lead = sents[0] if sents else ""
    out += [float(len(_WORD.findall(lead))), float(bool(_FIRST_SAID.search(lead))),
            float(bool(_FIRST_DAY.search(lead))), float(bool(_FIRST_TODAY.search(lead)))]
    return tuple(float(v) for v in out)


def style_vector(text: str) -> np.ndarray:
    """The style features of one model input (``title\\nbody``), in :data:`STYLE_NAMES` order."""
    return np.array(_style_tuple(text), dtype=np.float64)


def style_matrix(texts) -> np.ndarray:
    return np.array([_style_tuple(t) for t in texts], dtype=np.float64).reshape(len(texts), len(STYLE_NAMES))


# --------------------------------------------------------------------------------------------- masked text
# words whose choice is style, not topic: English stop words plus reporting / attribution / number words
FUNCTION_WORDS = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    "said says told added according mr ms dr monday tuesday wednesday thursday friday saturday sunday today "
    "yesterday reporters officials official ndtv pti ani ians reuters afp tweeted tweet statement per cent percent "
    "crore lakh million billion reported report sources earlier however meanwhile amid here asked claimed stated "
    "alleged allegedly reportedly watch video also read".split())
_MASK_TOKEN = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")
_PUNCT = {'"': "Q", "“": "Q", "”": "Q", "'": "A", "’": "A", ".": "P", ",": "M", "?": "QM", "!": "EX", "(": "LP",
          ")": "RP", "-": "H", ":": "CO", ";": "SC", "₹": "RUP", "%": "PCT", "$": "DOL"}


def mask_content_words(text: str) -> str:
    """Function words (lower-cased) and punctuation kept, every other word replaced by its shape.

    >>> mask_content_words('Mr Sidhu said on Tuesday: "We won 5 seats."')
    'mr C said on tuesday CO Q we w D w P Q'
    """
    out = []
    for tok in _MASK_TOKEN.findall(text):
        low = tok.lower()
        if low in FUNCTION_WORDS:
            out.append(low)
        elif tok[0].isdigit():
            out.append("D")
        elif tok[0].isalpha():
            out.append("C" if tok[0].isupper() else "w")
        else:
            out.append(_PUNCT.get(tok, "O"))
    return " ".join(out)


# --------------------------------------------------------------------------------------------- transformer
class StyleFeatures(BaseEstimator, TransformerMixin):
    """``[word_weight * word TF-IDF | masked_weight * masked-text TF-IDF | style_weight * style / sqrt(d)]``.

    The style block is standardised with the training mean / scale and divided by ``sqrt(d)`` so that its row
    norm is about 1, like a TF-IDF block's, before its weight; a weight of 0 leaves a block out.
    """

    def __init__(self, word_ngram_range=(1, 2), word_weight=1.0, masked_ngram_range=(1, 3), masked_min_df=2,
                 masked_weight=1.0, style_weight=0.5, sublinear_tf=True):
        self.word_ngram_range = word_ngram_range
        self.word_weight = word_weight
        self.masked_ngram_range = masked_ngram_range
        self.masked_min_df = masked_min_df
        self.masked_weight = masked_weight
        self.style_weight = style_weight
        self.sublinear_tf = sublinear_tf

    def _masked_vectorizer(self, **kwargs) -> TfidfVectorizer:
        return TfidfVectorizer(ngram_range=tuple(self.masked_ngram_range), token_pattern=r"\S+", lowercase=False,
                               sublinear_tf=self.sublinear_tf, dtype=np.float32, **kwargs)

    def fit(self, X, y=None):
        X = list(X)
        if not any((self.word_weight, self.masked_weight, self.style_weight)):
            raise NewsclfError("model: word_weight, masked_weight and style_weight are all 0: no features left")
        self.words_ = (TextFeatures(tuple(self.word_ngram_range), None, sublinear_tf=self.sublinear_tf).fit(X)
                       if self.word_weight else None)
        self.masked_ = (self._masked_vectorizer(min_df=self.masked_min_df).fit([mask_content_words(x) for x in X])
                        if self.masked_weight else None)
        if self.style_weight:
            S = style_matrix(X)
            self.style_mean_ = S.mean(axis=0)
            scale = S.std(axis=0)
            self.style_scale_ = np.where(scale > 0, scale, 1.0)  # a constant column stays 0
        return self

    def transform(self, X):
        X = list(X)
        blocks = []
        if self.word_weight:
            blocks.append(self.word_weight * self.words_.transform(X))
        if self.masked_weight:
            blocks.append(self.masked_weight * self.masked_.transform([mask_content_words(x) for x in X]))
        if self.style_weight:
            S = (style_matrix(X) - self.style_mean_) / self.style_scale_
            blocks.append(sp.csr_matrix((self.style_weight / np.sqrt(S.shape[1])) * S, dtype=np.float32))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    # -- state: JSON + arrays --------------------------------------------------------------------------------
    def get_state(self) -> tuple[dict, dict]:
        meta: dict = {"style_names": list(STYLE_NAMES)}
        arrays: dict = {}
        if self.words_ is not None:
            meta["words"], a = self.words_.get_state()
            arrays.update({f"words.{k}": v for k, v in a.items()})
        if self.masked_ is not None:
            meta["masked"], a = _vectorizer_state(self.masked_, "masked")
            meta["masked"]["params"]["token_pattern"] = self.masked_.token_pattern  # not among the shared keys
            arrays.update(a)
        if self.style_weight:
            arrays["style.mean"], arrays["style.scale"] = self.style_mean_, self.style_scale_
        return meta, arrays

    def set_state(self, meta: dict, arrays: dict) -> StyleFeatures:
        if meta.get("style_names") != list(STYLE_NAMES):
            raise NewsclfError("the checkpoint's style features differ from this newsclf's (STYLE_NAMES changed); "
                               "retrain the model")
        words = {k[len("words."):]: v for k, v in arrays.items() if k.startswith("words.")}
        self.words_ = (TextFeatures(tuple(self.word_ngram_range), None).set_state(meta["words"], words)
                       if "words" in meta else None)
        self.masked_ = _vectorizer_from_state(meta["masked"], arrays, "masked") if "masked" in meta else None
        if self.style_weight:
            self.style_mean_, self.style_scale_ = arrays["style.mean"], arrays["style.scale"]
        return self
