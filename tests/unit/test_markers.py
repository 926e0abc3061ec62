"""The marker table, row by row: every rule finds its examples and leaves its ordinary sentences alone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsclf.data.inputs import InputSpec
from newsclf.data.markers import (
    MARKERS,
    evidence,
    find_markers,
    has_footer,
    injectable,
    marker_only_text,
    strip_markers,
    wire_credit,
)
from newsclf.data.text import normalize_space

POSITIVES = [(r.name, ex) for r in MARKERS for ex in (r.example, *r.examples)]
NEGATIVES = [(r.name, ex) for r in MARKERS for ex in r.negatives]
RULES = {r.name: r for r in MARKERS}
INJECTED = [r for r in MARKERS if r.kind != "residue"]


def test_every_rule_has_a_positive_and_a_negative_example():
    assert len({r.name for r in MARKERS}) == len(MARKERS)
    for rule in MARKERS:
        assert rule.kind in ("footer", "credit", "residue")
        assert rule.position in ("start", "end", "line", "any", "inner")
        assert rule.negatives, f"{rule.name} has no negative example"


@pytest.mark.parametrize(("name", "text"), POSITIVES)
def test_rule_finds_its_examples(name, text):
    found = [mk for mk in find_markers(text) if mk.name == name]
    assert found, f"{name} missed {text!r}"
    clean, removed = strip_markers(text)
    assert any(mk.name == name for mk in removed)
    assert strip_markers(clean)[0] == clean  # idempotent


@pytest.mark.parametrize(("name", "text"), POSITIVES)
def test_gates_are_necessary(name, text):
    rule = RULES[name]
    assert not rule.gate or any(g in text.lower() for g in rule.gate)


@pytest.mark.parametrize(("name", "text"), NEGATIVES)
def test_rule_leaves_ordinary_text_alone(name, text):
    clean, removed = strip_markers(text)
    assert not any(mk.name == name for mk in removed), f"{name} ate part of {text!r}"
    if RULES[name].kind != "residue":
        assert clean == normalize_space(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("NEW DELHI (PTI) - The minister said so.--IANS", "The minister said so."),
    (" NEW YORK (Reuters) - U.S. stocks rose  #36;5, it #39;s said", "U.S. stocks rose $5, it's said"),
    ("Stocks rise (Reuters)\nReuters - Stocks rose.", "Stocks rise\nStocks rose."),
    ("Leaders met. (With inputs from PTI) (Except for the headline, this story has not been edited by NDTV "
     "staff and is published from a syndicated feed.)", "Leaders met."),
    ("He said “no” – twice…", 'He said "no" - twice...'),
    ("Talks Fail. NEW DELHI (PTI) - Leaders met.", "Talks Fail. Leaders met."),
    ("He told Reuters - in a call - that (AP) data and AFP - figures differ.",
     "He told Reuters - in a call - that (AP) data and AFP - figures differ."),
])
def test_strip_examples(text, expected):
    assert strip_markers(text)[0] == expected


def test_evidence_reports_footers_and_credits_not_residue():
    text = ("Reuters | Updated: 24-06-2024 07:11 IST | Created: 24-06-2024 07:11 IST\nBody  text.\n"
            "(This story has not been edited by Devdiscourse staff and is auto-generated from a syndicated feed.)")
    ev = evidence(text)
    assert [e["marker"] for e in ev] == ["devdiscourse_header", "devdiscourse"]
    assert ev[0]["agency"] == "Reuters" and ev[1]["kind"] == "footer"
    assert has_footer(text) and not has_footer("Body text.")
    assert evidence("Plain  text with “quotes”.") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("Oil rises (Reuters)", "wire"), ("AFP - Spain said", "wire"), ("Fed cuts (Update2)", "wire"),
    ("NEW YORK (CNN/Money) - Fund managers", "publisher"), ("Apple unveils iMac (SiliconValley.com)", "publisher"),
    ("The Associated Press (AP) said on Monday it would appeal.", None), ("Plain story.", None),
])
def test_wire_credit(text, expected):
    assert wire_credit(text) == expected


def test_marker_only_text():
    assert marker_only_text("Stocks rise (Reuters)") == "credit_agency_suffix agency_Reuters"
    assert marker_only_text("Plain story.") == "no_marker"


# Leakage guard at the cleaning level: a known footer or credit added where it lives changes no model input.
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ,.'\"0123456789", min_size=1, max_size=80)


def _injections(rule, text: str) -> list[str]:
    m = injectable(rule)
    body = text.rstrip() if text.rstrip().endswith(".") else text.rstrip() + "."
    forms = {"start": [f"{m} {text}", f"{m}\n{text}"], "end": [f"{text} {m}", f"{text}\n{m}"],
             "line": [f"{m}\n{text}", f"{text}\n{m}"], "inner": [f"{body} {m}{text}"]}
    forms["any"] = forms["start"] + forms["end"]
    return forms[rule.position]


@pytest.mark.parametrize("rule", INJECTED, ids=lambda r: r.name)
@settings(max_examples=25, deadline=None)
@given(text=WORDS.filter(lambda t: t.strip() and t.strip()[0].isalpha()))
def test_injected_marker_leaves_model_input_unchanged(rule, text):
    spec = InputSpec(kind="text", repair_feed_residue=True, strip_markers=True)
    body = text.rstrip() if text.rstrip().endswith(".") else text.rstrip() + "."
    base = spec.clean(f"{body} {text}" if rule.position == "inner" else text)
    for injected in _injections(rule, text):
        assert spec.clean(injected) == base, injected


@given(text=st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_strip_is_idempotent_on_any_text(text):
    once = strip_markers(text)[0]
    assert strip_markers(once)[0] == once
