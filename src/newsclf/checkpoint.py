"""The only code that reads or writes checkpoint directories.

A checkpoint is a directory that describes itself::

    checkpoint/
      manifest.json   format version, versioned model kind, constructor params, ordered labels, task and input
                      spec, metrics, seed, data fingerprints, library versions, git commit, payload sha256s
      config.yaml     the resolved run config
      model/          the payload: JSON + safetensors (tfidf.v1) or safetensors + tokenizer (transformer.v1)

It is written under a temporary name and renamed into place, so a crash never leaves a half-written
checkpoint that loads. Loading never unpickles and never imports anything named by the checkpoint: the model
kind is looked up in :func:`newsclf.models.registry`, file names are checked to stay inside the directory,
and every payload file's sha256 must match the manifest.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsclf.data.inputs import InputSpec
from newsclf.errors import NewsclfError
from newsclf.evaluation.decision import check_decision
from newsclf.models import registry
from newsclf.utils import atomic_path, fingerprint_file, git_commit, library_versions

FORMAT_VERSION = 1
MANIFEST, CONFIG, MODEL_DIR = "manifest.json", "config.yaml", "model"


@dataclass
class Checkpoint:
    path: Path
    manifest: dict
    model: Any
    input_spec: InputSpec
    labels: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return self.manifest.get("fingerprint", "")

    @property
    def task(self) -> str:
        return self.manifest["task"]["name"]

    @property
    def decision(self) -> str:
        """How labels are chosen from the probabilities (newsclf.evaluation.decision); older checkpoints: argmax."""
        return self.manifest["task"].get("decision", "argmax")


def _payload_hashes(model_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(model_dir)): fingerprint_file(p) for p in sorted(model_dir.rglob("*")) if p.is_file()}


def save_checkpoint(path: str | Path, model, *, task: dict, input_spec: InputSpec, extra: dict,
                    config_yaml: str) -> Path:
    """Write ``model`` and its manifest atomically to ``path`` (replacing an older checkpoint there)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.mkdir()
        model.save(tmp / MODEL_DIR)
        (tmp / CONFIG).write_text(config_yaml, encoding="utf-8")
        manifest = {
            "format_version": FORMAT_VERSION,
            "model_kind": model.kind,
            "params": model.get_params(),
            "labels": list(model.labels_),
            "task": {**task, "input": input_spec.to_dict()},
            "files": {"model": MODEL_DIR, "config": CONFIG},
            "payload_sha256": _payload_hashes(tmp / MODEL_DIR),
            "versions": library_versions(),
            "git_commit": git_commit(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **extra,
        }
        manifest["fingerprint"] = hashlib.sha256(
            json.dumps(manifest["payload_sha256"], sort_keys=True).encode()).hexdigest()[:16]
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def _inside(root: Path, name: Any, field_name: str) -> Path:
    if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise NewsclfError(f"{root / MANIFEST}: field 'files.{field_name}' must be a relative path inside the "
                           f"checkpoint, found {name!r}")
    target = (root / name).resolve()
    if root.resolve() not in target.parents and target != root.resolve():
        raise NewsclfError(f"{root / MANIFEST}: field 'files.{field_name}' points outside the checkpoint")
    return target


def read_manifest(path: str | Path) -> tuple[Path, dict]:
    path = Path(path)
    if not path.exists():
        raise NewsclfError(f"checkpoint {path} does not exist")
    if path.is_dir() and not (path / MANIFEST).exists() and (path / "checkpoint" / MANIFEST).exists():
        path = path / "checkpoint"  # a run directory: its checkpoint is inside
    if not path.is_dir() or not (path / MANIFEST).is_file():
        raise NewsclfError(f"{path} is not a checkpoint (expected a directory with {MANIFEST}, as written by "
                           "scripts/train.py under RUN_DIR/checkpoint)")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise NewsclfError(f"{path / MANIFEST}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict):
        raise NewsclfError(f"{path / MANIFEST}: expected a JSON object")
    version = manifest.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:  # 1.0 or true are not version 1
        raise NewsclfError(f"{path / MANIFEST}: unknown format_version {version!r}; this newsclf reads "
                           f"version {FORMAT_VERSION}")
    return path, manifest


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load any checkpoint through the model-kind registry. The one loader for evaluate, predict and serve."""
    path, manifest = read_manifest(path)
    kinds = registry()
    kind = manifest.get("model_kind")
    if not isinstance(kind, str) or kind not in kinds:
        raise NewsclfError(f"{path / MANIFEST}: unknown model_kind {kind!r}; known kinds: {sorted(kinds)}")
    files = manifest.get("files")
    if not isinstance(files, dict) or "model" not in files:
        raise NewsclfError(f"{path / MANIFEST}: field 'files' must map 'model' to the payload folder")
    for name, value in files.items():
        _inside(path, value, name)
    model_dir = _inside(path, files["model"], "model")
    expected = manifest.get("payload_sha256")
    if not isinstance(expected, dict) or not expected:
        raise NewsclfError(f"{path / MANIFEST}: field 'payload_sha256' is missing")
    for rel, digest in expected.items():
        file = _inside(model_dir, rel, f"payload_sha256.{rel}")
        if not file.is_file():
            raise NewsclfError(f"{file}: payload file listed in the manifest is missing")
        if fingerprint_file(file) != digest:
            raise NewsclfError(f"{file}: sha256 does not match the manifest (truncated or modified weights)")
    labels = manifest.get("labels")
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise NewsclfError(f"{path / MANIFEST}: field 'labels' must list at least two label names")
    task = manifest.get("task")
    if not isinstance(task, dict) or not isinstance(task.get("name"), str):
        raise NewsclfError(f"{path / MANIFEST}: field 'task' must be an object with the task's 'name' and 'input'")
    check_decision(task.get("decision", "argmax"), labels, f"{path / MANIFEST}: field 'task.decision'")
    try:
        spec = InputSpec(**manifest["task"]["input"])
    except (KeyError, TypeError) as e:
        raise NewsclfError(f"{path / MANIFEST}: field 'task.input' is invalid ({e})") from None
    try:
        model = kinds[kind].load(model_dir)
    except NewsclfError:
        raise
    except Exception as e:  # a corrupt payload must read as one line, not a traceback
        raise NewsclfError(f"{model_dir}: cannot load the {kind} payload ({type(e).__name__}: {e})") from None
    if list(model.labels_) != labels:
        raise NewsclfError(f"{path / MANIFEST}: labels {labels} do not match the model payload's {model.labels_}")
    return Checkpoint(path=path, manifest=manifest, model=model, input_spec=spec, labels=labels)
