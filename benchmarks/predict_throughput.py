"""Prediction throughput (documents/s) on AG News test texts, one process, one thread setting for all.

Rows, all on the same documents:
  pipeline           HF pipeline("text-classification") on the checkpoint's model dir, its default batching
                     (one document per forward pass), truncation to the model's max_length, all scores
  pipeline-bs64      the same with batch_size=64 (unsorted batches, padded to the longest member)
  pipeline-bs16      the same with batch_size=16 (newsclf's forward batch on a CPU)
  newsclf-torch      newsclf Predictor, native torch model (length-sorted windows, inference_mode, the
                     inference-only BERT forward of newsclf.inference.bert_forward, 16 sequences a forward pass)
  newsclf-torch-hf   the same Predictor through the HF model forward, for reference
  newsclf-onnx       Predictor runtime=onnx, fp32 export       (exported first when missing)
  newsclf-onnx-int8  Predictor runtime=onnx, int8 export
  tfidf              Predictor on the TF-IDF checkpoint (cleaning, features, calibrated softmax, records);
                     batches of 1,024 predicted side by side in --threads forked worker processes; the median
                     of --tfidf-repeats cold passes (each a freshly loaded predictor with new workers)
  tfidf-sklearn      the same with sklearn's own TfidfVectorizer.transform (fast_tfidf=False), for reference

Every newsclf row includes what predict.py does between reading a record and writing it: the checkpoint's
text cleaning, calibrated probabilities and the output record. Accuracy against the gold labels is printed
for each row (on the full test set without --quick: the int8 accuracy change).

    python benchmarks/predict_throughput.py --tfidf runs/topic-tfidf --transformer runs/topic-transformer
    python benchmarks/predict_throughput.py --quick      # ~600 documents for the transformer rows

Last line: ``ratio_vs_pipeline=X tfidf_docs_per_s=Y`` (X = newsclf-torch / pipeline docs/s).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def ag_news_test(data_root: str | None) -> list[dict]:
    from newsclf.data.inputs import columns_to_records
    from newsclf.data.sources import AgNews, resolve_data_root

    dsd = AgNews().load(resolve_data_root(data_root))
    return [{"id": r["id"], "title": r["title"], "text": r["text"], "label": r["label"]}
            for r in columns_to_records(dsd["test"][:])]


def cpu_model() -> str:
    """The processor's name (Linux), so that numbers from different machines are not compared blindly."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def timed(fn, warmup) -> tuple[float, object]:
    warmup()
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def accuracy(labels: list[str], gold: list[dict]) -> float:
    return sum(p == g["label"] for p, g in zip(labels, gold, strict=True)) / len(gold)


def run_predictor(name, predictor, docs, warm, rows):
    gc.freeze()  # as predict.py does after loading: the collector skips the model and the libraries
    inputs = [{k: v for k, v in d.items() if k != "label"} for d in docs]
    secs, out = timed(lambda: list(predictor.predict_stream(inputs)), lambda: predictor.predict(warm))
    rows.append({"name": name, "docs": len(docs), "seconds": secs, "docs_per_s": len(docs) / secs,
                 "accuracy": accuracy([r["label"] for r in out], docs)})


def run_pipeline(name, ckpt, docs, threads, rows, batch_size=None):
    from transformers import pipeline

    from newsclf.checkpoint import load_checkpoint

    c = load_checkpoint(ckpt)
    model_dir = c.path / c.manifest["files"]["model"]
    texts = c.input_spec.model_inputs(docs)  # the same strings newsclf's model sees
    pipe = pipeline("text-classification", model=str(model_dir), tokenizer=str(model_dir), device="cpu")
    kwargs = {"top_k": None, "truncation": True, "max_length": int(c.model.max_length)}
    if batch_size:
        kwargs["batch_size"] = batch_size
    secs, out = timed(lambda: pipe(texts, **kwargs), lambda: pipe(texts[:16], **kwargs))
    labels = [max(scores, key=lambda s: s["score"])["label"] for scores in out]
    rows.append({"name": name, "docs": len(docs), "seconds": secs, "docs_per_s": len(docs) / secs,
                 "accuracy": accuracy(labels, docs)})


def transformer_rows(ckpt, docs, threads, rows):
    from newsclf.inference.onnx import FP32, INT8, export
    from newsclf.inference.predictor import Predictor

    warm = [{k: v for k, v in d.items() if k != "label"} for d in docs[:32]]
    run_pipeline("pipeline", ckpt, docs, threads, rows)
    run_pipeline("pipeline-bs64", ckpt, docs, threads, rows, batch_size=64)
    run_pipeline("pipeline-bs16", ckpt, docs, threads, rows, batch_size=16)
    torch_pred = Predictor.from_checkpoint(ckpt, threads=threads)
    run_predictor("newsclf-torch", torch_pred, docs, warm, rows)
    # the same predictor through the HF forward (model(**inputs)) instead of inference.bert_forward: what the
    # leaner BERT forward is worth on this machine
    import newsclf.training.loop as loop

    fast, loop.fast_forward = loop.fast_forward, lambda model: None
    try:
        run_predictor("newsclf-torch-hf", torch_pred, docs, warm, rows)
    finally:
        loop.fast_forward = fast
    onnx_dir = torch_pred.checkpoint.path / "onnx"
    if not (onnx_dir / FP32).is_file() or not (onnx_dir / INT8).is_file():
        print(f"exporting {ckpt} to ONNX (fp32 + int8; not timed)", file=sys.stderr)
        export(ckpt, quantize="int8")
    for name, file in (("newsclf-onnx", FP32), ("newsclf-onnx-int8", INT8)):
        pred = Predictor.from_checkpoint(ckpt, runtime="onnx", onnx_model=onnx_dir / file, threads=threads)
        run_predictor(name, pred, docs, warm, rows)


