"""Decision rules: how a label is chosen from calibrated probabilities (newsclf.evaluation.decision)."""

from __future__ import annotations

import numpy as np
import pytest

from newsclf.errors import NewsclfError
from newsclf.evaluation.decision import (
    Decider,
    check_claim_weights,
    check_decision,
    claim_key,
    decide,
    decide_indices,
    utility,
)
from newsclf.evaluation.metrics import fnc_score
from tests.conftest import load_benchmark

FNC = ["agree", "disagree", "discuss", "unrelated"]


def _points(gold: str, pred: str) -> float:
    """FNC-1 points of one pair, read off the metric itself (score × the pair's maximum)."""
    return fnc_score([gold], [pred]) * (0.25 if gold == "unrelated" else 1.0)


def test_fnc_utility_is_the_metric_per_pair():
    u = utility("fnc", FNC)
    assert u.tolist() == [[_points(g, p) for p in FNC] for g in FNC]
    assert np.array_equal(utility("argmax", FNC), np.eye(4))


def test_fnc_rule_maximises_expected_fnc_points_row_by_row():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([0.3, 0.2, 0.6, 2.0], size=2000)
    u = np.array([[_points(g, p) for p in FNC] for g in FNC])
    expected = probs @ u  # expected points of each possible label, per row
    chosen = decide_indices(probs, FNC, "fnc")
    assert np.allclose(expected[np.arange(len(probs)), chosen], expected.max(axis=1))
    plain = probs.argmax(axis=1)
    changed = chosen != plain
    assert 0 < changed.sum() < len(probs)  # the rule differs from argmax on some rows, not on all
    # where it differs, argmax said unrelated and the rule a related label: the most probable related one
    assert (plain[changed] == 3).all() and (chosen[changed] != 3).all()
    assert np.array_equal(chosen[changed], probs[changed, :3].argmax(axis=1))


def test_fnc_rule_on_examples():
    probs = np.array([[0.0, 0.0, 0.45, 0.55],   # 0.45 expected for discuss vs 0.1375 for unrelated
                      [0.0, 0.0, 0.10, 0.90],   # 0.10 vs 0.225: stays unrelated
                      [0.30, 0.25, 0.25, 0.20]])
    assert decide(probs, FNC, "fnc") == ["discuss", "unrelated", "agree"]
    assert decide(probs, FNC, "argmax") == ["unrelated", "unrelated", "agree"]
    # a related/unrelated label set (stage 1 alone) works too
    assert decide(np.array([[0.3, 0.7]]), ["discuss", "unrelated"], "fnc") == ["discuss"]


def test_argmax_is_the_most_probable_label():
    probs = np.random.default_rng(1).dirichlet([1, 1, 1], size=50)
    assert decide(probs, ["a", "b", "c"]) == [["a", "b", "c"][i] for i in probs.argmax(axis=1)]


@pytest.mark.parametrize("rule, labels, message", [
    ("expected", FNC, r"decision: expected one of \('argmax', 'fnc'\), found 'expected'"),
    (None, FNC, "found None"),
    ("fnc", ["Business", "Sci/Tech", "Sports", "World"], "'fnc' needs FNC-1 labels"),
    ("fnc", ["agree", "disagree", "discuss"], "'fnc' needs FNC-1 labels"),
])
def test_bad_rules_are_refused_in_one_line(rule, labels, message):
    with pytest.raises(NewsclfError, match=message):
        check_decision(rule, labels, "decision")
    with pytest.raises(NewsclfError):
        decide(np.full((1, len(labels)), 1 / len(labels)), labels, rule)


