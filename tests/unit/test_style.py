"""Style features (newsclf.features.style) and the tfidf_style model: each feature on hand-made text, the pattern
table's own examples, masking, JSON + safetensors round trip, config errors."""

import json
import math

import numpy as np
import pytest

from newsclf.checkpoint import load_checkpoint, save_checkpoint
from newsclf.data.inputs import InputSpec
from newsclf.errors import NewsclfError
from newsclf.features.style import (
    PATTERNS,
    STYLE_NAMES,
    StyleFeatures,
    mask_content_words,
    sentences,
    style_matrix,
    style_vector,
)
from newsclf.models import registry
from newsclf.models.tfidf import ARRAYS_FILE, STATE_FILE
from newsclf.models.tfidf_style import TfidfStyleClassifier
from tests.integration.test_syndication_leakage import make_syndication_rows

TITLE = 'Fuel Crisis: "Army To Help", Says UK Report'
BODY = ('The army will deliver petrol from Monday, the government said on Friday. Mr Shapps told reporters here '
        'that 5 per cent of stations were dry. "We are ready," he said. Why now?')
TEXT = f"{TITLE}\n{BODY}"


def features(text: str = TEXT) -> dict[str, float]:
    return dict(zip(STYLE_NAMES, style_vector(text), strict=True))


def test_names_cover_every_column_once():
    assert len(STYLE_NAMES) == len(set(STYLE_NAMES)) == style_vector(TEXT).shape[0]
    assert style_matrix([TEXT, "x"]).shape == (2, len(STYLE_NAMES))


def test_text_statistics_on_a_hand_made_text():
    f = features()
    # body words per sentence: 12, 13 ('per cent' is two, '5' one), 5, 2 = 32
    assert sentences(BODY) == ["The army will deliver petrol from Monday, the government said on Friday.",
                               "Mr Shapps told reporters here that 5 per cent of stations were dry.",
                               '"We are ready," he said.', "Why now?"]
    assert f["log_words"] == pytest.approx(math.log1p(32))
    assert f["log_chars"] == pytest.approx(math.log1p(len(BODY)))
    assert f["log_sentences"] == pytest.approx(math.log1p(4))
    assert f["sentence_words_mean"] == pytest.approx(8.0)
    assert f["sentence_words_median"] == pytest.approx(8.5)
    assert f["long_sentence_share"] == 0.0
    assert f["short_sentence_share"] == pytest.approx(0.5)
    assert f["quoted_sentence_share"] == pytest.approx(0.25)
    assert f["quote_ending_sentence_share"] == 0.0
    assert f["lead_words"] == 12 and f["lead_said"] == 1.0 and f["lead_weekday"] == 1.0 and f["lead_today"] == 0.0


def test_title_statistics_on_a_hand_made_text():
    f = features()
    assert f["title_words"] == 8 and f["title_chars"] == len(TITLE)
    assert f["title_colon"] == f["title_quote"] == f["title_says"] == f["title_report"] == 1.0
    assert f["title_question"] == f["title_digit"] == 0.0
    assert f["title_capitalised_share"] == 1.0


def test_pattern_rates_on_a_hand_made_text():
    f = features()
    per_100 = 100.0 / 32
    for name, count in {"said_on_day": 1, "on_day": 1, "day_any": 2, "told_reporters": 1, "said_here": 1,
                        "pronoun_said": 1, "said": 2, "honorific": 1, "per_cent": 1, "question": 1,
                        "double_quote": 2, "ndtv": 0, "tweet": 0, "percent": 0}.items():
        assert f[f"{name}_per_100_words"] == pytest.approx(count * per_100), name
        assert f[f"{name}_present"] == float(count > 0), name


@pytest.mark.parametrize("row", PATTERNS, ids=[p.name for p in PATTERNS])
def test_every_pattern_counts_its_example_and_ignores_its_negative(row):
    assert features(f"T\n{row.matches}")[f"{row.name}_present"] == 1.0
    assert features(f"T\n{row.ignores}")[f"{row.name}_present"] == 0.0


