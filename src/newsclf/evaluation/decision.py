"""How a label is chosen from calibrated probabilities (``task.decision``).

``argmax``
    The most probable label: what maximises expected accuracy. The default for every task.
``fnc``
    The label with the highest *expected FNC-1 score* under the probabilities. FNC-1 pays 0.25 for a correct
    related / unrelated call and a further 0.75 for the exact related label, so missing a related pair costs
    four times a false "related". With ``p_u = P(unrelated)`` and ``p_c`` a related label's probability::

        E[score | unrelated] = 0.25 p_u
        E[score | c]         = 0.25 (1 - p_u) + 0.75 p_c

    Among the related labels this is still the most probable one; a pair is called related whenever its best
    related label's expected score beats 0.25 p_u, i.e. sometimes when ``unrelated`` is the most probable label.
    The reported ``scores`` stay the calibrated probabilities; only ``label`` follows the rule.

A rule is a utility matrix ``U[gold, predicted]``; the label is ``argmax_k sum_g P(g) U[g, k]``. The rule is
recorded in the checkpoint (``manifest.task.decision``), so evaluate, predict and serve apply the one it was
trained and measured with.

New claims (``task.new_claim_weights``, pair tasks)
    Label weights for the pairs whose claim (the first text: FNC-1's headline) never occurs in the training data.
    Among the pairs the rule calls related, such a pair's label becomes ``argmax_c w_c P(c)`` over the related
    labels (a label without a weight weighs 1); pairs with a known claim, and the related / unrelated call, are
    left as the rule has them. Why: a model that has seen a claim's other pairs in training is sure of its
    `disagree` pairs, one facing a new claim is shy of them (BENCHMARKS.md "Class weights at decision time").
    The training claims are kept as hashes (:func:`claim_key`) in the checkpoint (``seen_claims.json``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from newsclf.errors import NewsclfError
from newsclf.evaluation.metrics import FNC_RELATED, FNC_UNRELATED

DECISIONS = ("argmax", "fnc")


def check_decision(rule, labels: Sequence[str], where: str = "task.decision") -> str:
    """``rule`` if it is known and fits ``labels``, else a one-line error naming ``where``."""
    if rule not in DECISIONS:
        raise NewsclfError(f"{where}: expected one of {DECISIONS}, found {rule!r}")
    if rule == "fnc":
        labels = list(labels)
        unknown = [v for v in labels if v != FNC_UNRELATED and v not in FNC_RELATED]
        if FNC_UNRELATED not in labels or unknown or len(labels) < 2:
            raise NewsclfError(f"{where}: 'fnc' needs FNC-1 labels ({FNC_UNRELATED!r} and some of "
                               f"{list(FNC_RELATED)}), found {labels}")
    return rule


def utility(rule: str, labels: Sequence[str]) -> np.ndarray:
    """``U[gold, predicted]``: what a prediction earns per pair under ``rule``."""
    check_decision(rule, labels)
    labels = list(labels)
    if rule == "argmax":
        return np.eye(len(labels))
    related = np.array([v != FNC_UNRELATED for v in labels])
    u = 0.25 * np.outer(related, related) + 0.75 * np.eye(len(labels)) * related[:, None]
    u[labels.index(FNC_UNRELATED), labels.index(FNC_UNRELATED)] = 0.25
    return u


def decide_indices(probs: np.ndarray, labels: Sequence[str], rule: str = "argmax") -> np.ndarray:
    """The chosen label's index per row of ``probs`` (rows: examples, columns: ``labels``)."""
    probs = np.asarray(probs, dtype=np.float64)
    if rule == "argmax":
        return probs.argmax(axis=1)
    return (probs @ utility(rule, labels)).argmax(axis=1)


def decide(probs: np.ndarray, labels: Sequence[str], rule: str = "argmax") -> list[str]:
    """The chosen label per row of ``probs``."""
    return [labels[i] for i in decide_indices(probs, labels, rule)]


