"""Peak memory of ``scripts/predict.py`` on JSONL files of growing size: it must not grow with the file.

Writes synthetic JSONL files (AG News test titles and descriptions, cycled, each line with a unique id) into a
scratch folder outside the repo (default /tmp/newsclf-memory), runs predict.py on each in a fresh process,
and reads that process's peak resident set size from the kernel (``os.wait4`` rusage, ``ru_maxrss``).

    python benchmarks/predict_memory.py --checkpoint runs/topic-tfidf --lines 100000 1000000
    python benchmarks/predict_memory.py --checkpoint runs/topic-tfidf --lines 100000 1000000 -- processes=1

Prints one row per size (lines, seconds, documents/s, peak RSS MiB) and, last, ``peak_rss_mib=...``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_input(path: Path, lines: int, data_root: str | None) -> None:
    if path.exists() and sum(1 for _ in open(path, "rb")) == lines:
        return  # reuse the file from an earlier run
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from predict_throughput import ag_news_test

    docs = ag_news_test(data_root)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for i in range(lines):
            d = docs[i % len(docs)]
            f.write(json.dumps({"id": f"doc-{i}", "title": d["title"], "text": d["text"]}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def run_predict(checkpoint: str, src: Path, dst: Path, extra: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one predict.py process."""
    cmd = [sys.executable, str(ROOT / "scripts" / "predict.py"), f"checkpoint={checkpoint}", f"input={src}",
           f"output={dst}", "progress=false", *extra]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"predict.py failed on {src} (exit {os.waitstatus_to_exitcode(status)})")
    return seconds, usage.ru_maxrss / 1024  # Linux reports KiB


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="runs/topic-tfidf")
    ap.add_argument("--lines", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--scratch", default="/tmp/newsclf-memory", help="folder for the JSONL files (not the repo)")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the input and output files")
    ap.add_argument("extra", nargs="*", help="more predict.py overrides after --, e.g. -- check_ids=false")
    args = ap.parse_args(argv)
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.lines:
        src, dst = scratch / f"input-{n}.jsonl", scratch / f"pred-{n}.jsonl"
        write_input(src, n, args.data_root)
        seconds, peak = run_predict(args.checkpoint, src, dst, args.extra)
        out_lines = sum(1 for _ in open(dst, "rb"))
        if out_lines != n:
            raise SystemExit(f"{dst}: {out_lines} lines for {n} inputs")
        rows.append((n, seconds, peak))
        print(f"{n:>9,d} lines  {seconds:8.1f} s  {n / seconds:8.0f} docs/s  peak RSS {peak:7.1f} MiB", flush=True)
        if not args.keep:
            src.unlink()
            dst.unlink()
    print("peak_rss_mib=" + " ".join(f"{n}:{peak:.1f}" for n, _, peak in rows))


if __name__ == "__main__":
    main()
