"""Every config file composes, and every model / data config instantiates (lightning-hydra-template style)."""

from pathlib import Path

import pytest

from newsclf import workflows
from newsclf.errors import NewsclfError
from tests.conftest import CONFIGS

MODELS = sorted(p.stem for p in (CONFIGS / "model").glob("*.yaml"))
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
