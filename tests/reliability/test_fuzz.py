"""Property-based tests (hypothesis) over the input readers, the marker stripper and the checkpoint loader.

- The readers, given any bytes or any Unicode in any supported format, either yield records or raise
  NewsclfError; the text they yield is exactly what the file held (readers validate, they never clean).
- ``strip_markers`` never raises, is idempotent, and leaves a text without markers as ``normalize_space``
  would (runs of spaces / tabs / NBSP collapse to one space, blank-line runs to one newline, ends stripped).
- ``load_checkpoint`` on a manifest with any field replaced by any JSON value loads or raises NewsclfError.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from newsclf.checkpoint import load_checkpoint
from newsclf.data.inputs import InputSpec
from newsclf.data.markers import evidence, find_markers, strip_markers
from newsclf.data.readers import read_records
from newsclf.data.text import normalize_space
from newsclf.errors import NewsclfError

# NEWSCLF_FUZZ_EXAMPLES=5000 pytest tests/reliability/test_fuzz.py hunts harder than the default run
EXAMPLES = int(os.environ.get("NEWSCLF_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=8)


def read_all(path: Path, **kwargs) -> list[dict] | None:
    """The records, or None when the reader refused the input with a NewsclfError (anything else fails)."""
    try:
        return list(read_records(path, **kwargs))
    except NewsclfError as e:
        assert "\n" not in str(e)  # one line, always
        return None


# ----------------------------------------------------------------------------------------------- readers
@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".jsonl", ".csv", ".txt"]),
       kind=st.sampled_from(["text", "pair"]))
def test_readers_survive_any_bytes(scratch, data, suffix, kind):
    path = scratch / f"bytes{suffix}"
    path.write_bytes(data)
    read_all(path, kind=kind)
    read_all(path, kind=kind, label_field="label")


@FUZZ
@given(lines=st.lists(json_values, min_size=1, max_size=4), kind=st.sampled_from(["text", "pair"]))
def test_readers_survive_any_json(scratch, lines, kind):
    path = scratch / "values.jsonl"
    path.write_text("".join(json.dumps(v) + "\n" for v in lines), encoding="utf-8")
    records = read_all(path, kind=kind, label_field="label")
    for rec in records or []:
        for field in ("headline", "body") if kind == "pair" else ("text",):
            assert isinstance(rec[field], str) and rec[field].strip()


@FUZZ
@given(text=st.text(min_size=1, max_size=200), title=st.text(max_size=40) | st.none())
def test_jsonl_text_comes_back_exactly(scratch, text, title):
    path = scratch / "text.jsonl"
    path.write_text(json.dumps({"id": "x", "title": title, "text": text}) + "\n", encoding="utf-8")
    records = read_all(path)
    if records is None:  # refused: then it really was empty, or held a NUL
        assert not text.strip() or "\x00" in text or (title and "\x00" in title)
    else:
        assert [r["text"] for r in records] == [text]


@FUZZ
@given(rows=st.lists(st.tuples(st.text(max_size=60), st.text(max_size=60)), min_size=1, max_size=5))
def test_csv_round_trips_any_unicode(scratch, rows):
    path = scratch / "pairs.csv"
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["headline", "body"])
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    records = read_all(path, kind="pair", id_field=None)
    if records is not None:
        assert [(r["headline"], r["body"]) for r in records] == rows
        assert all(InputSpec(kind="pair").model_inputs(records))


@FUZZ
@given(text=st.text(min_size=1, max_size=300))
def test_txt_document_comes_back_exactly(scratch, text):
    path = scratch / "doc.txt"
    path.write_text(text, encoding="utf-8", newline="")  # st.text() holds no lone surrogates
    records = read_all(path)
    if records is not None:
        assert records[0]["text"] == text


# ----------------------------------------------------------------------------------------------- markers
@FUZZ
@given(text=st.text(max_size=400))
def test_strip_markers_never_raises_and_is_idempotent(text):
    clean, _ = strip_markers(text)
    assert strip_markers(clean)[0] == clean
    evidence(text)


MARKER_WORDS = ["Reuters", "(Reuters)", "PTI", "NEW DELHI (PTI) -", "--IANS", "(AP)", "AFP", " -- ", "(Update2)",
                "(With inputs from PTI)", "This story has not been edited by NDTV staff and is auto-generated from "
                "a syndicated feed.", "\\", " #39;", "quot;", "  ", "\n\n", "“", "—", "Reuters | Updated: today"]


@FUZZ
@given(parts=st.lists(st.sampled_from(MARKER_WORDS) | st.text(max_size=12), max_size=12))
def test_strip_markers_is_idempotent_on_marker_soup(parts):
    clean, _ = strip_markers("".join(parts))
    assert strip_markers(clean)[0] == clean


@FUZZ
@given(text=st.text(max_size=400))
def test_text_without_markers_is_only_normalised(text):
    assume(not find_markers(text))
    assert strip_markers(text)[0] == normalize_space(text)


# letters, digits, white space and plain sentence punctuation: no marker can be spelt with these
PLAIN = st.text(alphabet=st.characters(categories=("Ll", "Nd"), max_codepoint=0x2FF) | st.sampled_from(" \t\n.,!?"),
                max_size=300)


@FUZZ
@given(text=PLAIN)
def test_plain_text_is_only_normalised(text):
    assert strip_markers(text)[0] == normalize_space(text)
    assert evidence(text) == []


# ----------------------------------------------------------------------------------------------- manifests
@pytest.fixture(scope="module")
def manifest_copy(env, tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("fuzz_ckpt") / "ckpt"
    shutil.copytree(env.topic, ckpt)
    return ckpt, json.loads((ckpt / "manifest.json").read_text())


FIELDS = ["format_version", "model_kind", "params", "labels", "task", "files", "payload_sha256", "fingerprint",
          ("task", "input"), ("task", "name"), ("files", "model"), ("payload_sha256", "state.json")]


@settings(max_examples=max(EXAMPLES * 2 // 3, 1), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_any_manifest_field_loads_or_is_refused(manifest_copy, field, value):
    ckpt, original = manifest_copy
    manifest = json.loads(json.dumps(original))
    node, key = (manifest[field[0]], field[1]) if isinstance(field, tuple) else (manifest, field)
    node[key] = value
    (ckpt / "manifest.json").write_text(json.dumps(manifest))
    try:
        loaded = load_checkpoint(ckpt)
    except NewsclfError as e:
        assert "\n" not in str(e)
        return
    assert loaded.labels == original["labels"] and isinstance(loaded.task, str)  # what loads is usable
