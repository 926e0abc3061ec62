"""Streaming readers for prediction / evaluation inputs and the user's own data files.

Formats: ``.jsonl`` (one JSON object a line), ``.csv`` (header row), ``.txt`` (the whole file is one
document; for pairs the first line is the headline and the rest the body) and ``-`` (JSONL on stdin).
Every problem is a :class:`NewsclfError` naming the file, the line and the field.

Records come out as dicts with the canonical field names (``text``/``title`` or ``headline``/``body``),
``id`` when the input has one, ``label`` when asked for, and ``_loc`` ("file:line") for later messages.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from newsclf.errors import NewsclfError

MAX_DOC_CHARS = 1_000_000  # a longer document is almost surely a broken file; models truncate far sooner
FORMATS = (".jsonl", ".json", ".csv", ".txt")


def _default_fields(kind: str) -> dict[str, str]:
    return {"headline": "headline", "body": "body"} if kind == "pair" else {"text": "text", "title": "title"}


def _check_text(value, where: str, field: str, required: bool, max_chars: int) -> str | None:
    if value is None:
        if required:
            raise NewsclfError(f"{where}: missing field '{field}'")
        return None
    if not isinstance(value, str):
        raise NewsclfError(f"{where}: field '{field}' must be a string, found {type(value).__name__}")
    if "\x00" in value:
        raise NewsclfError(f"{where}: field '{field}' contains a NUL byte")
    if len(value) > max_chars:
        raise NewsclfError(f"{where}: field '{field}' has {len(value):,} characters; at most {max_chars:,} "
                           "are accepted (is the file broken?)")
    if required and not value.strip():
        raise NewsclfError(f"{where}: field '{field}' is empty")
    return value


IDS_RECENT = 50_000  # ids kept in a dict (exact) before moving to the sorted arrays
IDS_IN_MEMORY = 100_000  # ids kept in memory (~3 MB) before the sorted arrays go to a temporary file
_SPILL = np.dtype([("hash", "<i8"), ("seq", "<i8"), ("place", "<i4"), ("row", "<i8")])
_PARTS = 256  # spilled runs are read back by hash range (the top 8 bits): one range of every run at a time


class SeenIds:
    """Exact duplicate-id detection in bounded memory, whatever the input size.

    Recent ids sit in a dict with where they were seen; every ``flush_every`` ids they move into sorted NumPy
    arrays of 64-bit string hashes and positions (~28 bytes an id). An id is checked as it comes against both,
    and the message names the position it was first seen at. Once the arrays hold ``in_memory`` ids they are
    written to a temporary file (under ``TMPDIR``, 28 bytes an id) as one sorted run and emptied, so memory
    stops growing; ids first seen in a run are caught by :meth:`finish` when the input ends, which reads every
    run back one hash range at a time (1/256 of the ids in memory at once) and reports the earliest such
    repeat; :meth:`close` removes the files of an input abandoned before its end.

    A hash match counts as a repeat: two different ids share a 64-bit hash with probability ~n^2 / 2^65
    (3e-8 at a million ids, 3e-4 at a hundred million).
    """

    def __init__(self, flush_every: int | None = None, in_memory: int | None = None):
        self.recent: dict[str, str] = {}
        self.flush_every = flush_every or IDS_RECENT
        self.in_memory = max(in_memory or IDS_IN_MEMORY, self.flush_every)
        self.hashes = np.zeros(0, dtype=np.int64)
        self.seqs = np.zeros(0, dtype=np.int64)
        self.places: list[str] = []  # distinct 'where' prefixes (file names), indexed by self.place_ids
        self.place_ids = np.zeros(0, dtype=np.int32)
        self.rows = np.zeros(0, dtype=np.int64)
        self.count = 0  # ids added so far (their sequence numbers)
        self._spill_dir: tempfile.TemporaryDirectory | None = None
        self._runs: list[tuple[Path, np.ndarray]] = []  # (file, where each hash range starts in it)

    def first_seen(self, key: str) -> str | None:
        if key in self.recent:
            return self.recent[key]
        if len(self.hashes):
            h = hash(key)
            i = int(np.searchsorted(self.hashes, h))
            if i < len(self.hashes) and self.hashes[i] == h:
                return self._where(int(self.place_ids[i]), int(self.rows[i]))
        return None

    def add(self, key: str, where: str) -> None:
        self.recent[key] = where
        self.count += 1
        if len(self.recent) >= self.flush_every:
            self._flush()

    def _where(self, place: int, row: int) -> str:
        return self.places[place] + (str(row) if row >= 0 else "")

    def _flush(self) -> None:
        prefixes, rows = [], []
        for where in self.recent.values():  # 'file.jsonl:12' -> ('file.jsonl:', 12); 'body[3]' -> ('body[3]', -1)
            head, _, tail = where.rpartition(":")
            ok = tail.isdigit()
            prefixes.append(head + ":" if ok else where)
            rows.append(int(tail) if ok else -1)
        index = {p: i for i, p in enumerate(self.places)}
        place_ids = [index.setdefault(p, len(index)) for p in prefixes]
        self.places = list(index)
        hashes = np.fromiter(map(hash, self.recent), dtype=np.int64, count=len(self.recent))
        seqs = np.arange(self.count - len(self.recent), self.count, dtype=np.int64)  # recent: the last ids added
        self.hashes = np.concatenate([self.hashes, hashes])
        self.seqs = np.concatenate([self.seqs, seqs])
        self.place_ids = np.concatenate([self.place_ids, np.asarray(place_ids, dtype=np.int32)])
        self.rows = np.concatenate([self.rows, np.asarray(rows, dtype=np.int64)])
        order = np.argsort(self.hashes, kind="stable")
        self.hashes, self.seqs = self.hashes[order], self.seqs[order]
        self.place_ids, self.rows = self.place_ids[order], self.rows[order]
        self.recent = {}
        if len(self.hashes) >= self.in_memory:
            self._spill()

    def _table(self) -> np.ndarray:
        table = np.empty(len(self.hashes), dtype=_SPILL)
        table["hash"], table["seq"], table["place"], table["row"] = self.hashes, self.seqs, self.place_ids, self.rows
        return table

    def _spill(self) -> None:
        if self._spill_dir is None:
            self._spill_dir = tempfile.TemporaryDirectory(prefix="newsclf-ids-")
        path = Path(self._spill_dir.name) / f"run{len(self._runs)}.bin"
        self._table().tofile(path)
        starts = np.searchsorted(self.hashes >> 56, np.arange(-128, 129))  # range r: starts[r]:starts[r + 1]
        self._runs.append((path, starts))
        for name in ("hashes", "seqs", "rows"):
            setattr(self, name, np.zeros(0, dtype=np.int64))
        self.place_ids = np.zeros(0, dtype=np.int32)

    def finish(self) -> None:
        """At the end of the input: raise on the earliest id that repeats one first seen in a spilled run.
        Nothing to do (and nothing read) when the ids never left memory."""
        if not self._runs:
            return
        try:
            if self.recent:
                self._flush()
            memory = self._table()
            mem_starts = np.searchsorted(memory["hash"] >> 56, np.arange(-128, 129))
            best = None  # (seq of the repeat, its entry, the first entry)
            with contextlib.ExitStack() as stack:  # each run is read once, front to back: range r follows r - 1
                runs = [(stack.enter_context(open(path, "rb")), starts) for path, starts in self._runs]
                for r in range(_PARTS):
                    pieces = [np.fromfile(f, dtype=_SPILL, count=int(starts[r + 1] - starts[r])) for f, starts in runs]
                    pieces.append(memory[mem_starts[r]:mem_starts[r + 1]])
                    best = _earliest_repeat(np.concatenate(pieces), best)
            if best is not None:
                _, again, first = best
                raise NewsclfError(f"{self._where(int(again['place']), int(again['row']))}: duplicate id (first "
                                   f"seen at {self._where(int(first['place']), int(first['row']))})")
        finally:
            self.close()

    def close(self) -> None:
        if self._spill_dir is not None:
            self._spill_dir.cleanup()
        self._spill_dir, self._runs = None, []


def _earliest_repeat(part: np.ndarray, best: tuple | None) -> tuple | None:
    """``best`` or, if earlier, this hash range's first repeat: (its seq, its entry, the first sighting's entry)."""
    part = part[np.argsort(part["hash"], kind="stable")]  # equal hashes stay in input order
    h = part["hash"]
    repeats = np.flatnonzero(h[1:] == h[:-1]) + 1
    if not len(repeats):
        return best
    i = int(repeats[np.argmin(part["seq"][repeats])])
    if best is not None and part["seq"][i] >= best[0]:
        return best
    first = int(np.searchsorted(h, h[i]))  # the run of equal hashes starts at the first sighting
    return int(part["seq"][i]), part[i], part[first]


class _Normalizer:
    """Map one raw row onto canonical fields, validating as it goes; tracks duplicate ids."""

    def __init__(self, kind: str, fields: dict[str, str] | None, label_field: str | None,
                 id_field: str | None, max_chars: int, unique_ids: bool = True):
        self.kind, self.fields = kind, fields or _default_fields(kind)
        self.label_field, self.id_field, self.max_chars = label_field, id_field, max_chars
        self.required = ("headline", "body") if kind == "pair" else ("text",)
        self.seen_ids = SeenIds() if unique_ids else None

    def __call__(self, raw: dict, where: str) -> dict:
        rec: dict = {"_loc": where}
        for canon, column in self.fields.items():
            value = raw.get(column)
            if value == "" and canon not in self.required:
                value = None
            rec[canon] = _check_text(value, where, column, canon in self.required, self.max_chars)
        if self.id_field and raw.get(self.id_field) not in (None, ""):
            rid = raw[self.id_field]
            if isinstance(rid, (dict, list, bool)) or not isinstance(rid, (str, int, float)):
                raise NewsclfError(f"{where}: field '{self.id_field}' must be a string or a number")
            key = str(rid)
            if self.seen_ids is not None:
                first = self.seen_ids.first_seen(key)
                if first is not None:
                    raise NewsclfError(f"{where}: duplicate id {key!r} (first seen at {first})")
                self.seen_ids.add(key, where)
            rec["id"] = rid
        if self.label_field:
            if self.label_field not in raw or raw[self.label_field] in (None, ""):
                raise NewsclfError(f"{where}: missing field '{self.label_field}' (the gold label)")
            rec["label"] = raw[self.label_field]
        return rec


def _iter_jsonl(stream: io.BufferedIOBase, name: str, norm: _Normalizer) -> Iterator[dict]:
    for n, raw in enumerate(stream, start=1):
        where = f"{name}:{n}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise NewsclfError(f"{where}: not valid UTF-8 (byte {e.start}); re-encode the file as UTF-8") from None
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            msg = e.msg.removesuffix(" at")  # json says 'Invalid control character at'
            raise NewsclfError(f"{where}: invalid JSON ({msg} at column {e.colno})") from None
        if not isinstance(obj, dict):
            raise NewsclfError(f"{where}: expected a JSON object, found {type(obj).__name__}")
        yield norm(obj, where)


def _iter_csv(stream: io.BufferedIOBase, name: str, norm: _Normalizer) -> Iterator[dict]:
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline="")
    try:
        reader = csv.DictReader(text)
        header = reader.fieldnames
        if not header:
            raise NewsclfError(f"{name}: empty CSV (expected a header row)")
        wanted = [norm.fields[c] for c in norm.required]
        if norm.label_field:
            wanted.append(norm.label_field)
        missing = [c for c in wanted if c not in header]
        if missing:
            raise NewsclfError(f"{name}: missing column(s) {missing}; found {header}")
        for raw in reader:
            if None in raw:
                raise NewsclfError(f"{name}:{reader.line_num}: more fields than the header has")
            yield norm(raw, f"{name}:{reader.line_num}")
    except UnicodeDecodeError:
        raise NewsclfError(f"{name}:{_bad_utf8_line(name)}; re-encode the file as UTF-8") from None
    except csv.Error as e:
        raise NewsclfError(f"{name}: malformed CSV ({e})") from None
    except ValueError as e:  # NUL bytes surface here in older Pythons
        raise NewsclfError(f"{name}: malformed CSV ({e})") from None


def _bad_utf8_line(name: str) -> str:
    """'LINE: not valid UTF-8 (byte N)' for the first bad line of a file: the CSV decoder only knows its block."""
    try:
        with open(name, "rb") as f:
            for n, raw in enumerate(f, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    return f"{n}: not valid UTF-8 (byte {e.start})"
    except OSError:
        pass
    return " not valid UTF-8"


def _iter_txt(stream: io.BufferedIOBase, name: str, norm: _Normalizer) -> Iterator[dict]:
    data = stream.read(norm.max_chars * 4 + 1)
    if len(data) > norm.max_chars * 4:  # 4 bytes is the longest UTF-8 character: too long whatever it holds
        raise NewsclfError(f"{name}: larger than {norm.max_chars * 4:,} bytes; a document may have at most "
                           f"{norm.max_chars:,} characters (is the file broken?)")
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NewsclfError(f"{name}: not valid UTF-8 (byte {e.start}); re-encode the file as UTF-8") from None
    if norm.kind == "pair":
        headline, _, body = content.strip().partition("\n")
        raw = {norm.fields["headline"]: headline.strip(), norm.fields["body"]: body.strip()}
    else:
        raw = {norm.fields["text"]: content}
    raw["id"] = Path(name).stem
    yield norm(raw, f"{name}:1")


def read_records(path: str | Path, kind: str = "text", fields: dict[str, str] | None = None,
                 label_field: str | None = None, id_field: str | None = "id",
                 max_chars: int = MAX_DOC_CHARS, unique_ids: bool = True) -> Iterator[dict]:
    """Stream validated records from ``path`` (``-`` = JSONL on stdin). Raises if the input holds none.

    ``unique_ids`` refuses a repeated id, exactly and in bounded memory (see :class:`SeenIds`): at once when
    the id it repeats is still in memory (seen since the last spill to disk, every 100,000 ids), else when the
    input ends."""
    norm = _Normalizer(kind, fields, label_field, id_field, max_chars, unique_ids)
    if str(path) == "-":
        name, suffix, opener = "<stdin>", ".jsonl", lambda: sys.stdin.buffer
    else:
        p = Path(path)
        name, suffix = str(p), p.suffix.lower()
        if not p.exists():
            raise NewsclfError(f"{p}: input file does not exist")
        if p.is_dir():
            raise NewsclfError(f"{p}: is a folder; expected a {'/'.join(FORMATS)} file")
        if suffix not in FORMATS:
            raise NewsclfError(f"{p}: unknown input format {suffix!r}; expected one of {FORMATS} or '-' for stdin")
        opener = lambda: open(p, "rb")  # noqa: E731
    iterate = {".jsonl": _iter_jsonl, ".json": _iter_jsonl, ".csv": _iter_csv, ".txt": _iter_txt}[suffix]
    stream = opener()
    count = 0
    try:
        for rec in iterate(stream, name, norm):
            count += 1
            yield rec
    except BaseException:  # a bad row, or the consumer stopped early (GeneratorExit)
        if norm.seen_ids is not None:
            norm.seen_ids.close()
        raise
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if norm.seen_ids is not None:
        norm.seen_ids.finish()  # repeats of ids that went to disk (long inputs) are found here
    if count == 0:
        raise NewsclfError(f"{name}: no documents found (empty input)")
