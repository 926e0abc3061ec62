"""Predict labels and full probability vectors as JSONL, one line per input document, in input order.

Examples:
    python scripts/predict.py checkpoint=runs/topic/checkpoint input=seeds/000_0990739798a3f71f.txt
    python scripts/predict.py checkpoint=CKPT input=news.jsonl output=predictions.jsonl
    cat news.jsonl | python scripts/predict.py checkpoint=CKPT input=- output=-
"""

import hydra
from omegaconf import DictConfig

from newsclf.cli import guard, run


@hydra.main(config_path="../configs", config_name="predict", version_base="1.3")
@guard
def main(cfg: DictConfig) -> None:
    from newsclf.workflows import predict

    predict(cfg)


if __name__ == "__main__":
    run(main)
