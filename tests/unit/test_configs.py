"""Every config file composes, and every model / data config instantiates (lightning-hydra-template style)."""

from pathlib import Path

import pytest

from newsclf import workflows
from newsclf.errors import NewsclfError
from tests.conftest import CONFIGS

# model=ensemble has no members of its own (an experiment or the command line adds them): tested below
MODELS = sorted(p.stem for p in (CONFIGS / "model").glob("*.yaml") if p.stem != "ensemble")
TASKS = sorted(p.stem for p in (CONFIGS / "task").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("model", MODELS)
def test_task_model_compose_and_instantiate(compose_cfg, task, model):
    cfg = compose_cfg("config", [f"task={task}", f"model={model}"])
    assert cfg.task.name == task
    spec = workflows.input_spec(cfg.task)
    built = workflows.instantiate(cfg.model, input_kind=spec.kind)
    assert built.kind.endswith(".v1")
    assert workflows.instantiate(cfg.data) is not None


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiments_compose(compose_cfg, experiment):
    cfg = compose_cfg("config", [f"experiment={experiment}"])
    workflows.instantiate(cfg.model, input_kind=workflows.input_spec(cfg.task).kind)


def test_ensemble_takes_members_from_the_command_line(compose_cfg):
    cfg = compose_cfg("config", ["task=stance", "model=ensemble", "+model@model.members.a=tfidf",
                                 "+model@model.members.b=tfidf", "model.members.b.C=1.0", "+model.weights.a=3",
                                 "+model.weights.b=1"])
    built = workflows.instantiate(cfg.model, input_kind="pair")
    assert built.kind == "ensemble.v1" and built.weights == {"a": 0.75, "b": 0.25}
    assert built.members["b"].get_params()["C"] == 1.0
    with pytest.raises(NewsclfError, match="at least two members"):
        workflows.instantiate(compose_cfg("config", ["task=stance", "model=ensemble"]).model, input_kind="pair")


def test_stance_ensemble_is_the_stacked_system_and_the_baseline(compose_cfg):
    """experiment=stance_ensemble's members are exactly experiment=stance_stacked's model (bagged over three seeds)
    and the tuned baseline's."""
    ens = compose_cfg("config", ["experiment=stance_ensemble"])
    assert ens.model._target_.endswith("EnsembleClassifier") and dict(ens.model.weights) == {"stacked": 0.7,
                                                                                             "tfidf": 0.3}
    assert ens.model.members.stacked == compose_cfg("config", ["experiment=stance_stacked"]).model
    assert ens.model.members.tfidf == compose_cfg("config", ["task=stance", "model=tfidf"]).model
    assert ens.task.decision == "fnc"
    assert dict(ens.task.new_claim_weights) == {"disagree": 1.5}  # only headlines training never saw
    assert compose_cfg("config", ["task=stance"]).task.new_claim_weights is None
    assert dict(ens.model.bags) == {"stacked": 3}  # the stacked system bagged over three seeds
    assert ens.model.new_claim_weights is None


def test_stance_best_adds_the_cross_encoder_system_to_stance_ensemble(compose_cfg):
    """experiment=stance_best is stance_ensemble with experiment=stance_cross_encoder's model, reading 256 tokens,
    as a third member weighed only on new claims; the other two members, their weights on known claims and the
    decision settings are stance_ensemble's."""
    ens = compose_cfg("config", ["experiment=stance_ensemble"])
    best = compose_cfg("config", ["experiment=stance_best"])
    assert dict(best.model.weights) == {**ens.model.weights, "ce": 0.0}
    assert dict(best.model.new_claim_weights) == {"stacked": 0.42, "tfidf": 0.18, "ce": 0.4}
    assert best.model.members.ce == compose_cfg(
        "config", ["experiment=stance_cross_encoder", "model.stance.max_length=256"]).model
    assert compose_cfg("config", ["experiment=stance_cross_encoder"]).model.stance.max_length == 128
    assert (best.model.members.stacked == ens.model.members.stacked
            and best.model.members.tfidf == ens.model.members.tfidf)
    assert best.task == ens.task and best.model.bags == ens.model.bags and best.data == ens.data
    built = workflows.instantiate(best.model, input_kind="pair")
    assert built.new_claim_weights == pytest.approx({"stacked": 0.14, "stacked_seed1": 0.14, "stacked_seed2": 0.14,
                                                     "tfidf": 0.18, "ce": 0.4})
    assert built.weights == pytest.approx({"stacked": 0.7 / 3, "stacked_seed1": 0.7 / 3, "stacked_seed2": 0.7 / 3,
                                           "tfidf": 0.3, "ce": 0.0})


@pytest.mark.parametrize("data", sorted(p.stem for p in (CONFIGS / "data").glob("*.yaml")))
def test_data_configs_compose(compose_cfg, data):
    overrides = [f"data={data}"] + (["data.train=x.csv"] if data == "custom" else [])
    cfg = compose_cfg("config", overrides)
    assert cfg.data._target_.startswith("newsclf.data.sources.")


@pytest.mark.parametrize("name", ["evaluate", "predict"])
def test_script_configs_compose(compose_cfg, name):
    cfg = compose_cfg(name, ["checkpoint=x", "input=y"])
    assert cfg.checkpoint == "x"


def test_instantiate_refuses_foreign_targets():
    with pytest.raises(NewsclfError, match="not allowed"):
        workflows.instantiate({"_target_": "os.system", "command": "echo hi"})


def test_multirun_sweep_overrides_compose(compose_cfg):
    for c in (0.5, 2, 8):
        assert compose_cfg("config", ["task=topic", "model=tfidf", f"model.C={c}"]).model.C == c


def test_configs_are_all_covered():
    assert {"config.yaml", "evaluate.yaml", "predict.yaml"} <= {p.name for p in Path(CONFIGS).glob("*.yaml")}


def test_target_stance_scores_by_f_avg_and_tunes_its_models(compose_cfg):
    cfg = compose_cfg("config", ["task=target_stance"])
    assert cfg.data._target_.endswith("SemEval2016Stance") and cfg.task.input == "pair"
    assert list(cfg.task.f_avg_labels) == ["AGAINST", "FAVOR"] and cfg.task.select_metric == "f_avg"
    assert not cfg.task.fnc_metric
    tfidf = workflows.instantiate(cfg.model, input_kind="pair").get_params()
    assert tfidf["pair_headline_copies"] is True and tfidf["pair_body_char"] is True and tfidf["C"] == 1.0
    tr = workflows.instantiate(compose_cfg("config", ["task=target_stance", "model=transformer"]).model,
                               input_kind="pair").get_params()
    assert tr["select_metric"] == "f_avg" and tr["f_avg_labels"] == ["AGAINST", "FAVOR"]
    # other tasks keep their plain pair features and have no f_avg labels
    assert workflows.instantiate(compose_cfg("config", ["task=stance", "model=transformer"]).model,
                                 input_kind="pair").get_params()["f_avg_labels"] is None


def test_target_stance_best_is_minilm_and_the_tuned_tfidf(compose_cfg):
    cfg = compose_cfg("config", ["experiment=target_stance_best"])
    assert cfg.task.name == "target_stance"
    built = workflows.instantiate(cfg.model, input_kind="pair")
    assert built.kind == "ensemble.v1" and built.weights == {"minilm": 0.6, "tfidf": 0.4}
    tfidf, minilm = built.members["tfidf"].get_params(), built.members["minilm"].get_params()
    assert (tfidf["pair_body_char"], tfidf["pair_headline_copies"], tfidf["C"]) == (True, True, 1.0)
    assert minilm["select_metric"] == "f_avg" and minilm["f_avg_labels"] == ["AGAINST", "FAVOR"]
