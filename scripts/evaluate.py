"""Evaluate a checkpoint on a split of its data set or on a labelled file; writes metrics.json and report.md.

Examples:
    python scripts/evaluate.py checkpoint=runs/topic/checkpoint split=test hydra.run.dir=runs/eval
    python scripts/evaluate.py checkpoint=runs/topic/checkpoint input=labelled.jsonl
"""

import hydra
from omegaconf import DictConfig

from newsclf.cli import guard, run


@hydra.main(config_path="../configs", config_name="evaluate", version_base="1.3")
@guard
def main(cfg: DictConfig) -> None:
    from newsclf.workflows import evaluate

    evaluate(cfg)


if __name__ == "__main__":
    run(main)
