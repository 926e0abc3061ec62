"""Data sources: each turns files under the data root into a ``datasets.DatasetDict`` with string labels.

Splits are ``train``, ``dev`` and (when present) ``test``. Single-text rows carry ``id``, ``title``, ``text``,
``label``; pair rows carry ``id``, ``headline``, ``body``, ``label``. Raw text is kept: cleaning happens in
:class:`newsclf.data.inputs.InputSpec`, the one place shared with prediction. Nothing here touches the network.
"""

from __future__ import annotations

import csv
import os
import re
from datetime import datetime
from pathlib import Path

import datasets
import numpy as np
from sklearn.model_selection import train_test_split

from newsclf.data import dedup
from newsclf.data.markers import has_footer, wire_credit
from newsclf.data.readers import read_records
from newsclf.data.text import join_title, repair_feed_residue
from newsclf.errors import NewsclfError
from newsclf.utils import UnionFind

DATA_ROOT_ENV = "NEWSCLF_DATA_ROOT"
csv.field_size_limit(1 << 28)


def resolve_data_root(configured: str | None) -> Path:
    """The data root: ``$NEWSCLF_DATA_ROOT`` wins over the config value."""
    root = os.environ.get(DATA_ROOT_ENV) or configured
    if not root:
        raise NewsclfError(f"no data root: set {DATA_ROOT_ENV} or data_root= to the folder holding the data sets")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise NewsclfError(f"data root {path} does not exist (set {DATA_ROOT_ENV} or data_root=); "
                           "see data/README.md for where each data set comes from")
    return path


def _need(path: Path, hint: str) -> Path:
    if not path.exists():
        raise NewsclfError(f"{path}: not found; {hint} (see data/README.md)")
    return path


def _to_dataset(rows: list[dict], columns: tuple[str, ...]) -> datasets.Dataset:
    data = {c: [r.get(c) for r in rows] for c in columns}
    features = datasets.Features({c: datasets.Value("string") for c in columns})
    return datasets.Dataset.from_dict(data, features=features)


