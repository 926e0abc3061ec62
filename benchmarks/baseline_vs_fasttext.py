"""newsclf TF-IDF baseline vs fastText on the same AG News split (2,000-row regime), in one run.

fastText runs with its published AG News settings (word bigrams, lr 0.25, 5 epochs, dim 10; Joulin et al.
2016) and with a small grid chosen on the dev split; the TF-IDF model is newsclf's default topic config.
Both see the same cleaned text (InputSpec of the topic task). Usage:

    NEWSCLF_DATA_ROOT=../shared/data python benchmarks/baseline_vs_fasttext.py [--threads 2]

Last line: ``tfidf_acc=A fasttext_acc=B tfidf_train_s=C fasttext_train_s=D`` (fastText = the dev-chosen
setting; test accuracy on the canonical 7,600 rows).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import tempfile
import time
from pathlib import Path

import fasttext
import numpy as np
from hydra import compose, initialize_config_dir

from newsclf import workflows

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def load_split():
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("config", ["task=topic", "model=tfidf"])
    _, _, splits = workflows.load_splits(cfg.data, cfg.data_root, None, None, cfg.seed)
    spec = workflows.input_spec(cfg.task)
    data = {name: (spec.model_inputs(recs), [r["label"] for r in recs]) for name, recs in splits.items()}
    return cfg, data


def ft_line(text: str) -> str:
    # fastText tokenises on white space: lower-case and split punctuation off words
    return " ".join(re.findall(r"\w+|[^\w\s]", text.lower()))


def train_fasttext(X, y, threads: int, seed: int, **params):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for text, label in zip(X, y, strict=True):
            f.write(f"__label__{label.replace('/', '_')} {ft_line(text)}\n")
        path = f.name
    try:
        start = time.perf_counter()
        model = fasttext.train_supervised(input=path, thread=threads, seed=seed, verbose=0, **params)
        return model, time.perf_counter() - start
    finally:
        os.unlink(path)


def ft_accuracy(model, X, y) -> float:
    labels, _ = model.predict([ft_line(t) for t in X])  # a list: numpy 2 breaks fastText's array path
    pred = [lab[0].removeprefix("__label__").replace("_", "/") for lab in labels]
    return float(np.mean([p == g for p, g in zip(pred, y, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    cfg, data = load_split()
    (Xtr, ytr), (Xdv, ydv), (Xte, yte) = data["train"], data["dev"], data["test"]

    start = time.perf_counter()
    tfidf = workflows.instantiate(cfg.model, input_kind="text").fit(Xtr, ytr)
    tfidf_s = time.perf_counter() - start
    tfidf_dev = float(np.mean(np.array(tfidf.predict(Xdv)) == np.array(ydv)))
    tfidf_acc = float(np.mean(np.array(tfidf.predict(Xte)) == np.array(yte)))
    print(f"tfidf  {dict(cfg.model)}: dev={tfidf_dev:.4f} test={tfidf_acc:.4f} train_s={tfidf_s:.2f}")

    published = dict(wordNgrams=2, lr=0.25, epoch=5, dim=10)
    model, secs = train_fasttext(Xtr, ytr, args.threads, args.seed, **published)
    print(f"fasttext published {published}: dev={ft_accuracy(model, Xdv, ydv):.4f} "
          f"test={ft_accuracy(model, Xte, yte):.4f} train_s={secs:.2f}")

    best = None
    for epoch, dim, lr in itertools.product((5, 25, 50), (10, 50, 100), (0.1, 0.25, 0.5, 1.0)):
        params = dict(wordNgrams=2, lr=lr, epoch=epoch, dim=dim)
        model, secs = train_fasttext(Xtr, ytr, args.threads, args.seed, **params)
        dev = ft_accuracy(model, Xdv, ydv)
        if best is None or dev > best[0]:
            best = (dev, params, model, secs)
    dev, params, model, secs = best
    ft_acc = ft_accuracy(model, Xte, yte)
    print(f"fasttext dev-tuned {params}: dev={dev:.4f} test={ft_acc:.4f} train_s={secs:.2f}")
    print(f"tfidf_acc={tfidf_acc:.4f} fasttext_acc={ft_acc:.4f} tfidf_train_s={tfidf_s:.2f} fasttext_train_s={secs:.2f}")


if __name__ == "__main__":
    main()
