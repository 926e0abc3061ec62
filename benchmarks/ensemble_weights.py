"""Re-weight a trained ensemble checkpoint's members on its dev split: the weight search behind BENCHMARKS.md
"The ensemble" (its table of weights, arithmetic vs geometric mean). Usage:

    NEWSCLF_DATA_ROOT=../shared/data python benchmarks/ensemble_weights.py runs/ens-topic/checkpoint

Each member is run once on the checkpoint's dev split, with the temperature it was calibrated to on that split.
Then, for each weight of one member (``--member``, default the first; the others keep their saved proportions),
two combinations are scored: the weighted geometric mean (what ``EnsembleClassifier`` does, with the ensemble
temperature refitted on dev as training does) and the weighted arithmetic mean of the probabilities (no
temperature). Prints FNC score / macro-F1 / per-class F1 under the checkpoint's decision rule (``task.decision``;
with ``--claim-weights`` its ``task.new_claim_weights`` too, as training scores dev), for choosing the weight on
the split the checkpoint was trained against (the topic split for stance). Only dev data is used. The other
members' proportions are the saved ``weights``; with ``--new-claim-weights``, those of the saved
``new_claim_weights`` (the weights for pairs whose headline training never saw, e.g. ``experiment=stance_best``'s),
applied to every dev row.

``--replace NAME=CHECKPOINT`` scores the ensemble with member ``NAME`` replaced, in memory, by another checkpoint's
model trained on the same split (same train and dev fingerprints, labels and input kind), e.g. a variant of the
cross-encoder trained alone with ``experiment=stance_cross_encoder``: the ensemble a training run with that member
would give, without training the other members again (each member is fitted and calibrated on its own, so the
swap is exact up to the member's own training). ``--grid 0,0.2,0.4`` sweeps other weights than 0, 0.1, ..., 1.
"""

from __future__ import annotations

import argparse

import numpy as np

from newsclf.checkpoint import load_checkpoint
from newsclf.errors import NewsclfError
from newsclf.evaluation.calibration import fit_temperature
from newsclf.evaluation.decision import decide
from newsclf.evaluation.metrics import classification_metrics
from newsclf.models.base import softmax
from newsclf.workflows import _records_from_checkpoint_data

GRID = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def member_weights(saved: dict[str, float], member: str, w: float) -> dict[str, float]:
    """``member`` at ``w``; the others share ``1 - w`` in their saved proportions."""
    rest = {n: v for n, v in saved.items() if n != member}
    total = sum(rest.values())
    out = {n: (1.0 - w) * (v / total if total > 0 else 1.0 / len(rest)) for n, v in rest.items()}
    out[member] = w
    return out


def replace_member(ckpt, name: str, other) -> None:
    """Put ``other``'s model (a loaded checkpoint) in place of ``ckpt``'s ensemble member ``name``, in memory.
    Refused unless both were trained on the same split (train and dev fingerprints), with the same labels and input
    kind: a member's weights and temperature mean nothing on other data."""
    members = ckpt.model.members
    if name not in members:
        raise NewsclfError(f"--replace {name}=...: expected a member name, one of {sorted(members)}")
    mine, theirs = ckpt.manifest["data"]["fingerprints"], other.manifest["data"]["fingerprints"]
    for split in ("train", "dev"):
        if mine.get(split) != theirs.get(split):
            raise NewsclfError(f"--replace {name}={other.path}: its {split} split differs from the ensemble's "
                               f"({split} fingerprint {str(theirs.get(split))[:12]} vs {str(mine.get(split))[:12]}); "
                               "expected a checkpoint trained on the same data and split")
    if list(other.labels) != list(ckpt.labels):
        raise NewsclfError(f"--replace {name}={other.path}: labels {list(other.labels)}, expected {list(ckpt.labels)}")
    if getattr(other.model, "input_kind", None) != ckpt.model.input_kind:
        raise NewsclfError(f"--replace {name}={other.path}: input kind {getattr(other.model, 'input_kind', None)!r}, "
                           f"expected {ckpt.model.input_kind!r}")
    members[name] = other.model


