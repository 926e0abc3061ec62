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
