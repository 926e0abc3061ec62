"""Write one split of a task's data as prediction input: JSONL with ``id`` and the input fields, no label.

For the FNC-1 competition test pairs (gold labels withheld; ``id`` = row number of the stances file)::

    python scripts/export_split.py task=stance split=test output=runs/fnc1_test_pairs.jsonl
    python scripts/predict.py checkpoint=RUN_DIR input=runs/fnc1_test_pairs.jsonl output=RUN_DIR/test_predictions.jsonl
"""

import hydra
from omegaconf import DictConfig

from newsclf.cli import guard, run


@hydra.main(config_path="../configs", config_name="export_split", version_base="1.3")
@guard
def main(cfg: DictConfig) -> None:
    from newsclf.workflows import export_split

    export_split(cfg)


if __name__ == "__main__":
    run(main)
