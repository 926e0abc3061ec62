"""Two checkpoints on the same labelled split, with 95% bootstrap intervals and a paired difference: is A's lead
over B more than the sample's noise? Usage:

    NEWSCLF_DATA_ROOT=../shared/data python benchmarks/compare_checkpoints.py A B [--split dev] [--group body_id]

Both checkpoints must have been trained on the same data set (the split's SHA-256 fingerprints in their manifests
must agree). Each labels the split with its own decision rule (``task.decision``, unless ``--decision`` is
given) and its own ``task.new_claim_weights``, if it has them.
``--group`` names a record field whose rows are resampled together (FNC-1: ``body_id``; pairs that share a body
are not independent). Prints a Markdown table: each metric for A and B with its interval, then A - B with the
interval of the difference over the same draws and the share of draws in which A did not beat B.
"""

from __future__ import annotations

import argparse
import time

from newsclf.checkpoint import load_checkpoint
from newsclf.errors import NewsclfError
from newsclf.evaluation.bootstrap import bootstrap_intervals, paired_difference
from newsclf.evaluation.metrics import check_f_avg_labels, classification_metrics
from newsclf.workflows import _records_from_checkpoint_data, bootstrap_groups, check_labels


def compare(path_a: str, path_b: str, split: str = "dev", group: str | None = None, draws: int = 2000,
            decision: str | None = None, seed: int = 0) -> dict:
    """Metrics, intervals and paired differences of checkpoints ``path_a`` and ``path_b`` on ``split``."""
    a, b = load_checkpoint(path_a), load_checkpoint(path_b)
    if list(a.labels) != list(b.labels):
        raise NewsclfError(f"{path_b}: labels {b.labels}; expected those of {path_a}: {a.labels}")
    prints = [ck.manifest.get("data", {}).get("fingerprints", {}).get(split) for ck in (a, b)]
    if None in prints or prints[0] != prints[1]:
        raise NewsclfError(f"{path_a} and {path_b}: the {split} split's data fingerprints differ or are missing "
                           f"({prints[0]} vs {prints[1]}); expected checkpoints trained on the same data")
    records = _records_from_checkpoint_data(a, split, None)
    check_labels(records, a.labels)
    groups = bootstrap_groups(records, group, f"{split} split")
    gold = [r["label"] for r in records]
    fnc = bool(a.manifest["task"].get("fnc_metric"))
    labels = list(a.labels)
    f_avg = check_f_avg_labels(a.manifest["task"].get("f_avg_labels"), labels)  # SemEval stance: mean F1 of these
    out = {"split": split, "rows": len(records), "units": len(set(groups)) if groups else len(records),
           "group": group or "row", "draws": draws, "systems": {}}
    preds = {}
    for name, path, ck in (("A", path_a, a), ("B", path_b, b)):
        decider = ck.decider(decision)
        rule = decider.rule
        start = time.perf_counter()
        probs = ck.model.predict_proba(ck.input_spec.model_inputs(records))
        preds[name] = decider.decide(probs, ck.input_spec.claims(records) if decider.needs_claims else None)
        out["systems"][name] = {"checkpoint": str(path), "rule": rule, "seconds": time.perf_counter() - start,
                                "point": classification_metrics(gold, preds[name], labels, fnc=fnc, f_avg_labels=f_avg),
                                "intervals": bootstrap_intervals(gold, preds[name], labels, fnc=fnc, f_avg_labels=f_avg,
                                                                 groups=groups, n=draws, seed=seed)}
    out["difference"] = paired_difference(gold, preds["A"], preds["B"], labels, fnc=fnc, f_avg_labels=f_avg,
                                          groups=groups, n=draws, seed=seed)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--group", help="record field whose rows are resampled together (e.g. body_id)")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--decision", help="one rule for both (default: each checkpoint's own)")
    args = parser.parse_args()
    try:
        result = compare(args.a, args.b, args.split, args.group, args.draws, args.decision)
    except NewsclfError as exc:
        raise SystemExit(f"error: {exc}") from None
    a, b = result["systems"]["A"], result["systems"]["B"]
    unit = "rows" if result["group"] == "row" else f"`{result['group']}` groups"
    print(f"{result['split']} split: {result['rows']} rows, {result['draws']} bootstrap draws of {result['units']} "
          f"{unit}; 95% intervals")
    print(f"A = {a['checkpoint']} (rule {a['rule']}, {a['seconds']:.0f} s)")
    print(f"B = {b['checkpoint']} (rule {b['rule']}, {b['seconds']:.0f} s)\n")
    print("| metric | A | B | A - B | share of draws with A <= B |")
    print("|---|---|---|---|---|")
    for key, d in result["difference"].items():
        cells = [f"{s['point'][key]:.4f} [{s['intervals'][key][0]:.4f}, {s['intervals'][key][1]:.4f}]" for s in (a, b)]
        print(f"| {key} | {cells[0]} | {cells[1]} | {d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}] | "
              f"{d['p_le_0']:.3f} |")


if __name__ == "__main__":
    main()
