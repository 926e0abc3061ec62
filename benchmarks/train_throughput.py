"""Training throughput (examples/s): newsclf's loop vs HF ``Trainer`` on the same model, data and settings.

Three runs in one process, each from the same pretrained weights and seed, one epoch over the same AG News
texts (the 2,000-row regime's train split), batch 16, fused AdamW lr 1e-4 / wd 0.01 (no decay on biases and
LayerNorm in both), warmup 10% + linear decay, clip 1.0, fp32,
the same torch threads, no evaluation or checkpointing inside the timed region:

  (a) Trainer, every example padded to max_length (the HF example scripts' default, ``pad_to_max_length``)
  (b) Trainer, dynamic padding (``DataCollatorWithPadding``) + ``train_sampling_strategy="group_by_length"``
      (transformers 5's replacement for ``group_by_length=True``)
  (c) newsclf: ``TransformerClassifier`` (length-grouped batches, dynamic padding, Accelerate)

The timed region is the training loop only (``Trainer.train()`` / ``FineTuner.run()``), wall clock; model
loading and tokenization are outside it for all three. Usage::

    python benchmarks/train_throughput.py --quick          # 480 examples, ~3-5 min on 2 idle cores
    python benchmarks/train_throughput.py                  # the whole 1,800-example train split

The last line is ``ratio_vs_trainer_static=X ratio_vs_trainer_dynamic=Y`` (newsclf wall-clock examples/s over
each). Wall-clock results depend on the machine's load: run it on an otherwise idle machine, and read the
printed load averages; the line before gives the same ratios per CPU-second of the process, which other
processes disturb less.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

HP = dict(batch_size=16, learning_rate=1e-4, weight_decay=0.01, warmup_ratio=0.1, max_grad_norm=1.0)


def ag_news_texts(data_root: str, n: int, seed: int) -> tuple[list[str], list[str]]:
    from newsclf.data.inputs import InputSpec, columns_to_records
    from newsclf.data.sources import AgNews

    dsd = AgNews(dir="ag_news", train_file="train_partial_first2000.csv", test_file="test.csv", dev_fraction=0.1,
                 split_seed=13).load(Path(data_root))
    records = columns_to_records(dsd["train"][:])
    records = [records[i] for i in sorted(np.random.default_rng(seed).permutation(len(records))[:n])]
    spec = InputSpec(kind="text", repair_feed_residue=True)
    return spec.model_inputs(records), [r["label"] for r in records]


def run_trainer(X, y, labels, max_length: int, dynamic: bool, seed: int) -> tuple[float, float]:
    """Examples per wall second and per CPU second of ``Trainer.train()`` for one epoch."""
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, default_data_collator

    from newsclf.models.transformer import load_pretrained

    torch.manual_seed(seed)
    tokenizer, model = load_pretrained("minilm", labels)
    index = {label: i for i, label in enumerate(labels)}
    enc = tokenizer(X, truncation=True, max_length=max_length, padding=False if dynamic else "max_length")
    ds = Dataset.from_dict({**enc, "labels": [index[v] for v in y]})
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=HP["batch_size"], learning_rate=HP["learning_rate"],
            weight_decay=HP["weight_decay"], warmup_steps=HP["warmup_ratio"], max_grad_norm=HP["max_grad_norm"],
            num_train_epochs=1, lr_scheduler_type="linear", optim="adamw_torch_fused", use_cpu=not torch.cuda.is_available(),
            save_strategy="no", eval_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
            dataloader_num_workers=0, seed=seed,
            train_sampling_strategy="group_by_length" if dynamic else "random")
        collator = DataCollatorWithPadding(tokenizer) if dynamic else default_data_collator
        trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=collator)
        started, cpu = time.perf_counter(), time.process_time()
        trainer.train()
        return len(X) / (time.perf_counter() - started), len(X) / (time.process_time() - cpu)


def run_newsclf(X, y, max_length: int, seed: int) -> tuple[float, float]:
    """Examples per wall second and per CPU second of newsclf's ``FineTuner.run()`` for one epoch."""
    from newsclf.models.transformer import TransformerClassifier
    from newsclf.training import loop

    timing = {}
    original = loop.FineTuner.run

    def timed(self, resume=None):
        started, cpu = time.perf_counter(), time.process_time()
        original(self, resume)
        timing["s"], timing["cpu"] = time.perf_counter() - started, time.process_time() - cpu

    loop.FineTuner.run = timed
    try:
        TransformerClassifier(max_length=max_length, epochs=1, progress=False, save_every_steps=None,
                              log_every_steps=None, early_stopping_patience=None, **HP).fit(X, y, seed=seed)
    finally:
        loop.FineTuner.run = original
    return len(X) / timing["s"], len(X) / timing["cpu"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="480 examples instead of the whole train split")
    ap.add_argument("--n", type=int, default=None, help="number of training examples (overrides --quick)")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", default=os.environ.get("NEWSCLF_DATA_ROOT", "data"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n = args.n or (480 if args.quick else 1800)
    X, y = ag_news_texts(args.data_root, n, args.seed)
    labels = sorted(set(y))
    print(f"examples={len(X)} max_length={args.max_length} threads={args.threads} "
          f"loadavg={os.getloadavg()[0]:.2f} device={'cuda' if torch.cuda.is_available() else 'cpu'}", flush=True)
    results = {}
    for name, what, run in (
            ("trainer_static", f"Trainer, pad to {args.max_length}", lambda: run_trainer(X, y, labels, args.max_length, False, args.seed)),
            ("trainer_dynamic", "Trainer, dynamic padding + group_by_length", lambda: run_trainer(X, y, labels, args.max_length, True, args.seed)),
            ("newsclf", "newsclf, length-grouped + dynamic padding", lambda: run_newsclf(X, y, args.max_length, args.seed))):
        results[name] = run()
        print(f"{name:16s} {results[name][0]:7.2f} examples/s  {results[name][1]:7.2f} examples/cpu-s   ({what}) "
              f"loadavg={os.getloadavg()[0]:.2f}", flush=True)
    (ours, ours_cpu), (static, static_cpu), (dynamic, dynamic_cpu) = (
        results["newsclf"], results["trainer_static"], results["trainer_dynamic"])
    # per CPU-second: less sensitive to other processes on a shared machine than wall-clock examples/s
    print(f"cpu_time_ratio_vs_trainer_static={ours_cpu / static_cpu:.2f} "
          f"cpu_time_ratio_vs_trainer_dynamic={ours_cpu / dynamic_cpu:.2f}")
    print(f"ratio_vs_trainer_static={ours / static:.2f} ratio_vs_trainer_dynamic={ours / dynamic:.2f}")


if __name__ == "__main__":
    main()
