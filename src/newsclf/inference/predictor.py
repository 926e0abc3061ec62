"""Turn input records into prediction records with the checkpoint's own cleaning, labels and temperature.

Record schema (JSONL, one per input document, in input order)::

    {"id": ..., "label": "Sports", "scores": {"Sports": 0.97, "World": 0.02, ...}, "evidence": [...],
     "model": "tfidf.v1", "checkpoint": "<fingerprint>"}

``id`` is present when the input had one; ``scores`` holds the calibrated probabilities, most probable first
(only the ``top_k`` best when asked, plus ``label``'s own); ``label`` is the most probable label, or the one the
checkpoint's decision rule picks (``task.decision``, e.g. ``fnc``, and ``task.new_claim_weights`` for pairs
whose headline training never saw: newsclf.evaluation.decision); ``evidence``
only for checkpoints whose task strips syndication markers (the markers found in the raw input; ``scores`` come
from the marker-free text); ``runtime`` only when an exported ONNX model produced the scores (``onnx`` or
``onnx-int8``). See docs/serving.md.

Streaming: :meth:`Predictor.predict_stream` reads a window of documents, sorts it by length so that each
model call pads little, predicts it batch by batch and yields the records in input order. Memory is bounded
by the window, whatever the input size.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path

import numpy as np

from newsclf.checkpoint import Checkpoint, load_checkpoint
from newsclf.data.markers import evidence
from newsclf.data.text import join_title
from newsclf.errors import NewsclfError

RUNTIMES = ("native", "onnx")
# documents per model call: a TF-IDF call has a fixed cost worth spreading; a transformer batch pads to its
# longest member, so it stays small (the model splits it further by its own eval_batch_size)
DEFAULT_BATCH = {"tfidf": 1024, "transformer": 64}
# sequences per transformer forward pass on a CPU (torch or onnxruntime): 16 beat 64 by 20-40% on the 2-core
# machines here (BENCHMARKS.md "Prediction"): tighter lengths per batch, activations that stay in cache. A GPU
# keeps the checkpoint's eval_batch_size.
CPU_FORWARD_BATCH = 16
WINDOW_BATCHES = 16  # a window (read ahead, length-sorted) holds this many batches
MIN_PIECE = 64  # the smallest piece of the last batches given to a worker process: a call has a fixed cost


def _positive_int(value, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NewsclfError(f"{name}: expected a positive integer or null, found {value!r}")
    return value


def _length(x) -> int:
    return len(x[0]) + len(x[1]) if isinstance(x, tuple) else len(x)


_FORKED: Predictor | None = None  # the predictor whose pool forked last: what its workers inherit


def _forked_proba(records: list[dict]) -> np.ndarray:
    """In a worker process: probabilities for one batch of records, with the inherited predictor."""
    return _FORKED.model.predict_proba(_FORKED.spec.model_inputs(records))


def _ending_in_pieces(records: Iterator[dict], size: int, workers: int) -> Iterator[list[dict]]:
    """Batches of ``size`` records, one held back; when the input runs out, what is left (the held batch and the
    partial one after it) goes out in about ``4 * workers`` pieces: whichever worker is free takes the next
    piece, so all of them finish together instead of one predicting a whole last batch while the others wait."""
    held = list(islice(records, size))
    while held:
        following = list(islice(records, size))
        if len(following) == size:
            yield held
            held = following
            continue
        tail = held + following
        piece = max(MIN_PIECE, -(-len(tail) // (4 * workers)))
        for start in range(0, len(tail), piece):
            yield tail[start:start + piece]
        return


def set_threads(threads: int | None) -> None:
    """Intra-op threads for torch (when the model uses it); ONNX sessions take theirs at creation."""
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


class Predictor:
    def __init__(self, checkpoint: Checkpoint, top_k: int | None = None, runtime: str = "native",
                 onnx_model: str | Path | None = None, threads: int | None = None, batch_size: int | None = None,
                 fast_tfidf: bool = True, processes: int | None = None, forward_batch_size: int | None = None,
                 decision: str | None = None):
        self.checkpoint = checkpoint
        self.spec = checkpoint.input_spec
        self.labels = checkpoint.labels
        self.decider = checkpoint.decider(decision)
        self.decision = self.decider.rule
        self.top_k = _positive_int(top_k, "top_k")
        self.threads = _positive_int(threads, "threads")
        if runtime not in RUNTIMES:
            raise NewsclfError(f"runtime: expected one of {RUNTIMES}, found {runtime!r}")
        self.model = checkpoint.model
        self.runtime_tag = None
        if runtime == "onnx":
            from newsclf.inference.onnx import OnnxClassifier

            self.model = OnnxClassifier.load(checkpoint, onnx_model, threads=self.threads)
            self.runtime_tag = self.model.runtime_tag
        elif fast_tfidf:
            from newsclf.inference.fast_tfidf import accelerate

            accelerate(self.model)
        set_threads(self.threads)
        family = str(checkpoint.manifest["model_kind"]).split(".")[0]
        self.batch_size = _positive_int(batch_size, "batch_size") or DEFAULT_BATCH.get(family, 64)
        forward = _positive_int(forward_batch_size, "forward_batch_size")
        if family == "transformer":
            self._set_forward_batch(forward)
        # a torch / onnxruntime model spreads one batch over its own threads; a TF-IDF model (numpy + scipy, much
        # of it holding the GIL) can have batches predicted side by side in forked worker processes instead
        self.processes = _positive_int(processes, "processes") or 1
        if family != "tfidf" or self.runtime_tag or "fork" not in multiprocessing.get_all_start_methods():
            self.processes = 1
        self._pool: ProcessPoolExecutor | None = None
        self._static = {"model": checkpoint.manifest["model_kind"], "checkpoint": checkpoint.fingerprint}
        if self.runtime_tag:
            self._static["runtime"] = self.runtime_tag

    def _set_forward_batch(self, forward: int | None) -> None:
        """Sequences per forward pass: ``forward`` if given, else 16 on a CPU, else the checkpoint's own."""
        if self.runtime_tag:  # onnxruntime runs on the CPU here
            self.model.batch_size = forward or CPU_FORWARD_BATCH
            return
        device = getattr(self.model, "device_", None)
        if forward or getattr(device, "type", "cpu") == "cpu":
            self.model.eval_batch_size = forward or CPU_FORWARD_BATCH

    @classmethod
    def from_checkpoint(cls, path: str | Path, **kwargs) -> Predictor:
        return cls(load_checkpoint(path), **kwargs)

    @property
    def input_kind(self) -> str:
        return self.spec.kind

    def describe(self) -> dict:
        """What answers: model kind, checkpoint fingerprint, task, labels, decision rule (``GET /health``)."""
        return {**self._static, "task": self.checkpoint.task, "input": self.spec.kind, "labels": list(self.labels),
                "decision": self.decision,
                **({"new_claim_weights": self.decider.new_claim_weights} if self.decider.needs_claims else {})}

    # -- probabilities ----------------------------------------------------------------------------------------
    def _inference(self):
        """``torch.inference_mode`` around a native torch model call (no autograd bookkeeping); else nothing."""
        torch = sys.modules.get("torch")
        if torch is None or self.runtime_tag:
            return contextlib.nullcontext()
        return torch.inference_mode()

    def predict_proba(self, records: list[dict], batch_size: int | None = None) -> np.ndarray:
        """Calibrated probabilities (rows follow ``records``).

        Length-sorted batches, so that a transformer batch pads little.
        """
        size = batch_size or self.batch_size
        inputs = self.spec.model_inputs(records)
        probs = np.empty((len(inputs), len(self.labels)), dtype=np.float64)
        if not inputs:
            return probs
        order = np.argsort(np.fromiter(map(_length, inputs), dtype=np.int64, count=len(inputs)), kind="stable")
        with self._inference():
            for start in range(0, len(order), size):
                idx = order[start:start + size]
                probs[idx] = self.model.predict_proba([inputs[i] for i in idx])
        return probs

    # -- worker processes (TF-IDF) -----------------------------------------------------------------------------
    def start_workers(self) -> bool:
        """Fork the worker processes now (``processes`` > 1, TF-IDF, a platform with fork); True if there are.

        Call it before starting threads (a progress bar's, a server's): forking a threaded process is unsafe.
        Each worker inherits the loaded model, predicts whole batches (cleaning included) and returns their
        probabilities; records are built here, in input order.
        """
        global _FORKED
        if self.processes > 1 and self._pool is None:
            self.predict_proba([{}])  # one empty document builds the model's lazy constants once, for all workers
            _FORKED = self
            self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("fork"))
            self._pool.submit(int).result()  # a fork-context pool forks all its workers at the first task
        return self._pool is not None

    def close(self) -> None:
        """Stop the worker processes, if any."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _stream_forked(self, records: Iterator[dict], size: int) -> Iterator[dict]:
        pending: deque = deque()  # (batch, future) in input order
        limit, in_flight = 2 * self.processes * size, 0  # documents in flight: two batches' worth per worker
        batches = _ending_in_pieces(records, size, self.processes)
        while True:
            while in_flight < limit and (batch := next(batches, None)):
                pending.append((batch, self._pool.submit(_forked_proba, batch)))
                in_flight += len(batch)
            if not pending:
                return
            batch, future = pending.popleft()
            in_flight -= len(batch)
            yield from self._records(batch, future.result())

    # -- records ----------------------------------------------------------------------------------------------
    def _records(self, records: list[dict], probs: np.ndarray) -> list[dict]:
        order = np.argsort(-probs, axis=1, kind="stable")
        if self.top_k:
            order = order[:, : self.top_k]
        if self.decision == "argmax" and not self.decider.needs_claims:
            chosen = order[:, 0]
        else:
            chosen = self.decider.indices(probs, self.spec.claims(records) if self.decider.needs_claims else None)
        labels, values, ranks = self.labels, probs.tolist(), order.tolist()
        out = []
        for rec, p, rank, k in zip(records, values, ranks, chosen.tolist(), strict=True):
            row: dict = {"id": rec["id"]} if "id" in rec else {}
            row["label"] = labels[k]
            row["scores"] = {labels[i]: p[i] for i in (rank if k in rank else [*rank, k])}
            if self.spec.strip_markers:
                row["evidence"] = evidence(join_title(rec.get("title"), rec.get("text")))
            row.update(self._static)
            out.append(row)
        return out

    def predict(self, records: list[dict], batch_size: int | None = None) -> list[dict]:
        """Prediction records for ``records``, in their order."""
        records = list(records)
        if not records:
            return []
        return self._records(records, self.predict_proba(records, batch_size))

    def predict_stream(self, records: Iterable[dict], batch_size: int | None = None,
                       window: int | None = None) -> Iterator[dict]:
        """Predict an iterable of any length in bounded memory, yielding records in input order.

        ``window`` documents (default: 16 batches) are read ahead and sorted by length; memory holds one
        window of inputs and outputs at a time. With worker processes (TF-IDF, ``processes`` > 1) batches go
        to the workers as they are read, at most two per worker in flight, instead of windows.
        """
        size = _positive_int(batch_size, "batch_size") or self.batch_size
        window = _positive_int(window, "window") or size * WINDOW_BATCHES
        it = iter(records)
        if self.start_workers():
            yield from self._stream_forked(it, size)
            return
        while chunk := list(islice(it, max(window, size))):
            yield from self.predict(chunk, size)