def test_decision_weight_benchmark_keeps_the_related_call_and_reweights_only_among_related():
    """benchmarks/stance_decision_weights.py: weights of 1 give the rule's own labels; a weight moves labels only
    among pairs the rule calls related; a story is what gold-related pairs join, whatever unrelated pairs link."""
    from tests.conftest import load_benchmark

    bench = load_benchmark("stance_decision_weights")
    rng = np.random.default_rng(1)
    probs = rng.dirichlet([1.0, 1.0, 1.5, 3.0], size=3000)
    base = decide_indices(probs, FNC, "fnc")
    assert np.array_equal(bench.reweighted(probs, FNC, "fnc", {}), base)
    heavy = bench.reweighted(probs, FNC, "fnc", {"disagree": 1e9})
    related = base != FNC.index("unrelated")
    assert np.array_equal(heavy[~related], base[~related])
    assert set(heavy[related].tolist()) == {FNC.index("disagree")}

    records = [{"headline": "h1", "body_id": "1", "label": "agree"},
               {"headline": "h2", "body_id": "1", "label": "discuss"},   # h2 joins h1 through body 1
               {"headline": "h3", "body_id": "2", "label": "disagree"},
               {"headline": "h1", "body_id": "2", "label": "unrelated"},  # links nothing
               {"headline": "h4", "body_id": "1", "label": "unrelated"}]  # its own story
    s = bench.story_ids(records).tolist()
    assert s[0] == s[1] == s[3] and s[2] != s[0] and len({s[0], s[2], s[4]}) == 3

    gold = [FNC[i] for i in rng.choice(4, size=3000, p=[0.1, 0.05, 0.2, 0.65])]
    stories = np.arange(3000) % 40
    runs = bench.nested(probs, gold, FNC, "fnc", stories, [{}], slack=0.0, repeats=5)
    assert [(r["d_fnc"], r["d_macro_f1"]) for r in runs] == [(0.0, 0.0)] * 5  # only the rule itself on offer

    # disagree ranked perfectly but never the most probable: weight 2 turns exactly the gold disagree pairs
    gold = ["disagree"] * 100 + ["discuss"] * 300 + ["unrelated"] * 600
    rows = {"disagree": [0.05, 0.35, 0.55, 0.05], "discuss": [0.05, 0.10, 0.80, 0.05],
            "unrelated": [0.02, 0.02, 0.06, 0.90]}
    probs = np.array([rows[g] for g in gold])
    runs = bench.nested(probs, gold, FNC, "fnc", np.arange(1000) % 20, [{}, {"disagree": 2.0}], slack=0.0,
                        repeats=5)
    assert all(r["weights"] == {"disagree": 2.0} and r["d_fnc"] > 0 and r["d_macro_f1"] > 0.2 for r in runs)


# -- task.new_claim_weights: weights for pairs whose claim training never saw --------------------------------------


def test_claim_key_ignores_case_and_spacing_only():
    assert claim_key("Apple  buys\tBeats ") == claim_key("apple buys beats")
    assert claim_key("Apple buys Beats") != claim_key("Apple buys Beat")
    assert len(claim_key("x")) == 16 and claim_key(None) == claim_key("")


def test_new_claim_weights_touch_only_new_claims_called_related():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet([0.5, 0.3, 0.8, 1.5], size=3000)
    claims = [f"claim {i % 50}" for i in range(len(probs))]
    seen = frozenset(claim_key(f"CLAIM  {i}") for i in range(25))  # claims 0-24 were in training
    decider = Decider(tuple(FNC), "fnc", {"disagree": 1.5}, seen)
    chosen = decider.indices(probs, claims)
    rule = decide_indices(probs, FNC, "fnc")
    new = np.array([i % 50 >= 25 for i in range(len(probs))])
    assert np.array_equal(decider.new_claims(claims), new)
    assert np.array_equal(chosen[~new], rule[~new])  # known claims: the rule's labels
    assert np.array_equal(chosen == 3, rule == 3)  # the related / unrelated call never moves
    # new claims called related: the largest weighted related probability, as the benchmark computes it
    bench = load_benchmark("stance_decision_weights").reweighted(probs, FNC, "fnc", {"disagree": 1.5})
    assert np.array_equal(chosen[new], bench[new])
    moved = chosen != rule
    assert moved.sum() > 20 and (chosen[moved] == 1).all()  # the weight moves some labels, all to disagree
    assert decider.decide(probs[:3], claims[:3]) == [FNC[i] for i in chosen[:3]]


def test_no_weights_is_the_rule_and_needs_no_claims():
    probs = np.random.default_rng(2).dirichlet([1, 1, 1, 1], size=200)
    decider = Decider(tuple(FNC), "fnc")
    assert not decider.needs_claims
    assert np.array_equal(decider.indices(probs), decide_indices(probs, FNC, "fnc"))
    with pytest.raises(NewsclfError, match="needs the claim of every pair"):
        Decider(tuple(FNC), "fnc", {"disagree": 2.0}).indices(probs)


@pytest.mark.parametrize("weights, labels, message", [
    ({"unrelated": 2.0}, FNC, "'unrelated' is not a related label"),
    ({"refute": 2.0}, FNC, "'refute' is not a related label"),
    ({"disagree": 0}, FNC, "disagree: expected a positive number, found 0"),
    ({"disagree": "2"}, FNC, "expected a positive number"),
    ({"disagree": True}, FNC, "expected a positive number"),
    ([1.5], FNC, "expected a mapping of label to weight"),
    ({"AGAINST": 1.5}, ["AGAINST", "FAVOR", "NONE"], "need FNC-1 labels"),
])
def test_bad_new_claim_weights_are_one_line_errors(weights, labels, message):
    with pytest.raises(NewsclfError, match=message) as e:
        check_claim_weights(weights, labels)
    assert str(e.value).startswith("task.new_claim_weights") and "\n" not in str(e.value)
    assert check_claim_weights(None, FNC) == {} and check_claim_weights({"agree": 2}, FNC) == {"agree": 2.0}
