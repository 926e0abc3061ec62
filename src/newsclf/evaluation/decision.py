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
"""

from __future__ import annotations

from collections.abc import Sequence

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
