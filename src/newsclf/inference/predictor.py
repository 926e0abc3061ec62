"""Turn input records into prediction records with the checkpoint's own cleaning and labels.

Record schema (JSONL, one per input document, in input order)::

    {"id": ..., "label": "Sports", "scores": {"Business": 0.01, ...}, "evidence": [...],
     "model": "tfidf.v1", "checkpoint": "<fingerprint>"}

``id`` is present when the input had one; ``evidence`` only for checkpoints whose task strips syndication
markers (the markers found in the raw input; ``scores`` come from the marker-free text).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from newsclf.checkpoint import Checkpoint, load_checkpoint
from newsclf.data.markers import evidence
from newsclf.data.text import join_title


class Predictor:
    def __init__(self, checkpoint: Checkpoint, top_k: int | None = None):
        self.checkpoint = checkpoint
        self.model = checkpoint.model
        self.spec = checkpoint.input_spec
        self.labels = checkpoint.labels
        self.top_k = top_k

    @classmethod
    def from_checkpoint(cls, path: str | Path, top_k: int | None = None) -> Predictor:
        return cls(load_checkpoint(path), top_k=top_k)

    @property
    def input_kind(self) -> str:
        return self.spec.kind

    def predict_proba(self, records: list[dict]) -> np.ndarray:
        return self.model.predict_proba(self.spec.model_inputs(records))

    def _record(self, rec: dict, probs: np.ndarray) -> dict:
        order = np.argsort(-probs, kind="stable")
        keep = order if not self.top_k else order[: self.top_k]
        out: dict = {"id": rec["id"]} if "id" in rec else {}
        out["label"] = self.labels[int(order[0])]
        out["scores"] = {self.labels[int(i)]: float(probs[i]) for i in keep}
        if self.spec.strip_markers:
            out["evidence"] = evidence(join_title(rec.get("title"), rec.get("text")))
        out["model"] = self.checkpoint.manifest["model_kind"]
        out["checkpoint"] = self.checkpoint.fingerprint
        return out

    def predict(self, records: list[dict]) -> list[dict]:
        if not records:
            return []
        probs = self.predict_proba(records)
        return [self._record(r, p) for r, p in zip(records, probs, strict=True)]

    def predict_stream(self, records: Iterable[dict], batch_size: int = 256) -> Iterator[dict]:
        """Predict an iterable of any length in bounded memory, yielding records in input order."""
        batch: list[dict] = []
        for rec in records:
            batch.append(rec)
            if len(batch) >= batch_size:
                yield from self.predict(batch)
                batch = []
        yield from self.predict(batch)
