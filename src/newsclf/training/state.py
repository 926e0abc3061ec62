"""Resumable training state: safetensors for tensors, JSON for everything else (no pickle).

Layout: ``RUN_DIR/state/save-000000007/`` holding one ``<name>.safetensors`` + ``<name>.json`` per part
(model, optimizer, best, trainer). A save is written into a temporary folder and renamed into place, then
older saves are removed, so a kill at any moment (SIGKILL included) leaves at least the last complete save:
the loader takes the highest-numbered ``save-*`` folder, and temporary folders are never picked.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from newsclf.errors import NewsclfError

STATE_DIR = "state"
_SAVE_RE = re.compile(r"^save-(\d{9})$")


# ------------------------------------------------------------------------------------- nested <-> flat
def flatten(obj, tensors: dict[str, torch.Tensor]):
    """A JSON-able description of ``obj`` whose tensors are moved into ``tensors`` (types kept exactly)."""
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, dict):
        return {"__dict__": [[k, flatten(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [flatten(v, tensors) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in the training state")


def unflatten(obj, tensors: dict[str, torch.Tensor]):
    if isinstance(obj, list):
        return [unflatten(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if "__ndarray__" in obj:
        return np.asarray(obj["__ndarray__"], dtype=obj["dtype"])
    if "__tuple__" in obj:
        return tuple(unflatten(v, tensors) for v in obj["__tuple__"])
    return {k: unflatten(v, tensors) for k, v in obj["__dict__"]}


# ------------------------------------------------------------------------------------- RNG
def rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ------------------------------------------------------------------------------------- save / load
def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _saves(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and _SAVE_RE.match(p.name)), key=lambda p: p.name)


def save_state(root: Path, parts: dict, carry: tuple[str, ...] = ()) -> Path:
    """Write ``parts`` ({name: nested object}) as a new save under ``root``; return its folder.

    Names in ``carry`` missing from ``parts`` are hard-linked (or copied) from the previous save: the best
    weights do not change at most saves and need not be rewritten.
    """
    root.mkdir(parents=True, exist_ok=True)
    previous = _saves(root)
    number = int(_SAVE_RE.match(previous[-1].name).group(1)) + 1 if previous else 0
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-save-", dir=root))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a save is as readable as the run dir
    try:
        for name, obj in parts.items():
            tensors: dict[str, torch.Tensor] = {}
            meta = flatten(obj, tensors)
            save_file(tensors, str(tmp / f"{name}.safetensors"))
            (tmp / f"{name}.json").write_text(json.dumps(meta), encoding="utf-8")
        for name in carry:
            if name not in parts and previous and (previous[-1] / f"{name}.json").exists():
                for suffix in (".safetensors", ".json"):
                    _link_or_copy(previous[-1] / f"{name}{suffix}", tmp / f"{name}{suffix}")
        for file in tmp.iterdir():
            _fsync(file)
        final = root / f"save-{number:09d}"
        os.rename(tmp, final)
        _fsync(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in previous:
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".tmp-save-*"):  # left by an earlier kill mid-write
        shutil.rmtree(stale, ignore_errors=True)
    return final


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def find_save(path: str | Path) -> Path | None:
    """The newest complete save under a run dir, its ``state`` dir, or a save folder itself; None if none."""
    path = Path(path)
    if (path / "trainer.json").is_file():
        return path
    root = path / STATE_DIR if (path / STATE_DIR).is_dir() else path
    saves = [p for p in _saves(root) if (p / "trainer.json").is_file()]
    return saves[-1] if saves else None


def load_part(save: Path, name: str):
    """One part of a save, or None when the save has no such part."""
    meta_file = save / f"{name}.json"
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        tensors = load_file(str(save / f"{name}.safetensors"))
    except (OSError, ValueError) as e:
        raise NewsclfError(f"{save}: training state part '{name}' is unreadable ({e})") from None
    return unflatten(meta, tensors)


def clear_state(run_dir: Path) -> None:
    shutil.rmtree(Path(run_dir) / STATE_DIR, ignore_errors=True)
