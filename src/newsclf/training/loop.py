"""The fine-tuning loop: HF Accelerate places the model, runs mixed precision and skips gradient sync while
accumulating; this module decides what an optimizer step is, evaluates, stops early and saves / restores state.

Gradient accumulation is explicit: each optimizer step is a *group* of micro-batches planned up front
(``batching.epoch_groups``), and every micro-batch loss is divided by the weight total of its whole group.
The accumulated gradient is then exactly that of one big batch, the epoch's last short group included (the
``step % n == 0`` off-by-one of transformers #15801 cannot happen, and no group straddles two epochs).

Data parallel (``accelerate launch`` / ``torchrun``, N processes): a group holds ``grad_accum_steps * N``
micro-batches and rank *r* runs micro-batches ``r, r + N, ...`` of it. Every rank plans the same groups (the plan
is a pure function of seed and epoch), normalises by the whole group's weight, and scales its loss by N because
DDP averages gradients over ranks: the update equals one process with ``grad_accum_steps * N``, up to float
summation order and dropout draws. Dev logits are computed on strided shards and gathered; rank 0 alone writes.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from newsclf.errors import NewsclfError
from newsclf.inference.bert_forward import fast_forward
from newsclf.training.batching import collate, epoch_groups, inference_batches, steps_per_epoch
from newsclf.training.distributed import gather_objects, gather_rows, max_over_ranks, shard, sum_over_ranks
from newsclf.training.logs import RunLog, progress_bar
from newsclf.training.optim import example_weights, weighted_loss_sum
from newsclf.training.state import STATE_DIR, find_save, load_part, rng_state, save_state, set_rng_state


@dataclass
class LoopConfig:
    epochs: int = 3
    batch_size: int = 16
    grad_accum_steps: int = 1
    warmup_ratio: float = 0.1
    max_grad_norm: float | None = 1.0
    group_by_length: bool = True
    early_stopping_patience: int | None = 2
    save_every_steps: int | None = 200
    log_every_steps: int | None = 20
    eval_batch_size: int = 64
    progress: bool = True
    seed: int = 0


@dataclass
class Position:
    """Everything about where training stands that is not a tensor; saved in ``trainer.json``."""

    epoch: int = 0  # epochs completed
    group: int = 0  # optimizer steps done in the current epoch (the sampler position)
    step: int = 0  # optimizer steps done in total
    epoch_loss: float = 0.0
    epoch_examples: int = 0
    epoch_seconds: float = 0.0
    best_metric: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    finished: bool = False
    history: list = field(default_factory=list)


@dataclass
class Split:
    encoded: dict  # input_ids / token_type_ids lists
    targets: np.ndarray  # label ids

    @property
    def lengths(self) -> list[int]:
        return [len(x) for x in self.encoded["input_ids"]]


def make_accelerator(device: str = "auto", mixed_precision: str = "auto"):
    """An Accelerator on CUDA when present (``auto``) with bf16 (fp16 on pre-Ampere GPUs); fp32 on CPU."""
    from accelerate import Accelerator, DataLoaderConfiguration
    from accelerate.state import AcceleratorState

    if device not in ("auto", "cpu", "cuda"):
        raise NewsclfError(f"model.device: expected auto, cpu or cuda, found {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise NewsclfError("model.device=cuda but no CUDA device is available (use device=auto or cpu)")
    cpu = device == "cpu" or not torch.cuda.is_available()
    if mixed_precision == "auto":
        mixed_precision = "no" if cpu else ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    if mixed_precision not in ("no", "bf16", "fp16"):
        raise NewsclfError(f"model.mixed_precision: expected auto, no, bf16 or fp16, found {mixed_precision!r}")
    # Accelerate keeps one process-wide state; a second model with other settings in the same process
    # (tests, notebooks) must start from a clean one. The distributed part (PartialState) is kept.
    AcceleratorState._reset_state()
    # Our steps are global (one step = one group of micro-batches over all ranks), so the scheduler must step once
    # per optimizer step; without split_batches Accelerate steps it once per process (N times too fast under DDP).
    return Accelerator(cpu=cpu, mixed_precision=mixed_precision,
                       dataloader_config=DataLoaderConfiguration(split_batches=True))


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def predict_logits(model, encoded: dict, batch_size: int, device: torch.device, pad_id: int, with_types: bool,
                   dtype: torch.dtype | None = None) -> np.ndarray:
    """Logits in input order, computed over length-sorted batches (less padding, same result every time).

    BERT classifiers go through ``inference.bert_forward`` (the same weights, less work); others through
    ``model(**inputs)``.
    """
    n = len(encoded["input_ids"])
    out = np.zeros((n, model.config.num_labels), dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        forward = fast_forward(model) or (lambda **inputs: model(**inputs).logits)
        for batch in inference_batches([len(x) for x in encoded["input_ids"]], batch_size):
            inputs = {k: v.to(device) for k, v in collate(encoded, batch, pad_id, with_types).items()}
            with autocast(device, dtype):
                out[batch] = forward(**inputs).float().cpu().numpy()
    return out


class FineTuner:
    """Runs epochs of optimizer steps. ``run(resume)`` leaves the best (or last) weights in the model."""

    def __init__(self, accelerator, model, optimizer, scheduler, train: Split, dev: Split | None,
                 score: Callable[[np.ndarray, np.ndarray], dict], cfg: LoopConfig, *, weights, pad_id: int,
                 with_types: bool, run_dir: Path | None, signature: dict, callbacks=()):
        self.acc, self.model, self.optimizer, self.scheduler = accelerator, model, optimizer, scheduler
        self.train, self.dev, self.score, self.cfg = train, dev, score, cfg
        self.weights, self.pad_id, self.with_types = weights, pad_id, with_types
        self.run_dir, self.signature, self.callbacks = run_dir, signature, list(callbacks)
        self.world, self.rank = accelerator.num_processes, accelerator.process_index
        self.main = accelerator.is_main_process
        self.pos = Position()
        self.best: dict | None = None
        self.best_dev_logits: np.ndarray | None = None  # dev logits of the best weights (not saved in state)
        self._best_dirty = False
        self._signal: int | None = None
        self._lengths = train.lengths
        self.accum = cfg.grad_accum_steps * self.world  # micro-batches per optimizer step, all ranks together
        self.total_steps = cfg.epochs * steps_per_epoch(len(self._lengths), cfg.batch_size, self.accum,
                                                        cfg.group_by_length)
        self.pad_multiple = 8 if accelerator.device.type == "cuda" else None  # tensor cores like multiples of 8
        self.log = RunLog(run_dir if self.main else None)  # only rank 0 writes

    # ------------------------------------------------------------------------------------- the loop
    def run(self, resume: Path | None = None) -> None:
        if resume is not None:
            self.restore(resume)
        bar = progress_bar(self.total_steps, self.pos.step, self.cfg.progress and self.main)
        if self.pos.step == 0:
            self.log.write({"event": "start", "step": 0, "world_size": self.world,
                            "per_device_batch_size": self.cfg.batch_size, "grad_accum_steps": self.cfg.grad_accum_steps,
                            "effective_batch_size": self.cfg.batch_size * self.accum, "total_steps": self.total_steps})
        try:
            with self._catch_signals():
                while not self.pos.finished and self.pos.epoch < self.cfg.epochs:
                    self._run_epoch(bar)
                    self._end_epoch()
        finally:
            bar.close()
            self.log.close()
        if self.best is not None:
            self.acc.unwrap_model(self.model).load_state_dict(self.best)

    def _run_epoch(self, bar) -> None:
        cfg = self.cfg
        groups = epoch_groups(self._lengths, cfg.batch_size, self.accum, cfg.seed, self.pos.epoch,
                              cfg.group_by_length)
        self.model.train()
        for group in groups[self.pos.group:]:
            started = time.perf_counter()
            loss = self._step(group)
            seconds = time.perf_counter() - started
            n = sum(len(b) for b in group)
            self.pos.group += 1
            self.pos.step += 1
            self.pos.epoch_loss += loss * n
            self.pos.epoch_examples += n
            self.pos.epoch_seconds += seconds
            self._after_step(bar, loss, n / max(seconds, 1e-9))

    def _step(self, group: list[list[int]]) -> float:
        """One optimizer step over a group of micro-batches; returns the group's (weighted) mean loss."""
        device = self.acc.device
        norm = float(sum(example_weights(torch.from_numpy(self.train.targets[b]), self.weights).sum()
                         for b in group)) or 1.0
        mine, scale = group[self.rank::self.world], float(self.world)  # DDP averages over ranks: undo it
        if not mine:  # a short last group with fewer micro-batches than ranks: join the all-reduce with zeros
            mine, scale = group[:1], 0.0
        total = torch.zeros((), device=device)
        for i, batch in enumerate(mine):
            y = torch.from_numpy(self.train.targets[batch]).to(device)
            inputs = collate(self.train.encoded, batch, self.pad_id, self.with_types, self.pad_multiple)
            inputs = {k: v.to(device) for k, v in inputs.items()}
            # all but the last micro-batch skip the gradient all-reduce (a no-op on one process)
            sync = contextlib.nullcontext() if i == len(mine) - 1 else self.acc.no_sync(self.model)
            with sync:
                logits = self.model(**inputs).logits
                loss = weighted_loss_sum(logits, y, self.weights) / norm
                self.acc.backward(loss * scale)
            total += loss.detach() * (scale / self.world)
        if self.cfg.max_grad_norm:
            self.acc.clip_grad_norm_(self.model.parameters(), self.cfg.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.world > 1:
            return sum_over_ranks(self.acc, float(total))
        return float(total)  # one device sync per step

    def _after_step(self, bar, loss: float, examples_per_s: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}", ex_s=f"{examples_per_s:.1f}", refresh=False)
        every = self.cfg.log_every_steps
        if every and self.pos.step % every == 0:
            self.log.write({"event": "step", "step": self.pos.step, "epoch": self.pos.epoch + 1, "loss": loss,
                            "lr": self.scheduler.get_last_lr()[0], "examples_per_s": examples_per_s})
        if self.cfg.save_every_steps and self.pos.step % self.cfg.save_every_steps == 0:
            self.save()
        for callback in self.callbacks:
            callback(self)
        self._check_signal()

    def _end_epoch(self) -> None:
        pos = self.pos
        record = {"event": "epoch", "epoch": pos.epoch + 1, "step": pos.step,
                  "train_loss": pos.epoch_loss / max(pos.epoch_examples, 1),
                  "examples_per_s": pos.epoch_examples / max(pos.epoch_seconds, 1e-9),
                  "lr": self.scheduler.get_last_lr()[0]}
        if self.dev is not None and len(self.dev.targets):
            logits = self.dev_logits()
            metrics = self.score(logits, self.dev.targets)
            record.update({f"dev/{k}": v for k, v in metrics.items()})
            if self._early_stopping(metrics["metric"]):
                self.best_dev_logits = logits
        self.log.write(record)
        pos.history.append(record)
        pos.epoch, pos.group = pos.epoch + 1, 0
        pos.epoch_loss, pos.epoch_examples, pos.epoch_seconds = 0.0, 0, 0.0
        pos.finished = pos.finished or pos.epoch >= self.cfg.epochs
        self.save()
        self._check_signal()

    def dev_logits(self) -> np.ndarray:
        """Dev logits of the current weights; under DDP each rank scores a strided shard, then all gather."""
        model = self.acc.unwrap_model(self.model)
        n = len(self.dev.targets)
        rows = shard(n, self.rank, self.world)
        encoded = {k: [v[i] for i in rows] for k, v in self.dev.encoded.items()} if self.world > 1 else self.dev.encoded
        logits = predict_logits(model, encoded, self.cfg.eval_batch_size, self.acc.device, self.pad_id,
                                self.with_types)
        self.model.train()
        return gather_rows(self.acc, n, rows, logits) if self.world > 1 else logits

    def _early_stopping(self, value: float) -> bool:
        """Track the best dev metric; True when these weights are the new best."""
        pos = self.pos
        if pos.best_metric is None or value > pos.best_metric:
            pos.best_metric, pos.best_epoch, pos.bad_epochs = float(value), pos.epoch + 1, 0
            weights = self.acc.unwrap_model(self.model).state_dict()
            self.best = {k: v.detach().to("cpu", copy=True) for k, v in weights.items()}
            self._best_dirty = True
            return True
        pos.bad_epochs += 1
        patience = self.cfg.early_stopping_patience
        if patience and pos.bad_epochs >= patience:
            pos.finished = True
        return False

    # ------------------------------------------------------------------------------------- state
    def save(self) -> Path | None:
        """Write a complete resumable state under ``RUN_DIR/state`` (atomic; see ``training.state``)."""
        if self.run_dir is None:
            return None
        rngs = gather_objects(self.acc, rng_state())  # every rank's generators: dropout differs per rank
        if not self.main:
            self.acc.wait_for_everyone()
            self._best_dirty = False
            return Path(self.run_dir) / STATE_DIR
        trainer = {"position": asdict(self.pos), "scheduler": self.scheduler.state_dict(),
                   "scaler": self.acc.scaler.state_dict() if self.acc.scaler is not None else None,
                   "rng": rngs[0], "signature": self.signature, "world_size": self.world,
                   **({"rng_ranks": rngs} if self.world > 1 else {})}
        parts = {"model": self.acc.unwrap_model(self.model).state_dict(), "optimizer": self.optimizer.state_dict(),
                 "trainer": trainer}
        if self.best is not None and self._best_dirty:
            parts["best"] = self.best
        where = save_state(Path(self.run_dir) / STATE_DIR, parts, carry=("best",))
        self._best_dirty = False
        self.acc.wait_for_everyone()
        return where

    def restore(self, path: Path) -> None:
        save = find_save(path)
        if save is None:
            raise NewsclfError(f"resume={path}: no saved training state found (expected {Path(path) / STATE_DIR}"
                               "/save-*/ as written by an earlier transformer run)")
        trainer = load_part(save, "trainer")
        _check_signature(save, trainer.get("signature", {}), self.signature)
        if int(trainer.get("world_size", 1)) != self.world:  # another world size means another batch plan
            raise NewsclfError(f"resume: {save} was saved by {trainer.get('world_size', 1)} process(es), this run "
                               f"has {self.world}; resume with the same number of processes")
        self.acc.unwrap_model(self.model).load_state_dict(load_part(save, "model"))
        self.optimizer.load_state_dict(load_part(save, "optimizer"))
        self.scheduler.load_state_dict(trainer["scheduler"])
        if trainer.get("scaler") and self.acc.scaler is not None:
            self.acc.scaler.load_state_dict(trainer["scaler"])
        self.pos = Position(**trainer["position"])
        self.best = load_part(save, "best")
        self._best_dirty = self.best is not None  # the first save in this run dir must carry them
        self.log.rewind(self.pos.step)
        ranks = trainer.get("rng_ranks")
        # last: nothing above may consume random numbers afterwards
        set_rng_state(ranks[self.rank] if ranks else trainer["rng"])
        if self.main:
            print(f"resumed from {save}: epoch {self.pos.epoch + 1}, step {self.pos.step}/{self.total_steps}",
                  file=sys.stderr)

    # ------------------------------------------------------------------------------------- signals
    @contextlib.contextmanager
    def _catch_signals(self):
        """SIGINT / SIGTERM finish the current step, save the state and exit 128 + signal (a second Ctrl-C
        leaves at once)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self._signal is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self._signal = signum

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    def _check_signal(self) -> None:
        if self.world > 1:  # all ranks must stop at the same step, or the next collective hangs
            self._signal = max_over_ranks(self.acc, self._signal or 0) or None
        if self._signal is None:
            return
        where = self.save()
        name = signal.Signals(self._signal).name
        hint = f"training state saved to {where}; continue with resume={self.run_dir}" if where else "no run dir"
        print(f"newsclf: {name} at step {self.pos.step}: {hint}", file=sys.stderr)
        raise SystemExit(128 + self._signal)


def _check_signature(save: Path, saved: dict, current: dict) -> None:
    diff = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    if diff:
        k = diff[0]
        raise NewsclfError(f"resume: {save} was written by a different run: {k} is {saved.get(k)!r} there and "
                           f"{current.get(k)!r} now (resume needs the same data, labels and training settings)")
