"""Can a stance checkpoint buy macro-F1 with FNC score by favouring `agree` / `disagree` among related pairs?
The check behind BENCHMARKS.md "Class weights at decision time". Usage:

    NEWSCLF_DATA_ROOT=../shared/data python benchmarks/stance_decision_weights.py runs/best-topic/checkpoint

The checkpoint is run once on its dev split. The related / unrelated call stays the checkpoint's rule
(``task.decision``); among the pairs it calls related, the label becomes ``argmax_c w_c P(c)`` with weights for
`agree` and `disagree` (`discuss` keeps 1). Printed:

- how well the probabilities rank each related label among the gold related pairs (ROC AUC, average precision):
  a weight can only move labels in that order, so a ranking near chance (AUC 0.5) leaves it nothing to gain;
- FNC score / macro-F1 / per-class F1 at each pair of weights on the whole split (in-sample: optimistic);
- a nested estimate: the split's stories (headlines and bodies joined through their related pairs) are cut in
  two halves at random, the weights are chosen on one half (best macro-F1 among those losing at most ``--slack``
  FNC score there) and scored on the other, ``--repeats`` times. Only what this reports is evidence of a gain.

Only dev data is used; on the topic split (``data.dev_split=topic``) the stories are new topics.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from newsclf.checkpoint import load_checkpoint
from newsclf.data.sources import story_nodes, story_sets
from newsclf.errors import NewsclfError
from newsclf.evaluation.decision import decide_indices, weigh_related
from newsclf.evaluation.metrics import FNC_UNRELATED, classification_metrics
from newsclf.workflows import _records_from_checkpoint_data

AGREE_WEIGHTS = (1.0, 1.25, 1.5, 2.0, 2.5)
DISAGREE_WEIGHTS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


def reweighted(probs: np.ndarray, labels: list[str], rule: str, weights: dict[str, float]) -> np.ndarray:
    """Label indices: ``rule``'s related / unrelated call; among related calls, the largest ``weights[c] * P(c)``
    (a label missing from ``weights`` weighs 1)."""
    return weigh_related(probs, labels, decide_indices(probs, labels, rule), weights)


def story_ids(records: list[dict]) -> np.ndarray:
    """A story per pair: headlines and bodies joined through gold-related pairs; a pair goes with its headline
    (unrelated pairs, which link stories only by chance, join nothing)."""
    sets = story_sets(records)
    ids: dict[str, int] = {}
    return np.array([ids.setdefault(sets.find(story_nodes(r)[0]), len(ids)) for r in records], dtype=np.int64)


def _metrics(gold: list[str], pred: np.ndarray, labels: list[str], rows: np.ndarray) -> dict:
    return classification_metrics([gold[i] for i in rows], [labels[pred[i]] for i in rows], labels, fnc=True)


def nested(probs: np.ndarray, gold: list[str], labels: list[str], rule: str, stories: np.ndarray,
           grid: list[dict], slack: float, repeats: int, seed: int = 0) -> list[dict]:
    """Per repeat: weights chosen on a random half of the stories, and the other half's change in FNC score and
    macro-F1 against ``rule`` alone."""
    preds = [reweighted(probs, labels, rule, w) for w in grid]
    base = decide_indices(probs, labels, rule)
    distinct = np.unique(stories)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(repeats):
        tune = np.isin(stories, rng.permutation(distinct)[: len(distinct) // 2])
        a, b = np.where(tune)[0], np.where(~tune)[0]
        floor = _metrics(gold, base, labels, a)["fnc_score"] - slack
        scored = [_metrics(gold, p, labels, a) for p in preds]
        pick = max(range(len(grid)), key=lambda k: scored[k]["macro_f1"] if scored[k]["fnc_score"] >= floor else -1)
        before, after = _metrics(gold, base, labels, b), _metrics(gold, preds[pick], labels, b)
        out.append({"weights": grid[pick], "d_fnc": after["fnc_score"] - before["fnc_score"],
                    "d_macro_f1": after["macro_f1"] - before["macro_f1"]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--rule", help="the related / unrelated rule (default: the checkpoint's task.decision)")
    parser.add_argument("--slack", type=float, default=0.005, help="FNC score the tuning half may lose")
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    try:
        if args.repeats < 1 or not args.slack >= 0:
            raise NewsclfError(f"--repeats {args.repeats} --slack {args.slack}: expected repeats >= 1 and slack >= 0")
        ckpt = load_checkpoint(args.checkpoint)
        labels = list(ckpt.labels)
        if not ckpt.manifest["task"].get("fnc_metric") or not {"agree", "disagree", FNC_UNRELATED} <= set(labels):
            raise NewsclfError(f"{args.checkpoint}: not an FNC-1 stance checkpoint (labels {labels})")
        records = _records_from_checkpoint_data(ckpt, "dev", None)
        rule = args.rule or ckpt.decision
        probs = ckpt.model.predict_proba(ckpt.input_spec.model_inputs(records))
    except NewsclfError as exc:
        raise SystemExit(f"error: {exc}") from None
    gold = [r["label"] for r in records]
    y = np.array([labels.index(v) for v in gold])
    related = y != labels.index(FNC_UNRELATED)
    print(f"{args.checkpoint}: dev {len(gold)} pairs, {int(related.sum())} related; rule {rule}")
    for name in ("agree", "disagree", "discuss"):
        k = labels.index(name)
        hit = y[related] == k
        if hit.all() or not hit.any():
            print(f"  {name:9s} among gold related: share {hit.mean():.3f} (no ranking to measure)")
            continue
        print(f"  {name:9s} among gold related: share {hit.mean():.3f}, ROC AUC {roc_auc_score(hit, probs[related, k]):.3f}, "
              f"AP {average_precision_score(hit, probs[related, k]):.3f}")
    grid = [{"agree": a, "disagree": d} for a, d in itertools.product(AGREE_WEIGHTS, DISAGREE_WEIGHTS)]
    every = np.arange(len(gold))
    print("w_agree | w_disagree | FNC / macro-F1 (agree / disagree / discuss / unrelated F1) | disagree calls")
    for w in grid:
        pred = reweighted(probs, labels, rule, w)
        m = _metrics(gold, pred, labels, every)
        per_class = " / ".join(f"{m[f'f1/{v}']:.3f}" for v in labels)
        print(f"{w['agree']:.2f} | {w['disagree']:.1f} | {m['fnc_score']:.4f} / {m['macro_f1']:.3f} ({per_class}) | "
              f"{int((pred == labels.index('disagree')).sum())}")
    stories = story_ids(records)
    runs = nested(probs, gold, labels, rule, stories, grid, args.slack, args.repeats)
    d_fnc, d_f1 = np.array([r["d_fnc"] for r in runs]), np.array([r["d_macro_f1"] for r in runs])
    picks: dict[str, int] = {}
    for r in runs:
        key = f"{r['weights']['agree']:g}/{r['weights']['disagree']:g}"
        picks[key] = picks.get(key, 0) + 1
    print(f"nested over {len(np.unique(stories))} stories, {args.repeats} halvings, slack {args.slack}: on the held "
          f"half, FNC {d_fnc.mean():+.4f} (sd {d_fnc.std():.4f}), macro-F1 {d_f1.mean():+.4f} (sd {d_f1.std():.4f}), "
          f"macro-F1 up in {(d_f1 > 0).mean():.0%} of halvings")
    print("  weights chosen (agree/disagree: times):", dict(sorted(picks.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
