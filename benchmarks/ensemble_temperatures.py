"""What an ensemble checkpoint's dev scores would be without calibration (every temperature 1), as a refit with
``data.dev_split=none`` would have it. Used for BENCHMARKS.md "No ensemble refit on all pairs". Usage:

    NEWSCLF_DATA_ROOT=../shared/data python benchmarks/ensemble_temperatures.py runs/ens-ho/checkpoint

Prints the temperatures, then FNC score / macro-F1 / per-class F1 on the checkpoint's dev split, with the fitted
temperatures and with all of them set to 1, for labels by expected FNC score and for the most probable label.
"""

from __future__ import annotations

import argparse

from newsclf.checkpoint import load_checkpoint
from newsclf.evaluation.decision import decide
from newsclf.evaluation.metrics import classification_metrics
from newsclf.workflows import _records_from_checkpoint_data


def calibrated_parts(model):
    """The model and every member / stage below it that carries a temperature."""
    yield model
    for member in getattr(model, "members", {}).values():
        yield from calibrated_parts(member)
    for attr in ("related", "stance"):
        stage = getattr(model, attr, None)
        if hasattr(stage, "temperature_"):
            yield from calibrated_parts(stage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    args = parser.parse_args()
    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.model
    records = _records_from_checkpoint_data(ckpt, "dev", None)
    inputs, gold = ckpt.input_spec.model_inputs(records), [r["label"] for r in records]

    def report(tag: str) -> None:
        probs = model.predict_proba(inputs)
        for rule in ("fnc", "argmax"):
            m = classification_metrics(gold, decide(probs, ckpt.labels, rule), ckpt.labels, fnc=True)
            per_class = " / ".join(f"{m[f'f1/{label}']:.3f}" for label in ckpt.labels)
            print(f"{tag:<22} {rule:<7} FNC {m['fnc_score']:.4f}  macro-F1 {m['macro_f1']:.3f}  ({per_class})")

    print("temperatures:", ", ".join(f"{type(p).__name__} {p.temperature_:.3f}" for p in calibrated_parts(model)))
    report("fitted temperatures")
    for part in calibrated_parts(model):
        part.temperature_ = 1.0
    report("every temperature 1")


if __name__ == "__main__":
    main()
