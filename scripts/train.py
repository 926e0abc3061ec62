"""Train a classifier and write RUN_DIR/checkpoint/ and RUN_DIR/metrics.json.

Examples:
    python scripts/train.py                                   # topic, TF-IDF (AG News)
    python scripts/train.py task=stance model=tfidf hydra.run.dir=runs/stance
    python scripts/train.py task=topic data=bbc_news seed=3
    python scripts/train.py -m task=topic model=tfidf model.C=0.5,2,8
"""

import hydra
from omegaconf import DictConfig

from newsclf.cli import guard, run


@hydra.main(config_path="../configs", config_name="config", version_base="1.3")
@guard
def main(cfg: DictConfig) -> float | None:
    from newsclf.workflows import train

    metrics = train(cfg)
    # returned for Hydra sweepers (e.g. Optuna): the dev selection metric
    return metrics.get(f"dev/{cfg.task.select_metric}")


if __name__ == "__main__":
    run(main, distributed=True)
