"""Epoch plans (which examples go into which micro-batch and optimizer step) and dynamic-padding collation.

An epoch plan is a pure function of ``(seed, epoch, lengths)``: resuming at optimizer step *k* of an epoch
rebuilds the plan and starts at group *k*, with no batch replay (transformers #11284 spent 28 h skipping
batches). Length grouping follows the usual megabatch recipe (transformers' ``LengthGroupedSampler``):
shuffle, cut into megabatches of ``batch_size * mega_factor``, sort each by length, cut into batches; we then
shuffle the batch order too, so that long and short batches alternate through the epoch.
"""

from __future__ import annotations

import numpy as np
import torch

Group = list[list[int]]  # the micro-batches (lists of example indices) of one optimizer step


def epoch_batches(lengths, batch_size: int, seed: int, epoch: int, group_by_length: bool = True,
                  mega_factor: int = 50) -> list[list[int]]:
    """The micro-batches of one epoch, in training order."""
    lengths = np.asarray(lengths)
    rng = np.random.default_rng([int(seed), int(epoch)])
    order = rng.permutation(len(lengths))
    if not group_by_length:
        return [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    mega = batch_size * mega_factor
    batches = []
    for start in range(0, len(order), mega):
        chunk = order[start:start + mega]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]  # ties keep their random order
        batches += [chunk[i:i + batch_size].tolist() for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def epoch_groups(lengths, batch_size: int, accum: int, seed: int, epoch: int, group_by_length: bool = True,
                 mega_factor: int = 50) -> list[Group]:
    """Micro-batches grouped per optimizer step; the epoch's last group may hold fewer than ``accum``."""
    batches = epoch_batches(lengths, batch_size, seed, epoch, group_by_length, mega_factor)
    return [batches[i:i + accum] for i in range(0, len(batches), accum)]


def steps_per_epoch(n: int, batch_size: int, accum: int, group_by_length: bool = True,
                    mega_factor: int = 50) -> int:
    return len(epoch_groups([0] * n, batch_size, accum, 0, 0, group_by_length, mega_factor))


def collate(encoded: dict[str, list[list[int]]], indices, pad_id: int, with_types: bool = True,
            pad_to_multiple_of: int | None = None) -> dict[str, torch.Tensor]:
    """Pad the selected examples to the longest one in the batch (dynamic padding)."""
    rows = [encoded["input_ids"][i] for i in indices]
    width = max(len(r) for r in rows)
    if pad_to_multiple_of:
        width = -(-width // pad_to_multiple_of) * pad_to_multiple_of
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    types = np.zeros((len(rows), width), dtype=np.int64)
    for j, i in enumerate(indices):
        n = len(rows[j])
        ids[j, :n], mask[j, :n] = rows[j], 1
        if with_types:
            types[j, :n] = encoded["token_type_ids"][i]
    out = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
    if with_types:
        out["token_type_ids"] = torch.from_numpy(types)
    return out


def inference_batches(lengths, batch_size: int) -> list[list[int]]:
    """Batches for prediction: sorted by length (stable, so the same input always batches the same way)."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
