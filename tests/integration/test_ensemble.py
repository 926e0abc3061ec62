"""``model=ensemble`` (a weighted geometric mean of whole models) through the real configs."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from newsclf import workflows
from newsclf.checkpoint import load_checkpoint
from newsclf.errors import NewsclfError
from newsclf.evaluation.calibration import fit_temperature
from newsclf.evaluation.decision import claim_key, decide
from newsclf.evaluation.metrics import classification_metrics
from newsclf.inference.predictor import Predictor
from newsclf.models.base import softmax
from newsclf.models.ensemble import EnsembleClassifier
from tests.conftest import custom_data_overrides, load_benchmark

MEMBERS = ["+model@model.members.lr=tfidf", "model.members.lr.char_ngram_range=null",
           "+model@model.members.staged=two_stage", "model.members.staged.related.char_ngram_range=null",
           "model.members.staged.stance.char_ngram_range=null", "+model.weights.lr=1", "+model.weights.staged=3"]


def _train(compose_cfg, paths, run_dir, monkeypatch, extra=()):
    run_dir.mkdir(exist_ok=True)
    monkeypatch.setattr(workflows, "run_dir", lambda: run_dir)
    cfg = compose_cfg("config", [*custom_data_overrides(paths, "stance"), "model=ensemble", *MEMBERS,
                                 "task.decision=fnc", *extra])
    return workflows.train(cfg)


def test_ensemble_trains_saves_and_loads_one_checkpoint(compose_cfg, tiny_stance, tmp_path, monkeypatch):
    metrics = _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch)
    assert metrics["dev/fnc_score"] >= 0.6 and metrics["dev/accuracy"] >= 0.6
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint")
    model = ckpt.model
    assert ckpt.manifest["model_kind"] == "ensemble.v1"
    assert ckpt.manifest["params"]["members"]["staged"]["kind"] == "two_stage.v1"
    assert model.weights == {"lr": 0.25, "staged": 0.75}
    assert ckpt.labels == ["agree", "disagree", "discuss", "unrelated"]
    rows = [json.loads(line) for line in tiny_stance["test"].read_text().splitlines()]
    inputs = ckpt.input_spec.model_inputs(rows)
    # the ensemble's probabilities: softmax of the weighted mean of the members' calibrated log-probabilities
    mean_log = sum(w * np.log(model.members[n].predict_proba(inputs)) for n, w in model.weights.items())
    p = model.predict_proba(inputs)
    assert np.allclose(p, softmax(mean_log / model.temperature_), atol=1e-9)
    assert np.allclose(p.sum(axis=1), 1.0)
    records = Predictor.from_checkpoint(tmp_path / "run" / "checkpoint").predict(rows)
    assert [r["label"] for r in records] == decide(p, ckpt.labels, "fnc")


def test_ensemble_refuses_bad_weights_and_bad_saved_members(compose_cfg, tiny_stance, tmp_path, monkeypatch):
    with pytest.raises(NewsclfError, match="expected one per member"):
        _train(compose_cfg, tiny_stance, tmp_path / "bad", monkeypatch, ["~model.weights.lr"])
    with pytest.raises(NewsclfError, match="weight of 'lr' is -1"):
        _train(compose_cfg, tiny_stance, tmp_path / "bad", monkeypatch, ["model.weights.lr=-1"])
    _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch)
    model_dir = tmp_path / "run" / "checkpoint" / "model"
    saved = (model_dir / "ensemble.json").read_text()
    for members, match in (({"lr": "tfidf.v1", "staged": "ensemble.v1"}, "unknown kind"),  # no nesting
                           ({"lr": "tfidf.v1", "../staged": "two_stage.v1"}, "not a lower-case identifier")):
        state = json.loads(saved)
        state["members"] = members
        (model_dir / "ensemble.json").write_text(json.dumps(state))
        with pytest.raises(NewsclfError, match=match):
            EnsembleClassifier.load(model_dir)
    state = json.loads(saved)
    state["weights"] = {"lr": 1.0}
    (model_dir / "ensemble.json").write_text(json.dumps(state))
    with pytest.raises(NewsclfError, match="ensemble.json: weights name"):
        EnsembleClassifier.load(model_dir)
    (model_dir / "ensemble.json").write_text("{not json")
    with pytest.raises(NewsclfError, match="not a readable ensemble state"):
        EnsembleClassifier.load(model_dir)


def test_ensemble_same_seed_same_metrics(compose_cfg, tiny_stance, tmp_path, monkeypatch):
    first = _train(compose_cfg, tiny_stance, tmp_path / "a", monkeypatch)
    second = _train(compose_cfg, tiny_stance, tmp_path / "b", monkeypatch)
    keys = [k for k in first if k.startswith("dev/") and isinstance(first[k], float)]
    assert keys and all(first[k] == second[k] for k in keys)


def test_ensemble_reuses_member_dev_scores_only_for_the_same_inputs(tiny_stance):
    """Training keeps the members' dev logits; ``logits`` on exactly the dev inputs reuses them (the
    members are not run again) and equals a fresh computation; any other input is computed afresh."""
    from newsclf.models.tfidf import TfidfClassifier

    rows = {k: [json.loads(line) for line in p.read_text().splitlines()] for k, p in tiny_stance.items()}
    X = [(r["headline"], r["body"]) for r in rows["train"]]
    y = [r["label"] for r in rows["train"]]
    X_dev = [(r["headline"], r["body"]) for r in rows["dev"]]
    y_dev = [r["label"] for r in rows["dev"]]
    members = {n: TfidfClassifier(char_ngram_range=None, C=c, input_kind="pair") for n, c in (("a", 1.0), ("b", 8.0))}
    model = EnsembleClassifier(members, {"a": 1, "b": 2}, input_kind="pair").fit(X, y, X_dev=X_dev, y_dev=y_dev)
    calls = []
    for member in members.values():
        member.logits = (lambda f: lambda Z: calls.append(len(Z)) or f(Z))(member.logits)
    memo = model.logits(list(X_dev))  # a copy: the key is the content, not the list object
    assert calls == []
    other = model.logits(X_dev[:-1] + [X_dev[0]])  # same length, other content: computed afresh
    assert calls == [len(X_dev)] * 2
    fitted_t = members["a"].temperature_
    members["a"].temperature_ = fitted_t * 2.5  # a temperature set after training applies to the memo too
    memo_t = model.logits(X_dev)
    assert calls == [len(X_dev)] * 2
    model._dev_memo = None
    fresh_t = model.logits(X_dev)
    members["a"].temperature_ = fitted_t
    fresh = model.logits(X_dev)
    assert np.allclose(memo_t, fresh_t, rtol=0, atol=1e-12) and not np.allclose(memo_t, fresh, atol=1e-6)
    assert np.allclose(memo, fresh, rtol=0, atol=1e-12)
    assert np.allclose(other[:-1], fresh[:-1], rtol=0, atol=1e-12)


def test_ensemble_without_dev_warns_that_members_are_uncalibrated(tiny_stance, caplog):
    from newsclf.models.tfidf import TfidfClassifier

    rows = [json.loads(line) for line in tiny_stance["train"].read_text().splitlines()]
    members = {n: TfidfClassifier(char_ngram_range=None, C=c, input_kind="pair") for n, c in (("a", 1.0), ("b", 8.0))}
    with caplog.at_level("WARNING", logger="newsclf"):
        model = EnsembleClassifier(members, {"a": 1, "b": 1}, input_kind="pair").fit(
            [(r["headline"], r["body"]) for r in rows], [r["label"] for r in rows])
    assert "ensemble without a labelled dev split" in caplog.text
    assert model._dev_memo is None and all(m.temperature_ == 1.0 for m in members.values())


def test_weight_sweep_at_the_saved_weight_gives_the_training_dev_metrics(compose_cfg, tiny_stance, tmp_path,
                                                                         monkeypatch):
    """benchmarks/ensemble_weights.py re-weights a checkpoint's members on dev; at the weights training used it
    must score what training reported, and at weight 0 what the other member alone decides."""
    bench = load_benchmark("ensemble_weights")
    assert bench.member_weights({"a": 1.0, "b": 1.0, "c": 3.0}, "a", 0.2) == pytest.approx(
        {"a": 0.2, "b": 0.2, "c": 0.6})  # the others share 0.8 as 1 : 3

    metrics = _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch)
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint")
    rows = bench.sweep(ckpt, "staged", "fnc", grid=[0.75, 0.0])
    saved = rows[0]["geometric"]
    assert rows[0]["temperature"] == pytest.approx(ckpt.model.temperature_, rel=1e-6)
    for key in ("fnc_score", "macro_f1", "accuracy"):
        assert saved[key] == pytest.approx(metrics[f"dev/{key}"], abs=1e-12)
    dev = [json.loads(line) for line in tiny_stance["dev"].read_text().splitlines()]
    alone = ckpt.model.members["lr"].predict_proba(ckpt.input_spec.model_inputs(dev))
    expected = classification_metrics([r["label"] for r in dev], decide(alone, ckpt.labels, "fnc"), ckpt.labels,
                                      fnc=True)
    assert rows[1]["arithmetic"]["macro_f1"] == pytest.approx(expected["macro_f1"], abs=1e-12)


def test_weight_sweep_with_a_member_replaced_by_a_checkpoint_trained_alone(compose_cfg, tiny_stance, tmp_path,
                                                                          monkeypatch):
    """``ensemble_weights.py --replace lr=CKPT``: a member trained alone with the member's config and seed gives the
    training run's dev metrics again; another model takes the member's place; a checkpoint trained on other data,
    with other labels or for another input kind, or an unknown member name, is refused with a one-line error."""
    bench = load_benchmark("ensemble_weights")
    metrics = _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch)

    def alone(name, extra):
        run = tmp_path / name
        run.mkdir()
        monkeypatch.setattr(workflows, "run_dir", lambda: run)
        workflows.train(compose_cfg("config", [*custom_data_overrides(tiny_stance, "stance"), "model=tfidf",
                                               "model.char_ngram_range=null", "task.decision=fnc", *extra]))
        return load_checkpoint(run / "checkpoint")

    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint")
    bench.replace_member(ckpt, "lr", alone("same", []))
    saved = bench.sweep(ckpt, "staged", "fnc", grid=[0.75])[0]["geometric"]
    for key in ("fnc_score", "macro_f1", "accuracy"):
        assert saved[key] == pytest.approx(metrics[f"dev/{key}"], abs=1e-12)

    other = alone("other", ["model.C=0.01"])
    bench.replace_member(ckpt, "lr", other)
    assert ckpt.model.members["lr"] is other.model
    dev = [json.loads(line) for line in tiny_stance["dev"].read_text().splitlines()]
    p = other.model.predict_proba(other.input_spec.model_inputs(dev))
    expected = classification_metrics([r["label"] for r in dev], decide(p, ckpt.labels, "fnc"), ckpt.labels, fnc=True)
    row = bench.sweep(ckpt, "staged", "fnc", grid=[0.0])[0]
    assert row["arithmetic"]["macro_f1"] == pytest.approx(expected["macro_f1"], abs=1e-12)
    y = np.array([ckpt.labels.index(r["label"]) for r in dev])  # the temperature fitted on the new member alone
    assert row["temperature"] == pytest.approx(fit_temperature(np.log(np.clip(p, 1e-12, 1.0)), y), rel=1e-9)

    with pytest.raises(NewsclfError, match="expected a member name"):
        bench.replace_member(ckpt, "nope", other)
    fewer = alone("fewer", ["max_train_samples=20"])
    with pytest.raises(NewsclfError, match="its train split differs from the ensemble's"):
        bench.replace_member(ckpt, "lr", fewer)
    # same data, but other labels or another input kind (stand-ins: no split of tiny_stance trains either)
    relabelled = SimpleNamespace(manifest=other.manifest, path=other.path, model=other.model,
                                 labels=list(reversed(other.labels)))
    with pytest.raises(NewsclfError, match=r"labels \[.*\], expected \["):
        bench.replace_member(ckpt, "lr", relabelled)
    texts = SimpleNamespace(manifest=other.manifest, path=other.path, labels=list(other.labels),
                            model=SimpleNamespace(input_kind="text"))
    with pytest.raises(NewsclfError, match="input kind 'text', expected 'pair'"):
        bench.replace_member(ckpt, "lr", texts)
    assert ckpt.model.members["lr"] is other.model  # refusals leave the ensemble as it was
    with pytest.raises(NewsclfError, match="not a weight between 0 and 1"):
        bench._weight("1.5")


def test_bagged_member_trains_copies_with_their_own_seeds_and_loads_as_plain_members(tiny_stance, tmp_path):
    """``bags={"a": 3}``: member ``a`` becomes three copies at a third of its weight each, fitted with the run's
    seed + 0, 1, 2; the checkpoint holds them as ordinary members (and their offsets), and loads unchanged."""
    from newsclf.models.tfidf import TfidfClassifier

    rows = {k: [json.loads(line) for line in p.read_text().splitlines()] for k, p in tiny_stance.items()}
    X, y = [(r["headline"], r["body"]) for r in rows["train"]], [r["label"] for r in rows["train"]]
    X_dev, y_dev = [(r["headline"], r["body"]) for r in rows["dev"]], [r["label"] for r in rows["dev"]]
    members = {n: TfidfClassifier(char_ngram_range=None, C=c, input_kind="pair") for n, c in (("a", 1.0), ("b", 8.0))}
    model = EnsembleClassifier(members, {"a": 3, "b": 1}, input_kind="pair", bags={"a": 3})
    assert list(model.members) == ["a", "a_seed1", "a_seed2", "b"]
    assert model.weights == pytest.approx({"a": 0.25, "a_seed1": 0.25, "a_seed2": 0.25, "b": 0.25})
    assert model.seed_offsets == {"a": 0, "a_seed1": 1, "a_seed2": 2, "b": 0}
    assert len({id(m) for m in model.members.values()}) == 4  # copies, not one object three times
    seeds = {}
    for name, member in model.members.items():
        member.fit = (lambda f, n: lambda *a, seed=0, **k: seeds.__setitem__(n, seed) or f(*a, seed=seed, **k))(
            member.fit, name)
    model.fit(X, y, X_dev=X_dev, y_dev=y_dev, seed=7)
    assert seeds == {"a": 7, "a_seed1": 8, "a_seed2": 9, "b": 7}
    model.save(tmp_path / "m")
    loaded = EnsembleClassifier.load(tmp_path / "m")
    assert loaded.weights == model.weights and loaded.seed_offsets == model.seed_offsets
    assert list(loaded.members) == list(model.members)
    assert np.array_equal(loaded.logits(X_dev), model.logits(X_dev))
    state = json.loads((tmp_path / "m" / "ensemble.json").read_text())
    (tmp_path / "m" / "ensemble.json").write_text(json.dumps({**state, "seed_offsets": {"a": "1"}}))
    with pytest.raises(NewsclfError, match="seed_offsets must map member names to whole numbers"):
        EnsembleClassifier.load(tmp_path / "m")
    for bags, match in (({"c": 2}, "'c' is not a member"), ({"a": 0}, "expected a whole number from 1 to 10"),
                        ({"a": True}, "expected a whole number")):
        with pytest.raises(NewsclfError, match=match):
            EnsembleClassifier(dict(members), {"a": 1, "b": 1}, input_kind="pair", bags=bags)
    taken = {**members, "a_seed1": TfidfClassifier(input_kind="pair")}
    with pytest.raises(NewsclfError, match="copy name 'a_seed1' of 'a' is taken"):
        EnsembleClassifier(taken, {"a": 1, "b": 1, "a_seed1": 1}, input_kind="pair", bags={"a": 2})


def test_bagged_ensemble_through_the_config(compose_cfg, tiny_stance, tmp_path, monkeypatch):
    """``model.bags`` from the command line: the manifest records the copies, their weights and seed offsets,
    and the same seed gives the same metrics."""
    first = _train(compose_cfg, tiny_stance, tmp_path / "a", monkeypatch, ["+model.bags.lr=2"])
    params = load_checkpoint(tmp_path / "a" / "checkpoint").manifest["params"]
    assert sorted(params["members"]) == ["lr", "lr_seed1", "staged"]
    assert params["weights"] == pytest.approx({"lr": 0.125, "lr_seed1": 0.125, "staged": 0.75})
    assert params["seed_offsets"] == {"lr": 0, "lr_seed1": 1, "staged": 0}
    second = _train(compose_cfg, tiny_stance, tmp_path / "b", monkeypatch, ["+model.bags.lr=2"])
    keys = [k for k in first if k.startswith("dev/") and isinstance(first[k], float)]
    assert keys and all(first[k] == second[k] for k in keys)


def _claim_rows(dev_known: bool):
    """Train, dev and test pairs: dev reuses training headlines (``dev_known``) or brings new ones; every other test
    pair reuses a training headline with a new body."""
    from tests.conftest import make_stance_rows

    rows = make_stance_rows(200)
    train, dev, test = rows[:120], rows[120:150], rows[150:]
    if dev_known:
        dev = [{**r, "headline": train[i]["headline"]} for i, r in enumerate(dev)]
    # a sixth of the dev labels wrong: the synthetic pairs are too easy, and a perfect dev split would push every
    # temperature to its bound, saturating the probabilities that the test compares
    shift = {"agree": "discuss", "discuss": "disagree", "disagree": "agree", "unrelated": "agree"}
    dev = [{**r, "label": shift[r["label"]]} if i % 6 == 0 else r for i, r in enumerate(dev)]
    test = [{**r, "headline": train[i]["headline"]} if i % 2 else r for i, r in enumerate(test)]
    pairs = lambda rs: [(r["headline"], r["body"]) for r in rs]  # noqa: E731
    return {name: (pairs(rs), [r["label"] for r in rs]) for name, rs in
            (("train", train), ("dev", dev), ("test", test))}


def _claim_aware(data):
    """An ensemble whose member ``b`` (bagged twice) weighs 0 on known claims and 3 : 1 against ``a`` on new ones,
    fitted and then given the ensemble temperature as the workflow fits it (on its dev logits)."""
    from newsclf.models.tfidf import TfidfClassifier

    members = {n: TfidfClassifier(char_ngram_range=None, C=c, input_kind="pair") for n, c in (("a", 1.0), ("b", 8.0))}
    model = EnsembleClassifier(members, {"a": 1, "b": 0}, input_kind="pair", bags={"b": 2},
                               new_claim_weights={"a": 1, "b": 3})
    (X, y), (X_dev, y_dev) = data["train"], data["dev"]
    model.fit(X, y, X_dev=X_dev, y_dev=y_dev, seed=3)
    model.temperature_ = fit_temperature(model.logits(X_dev), np.array([model.labels_.index(v) for v in y_dev]))
    return model


def _alone(model, weights, X, X_dev, y_dev):
    """softmax(mixture / T) of the fitted members under ``weights`` alone, T fitted on dev: the ensemble that has
    only these weights."""
    def mix(Z):
        return sum(w * np.log(np.clip(model.members[n].predict_proba(Z), 1e-12, 1.0)) for n, w in weights.items()
                   if w > 0)
    t = fit_temperature(mix(X_dev), np.array([model.labels_.index(v) for v in y_dev]))
    return softmax(mix(X) / t)


@pytest.mark.parametrize("dev_known", [True, False])
def test_new_claim_weights_score_each_pair_as_the_ensemble_of_its_weights_alone(dev_known, tmp_path):
    """``new_claim_weights``: a pair whose headline training saw is scored as the ensemble with ``weights`` alone,
    a new one as the ensemble with ``new_claim_weights`` alone, each calibrated on dev. Exact when every dev claim
    is known (the FNC-1 hold-out); up to the temperature search's tolerance when every dev claim is new (the topic
    split). A member weighed only on new claims is not run on known ones; saving and loading changes nothing."""
    data = _claim_rows(dev_known)
    model = _claim_aware(data)
    assert model.weights == pytest.approx({"a": 1.0, "b": 0.0, "b_seed1": 0.0})
    assert model.new_claim_weights == pytest.approx({"a": 0.25, "b": 0.375, "b_seed1": 0.375})
    assert model.seen_claims_ == {claim_key(h) for h, _ in data["train"][0]}
    (X, _), (X_dev, y_dev) = data["test"], data["dev"]
    new = model.new_claims(X)
    assert new.tolist() == [i % 2 == 0 for i in range(len(X))]
    assert model.new_claims(X_dev).tolist() == [not dev_known] * len(X_dev)

    calls = {}
    for name, member in model.members.items():
        member.logits = (lambda f, n: lambda Z: calls.setdefault(n, []).append(len(Z)) or f(Z))(member.logits, name)
    p = model.predict_proba(X)
    assert calls == {"a": [len(X)], "b": [int(new.sum())], "b_seed1": [int(new.sum())]}
    known_alone = _alone(model, model.weights, X, X_dev, y_dev)
    new_alone = _alone(model, model.new_claim_weights, X, X_dev, y_dev)
    tol = 1e-9 if dev_known else 2e-3
    assert np.allclose(p[~new], known_alone[~new], rtol=0, atol=tol)
    assert np.allclose(p[new], new_alone[new], rtol=0, atol=tol)
    assert np.abs(known_alone - new_alone).max() > 0.02  # the two weight sets score these pairs differently
    if dev_known:
        assert model.temperature_ == fit_temperature(
            np.log(np.clip(model.members["a"].predict_proba(X_dev), 1e-12, 1.0)),
            np.array([model.labels_.index(v) for v in y_dev]))  # the ensemble of `weights` alone: member a

    model.save(tmp_path / "m")
    loaded = EnsembleClassifier.load(tmp_path / "m")
    assert loaded.new_claim_weights == model.new_claim_weights and loaded.seen_claims_ == model.seen_claims_
    assert np.array_equal(loaded.predict_proba(X), p)


def test_new_claim_weights_refuse_text_input_bad_weights_and_damaged_state(tmp_path):
    from newsclf.models.tfidf import TfidfClassifier

    def members():
        return {n: TfidfClassifier(char_ngram_range=None) for n in ("a", "b")}
    with pytest.raises(NewsclfError, match="model.new_claim_weights: claims exist only for pair input"):
        EnsembleClassifier(members(), {"a": 1, "b": 1}, input_kind="text", new_claim_weights={"a": 1, "b": 0})
    with pytest.raises(NewsclfError, match="model.new_claim_weights: weights name"):
        EnsembleClassifier(members(), {"a": 1, "b": 1}, input_kind="pair", new_claim_weights={"a": 1})
    model = _claim_aware(_claim_rows(True))
    model.save(tmp_path / "m")
    state = json.loads((tmp_path / "m" / "ensemble.json").read_text())
    for change, match in (({"seen_claims": ["../x"]}, "seen_claims must list the training claims' keys"),
                          ({"seen_claims": "abc"}, "seen_claims must list"),
                          ({"new_claim_scale": 0}, "new_claim_scale is 0; expected a number > 0"),
                          ({"new_claim_scale": None}, "new_claim_scale is None"),
                          ({"new_claim_weights": {"a": 1}}, "ensemble.json: weights name")):
        (tmp_path / "m" / "ensemble.json").write_text(json.dumps({**state, **change}))
        with pytest.raises(NewsclfError, match=match):
            EnsembleClassifier.load(tmp_path / "m")


def test_new_claim_weights_through_the_config(compose_cfg, tiny_stance, tmp_path, monkeypatch):
    """``model.new_claim_weights`` from the command line: the manifest records them, the predictor uses them (a pair
    with a training headline is scored by ``weights``, here member ``lr`` alone), and the weight sweep can start
    from them."""
    metrics = _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch,
                     ["model.weights.staged=0", "model.new_claim_weights={lr:1,staged:3}",
                      "task.new_claim_weights={disagree:3.0}"])
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint")
    assert ckpt.manifest["params"]["new_claim_weights"] == pytest.approx({"lr": 0.25, "staged": 0.75})
    train = [json.loads(line) for line in tiny_stance["train"].read_text().splitlines()]
    rows = [json.loads(line) for line in tiny_stance["test"].read_text().splitlines()]
    rows = [{**r, "headline": train[i]["headline"]} for i, r in enumerate(rows)]  # known claims
    records = Predictor.from_checkpoint(tmp_path / "run" / "checkpoint").predict(rows)
    lr = ckpt.model.members["lr"].predict_proba(ckpt.input_spec.model_inputs(rows))
    expected = softmax(np.log(np.clip(lr, 1e-12, 1.0)) / ckpt.model.temperature_)
    got = np.array([[r["scores"][v] for v in ckpt.labels] for r in records])
    assert np.allclose(got, expected, rtol=0, atol=1e-6)  # scores are rounded in the records
    bench = load_benchmark("ensemble_weights")
    dev = [json.loads(line) for line in tiny_stance["dev"].read_text().splitlines()]
    assert ckpt.model.new_claims(ckpt.input_spec.model_inputs(dev)).all()  # dev is scored by new_claim_weights
    rule_alone = bench.sweep(ckpt, "staged", "fnc", grid=[0.75], new_claims=True)[0]["geometric"]
    weighted = bench.sweep(ckpt, "staged", "fnc", grid=[0.75], new_claims=True, claim_weights=True)[0]["geometric"]
    for key in ("fnc_score", "macro_f1"):
        assert rule_alone[key] == pytest.approx(metrics[f"dev/unweighted/{key}"], abs=1e-12)
        assert weighted[key] == pytest.approx(metrics[f"dev/{key}"], abs=1e-12)
    ckpt.model.new_claim_weights = None
    with pytest.raises(NewsclfError, match="the checkpoint's ensemble has no new_claim_weights"):
        bench.sweep(ckpt, "staged", "fnc", grid=[0.5], new_claims=True)
