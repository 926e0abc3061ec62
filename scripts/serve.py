"""Serve a checkpoint over HTTP: ``POST /predict`` (one document or a list) and ``GET /health``.

Examples:
    python scripts/serve.py checkpoint=runs/topic-tfidf/checkpoint port=8000
    curl -s localhost:8000/predict -d '{"id": "a1", "title": "Stocks rally", "text": "Shares rose ..."}'
    python scripts/serve.py checkpoint=CKPT runtime=onnx threads=2 port=0   # port 0: any free port
"""

import hydra
from omegaconf import DictConfig

from newsclf.cli import guard, run


@hydra.main(config_path="../configs", config_name="serve", version_base="1.3")
@guard
def main(cfg: DictConfig) -> None:
    from newsclf.inference.server import serve

    serve(cfg.checkpoint, host=cfg.host, port=cfg.port, top_k=cfg.top_k, batch_size=cfg.batch_size,
          forward_batch_size=cfg.get("forward_batch_size"), decision=cfg.get("decision"),
          threads=cfg.threads, runtime=cfg.runtime, onnx_model=cfg.onnx_model,
          max_request_bytes=cfg.max_request_bytes, max_documents=cfg.max_documents, timeout_s=cfg.timeout_s,
          log_requests=cfg.log_requests)


if __name__ == "__main__":
    run(main)