def tfidf_rows(ckpt, docs, threads, rows, repeats):
    from newsclf.inference.predictor import Predictor

    warm = [{k: v for k, v in d.items() if k != "label"} for d in docs[:256]]
    # processes=threads: batches side by side in forked workers, as predict.py does (processes: null = threads).
    # A pass over the 7,600 texts takes a third of a second, so one pass is at the mercy of the VM's noise: each
    # row is the median of `repeats` passes, every pass with a freshly loaded predictor and new workers (cold)
    for name, fast in (("tfidf", True), ("tfidf-sklearn", False)):
        passes = []
        for _ in range(repeats if fast else 1):
            pred = Predictor.from_checkpoint(ckpt, threads=threads, processes=threads, fast_tfidf=fast)
            gc.freeze()  # before forking, as predict.py does: the workers inherit a frozen heap
            pred.start_workers()
            run_predictor(name, pred, docs, warm, passes)
            pred.close()
            gc.unfreeze()
        passes.sort(key=lambda r: r["docs_per_s"])
        row = passes[len(passes) // 2]
        row["passes"] = [round(r["docs_per_s"]) for r in passes]
        rows.append(row)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tfidf", default="runs/topic-tfidf", help="TF-IDF topic checkpoint (or run dir)")
    ap.add_argument("--transformer", default="runs/topic-transformer", help="transformer topic checkpoint")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch / onnxruntime threads (all rows)")
    ap.add_argument("--quick", action="store_true", help="600 documents for the transformer rows (~5 min, 2 cores)")
    ap.add_argument("--limit", type=int, default=None, help="documents for the transformer rows (default: all)")
    ap.add_argument("--data-root", default=None, help="data root (default: NEWSCLF_DATA_ROOT)")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    ap.add_argument("--tfidf-only", action="store_true", help="only the TF-IDF rows (no transformer checkpoint needed)")
    ap.add_argument("--tfidf-repeats", type=int, default=5, help="cold passes of the fast TF-IDF row (median reported)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    docs = ag_news_test(args.data_root)
    n_tf = 600 if args.quick else (args.limit or len(docs))
    rows: list[dict] = []
    # TF-IDF first: its worker processes are forked from this process, best before torch has run (its idle
    # intra-op threads and the transformer rows' memory stay behind)
    tfidf_rows(args.tfidf, docs, args.threads, rows, max(1, args.tfidf_repeats))
    if not args.tfidf_only:
        transformer_rows(args.transformer, docs[:n_tf], args.threads, rows)

    print(f"AG News test, threads={args.threads}, torch {torch.__version__}, cpu_count={os.cpu_count()}, "
          f"cpu={cpu_model()}")
    print(f"{'row':18s} {'docs':>6s} {'seconds':>8s} {'docs/s':>9s} {'accuracy':>8s}")
    for r in rows:
        print(f"{r['name']:18s} {r['docs']:6d} {r['seconds']:8.2f} {r['docs_per_s']:9.1f} {r['accuracy']:8.4f}"
              + (f"  (median of {len(r['passes'])} cold passes: {r['passes']})" if len(r.get("passes", [])) > 1 else ""))
    by = {r["name"]: r for r in rows}
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "cpu": cpu_model(), "rows": rows}, indent=2)
                                   + "\n")
    if args.tfidf_only:
        print(f"tfidf_docs_per_s={by['tfidf']['docs_per_s']:.0f}")
        return
    ratio = by["newsclf-torch"]["docs_per_s"] / by["pipeline"]["docs_per_s"]
    ratio_bs = by["newsclf-torch"]["docs_per_s"] / by["pipeline-bs64"]["docs_per_s"]
    ratio_16 = by["newsclf-torch"]["docs_per_s"] / by["pipeline-bs16"]["docs_per_s"]
    int8_change = by["newsclf-onnx-int8"]["accuracy"] - by["newsclf-torch"]["accuracy"]
    print(f"newsclf-torch vs pipeline-bs64: {ratio_bs:.2f}x, vs pipeline-bs16: {ratio_16:.2f}x; "
          f"int8 accuracy change vs torch: {int8_change:+.4f} on {n_tf} documents")
    print(f"ratio_vs_pipeline={ratio:.2f} tfidf_docs_per_s={by['tfidf']['docs_per_s']:.0f}")


if __name__ == "__main__":
    main()
