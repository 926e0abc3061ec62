"""Tokenization for transformers: single texts and (headline, body) pairs, with head or head+tail truncation.

Long news bodies exceed any ``max_length`` we can afford on CPU. ``head`` keeps the first tokens (what
``tokenizer(..., truncation=True)`` does); ``head_tail`` keeps the first ``head_fraction`` of the budget and
the rest from the end of the text (Sun et al. 2019, "How to Fine-Tune BERT for Text Classification?": first
128 + last 382 tokens was best for long documents), so conclusions and denials late in a body survive.

Transformers 5 fast tokenizers no longer expose ``build_inputs_with_special_tokens``, so the special-token
layout (``[CLS] a [SEP] b [SEP]``, ``<s> a </s></s> b </s>``, ...) is read once from the tokenizer itself by
encoding a probe pair (:class:`SpecialTemplate`). Each distinct string is tokenized once (FNC-1 has 40k
pairs over 1.7k bodies).
"""

from __future__ import annotations

from dataclasses import dataclass

from newsclf.errors import NewsclfError

TRUNCATIONS = ("head", "head_tail")
_PROBE_A, _PROBE_B = "alpha", "beta"


@dataclass(frozen=True)
class SpecialTemplate:
    """Special tokens and token types around one or two segments, as the tokenizer itself lays them out."""

    single: tuple[tuple[int, ...], tuple[int, ...]]  # (prefix, suffix) around a single segment
    pair: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]  # prefix, middle, suffix
    types: tuple[int, int]  # token type of segment a (with prefix + middle) and of segment b (with suffix)

    @classmethod
    def probe(cls, tokenizer) -> SpecialTemplate:
        a = tokenizer(_PROBE_A, add_special_tokens=False)["input_ids"]
        b = tokenizer(_PROBE_B, add_special_tokens=False)["input_ids"]
        one = tokenizer(_PROBE_A)["input_ids"]
        two = tokenizer(_PROBE_A, _PROBE_B)
        i = _find(one, a)
        single = (tuple(one[:i]), tuple(one[i + len(a):]))
        ids = two["input_ids"]
        ia = _find(ids, a)
        ib = _find(ids, b, start=ia + len(a))
        pair = (tuple(ids[:ia]), tuple(ids[ia + len(a):ib]), tuple(ids[ib + len(b):]))
        tt = two.get("token_type_ids") or [0] * len(ids)
        return cls(single=single, pair=pair, types=(int(tt[ia]), int(tt[ib])))

    def n_special(self, pair: bool) -> int:
        return sum(map(len, self.pair)) if pair else sum(map(len, self.single))

    def build(self, a: list[int], b: list[int] | None = None) -> tuple[list[int], list[int]]:
        """``(input_ids, token_type_ids)`` for one segment or a pair."""
        if b is None:
            ids = [*self.single[0], *a, *self.single[1]]
            return ids, [self.types[0]] * len(ids)
        pre, mid, suf = self.pair
        first = [*pre, *a, *mid]
        second = [*b, *suf]
        return first + second, [self.types[0]] * len(first) + [self.types[1]] * len(second)


def _find(seq: list[int], sub: list[int], start: int = 0) -> int:
    for i in range(start, len(seq) - len(sub) + 1):
        if seq[i:i + len(sub)] == sub:
            return i
    raise NewsclfError("tokenizer: cannot locate the probe text in its own encoding; unsupported tokenizer")


def truncate(ids: list[int], budget: int, strategy: str = "head", head_fraction: float = 0.25) -> list[int]:
    """Keep at most ``budget`` tokens: the first ones (``head``) or the first and last ones (``head_tail``)."""
    if len(ids) <= budget:
        return ids
    if budget <= 0:
        return []
    if strategy == "head":
        return ids[:budget]
    n_head = int(round(budget * head_fraction))
    n_tail = budget - n_head
    return ids[:n_head] + (ids[-n_tail:] if n_tail else [])


class PairEncoder:
    """Encode texts or (headline, body) pairs into ``input_ids`` / ``token_type_ids`` lists (no padding)."""

    def __init__(self, tokenizer, max_length: int, truncation: str = "head_tail", head_fraction: float = 0.25):
        if truncation not in TRUNCATIONS:
            raise NewsclfError(f"model.truncation: expected one of {TRUNCATIONS}, found {truncation!r}")
        if not 0.0 <= float(head_fraction) <= 1.0:
            raise NewsclfError(f"model.head_fraction: expected a number in [0, 1], found {head_fraction!r}")
        self.tokenizer = tokenizer
        self.template = SpecialTemplate.probe(tokenizer)
        self.max_length = int(max_length)
        if self.max_length <= self.template.n_special(pair=True) + 2:
            raise NewsclfError(f"model.max_length: expected more than {self.template.n_special(True) + 2}, "
                               f"found {max_length}")
        self.truncation = truncation
        self.head_fraction = float(head_fraction)

    def _ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, tokenizing each distinct string once."""
        unique = list(dict.fromkeys(texts))
        encoded = self.tokenizer(unique, add_special_tokens=False)["input_ids"] if unique else []
        table = dict(zip(unique, encoded, strict=True))
        return [table[t] for t in texts]

    def _single(self, ids: list[int]):
        budget = self.max_length - self.template.n_special(pair=False)
        return self.template.build(truncate(ids, budget, self.truncation, self.head_fraction))

    def _pair(self, a: list[int], b: list[int]):
        budget = self.max_length - self.template.n_special(pair=True)
        # the headline keeps its head, within half the budget when both sides are long; the body gets the rest
        a = truncate(a, max(budget // 2, budget - len(b)), "head")
        b = truncate(b, budget - len(a), self.truncation, self.head_fraction)
        return self.template.build(a, b)

    def encode(self, X) -> dict[str, list[list[int]]]:
        """``{"input_ids": [...], "token_type_ids": [...]}`` for a list of texts or of (headline, body) pairs."""
        X = list(X)
        pairs = bool(X) and isinstance(X[0], (tuple, list))
        if pairs:
            firsts, seconds = self._ids([x[0] for x in X]), self._ids([x[1] for x in X])
            built = [self._pair(a, b) for a, b in zip(firsts, seconds, strict=True)]
        else:
            built = [self._single(ids) for ids in self._ids([str(x) for x in X])]
        return {"input_ids": [b[0] for b in built], "token_type_ids": [b[1] for b in built]}
