"""Do copies of one NDTV story carry one label? A measurement behind docs/syndication.md "Results".

NDTV's label is *the CMS appended the syndicated-feed footer*, i.e. the story was auto-published. A text-only
detector can only learn it if the label follows from the text. This script finds the copies of one story in the
NDTV data (character-shingle Jaccard of the marker-free text, :mod:`newsclf.data.dedup`, the measure the
near-duplicate purge uses), joins them into groups at several thresholds and counts the groups whose members
carry **both** labels. At Jaccard >= 0.9 two articles are the same text; if they carry different labels, a
model that reads them can tell them apart only by what differs, e.g. a new title. Usage::

    NEWSCLF_DATA_ROOT=../shared/data python benchmarks/syndication_label_noise.py
    python benchmarks/syndication_label_noise.py --thresholds 0.3,0.5,0.7,0.9 --list 0.5 --data-file PATH

All articles of the file are used (one row per article, as ``data=ndtv`` reads them; no split, no model). The
listing names articles by id, day, URL section and length (characters of the marker-free, normalised text); it
prints no article text.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from newsclf.data import dedup
from newsclf.data.sources import NdtvSyndication, resolve_data_root
from newsclf.errors import NewsclfError


def label_mixing(texts: list[str], labels: list[str], thresholds: list[float],
                 k: int = dedup.DEFAULT_SHINGLE, matrix=None) -> list[dict]:
    """Per threshold: near-duplicate pairs and groups (connected components, size >= 2), and how many of each
    join articles with different labels. ``matrix``: the texts' shingle matrix, if already built."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    matrix = dedup.shingle_matrix(texts, k) if matrix is None else matrix
    out = []
    for t in thresholds:
        pairs = dedup.near_duplicate_pairs(texts, t, k, matrix=matrix)
        members: dict[int, list[int]] = defaultdict(list)
        for i, g in enumerate(dedup.groups_from_pairs(len(texts), pairs)):
            members[g].append(i)
        groups = [m for m in members.values() if len(m) > 1]
        mixed = [m for m in groups if len({labels[i] for i in m}) > 1]
        out.append({"threshold": t, "pairs": len(pairs),
                    "mixed_pairs": sum(labels[i] != labels[j] for i, j, _ in pairs),
                    "groups": len(groups), "mixed_groups": len(mixed),
                    "articles_in_groups": sum(map(len, groups)), "articles_in_mixed": sum(map(len, mixed))})
    return out


def mixed_pairs(rows: list[dict], threshold: float, k: int = dedup.DEFAULT_SHINGLE, matrix=None) -> list[dict]:
    """The pairs at or above ``threshold`` whose two articles carry different labels, most similar first."""
    texts = [r["text"] for r in rows]
    out = []
    for i, j, sim in dedup.near_duplicate_pairs(texts, threshold, k, matrix=matrix):
        if rows[i]["label"] == rows[j]["label"]:
            continue
        syn, staff = (rows[i], rows[j]) if rows[i]["label"] == "syndicated" else (rows[j], rows[i])
        out.append({"jaccard": round(sim, 3), **{f"{name}_{key}": r[key] for name, r in (("syndicated", syn),
                    ("staff", staff)) for key in ("id", "time", "section")},
                    "syndicated_chars": len(dedup.normalise(syn["text"])),
                    "staff_chars": len(dedup.normalise(staff["text"]))})
    return sorted(out, key=lambda d: -d["jaccard"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", help="the data root (default: $NEWSCLF_DATA_ROOT)")
    parser.add_argument("--data-file", default="ndtv_articles.csv",
                        help="the NDTV CSV, under DATA_ROOT/ndtv_syndication/ unless absolute")
    parser.add_argument("--thresholds", default="0.3,0.5,0.7,0.9")
    parser.add_argument("--list", type=float, default=0.5, help="list the mixed pairs at or above this Jaccard")
    args = parser.parse_args()
    try:
        thresholds = [float(t) for t in args.thresholds.split(",")]
    except ValueError:
        raise SystemExit(f"error: --thresholds {args.thresholds!r}: expected numbers in (0, 1] separated by "
                         "commas") from None
    if not all(0.0 < t <= 1.0 for t in thresholds + [args.list]):
        raise SystemExit("error: thresholds must lie in (0, 1]")
    try:
        source = NdtvSyndication(file=args.data_file)
        root = Path(args.data_root) if args.data_root else resolve_data_root(None)
        if not root.is_dir():
            raise NewsclfError(f"--data-root {root}: not a folder")
        rows = source.read_articles(root)
    except NewsclfError as exc:
        raise SystemExit(f"error: {exc}") from None
    labels, texts = [r["label"] for r in rows], [r["text"] for r in rows]
    matrix = dedup.shingle_matrix(texts)  # built once for every threshold and the listing
    print(f"{len(rows)} articles ({labels.count('syndicated')} syndicated), character {dedup.DEFAULT_SHINGLE}-shingle "
          "Jaccard of the marker-free text\n")
    print("| Jaccard >= | pairs | pairs with both labels | groups | groups with both labels | articles in them |")
    print("|---|---|---|---|---|---|")
    for r in label_mixing(texts, labels, thresholds, matrix=matrix):
        print(f"| {r['threshold']:g} | {r['pairs']} | {r['mixed_pairs']} | {r['groups']} | {r['mixed_groups']} | "
              f"{r['articles_in_mixed']} of {r['articles_in_groups']} |")
    print(f"\nPairs with both labels at Jaccard >= {args.list:g} (ids are the CSV's index column):\n")
    print("| Jaccard | syndicated: id, tweeted, section, chars | staff: id, tweeted, section, chars |")
    print("|---|---|---|")
    for p in mixed_pairs(rows, args.list, matrix=matrix):
        print(f"| {p['jaccard']:.3f} | {p['syndicated_id']}, {p['syndicated_time'][:16]}, {p['syndicated_section']}, "
              f"{p['syndicated_chars']} | {p['staff_id']}, {p['staff_time'][:16]}, {p['staff_section']}, "
              f"{p['staff_chars']} |")


if __name__ == "__main__":
    main()
