import pytest

from newsclf.evaluation.metrics import classification_metrics, fnc_score


def test_fnc_score_hand_computed():
    gold = ["unrelated", "unrelated", "agree", "disagree", "discuss", "agree"]
    pred = ["unrelated", "agree", "agree", "discuss", "unrelated", "disagree"]
    # unrelated/unrelated 0.25; unrelated->agree 0; agree/agree 1.0; disagree->discuss 0.25;
    # discuss->unrelated 0; agree->disagree 0.25  => 1.75 of max 0.25*2 + 4 = 4.5
    assert fnc_score(gold, pred) == pytest.approx(1.75 / 4.5)


def test_fnc_score_perfect_and_all_unrelated():
    gold = ["unrelated", "agree", "discuss", "disagree"]
    assert fnc_score(gold, gold) == 1.0
    assert fnc_score(gold, ["unrelated"] * 4) == pytest.approx(0.25 / 3.25)


def test_fnc_score_length_mismatch_raises():
    with pytest.raises(ValueError):
        fnc_score(["agree"], ["agree", "agree"])


def test_classification_metrics_flat_keys_and_values():
    labels = ["a", "b"]
    m = classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"], labels)
    assert m["accuracy"] == 0.75
    assert m["precision/b"] == pytest.approx(2 / 3)
    assert m["recall/a"] == 0.5
    assert m["f1/a"] == pytest.approx(2 / 3)
    assert m["support/a"] == 2
    assert m["confusion_matrix"] == [[1, 1], [0, 2]]
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert "fnc_score" not in m


def test_classification_metrics_fnc_reference_rows():
    labels = ["agree", "disagree", "discuss", "unrelated"]
    m = classification_metrics(["unrelated", "agree"], ["unrelated", "agree"], labels, fnc=True)
    assert m["fnc_score"] == 1.0
    assert m["fnc_score_all_unrelated"] == pytest.approx(0.25 / 1.25)
    assert m["fnc_score_baseline_published"] == 0.7953


def test_f_avg_is_the_mean_f1_of_the_named_labels_only():
    from sklearn.metrics import f1_score

    labels = ["AGAINST", "FAVOR", "NONE"]
    gold = ["AGAINST", "AGAINST", "FAVOR", "NONE", "NONE", "FAVOR", "AGAINST"]
    pred = ["AGAINST", "NONE", "FAVOR", "FAVOR", "NONE", "AGAINST", "AGAINST"]
    m = classification_metrics(gold, pred, labels, f_avg_labels=["AGAINST", "FAVOR"])
    want = f1_score(gold, pred, labels=["AGAINST", "FAVOR"], average=None).mean()
    assert m["f_avg"] == pytest.approx(want) and m["f_avg"] != pytest.approx(m["macro_f1"])
    assert "f_avg" not in classification_metrics(gold, pred, labels)


def test_f_avg_labels_must_be_labels():
    from newsclf.errors import NewsclfError

    with pytest.raises(NewsclfError, match=r"task.f_avg_labels: \['PRO'\] not among the labels"):
        classification_metrics(["a"], ["a"], ["a", "b"], f_avg_labels=["a", "PRO"])
