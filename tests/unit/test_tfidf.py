import json

import numpy as np
import pytest

from newsclf.data.inputs import InputSpec
from newsclf.errors import NewsclfError
from newsclf.models.tfidf import ARRAYS_FILE, STATE_FILE, TfidfClassifier
from tests.conftest import make_stance_rows, make_topic_rows


@pytest.mark.parametrize("classifier", ["logistic", "ridge"])
def test_save_load_identical_probabilities(tmp_path, classifier):
    rows = make_topic_rows()
    X, y = InputSpec().model_inputs(rows), [r["label"] for r in rows]
    model = TfidfClassifier(classifier=classifier).fit(X, y)
    model.temperature_ = 0.7
    model.save(tmp_path / "m")
    loaded = TfidfClassifier.load(tmp_path / "m")
    assert loaded.labels_ == model.labels_ == sorted(set(y))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.temperature_ == 0.7
    assert {p.name for p in (tmp_path / "m").iterdir()} == {STATE_FILE, ARRAYS_FILE}
    json.loads((tmp_path / "m" / STATE_FILE).read_text())  # plain JSON, no pickle


def test_binary_probabilities_sum_to_one_and_follow_labels():
    rows = [r for r in make_topic_rows() if r["label"] in ("sports", "business")]
    X, y = InputSpec().model_inputs(rows), [r["label"] for r in rows]
    model = TfidfClassifier(C=1.0).fit(X, y)
    probs = model.predict_proba(X)
    assert probs.shape == (len(X), 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (np.array(model.predict(X)) == np.array(y)).mean() >= 0.9


def test_pair_features_train_and_roundtrip(tmp_path):
    rows = make_stance_rows()
    spec = InputSpec(kind="pair")
    X, y = spec.model_inputs(rows), [r["label"] for r in rows]
    model = TfidfClassifier(input_kind="pair", min_df=1).fit(X, y)
    assert (np.array(model.predict(X)) == np.array(y)).mean() >= 0.9
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(TfidfClassifier.load(tmp_path / "m").predict_proba(X), model.predict_proba(X))


def test_class_weight_dict_and_errors():
    rows = make_topic_rows()
    X, y = InputSpec().model_inputs(rows), [r["label"] for r in rows]
    TfidfClassifier(class_weight={"sports": 2.0, "business": 1.0, "science": 1.0}).fit(X, y)
    with pytest.raises(NewsclfError, match="unknown label"):
        TfidfClassifier(class_weight={"nope": 2.0}).fit(X, y)
    with pytest.raises(NewsclfError, match="classifier"):
        TfidfClassifier(classifier="svm").fit(X, y)
    with pytest.raises(NewsclfError, match="at least 2"):
        TfidfClassifier().fit(X[:3], ["a"] * 3)


@pytest.mark.parametrize("bad_c", [-1, 0, "x", True])
def test_bad_regularisation_is_a_one_line_error(bad_c):
    with pytest.raises(NewsclfError, match="model.C: expected a positive number"):
        TfidfClassifier(C=bad_c).fit(["a b", "c d", "e f", "g h"], ["x", "y", "x", "y"])


def _target_rows(n=80, seed=0):
    """One word, opposite stances: 'ban' is AGAINST for target 'guns' and FAVOR for target 'smoking'."""
    rng = np.random.default_rng(seed)
    filler = "people say today this that we they really think about".split()
    rows = []
    for i in range(n):
        target = ("guns", "smoking")[i % 2]
        word = ("ban", "allow")[(i // 2) % 2]
        label = {("guns", "ban"): "AGAINST", ("guns", "allow"): "FAVOR", ("smoking", "ban"): "FAVOR",
                 ("smoking", "allow"): "AGAINST"}[target, word]
        body = " ".join([*rng.choice(filler, 4), word, *rng.choice(filler, 4)])
        rows.append({"headline": target, "body": body, "label": label})
    return rows


def test_headline_copies_learn_a_word_that_flips_with_the_target(tmp_path):
    rows = _target_rows()
    X, y = InputSpec(kind="pair").model_inputs(rows), [r["label"] for r in rows]
    shared = TfidfClassifier(input_kind="pair", C=10.0).fit(X, y)
    copies = TfidfClassifier(input_kind="pair", C=10.0, pair_headline_copies=True, pair_body_char=True).fit(X, y)
    new = _target_rows(seed=1)  # fresh filler: no memorised n-grams to lean on
    X_new, y_new = InputSpec(kind="pair").model_inputs(new), np.array([r["label"] for r in new])
    assert (np.array(copies.predict(X_new)) == y_new).mean() >= 0.95  # measured 1.0
    assert (np.array(shared.predict(X_new)) == y_new).mean() <= 0.7  # one weight per word cannot flip (0.575)
    copies.save(tmp_path / "m")
    state = json.loads((tmp_path / "m" / STATE_FILE).read_text())
    assert state["features"]["headlines"] == ["guns", "smoking"]
    assert state["params"]["pair_headline_copies"] is True and state["params"]["pair_body_char"] is True
    loaded = TfidfClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X), copies.predict_proba(X))
    # a target never seen in training gets the shared weights alone: a prediction, not an error
    unseen = loaded.predict_proba([("alcohol", "we ban it today")])
    assert unseen.shape == (1, 2) and np.isfinite(unseen).all()


def test_pair_options_errors():
    X = [("t", "a b"), ("t", "c d")]
    with pytest.raises(NewsclfError, match="model.pair_headline_copies=true applies to pair inputs"):
        TfidfClassifier(pair_headline_copies=True).fit(["a b", "c d"], ["x", "y"])
    with pytest.raises(NewsclfError, match="model.pair_body_char=true needs model.char_ngram_range"):
        TfidfClassifier(input_kind="pair", pair_body_char=True, char_ngram_range=None).fit(X, ["x", "y"])
    with pytest.raises(NewsclfError, match="model.pair_body_char: expected true or false, found 'yes'"):
        TfidfClassifier(input_kind="pair", pair_body_char="yes").fit(X, ["x", "y"])
    many = [(f"headline {i}", f"body {i}") for i in range(60)]
    with pytest.raises(NewsclfError, match="the training pairs have 60 distinct headlines; expected at most 50"):
        TfidfClassifier(input_kind="pair", pair_headline_copies=True).fit(many, ["x", "y"] * 30)


def test_a_saved_headline_list_must_match_the_option(tmp_path):
    rows = _target_rows(8)
    X, y = InputSpec(kind="pair").model_inputs(rows), [r["label"] for r in rows]
    TfidfClassifier(input_kind="pair", pair_headline_copies=True).fit(X, y).save(tmp_path / "m")
    path = tmp_path / "m" / STATE_FILE
    state = json.loads(path.read_text())
    del state["features"]["headlines"]
    path.write_text(json.dumps(state))
    with pytest.raises(NewsclfError, match="saved headline list does not match pair_headline_copies=True"):
        TfidfClassifier.load(tmp_path / "m")
