"""Export a transformer checkpoint to ONNX (fp32, and int8 with quantize=int8) for onnxruntime.

Examples:
    python scripts/export_onnx.py checkpoint=runs/topic-transformer/checkpoint
    python scripts/export_onnx.py checkpoint=runs/topic-transformer quantize=int8
    python scripts/predict.py checkpoint=runs/topic-transformer runtime=onnx input=news.jsonl output=pred.jsonl
    python scripts/predict.py checkpoint=runs/topic-transformer runtime=onnx \\
        onnx_model=runs/topic-transformer/checkpoint/onnx/model.int8.onnx input=news.jsonl
"""

import hydra
from omegaconf import DictConfig

from newsclf.cli import guard, run


@hydra.main(config_path="../configs", config_name="export_onnx", version_base="1.3")
@guard
def main(cfg: DictConfig) -> None:
    import json

    from newsclf.inference.onnx import META, export

    out = export(cfg.checkpoint, output_dir=cfg.output_dir, quantize=cfg.quantize, exporter=cfg.exporter,
                 opset=cfg.opset)
    meta = json.loads((out / META).read_text(encoding="utf-8"))
    for name, entry in meta["files"].items():
        print(f"{out / name}  max |p_onnx - p_torch| on probe texts: {entry['probe_max_abs_prob_diff']:.2e}")
    print(f"export record: {out / META}")


if __name__ == "__main__":
    run(main)