def stratified_split(rows: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Split rows into (rest, held) with ``fraction`` held out, stratified by label, seeded."""
    idx = np.arange(len(rows))
    labels = [r["label"] for r in rows]
    rest, held = train_test_split(idx, test_size=fraction, random_state=seed, stratify=labels)
    return [rows[i] for i in sorted(rest)], [rows[i] for i in sorted(held)]


class Source:
    """Base class: ``load(root) -> DatasetDict``; ``columns`` and ``labels`` describe the result."""

    columns: tuple[str, ...] = ("id", "title", "text", "label")
    labels: tuple[str, ...] | None = None  # None: the sorted labels found in train

    def load(self, root: Path) -> datasets.DatasetDict:
        raise NotImplementedError

    def label_list(self, dsd: datasets.DatasetDict) -> list[str]:
        if self.labels is not None:
            return sorted(self.labels)
        return sorted({x for x in dsd["train"]["label"] if x is not None})


class AgNews(Source):
    """AG News: ``ag_news/train*.csv`` (here the first 2,000 rows) and the canonical 7,600-row test set."""

    CLASSES = ("World", "Sports", "Business", "Sci/Tech")  # the CSV's 1-based class ids
    labels = CLASSES

    def __init__(self, dir: str = "ag_news", train_file: str = "train_partial_first2000.csv",
                 test_file: str = "test.csv", dev_fraction: float = 0.1, split_seed: int = 13):
        self.dir, self.train_file, self.test_file = dir, train_file, test_file
        self.dev_fraction, self.split_seed = dev_fraction, split_seed

    def _read(self, path: Path) -> list[dict]:
        rows = []
        with open(_need(path, "get AG News from its original source"), encoding="utf-8", newline="") as f:
            for n, rec in enumerate(csv.reader(f), start=1):
                if len(rec) != 3 or not rec[0].strip().isdigit() or not 1 <= int(rec[0]) <= 4:
                    raise NewsclfError(f"{path}: row {n}: expected 3 fields \"class(1-4)\",\"title\","
                                       f"\"description\", found {rec[:3]!r}")
                rows.append({"id": f"{path.stem}-{n}", "title": rec[1], "text": rec[2],
                             "label": self.CLASSES[int(rec[0]) - 1]})
        return rows

    def load(self, root: Path) -> datasets.DatasetDict:
        base = root / self.dir
        train, dev = stratified_split(self._read(base / self.train_file), self.dev_fraction, self.split_seed)
        test = self._read(base / self.test_file)
        return datasets.DatasetDict({s: _to_dataset(r, self.columns)
                                     for s, r in (("train", train), ("dev", dev), ("test", test))})


class BbcNews(Source):
    """BBC News: ``bbc_news/bbc/<class>/<nnn>.txt`` (first line title); exact duplicates removed, then split."""

    def __init__(self, dir: str = "bbc_news/bbc", dev_fraction: float = 0.1, test_fraction: float = 0.2,
                 split_seed: int = 13):
        self.dir, self.dev_fraction, self.test_fraction, self.split_seed = dir, dev_fraction, test_fraction, split_seed

    def load(self, root: Path) -> datasets.DatasetDict:
        base = _need(root / self.dir, "get the BBC News data set (5 class folders)")
        rows, seen = [], set()
        for cls_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            for path in sorted(cls_dir.glob("*.txt")):
                raw = path.read_bytes().decode("utf-8", errors="replace")
                if raw in seen:  # exact duplicates (98 in the public set) would leak across splits
                    continue
                seen.add(raw)
                title, _, body = raw.strip().partition("\n")
                rows.append({"id": f"{cls_dir.name}/{path.stem}", "title": title.strip(), "text": body.strip(),
                             "label": cls_dir.name})
        if not rows:
            raise NewsclfError(f"{base}: no <class>/<nnn>.txt files found")
        rest, test = stratified_split(rows, self.test_fraction, self.split_seed)
        train, dev = stratified_split(rest, self.dev_fraction / (1 - self.test_fraction), self.split_seed)
        return datasets.DatasetDict({"train": _to_dataset(train, self.columns), "dev": _to_dataset(dev, self.columns),
                                     "test": _to_dataset(test, self.columns)})


class Fnc1(Source):
    """FNC-1 stance: (headline, body) pairs; dev = the official baseline's hold-out bodies; test unlabeled.

    ``dev_split: topic`` is a harder validation split that mimics the competition test's new topics: headlines
    and bodies are joined into stories through their related (agree / disagree / discuss) pairs, a seeded
    ``topic_fraction`` of the stories is held out whole, and pairs that would link a held-out story to a
    training one (unrelated pairs across the cut) are dropped, so dev shares no headline and no body with train.
    Most unrelated pairs cross the cut, so dev is then topped up with unrelated pairs made the way FNC-1 made
    them (a held-out headline with a held-out body of another story, seeded) to the unrelated share of train.

    ``dev_split: none`` holds nothing out: all 49,972 labelled pairs train (the final refit, once a system has
    been chosen on the other two splits, for predicting the competition test). There is no dev split then, so
    no dev metrics, and no temperature is fitted on one.
    """

    columns = ("id", "headline", "body", "label", "body_id")
    labels = ("agree", "disagree", "discuss", "unrelated")

    def __init__(self, dir: str = "fnc1", hold_out_ids: str = "derived/baseline_hold_out_body_ids.txt",
                 test_stances: str = "competition_test_stances_unlabeled.csv",
                 test_bodies: str = "competition_test_bodies.csv", dev_split: str = "hold_out",
                 topic_fraction: float = 0.2, topic_seed: int = 2017):
        self.dir, self.hold_out_ids = dir, hold_out_ids
        self.test_stances, self.test_bodies = test_stances, test_bodies
        if dev_split not in ("hold_out", "topic", "none"):
            raise NewsclfError(f"data.dev_split: expected hold_out, topic or none, found {dev_split!r}")
        if not 0 < float(topic_fraction) < 1:
            raise NewsclfError(f"data.topic_fraction: expected a fraction in (0, 1), found {topic_fraction!r}")
        self.dev_split, self.topic_fraction, self.topic_seed = dev_split, float(topic_fraction), int(topic_seed)

    @staticmethod
    def _bodies(path: Path) -> dict[str, str]:
        with open(_need(path, "get FNC-1 from its original source"), encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or {"Body ID", "articleBody"} - set(reader.fieldnames):
                raise NewsclfError(f"{path}: expected columns 'Body ID' and 'articleBody', found {reader.fieldnames}")
            return {r["Body ID"]: r["articleBody"] for r in reader}

    def _pairs(self, path: Path, bodies: dict[str, str], labelled: bool) -> list[dict]:
        rows = []
        with open(_need(path, "get FNC-1 from its original source"), encoding="utf-8", newline="") as f:
            for n, r in enumerate(csv.DictReader(f)):
                body_id = r.get("Body ID")
                if body_id not in bodies:
                    raise NewsclfError(f"{path}: row {n + 2}: Body ID {body_id!r} has no body")
                label = r.get("Stance") if labelled else None
                if labelled and label not in self.labels:
                    raise NewsclfError(f"{path}: row {n + 2}: Stance {label!r} is not one of {self.labels}")
                rows.append({"id": str(n), "headline": r["Headline"], "body": bodies[body_id], "label": label,
                             "body_id": body_id})
        return rows

    def load(self, root: Path) -> datasets.DatasetDict:
        base = root / self.dir
        train_all = self._pairs(base / "train_stances.csv", self._bodies(base / "train_bodies.csv"), True)
        if self.dev_split == "none":  # the final refit: every labelled pair trains, nothing is held out
            splits = {"train": train_all}
        elif self.dev_split == "topic":
            train, dev = topic_split(train_all, self.topic_fraction, self.topic_seed)
            splits = {"train": train, "dev": dev}
        else:
            hold_path = _need(base / self.hold_out_ids, "the hold-out Body IDs of the official FNC-1 baseline")
            hold = {line.strip() for line in hold_path.read_text().splitlines() if line.strip()}
            splits = {"train": [r for r in train_all if r["body_id"] not in hold],
                      "dev": [r for r in train_all if r["body_id"] in hold]}
        if (base / self.test_stances).exists():
            splits["test"] = self._pairs(base / self.test_stances, self._bodies(base / self.test_bodies), False)
        return datasets.DatasetDict({s: _to_dataset(r, self.columns) for s, r in splits.items()})


def story_nodes(r: dict) -> tuple[str, str]:
    """A pair's headline and body as nodes of ``story_sets``."""
    return "h:" + r["headline"], "b:" + r["body_id"]


def story_sets(pairs: list[dict]) -> UnionFind:
    """Headlines and bodies (``story_nodes``) joined through their related pairs: one set per story. Unrelated
    pairs, which FNC-1 made by pairing stories at random, join nothing."""
    sets = UnionFind()
    for r in pairs:
        h, b = story_nodes(r)
        sets.find(h), sets.find(b)
        if r["label"] != "unrelated":
            sets.union(h, b)
    return sets


def topic_split(pairs: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, dev) with whole stories (``story_sets``) in dev."""
    sets = story_sets(pairs)
    find = sets.find
    stories = sorted({find(x) for x in list(sets.parent)})
    rng = np.random.default_rng(seed)
    held = set(rng.permutation(stories)[: max(1, round(fraction * len(stories)))].tolist())
    train, dev = [], []
    for r in pairs:
        h, b = (find(x) in held for x in story_nodes(r))
        if h and b:
            dev.append(r)
        elif not h and not b:
            train.append(r)
    return train, dev + _unrelated_top_up(dev, train, find, rng)


def _unrelated_top_up(dev: list[dict], train: list[dict], find, rng) -> list[dict]:
    """Unrelated (headline, body) pairs across dev stories, up to train's unrelated share."""
    share = sum(r["label"] == "unrelated" for r in train) / max(len(train), 1)
    have = sum(r["label"] == "unrelated" for r in dev)
    need = int(round(share * (len(dev) - have) / (1 - share))) - have if share < 1 else 0
    headlines = sorted({r["headline"] for r in dev})
    bodies = sorted({(r["body_id"], r["body"]) for r in dev})
    seen = {(r["headline"], r["body_id"]) for r in dev}
    out: list[dict] = []
    for _ in range(20 * max(need, 0)):  # bounded: small dev sets may not have enough cross-story pairs
        if len(out) >= need:
            break
        h = headlines[rng.integers(len(headlines))]
        body_id, body = bodies[rng.integers(len(bodies))]
        if (h, body_id) in seen or find("h:" + h) == find("b:" + body_id):
            continue
        seen.add((h, body_id))
        out.append({"id": f"topic-unrelated-{len(out)}", "headline": h, "body": body, "label": "unrelated",
                    "body_id": body_id})
    return out


class SemEval2016Stance(Source):
    """SemEval-2016 Task 6 (subtask A): the stance of a tweet towards a target, ``FAVOR`` / ``AGAINST`` / ``NONE``.

    Rows are (target, tweet) pairs in the pair columns: the target is the ``headline``, the tweet the ``body``,
    so pair models, ``evaluate.py`` and ``predict.py`` take them like FNC-1 pairs. The files are tab-separated
    with the header ``ID Target Tweet Stance``; the training file is Windows-1252 (``encoding``), the gold test
    files ASCII. train = the training file minus a seeded ``dev_fraction`` stratified by (target, label): the
    organisers' trial set is not in the public files. test = ``test_file`` (subtask A's gold by default;
    subtask B's Donald Trump tweets, a target with no training example, with ``test_file`` set to its file).
    ``drop_tag`` removes the ``#SemST`` hashtag the organisers appended to every tweet (annotators never saw it).
    """

    columns = ("id", "headline", "body", "label")
    labels = ("AGAINST", "FAVOR", "NONE")
    TAG = re.compile(r"\s*#SemST\b")

    def __init__(self, dir: str = "semeval2016_task6", train_file: str = "semeval2016-task6-trainingdata.txt",
                 test_file: str | None = "SemEval2016-Task6-subtaskA-testdata-gold.txt", encoding: str = "cp1252",
                 dev_fraction: float = 0.1, split_seed: int = 13, drop_tag: bool = True):
        if not 0 < float(dev_fraction) < 1:
            raise NewsclfError(f"data.dev_fraction: expected a fraction in (0, 1), found {dev_fraction!r}")
        self.dir, self.train_file, self.test_file, self.encoding = dir, train_file, test_file, encoding
        self.dev_fraction, self.split_seed, self.drop_tag = float(dev_fraction), split_seed, bool(drop_tag)

    def _read(self, path: Path, encoding: str) -> list[dict]:
        _need(path, "get SemEval-2016 Task 6 from its original source (its PROVENANCE.md)")
        try:
            text = path.read_bytes().decode(encoding)
        except UnicodeDecodeError as exc:
            raise NewsclfError(f"{path}: byte {exc.start} is not {encoding} text; set data.encoding") from None
        except LookupError:
            raise NewsclfError(f"data.encoding: unknown encoding {encoding!r}") from None
        lines = text.splitlines()
        if not lines or lines[0].split("\t") != ["ID", "Target", "Tweet", "Stance"]:
            head = lines[0][:80] if lines else ""
            raise NewsclfError(f"{path}: line 1: expected the header 'ID<TAB>Target<TAB>Tweet<TAB>Stance', "
                               f"found {head!r}")
        rows = []
        for n, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 4:
                raise NewsclfError(f"{path}: line {n}: expected 4 tab-separated fields (ID, Target, Tweet, "
                                   f"Stance), found {len(fields)}")
            rid, target, tweet, stance = (f.strip() for f in fields)
            if stance not in self.labels:
                raise NewsclfError(f"{path}: line {n}: Stance {stance!r} is not one of {self.labels}")
            if self.drop_tag:
                tweet = self.TAG.sub("", tweet).strip()
            rows.append({"id": rid, "headline": target, "body": tweet, "label": stance})
        if not rows:
            raise NewsclfError(f"{path}: no rows after the header")
        return rows

    def load(self, root: Path) -> datasets.DatasetDict:
        base = root / self.dir
        train_all = self._read(base / self.train_file, self.encoding)
        # stratify by (target, label): every target keeps its label mix in dev
        strata = [{"i": i, "label": f'{r["headline"]}\t{r["label"]}'} for i, r in enumerate(train_all)]
        try:
            rest, held = stratified_split(strata, self.dev_fraction, self.split_seed)
        except ValueError as exc:  # a (target, label) cell too small for a stratified dev split
            raise NewsclfError(f"{base / self.train_file}: cannot hold out a dev split of {self.dev_fraction} "
                               f"stratified by (target, label): {exc}") from None
        splits = {"train": [train_all[r["i"]] for r in rest], "dev": [train_all[r["i"]] for r in held]}
        if self.test_file:
            splits["test"] = self._read(base / self.test_file, "utf-8")
        return datasets.DatasetDict({s: _to_dataset(r, self.columns) for s, r in splits.items()})


NDTV_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"  # 'Tue Oct 05 23:30:00 +0000 2021'


class NdtvSyndication(Source):
    """NDTV syndication: label = NDTV's syndication footer present; split by time (oldest days train).

    One article is one row: copies under other URL spellings (``ndtv.com`` vs ``www.ndtv.com``, a tweet link
    pasted after it) are merged and dated by their first tweet. Then near-duplicate copies of a story (shingle
    Jaccard >= ``near_dup_threshold``, see :mod:`newsclf.data.dedup`) are dropped from the earlier split, so
    no story sits on both sides. ``weak_labels: ag_news`` adds AG News rows (wire credit vs none, see
    :class:`AgNewsWire`) to train only; dev and test stay pure NDTV. ``test_from`` (a day, ``YYYY-MM-DD``)
    makes every day from it on the test split instead of the newest ``test_days``: with a complete copy of the
    file, ``test_from: 2021-10-06`` puts the days withheld from ``../shared`` in test (docs/syndication.md).
    """

    columns = ("id", "title", "text", "label", "time", "url", "section")
    labels = ("not_syndicated", "syndicated")
    SPLITS = ("train", "dev", "test")  # oldest to newest

    def __init__(self, dir: str = "ndtv_syndication", file: str = "ndtv_articles.csv", dev_days: int = 1,
                 test_days: int = 2, near_dup_threshold: float | None = None, shingle_size: int = 5,
                 weak_labels: str | None = None, weak_max_rows: int | None = None, weak_seed: int = 13,
                 test_from: str | None = None):
        self.dir, self.file, self.dev_days, self.test_days = dir, file, dev_days, test_days
        self.test_from = self._iso_day(test_from)
        self.near_dup_threshold, self.shingle_size = near_dup_threshold, shingle_size
        if weak_labels not in (None, "none", "ag_news"):
            raise NewsclfError(f"data.weak_labels: expected null or 'ag_news', found {weak_labels!r}")
        self.weak_labels = None if weak_labels == "none" else weak_labels
        self.weak_max_rows, self.weak_seed = weak_max_rows, weak_seed
        self.purged_: list[str] = []  # ids of near-duplicate copies dropped by the last load()

    @staticmethod
    def _iso_day(value) -> str | None:
        """``data.test_from`` as ``YYYY-MM-DD`` (Hydra may hand over a date object); None stays None."""
        if value is None:
            return None
        text = str(value).strip()
        try:
            return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
        except ValueError:
            raise NewsclfError(f"data.test_from: expected a day like 2021-10-06, found {value!r}") from None

    @staticmethod
    def article_key(url: str) -> str:
        """One key per article: host without ``www.``, path without query; NDTV's numeric article id wins."""
        first = url.strip().split()[0].rstrip(",") if url.strip() else ""
        bare = re.sub(r"^https?://(?:www\.)?", "", first).split("?")[0].split("#")[0].rstrip("/")
        m = re.search(r"-(\d{5,})$", bare)
        return f"{bare.split('/')[0]}#{m.group(1)}" if m else bare

    def read_articles(self, root: Path) -> list[dict]:
        path = _need(root / self.dir / self.file, "get the NDTV articles CSV (see its PROVENANCE.md)")
        rows: dict[str, dict] = {}
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = {"time", "url", "title", "content"} - set(reader.fieldnames or [])
            if missing:
                raise NewsclfError(f"{path}: missing column(s) {sorted(missing)}")
            for n, r in enumerate(reader):
                content = r["content"] or ""
                if not content.strip():  # drop empty bodies
                    continue
                try:
                    when = datetime.strptime(r["time"].strip(), NDTV_TIME_FORMAT).isoformat()
                except ValueError:
                    raise NewsclfError(f"{path}: row {n + 2}: time {r['time']!r} is not like "
                                       "'Tue Oct 05 23:30:00 +0000 2021'") from None
                key = self.article_key(r["url"])
                if key in rows:  # the same article again: keep the first row, date it by its first tweet
                    rows[key]["time"] = min(rows[key]["time"], when)
                    continue
                url = r["url"].strip().split()[0].rstrip(",")
                parts = url.split("/")
                rows[key] = {"id": r.get("") or str(n), "title": r["title"], "text": content,
                             "label": "syndicated" if has_footer(content) else "not_syndicated",
                             "time": when, "url": url, "section": parts[3] if len(parts) > 4 else ""}
        return list(rows.values())

    def _purge_near_duplicates(self, split: dict[str, list[dict]]) -> dict[str, list[dict]]:
        rows = [r for s in self.SPLITS for r in split[s]]
        owner = [s for s in self.SPLITS for _ in split[s]]
        groups = dedup.near_duplicate_groups([r["text"] for r in rows], self.near_dup_threshold, self.shingle_size)
        keep = dedup.purge_cross_split(owner, groups, self.SPLITS)
        self.purged_ = [r["id"] for r, k in zip(rows, keep, strict=True) if not k]
        return {s: [r for r, o, k in zip(rows, owner, keep, strict=True) if o == s and k] for s in self.SPLITS}

    def load(self, root: Path) -> datasets.DatasetDict:
        rows = sorted(self.read_articles(root), key=lambda r: (r["time"], r["url"]))
        days = sorted({r["time"][:10] for r in rows})
        n_test = self.test_days
        if self.test_from is not None:  # test = every day from this one on (e.g. days withheld until now)
            n_test = sum(d >= self.test_from for d in days)
            if n_test == 0:
                span = f"its days run {days[0]} to {days[-1]}" if days else "it holds no article"
                raise NewsclfError(f"data.test_from={self.test_from}: no article in the NDTV data is dated on or "
                                   f"after it ({span})")
        if len(days) < self.dev_days + n_test + 1:
            raise NewsclfError(f"NDTV data spans {len(days)} day(s); need more than dev_days + test days "
                               f"= {self.dev_days + n_test}")
        test_days = set(days[len(days) - n_test:])
        dev_days = set(days[len(days) - n_test - self.dev_days:len(days) - n_test])
        split: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
        for r in rows:
            day = r["time"][:10]
            split["test" if day in test_days else "dev" if day in dev_days else "train"].append(r)
        if self.near_dup_threshold:
            split = self._purge_near_duplicates(split)
        if self.weak_labels == "ag_news":
            weak = AgNewsWire().rows(root, max_rows=self.weak_max_rows, seed=self.weak_seed)
            split["train"] = split["train"] + [{**r, "time": "", "url": "", "section": "ag_news"} for r in weak]
        return datasets.DatasetDict({s: _to_dataset(v, self.columns) for s, v in split.items()})


class AgNewsWire(Source):
    """AG News as weakly labelled syndication data: a wire credit (Reuters, AP, AFP, ...) = ``syndicated``,
    no credit = ``not_syndicated``; rows that credit only a publisher (USATODAY.com, ...) are dropped.

    Credits stay in the raw text, like NDTV's footers: the syndication task's ``InputSpec`` removes them (and
    the feed residue that correlates with the source) before any model sees the text. ``load`` gives a
    stratified train/dev/test split; :class:`NdtvSyndication` uses :meth:`rows` as extra training data.
    """

    labels = ("not_syndicated", "syndicated")

    def __init__(self, dir: str = "ag_news", files: tuple[str, ...] = ("train_partial_first2000.csv", "test.csv"),
                 dev_fraction: float = 0.1, test_fraction: float = 0.2, split_seed: int = 13):
        self.dir, self.files = dir, tuple(files)
        self.dev_fraction, self.test_fraction, self.split_seed = dev_fraction, test_fraction, split_seed

    def rows(self, root: Path, max_rows: int | None = None, seed: int = 13) -> list[dict]:
        """Labelled rows; with ``max_rows``, a seeded subset with as many wire rows as non-wire rows."""
        out = []
        for name in self.files:
            for r in AgNews(dir=self.dir)._read(root / self.dir / name):
                credit = wire_credit(join_title(repair_feed_residue(r["title"]), repair_feed_residue(r["text"])))
                if credit != "publisher":
                    out.append({**r, "label": "syndicated" if credit == "wire" else "not_syndicated"})
        if max_rows and max_rows < len(out):
            rng = np.random.default_rng(seed)
            picked = []
            for label in self.labels:
                idx = [i for i, r in enumerate(out) if r["label"] == label]
                picked += rng.choice(idx, size=min(len(idx), max_rows // 2), replace=False).tolist()
            out = [out[i] for i in sorted(picked)]
        return out

    def load(self, root: Path) -> datasets.DatasetDict:
        rest, test = stratified_split(self.rows(root), self.test_fraction, self.split_seed)
        train, dev = stratified_split(rest, self.dev_fraction / (1 - self.test_fraction), self.split_seed)
        return datasets.DatasetDict({s: _to_dataset(r, self.columns)
                                     for s, r in (("train", train), ("dev", dev), ("test", test))})


class LocalFiles(Source):
    """Your own data: CSV / JSONL files with configurable text (or pair) and label columns.

    ``train`` is required; ``dev`` and ``test`` are optional (a seeded stratified ``dev_fraction`` of train
    becomes dev when ``dev`` is missing). Paths are relative to the data root unless absolute.
    """

    def __init__(self, train: str, dev: str | None = None, test: str | None = None, input: str = "text",
                 text_field: str = "text", title_field: str | None = "title", headline_field: str = "headline",
                 body_field: str = "body", label_field: str = "label", id_field: str | None = "id",
                 dev_fraction: float = 0.1, split_seed: int = 13, labels: list[str] | None = None):
        self.paths = {"train": train, "dev": dev, "test": test}
        self.kind = input
        self.fields = ({"headline": headline_field, "body": body_field} if input == "pair"
                       else {"text": text_field, **({"title": title_field} if title_field else {})})
        self.label_field, self.id_field = label_field, id_field
        self.dev_fraction, self.split_seed = dev_fraction, split_seed
        self.labels = tuple(labels) if labels else None
        self.columns = ("id", *self.fields, "label")

    def _read(self, path: Path) -> list[dict]:
        rows = []
        for rec in read_records(path, kind=self.kind, fields=self.fields, label_field=self.label_field,
                                id_field=self.id_field):
            rows.append(rec)
        return rows

    def load(self, root: Path) -> datasets.DatasetDict:
        def resolve(p: str) -> Path:
            return Path(p) if Path(p).is_absolute() else root / p

        splits = {s: self._read(resolve(p)) for s, p in self.paths.items() if p}
        if "dev" not in splits:
            splits["train"], splits["dev"] = stratified_split(splits["train"], self.dev_fraction, self.split_seed)
        return datasets.DatasetDict({s: _to_dataset(r, self.columns) for s, r in splits.items()})
