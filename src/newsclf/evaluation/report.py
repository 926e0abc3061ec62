"""Per-class Markdown report from a flat metrics dict."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def markdown_report(metrics: dict, labels: Sequence[str], title: str, images: Sequence[str] = ()) -> str:
    """``images``: PNG file names beside the report (confusion matrix, reliability diagram) to link at the end."""
    boot = metrics.get("bootstrap")
    ci = boot["intervals"] if boot else {}

    def interval(key: str) -> str:
        return f" (95% interval {ci[key][0]:.4f}-{ci[key][1]:.4f})" if key in ci else ""

    lines = [f"# {title}", "", f"- examples: {metrics['n']}",
             f"- accuracy: {metrics['accuracy']:.4f}{interval('accuracy')}",
             f"- macro-F1: {metrics['macro_f1']:.4f}{interval('macro_f1')}"]
    if "f_avg" in metrics:
        lines.append(f"- F_avg (mean F1 of {', '.join(metrics.get('f_avg_labels', []))}): "
                     f"{metrics['f_avg']:.4f}{interval('f_avg')}")
    for key, name in (("ece", "ECE (15 bins)"), ("brier", "Brier score")):
        if key in metrics:
            raw = metrics.get(f"{key}_uncalibrated")
            lines.append(f"- {name}: {metrics[key]:.4f}" + (f" (temperature 1: {raw:.4f})" if raw is not None else ""))
    decision = metrics.get("decision", "argmax")
    if decision != "argmax":
        lines.append(f"- labels chosen by the `{decision}` rule (newsclf.evaluation.decision); the most probable "
                     f"label would give accuracy {metrics['argmax/accuracy']:.4f}, macro-F1 "
                     f"{metrics['argmax/macro_f1']:.4f}")
    if "new_claim_pairs" in metrics:
        line = (f"- {metrics['new_claim_pairs']} of {metrics.get('n', '?')} pairs have a headline training never saw; "
                "among those called related, `task.new_claim_weights` re-weighs the related labels")
        if "unweighted/macro_f1" in metrics:
            line += f" (without: macro-F1 {metrics['unweighted/macro_f1']:.4f}"
            line += (f", FNC score {metrics['unweighted/fnc_score']:.4f})" if "unweighted/fnc_score" in metrics
                     else ")")
        lines.append(line)
    if "fnc_score" in metrics:
        lines += ["", "| system | FNC score |", "|---|---|",
                  f"| this model | {metrics['fnc_score']:.4f}{interval('fnc_score')} |"]
        if "argmax/fnc_score" in metrics:
            lines.append(f"| this model, most probable label | {metrics['argmax/fnc_score']:.4f} |")
        lines += [f"| all `unrelated` (same split) | {metrics['fnc_score_all_unrelated']:.4f} |",
                  f"| FNC-1 baseline, published dev score | {metrics['fnc_score_baseline_published']:.4f} |"]
    lines += ["", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label in labels:
        lines.append(f"| {label} | {metrics[f'precision/{label}']:.4f} | {metrics[f'recall/{label}']:.4f} | "
                     f"{metrics[f'f1/{label}']:.4f}{interval(f'f1/{label}')} | {metrics[f'support/{label}']} |")
    if boot:
        unit = "rows" if boot["unit"] == "row" else f"groups of the `{boot['unit']}` field"
        lines += ["", f"Intervals: percentile bootstrap, {boot['draws']} draws of the {boot['units']} {unit} "
                      "(newsclf.evaluation.bootstrap); they show the sample's noise, not the training seed's."]
    cm = metrics["confusion_matrix"]
    lines += ["", "Confusion matrix (rows = gold, columns = predicted):", "",
              "| gold \\ pred | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for label, row in zip(labels, cm, strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    if images:
        lines += [""] + [f"![{Path(name).stem.replace('_', ' ')}]({name})" for name in images]
    return "\n".join(lines) + "\n"