def test_text_without_title_line_is_all_body():
    f = features("He said on Monday.")
    assert f["title_words"] == 0 and f["said_on_day_present"] == 1.0
    assert np.isfinite(style_vector("")).all()


def test_masking_keeps_function_words_and_punctuation_only():
    assert mask_content_words('Mr Sidhu said on Tuesday: "We won 5 seats."') == \
        "mr C said on tuesday CO Q we w D w P Q"
    assert mask_content_words("BJP's ₹ 5 crore (PTI)") == "C A w RUP D crore LP pti RP"


def test_style_features_blocks_and_weights():
    texts = [f"Title {i}\n{BODY} Extra word{i} said." for i in range(6)]
    full = StyleFeatures().fit(texts).transform(texts)
    only_style = StyleFeatures(word_weight=0, masked_weight=0, style_weight=1.0).fit(texts).transform(texts)
    assert only_style.shape == (6, len(STYLE_NAMES))
    assert full.shape[1] > only_style.shape[1]
    # standardised / sqrt(d): each row's norm is at most sqrt of the non-constant columns' share
    assert np.linalg.norm(only_style.toarray(), axis=1).max() <= np.sqrt(6)
    with pytest.raises(NewsclfError, match="all 0"):
        StyleFeatures(word_weight=0, masked_weight=0, style_weight=0).fit(texts)


def _fit_tiny(**kwargs):
    rows = make_syndication_rows()
    spec = InputSpec(strip_markers=True, repair_feed_residue=True)
    X, y = spec.model_inputs(rows), [r["label"] for r in rows]
    return TfidfStyleClassifier(**kwargs).fit(X, y), X, y


@pytest.mark.parametrize("kwargs", [{}, {"word_weight": 0.0}, {"masked_weight": 0.0, "classifier": "ridge"}])
def test_save_load_identical_probabilities(tmp_path, kwargs):
    model, X, y = _fit_tiny(**kwargs)
    assert (np.array(model.predict(X)) == np.array(y)).mean() >= 0.9
    model.temperature_ = 0.8
    model.save(tmp_path / "m")
    assert {p.name for p in (tmp_path / "m").iterdir()} == {STATE_FILE, ARRAYS_FILE}
    state = json.loads((tmp_path / "m" / STATE_FILE).read_text())  # plain JSON, no pickle
    assert state["params"]["word_weight"] == kwargs.get("word_weight", 1.0)
    loaded = registry()["tfidf_style.v1"].load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.get_params() == model.get_params() and loaded.temperature_ == 0.8


def test_checkpoint_roundtrip_through_the_one_loader(tmp_path):
    model, X, _ = _fit_tiny()
    spec = InputSpec(strip_markers=True, repair_feed_residue=True)
    save_checkpoint(tmp_path / "ck", model, task={"name": "syndication"}, input_spec=spec, extra={},
                    config_yaml="seed: 0\n")
    ckpt = load_checkpoint(tmp_path / "ck")
    assert ckpt.manifest["model_kind"] == "tfidf_style.v1"
    np.testing.assert_array_equal(ckpt.model.predict_proba(X), model.predict_proba(X))


def test_changed_style_table_refuses_to_load(tmp_path):
    model, _, _ = _fit_tiny()
    model.save(tmp_path / "m")
    state = json.loads((tmp_path / "m" / STATE_FILE).read_text())
    state["features"]["style_names"] = state["features"]["style_names"][:-1]
    (tmp_path / "m" / STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(NewsclfError, match="STYLE_NAMES changed"):
        TfidfStyleClassifier.load(tmp_path / "m")


@pytest.mark.parametrize("key, value", [("style_weight", -1.0), ("word_weight", "big"), ("masked_weight", True)])
def test_bad_block_weight_is_a_one_line_error(key, value):
    with pytest.raises(NewsclfError, match=f"model.{key}: expected a number >= 0"):
        _fit_tiny(**{key: value})


def test_pair_input_is_refused():
    with pytest.raises(NewsclfError, match="single texts"):
        TfidfStyleClassifier(input_kind="pair").fit([("a", "b"), ("c", "d")], ["x", "y"])
