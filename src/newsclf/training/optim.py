"""AdamW with decay-free biases / norms, warmup + linear decay, class weights and the weighted loss."""

from __future__ import annotations

from collections import Counter

import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR

from newsclf.errors import NewsclfError


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Two AdamW groups: weight decay on matrices, none on biases and normalisation weights (BERT recipe)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        # 1-d tensors are biases and LayerNorm scales: decaying them only hurts
        (no_decay if param.ndim < 2 or name.endswith(".bias") else decay).append(param)
    return [{"params": decay, "weight_decay": float(weight_decay)}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    # the fused kernel (CPU and CUDA) makes the step ~8x cheaper on CPU than the per-tensor loop (~25 vs ~200 ms
    # for MiniLM's 22.7M parameters, one thread): ~10% of a training step on 2 cores
    return torch.optim.AdamW(param_groups(model, weight_decay), lr=float(lr), fused=True)


class WarmupLinear:
    """lr factor: 0 -> 1 over ``warmup`` steps, then linearly down to 0 at ``total`` (a picklable callable)."""

    def __init__(self, warmup: int, total: int):
        self.warmup, self.total = int(warmup), max(1, int(total))

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / (self.warmup + 1)
        return max(0.0, (self.total - step) / max(1, self.total - self.warmup))


def warmup_linear(optimizer, warmup_steps: int, total_steps: int) -> LambdaLR:
    return LambdaLR(optimizer, WarmupLinear(warmup_steps, total_steps))


def class_weights(spec, labels: list[str], y: list[str]) -> torch.Tensor | None:
    """Per-label loss weights from ``class_weight``: null, ``balanced`` (n / (k * count)) or ``{label: w}``."""
    if spec in (None, "none"):
        return None
    if spec == "balanced":
        counts = Counter(y)
        return torch.tensor([len(y) / (len(labels) * counts[label]) for label in labels], dtype=torch.float32)
    if isinstance(spec, dict):
        unknown = sorted(set(map(str, spec)) - set(labels))
        if unknown:
            raise NewsclfError(f"model.class_weight names unknown label(s) {unknown}; labels are {labels}")
        try:
            w = [float(spec.get(label, 1.0)) for label in labels]
        except (TypeError, ValueError):
            raise NewsclfError(f"model.class_weight: weights must be numbers, found {spec!r}") from None
        if min(w) < 0 or max(w) <= 0:
            raise NewsclfError(f"model.class_weight: weights must be >= 0 with one > 0, found {spec!r}")
        return torch.tensor(w, dtype=torch.float32)
    raise NewsclfError(f"model.class_weight: expected null, 'balanced' or a {{label: weight}} map, found {spec!r}")


def example_weights(targets: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    return torch.ones(len(targets)) if weights is None else weights[targets]


def weighted_loss_sum(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Sum over the batch of ``w[y] * cross_entropy``. Divided by the whole optimizer step's weight total, the
    micro-batch losses add up to exactly the weighted mean of one big batch (no accumulation bias)."""
    w = None if weights is None else weights.to(logits.device)
    return F.cross_entropy(logits.float(), targets, weight=w, reduction="sum")
