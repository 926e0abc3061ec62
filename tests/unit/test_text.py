import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsclf.data.inputs import InputSpec
from newsclf.data.text import join_title, repair_feed_residue


@pytest.mark.parametrize(("raw", "clean"), [
    ("Wall Street's dwindling\\band of ultra-cynics", "Wall Street's dwindling band of ultra-cynics"),
    ("prices surged past  #36;46\\a barrel", "prices surged past $46 a barrel"),
    ("it #39;s a \\$5 deal", "it's a $5 deal"),
    ("said quot;no quot; amp; left", 'said "no " & left'),
    ("&lt;p&gt;Hello&lt;/p&gt; world", "Hello world"),
    ("two  spaces\tand tab", "two spaces and tab"),
])
def test_repair_feed_residue(raw, clean):
    assert repair_feed_residue(raw) == clean


def test_repair_is_idempotent_on_clean_text():
    text = "A plain sentence, with 3 numbers: 1, 2 and 3."
    assert repair_feed_residue(text) == text


def test_join_title_skips_missing_parts():
    assert join_title("T", "body") == "T\nbody"
    assert join_title(None, "body") == "body"
    assert join_title("  ", "body") == "body"


def test_input_spec_pair_and_text():
    spec = InputSpec(kind="pair")
    assert spec.model_input({"headline": " H ", "body": "B  b"}) == ("H", "B b")
    spec = InputSpec(kind="text", repair_feed_residue=True)
    assert spec.model_input({"title": "Oil (Reuters)", "text": "it #39;s up"}) == "Oil (Reuters)\nit's up"


def test_input_spec_strip_markers_removes_footer_and_credit():
    spec = InputSpec(kind="text", strip_markers=True)
    out = spec.model_input({"title": "Stocks rise (Reuters)",
                            "text": "Reuters - Stocks rose. (This story has not been edited by NDTV staff and is "
                                    "auto-generated from a syndicated feed.)"})
    assert out == "Stocks rise\nStocks rose."


# ------------------------------------------------------------------------------ fast paths == plain regexes
def _reference_repair(text: str) -> str:
    """The cleaning as a plain chain of substitutions: the fast paths must give exactly this."""
    import html
    import re

    from newsclf.data import text as t

    text = t._NUMERIC_ENTITY.sub(t._numeric, text)
    text = re.sub(r"(?<![&\w])(quot|amp|lt|gt|nbsp|apos);", lambda m: t._NAMED[m.group(1)], text)
    text = html.unescape(text)
    text = t._TAG.sub(" ", text)
    text = t._BACKSLASH_DOLLAR.sub("$", text)
    text = t._BACKSLASH.sub(" ", text)
    return t._BLANK_LINES.sub("\n", t._SPACES.sub(" ", text)).strip()


FEEDY = st.text(alphabet=st.sampled_from(list("ab #39;&lt<p>\\$quotmsgn_é\n\t\u00a0\r\x0b\u2003.")), max_size=60)


@settings(max_examples=400, deadline=None)
@given(FEEDY)
def test_fast_cleaning_equals_the_plain_substitutions(raw):
    assert repair_feed_residue(raw) == _reference_repair(raw)


@pytest.mark.parametrize("raw", ["a\n b", "a \nb", "a\n\nb", "a\n", "\na", "a\r\nb", "a\u2003\nb", "x #60;p>y\\z"])
def test_fast_cleaning_edge_cases(raw):
    assert repair_feed_residue(raw) == _reference_repair(raw)


@settings(max_examples=300, deadline=None)
@given(FEEDY)
def test_normalize_space_is_idempotent(raw):
    """InputSpec.clean relies on it: after repair_feed_residue it does not normalise a second time."""
    from newsclf.data.text import normalize_space

    once = normalize_space(raw)
    assert normalize_space(once) == once
    assert repair_feed_residue(raw) == normalize_space(repair_feed_residue(raw))