def weigh_related(probs: np.ndarray, labels: Sequence[str], chosen: np.ndarray, weights: Mapping[str, float],
                  rows: np.ndarray | None = None) -> np.ndarray:
    """``chosen`` (label indices) with every related call, among ``rows`` (a mask; None: all), replaced by the
    related label with the largest ``weights[c] * P(c)`` (a label missing from ``weights`` weighs 1); unrelated
    calls stay as they are."""
    labels = list(labels)
    w = np.array([0.0 if v == FNC_UNRELATED else float(weights.get(v, 1.0)) for v in labels])
    target = chosen != labels.index(FNC_UNRELATED)
    if rows is not None:
        target &= rows
    out = chosen.copy()
    out[target] = (np.asarray(probs, dtype=np.float64)[target] * w).argmax(axis=1)
    return out


def claim_key(claim: str | None) -> str:
    """A claim's identity: the sha256 (first 16 hex digits) of its case-folded, whitespace-collapsed text."""
    return hashlib.sha256(" ".join((claim or "").casefold().split()).encode("utf-8")).hexdigest()[:16]


def check_claim_weights(weights, labels: Sequence[str], where: str = "task.new_claim_weights") -> dict[str, float]:
    """``weights`` as ``{related label: positive float}`` ({} for none), else a one-line error naming ``where``."""
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise NewsclfError(f"{where}: expected a mapping of label to weight (e.g. {{disagree: 1.5}}) or null, "
                           f"found {weights!r}")
    if weights and FNC_UNRELATED not in labels:
        raise NewsclfError(f"{where}: weights among related labels need FNC-1 labels ({FNC_UNRELATED!r} and "
                           f"some of {list(FNC_RELATED)}), found {list(labels)}")
    out = {}
    for label, w in weights.items():
        if label not in labels or label == FNC_UNRELATED:
            raise NewsclfError(f"{where}: {label!r} is not a related label; expected some of "
                               f"{[v for v in labels if v != FNC_UNRELATED]}")
        if isinstance(w, bool) or not isinstance(w, int | float) or not w > 0:
            raise NewsclfError(f"{where}.{label}: expected a positive number, found {w!r}")
        out[str(label)] = float(w)
    return out


@dataclass(frozen=True)
class Decider:
    """How one checkpoint picks labels: the rule (``task.decision``) and, for pairs with a claim that training
    never saw, the related-label weights (``task.new_claim_weights``, with the hashes of the training claims)."""

    labels: tuple[str, ...]
    rule: str = "argmax"
    new_claim_weights: dict[str, float] = field(default_factory=dict)
    seen_claims: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        check_decision(self.rule, self.labels)
        object.__setattr__(self, "new_claim_weights", check_claim_weights(self.new_claim_weights, self.labels))

    @property
    def needs_claims(self) -> bool:
        return bool(self.new_claim_weights)

    def new_claims(self, claims: Sequence[str | None]) -> np.ndarray:
        """Per pair: True when its claim is not among the training claims."""
        return np.fromiter((claim_key(c) not in self.seen_claims for c in claims), dtype=bool, count=len(claims))

    def indices(self, probs: np.ndarray, claims: Sequence[str | None] | None = None) -> np.ndarray:
        """The chosen label's index per row of ``probs``; ``claims`` (one per row) when weights are set."""
        chosen = decide_indices(probs, self.labels, self.rule)
        if not self.needs_claims:
            return chosen
        if claims is None or len(claims) != len(chosen):
            raise NewsclfError(f"task.new_claim_weights needs the claim of every pair ({len(chosen)}), "
                               f"found {None if claims is None else len(claims)}")
        return weigh_related(probs, self.labels, chosen, self.new_claim_weights, self.new_claims(claims))

    def decide(self, probs: np.ndarray, claims: Sequence[str | None] | None = None) -> list[str]:
        return [self.labels[i] for i in self.indices(probs, claims)]