def sweep(ckpt, member: str, rule: str, grid=GRID, new_claims: bool = False,
          claim_weights: bool = False) -> list[dict]:
    """Dev metrics of ``ckpt``'s ensemble with ``member`` at each weight in ``grid``: ``geometric`` (the model's own
    combination, ensemble temperature ``temperature`` refitted on dev) and ``arithmetic``. The other members keep
    the proportions of the saved ``weights`` (``new_claims``: of ``new_claim_weights``). ``claim_weights``: labels
    by the checkpoint's whole decision, ``task.new_claim_weights`` included (the geometric mean only)."""
    model = ckpt.model
    saved = model.weights
    if new_claims:
        saved = getattr(model, "new_claim_weights", None)
        if not saved:
            raise NewsclfError("--new-claim-weights: the checkpoint's ensemble has no new_claim_weights")
    members = model.members
    records = _records_from_checkpoint_data(ckpt, "dev", None)
    inputs, gold = ckpt.input_spec.model_inputs(records), [r["label"] for r in records]
    labels = list(ckpt.labels)
    y = np.array([labels.index(v) for v in gold])
    fnc = bool(ckpt.manifest["task"].get("fnc_metric"))
    probs = {name: m.predict_proba(inputs) for name, m in members.items()}  # each with its dev temperature
    logp = {name: np.log(np.clip(p, 1e-12, 1.0)) for name, p in probs.items()}

    decider = ckpt.decider(rule)
    claims = ckpt.input_spec.claims(records) if claim_weights and decider.needs_claims else None

    def metrics(p: np.ndarray, weighted: bool = False) -> dict:
        chosen = decider.decide(p, claims) if weighted and claims is not None else decide(p, labels, rule)
        return classification_metrics(gold, chosen, labels, fnc=fnc)

    rows = []
    for w in grid:
        weights = member_weights(saved, member, w)
        geo = sum(weights[n] * logp[n] for n in members)
        t = fit_temperature(geo, y)
        arith = sum(weights[n] * probs[n] for n in members)
        rows.append({"weight": w, "geometric": metrics(softmax(geo / t), weighted=True), "temperature": t,
                     "arithmetic": metrics(arith)})
    return rows


def _weight(text: str) -> float:
    try:
        w = float(text)
    except ValueError:
        w = -1.0
    if not 0.0 <= w <= 1.0:
        raise NewsclfError(f"--grid: {text!r} is not a weight between 0 and 1")
    return w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--member", help="the member whose weight is swept (default: the first)")
    parser.add_argument("--rule", help="decision rule (default: the checkpoint's task.decision)")
    parser.add_argument("--new-claim-weights", action="store_true",
                        help="start from the saved new_claim_weights instead of the saved weights")
    parser.add_argument("--claim-weights", action="store_true",
                        help="label the geometric mean with the checkpoint's task.new_claim_weights too")
    parser.add_argument("--replace", metavar="NAME=CHECKPOINT", action="append", default=[],
                        help="score with member NAME replaced by CHECKPOINT's model (trained on the same split)")
    parser.add_argument("--grid", help="comma-separated weights to sweep (default 0, 0.1, ..., 1)")
    args = parser.parse_args()
    try:
        ckpt = load_checkpoint(args.checkpoint)
        members = getattr(ckpt.model, "members", None)
        if not members or len(members) < 2:
            raise NewsclfError(f"{args.checkpoint}: not an ensemble checkpoint with two or more members")
        member = args.member or next(iter(members))
        if member not in members:
            raise NewsclfError(f"--member {member!r}: expected one of {sorted(members)}")
        replaced = [spec.partition("=") for spec in args.replace]
        for name, sep, path in replaced:
            if not sep or not path:
                raise NewsclfError(f"--replace {name + sep + path!r}: expected NAME=CHECKPOINT")
            replace_member(ckpt, name, load_checkpoint(path))
        grid = GRID if not args.grid else [_weight(v) for v in args.grid.split(",")]
        rule = args.rule or ckpt.decision
        rows = sweep(ckpt, member, rule, grid=grid, new_claims=args.new_claim_weights,
                     claim_weights=args.claim_weights)
    except NewsclfError as exc:
        raise SystemExit(f"error: {exc}") from None

    def show(m: dict) -> str:
        per_class = " / ".join(f"{m[f'f1/{label}']:.3f}" for label in ckpt.labels)
        head = f"{m['fnc_score']:.4f} / {m['macro_f1']:.3f}" if "fnc_score" in m else f"{m['macro_f1']:.3f}"
        return f"{head} ({per_class})"

    print(f"{args.checkpoint}: rule {rule}, saved weights {ckpt.model.weights}, member temperatures "
          + ", ".join(f"{n} {m.temperature_:.3f}" for n, m in members.items()))
    for name, _, path in replaced:
        print(f"member {name!r} replaced by {path}")
    print(f"weight of {member!r} | geometric (ensemble T) | arithmetic")
    for row in rows:
        print(f"{row['weight']:g} | {show(row['geometric'])} T={row['temperature']:.3f} | {show(row['arithmetic'])}")


if __name__ == "__main__":
    main()
