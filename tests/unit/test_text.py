import pytest

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
