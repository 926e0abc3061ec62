"""Data-parallel training on existing engines: PyTorch DDP as set up by ``accelerate launch`` or ``torchrun``.

Nothing here starts processes or opens sockets; the launcher does that and Accelerate joins the process group.
This module holds the few collectives the fine-tuning loop needs (they are no-ops in a single process) and the
launch-time arrangement that makes every rank of one job write into one Hydra run directory.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from newsclf.errors import NewsclfError


# ------------------------------------------------------------------------------------- collectives
def _dist(acc):
    if acc.num_processes == 1:
        return None
    import torch.distributed as dist

    return dist


def gather_objects(acc, obj) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank (``[obj]`` in one process)."""
    dist = _dist(acc)
    if dist is None:
        return [obj]
    out = [None] * acc.num_processes
    dist.all_gather_object(out, obj)
    return out


def max_over_ranks(acc, value: int) -> int:
    """The largest ``value`` over all ranks (signals: one rank's SIGTERM stops every rank at the same step)."""
    return max(gather_objects(acc, int(value)))


def sum_over_ranks(acc, value: float) -> float:
    return float(sum(gather_objects(acc, float(value))))


def shard(n: int, rank: int, world: int) -> np.ndarray:
    """The rows of ``n`` that ``rank`` scores at evaluation time (strided, so shards differ by at most one)."""
    return np.arange(rank, n, world)


def gather_rows(acc, n: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Reassemble per-rank ``values`` (one row per index in ``rows``) into one ``n``-row array on every rank."""
    parts = gather_objects(acc, (rows, values))
    out = np.zeros((n, values.shape[1]), dtype=values.dtype)
    for idx, vals in parts:
        out[idx] = vals
    return out


# ------------------------------------------------------------------------------------- launch environment
def world_size(environ=os.environ) -> int:
    """Processes in this job as the launcher announced them (1 when not launched by torchrun / accelerate)."""
    try:
        return int(environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def rank(environ=os.environ) -> int:
    try:
        return int(environ.get("RANK", "0"))
    except ValueError:
        return 0


def _launcher_start(pid: int) -> float | None:
    """Start time (epoch seconds) of process ``pid`` from /proc (Linux); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat: start time in clock ticks after boot
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def shared_run_argv(argv: list[str], environ=os.environ) -> list[str]:
    """Hydra overrides that put every rank of a multi-process launch into one run directory.

    Hydra names the run dir after the current time, which differs between ranks started a second apart. Under
    a launcher the ranks of one node share a parent (the torchrun / accelerate agent), so its start time names
    the run. Ranks on other nodes have other agents: multi-node jobs must pass ``hydra.run.dir`` (a shared
    filesystem path). Non-zero ranks also skip Hydra's ``.hydra/`` config copy, which rank 0 writes.
    """
    if any(a == "-m" or a == "--multirun" for a in argv):
        # a sweep's folder is named once, at launch: a SLURM job requeued hours later (submitit re-runs the
        # job function, which re-reads the config) must find the same folder and resume there
        environ.setdefault("NEWSCLF_RUN_STAMP", time.strftime("%Y-%m-%d_%H-%M-%S"))
        return argv
    if world_size(environ) <= 1:
        return argv
    extra = []
    explicit = any(a.split("=", 1)[0].lstrip("+") == "hydra.run.dir" for a in argv)
    if not explicit:
        local = int(environ.get("LOCAL_WORLD_SIZE", environ.get("WORLD_SIZE", "1")))
        started = _launcher_start(os.getppid())
        if local != world_size(environ) or started is None:
            raise NewsclfError(f"multi-node training ({world_size(environ)} processes, {local} on this node) needs "
                               "hydra.run.dir=DIR on a filesystem every node shares, so that all ranks write one run")
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(started))
        environ["NEWSCLF_RUN_STAMP"] = stamp
    if rank(environ) != 0:
        extra.append("hydra.output_subdir=null")
    return argv + extra


def prepare_launch() -> None:
    """Adjust ``sys.argv`` before ``@hydra.main`` parses it (scripts/train.py calls this)."""
    sys.argv = sys.argv[:1] + shared_run_argv(sys.argv[1:])
