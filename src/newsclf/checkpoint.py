"""The only code that reads or writes checkpoint directories.

A checkpoint is a directory that describes itself::

    checkpoint/
      manifest.json   format version, versioned model kind, constructor params, ordered labels, task and input
                      spec, metrics, seed, data fingerprints, library versions, git commit, payload sha256s
      config.yaml     the resolved run config
      model/          the payload: JSON + safetensors (tfidf.v1) or safetensors + tokenizer (transformer.v1)
      seen_claims.json  only with task.new_claim_weights: hashes of the training claims (newsclf.evaluation.decision)

It is written under a temporary name and renamed into place, so a crash never leaves a half-written
checkpoint that loads. Loading never unpickles and never imports anything named by the checkpoint: the model
kind is looked up in :func:`newsclf.models.registry`, file names are checked to stay inside the directory,
and every payload file's sha256 must match the manifest.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsclf.data.inputs import InputSpec
from newsclf.errors import NewsclfError
from newsclf.evaluation.decision import Decider, check_claim_weights, check_decision
from newsclf.models import registry
from newsclf.utils import atomic_path, fingerprint_file, git_commit, library_versions

FORMAT_VERSION = 1
MANIFEST, CONFIG, MODEL_DIR, SEEN_CLAIMS = "manifest.json", "config.yaml", "model", "seen_claims.json"


@dataclass
class Checkpoint:
    path: Path
    manifest: dict
    model: Any
    input_spec: InputSpec
    labels: list[str] = field(default_factory=list)
    seen_claims: frozenset[str] = frozenset()  # claim_key of every training claim (task.new_claim_weights)

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

    def decider(self, rule: str | None = None) -> Decider:
        """The checkpoint's way of picking labels; ``rule`` replaces its ``task.decision`` (not its weights)."""
        return Decider(tuple(self.labels), check_decision(rule or self.decision, self.labels, "decision"),
                       dict(self.manifest["task"].get("new_claim_weights") or {}), self.seen_claims)


def _payload_hashes(model_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(model_dir)): fingerprint_file(p) for p in sorted(model_dir.rglob("*")) if p.is_file()}


def save_checkpoint(path: str | Path, model, *, task: dict, input_spec: InputSpec, extra: dict,
                    config_yaml: str, seen_claims: Iterable[str] | None = None) -> Path:
    """Write ``model`` and its manifest atomically to ``path`` (replacing an older checkpoint there).
    ``seen_claims``: the claim_key of every training claim, kept when ``task`` has ``new_claim_weights``."""
    path = Path(path)
    files = {"model": MODEL_DIR, "config": CONFIG}
    with atomic_path(path) as tmp:
        tmp.mkdir()
        model.save(tmp / MODEL_DIR)
        (tmp / CONFIG).write_text(config_yaml, encoding="utf-8")
        claims_hash = {}
        if task.get("new_claim_weights"):
            if seen_claims is None:
                raise NewsclfError("task.new_claim_weights: the checkpoint needs the training claims (seen_claims)")
            (tmp / SEEN_CLAIMS).write_text(json.dumps({"key": "sha256 of the case-folded, whitespace-collapsed "
                                                              "claim, first 16 hex digits",
                                                       "claims": sorted(set(seen_claims))}), encoding="utf-8")
            files["seen_claims"] = SEEN_CLAIMS
            claims_hash = {"seen_claims_sha256": fingerprint_file(tmp / SEEN_CLAIMS)}
        manifest = {
            "format_version": FORMAT_VERSION,
            "model_kind": model.kind,
            "params": model.get_params(),
            "labels": list(model.labels_),
            "task": {**task, "input": input_spec.to_dict()},
            "files": files,
            "payload_sha256": _payload_hashes(tmp / MODEL_DIR),
            **claims_hash,
            "versions": library_versions(),
            "git_commit": git_commit(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **extra,
        }
        manifest["fingerprint"] = hashlib.sha256(json.dumps(
            {**manifest["payload_sha256"], **claims_hash}, sort_keys=True).encode()).hexdigest()[:16]
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
    check_claim_weights(task.get("new_claim_weights"), labels, f"{path / MANIFEST}: field 'task.new_claim_weights'")
    seen_claims = _seen_claims(path, manifest) if task.get("new_claim_weights") else frozenset()
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
    return Checkpoint(path=path, manifest=manifest, model=model, input_spec=spec, labels=labels,
                      seen_claims=seen_claims)


def _seen_claims(path: Path, manifest: dict) -> frozenset[str]:
    """The training claims' hashes, checked against the manifest's sha256."""
    name = manifest["files"].get("seen_claims")
    if name is None:
        raise NewsclfError(f"{path / MANIFEST}: field 'task.new_claim_weights' is set, but 'files.seen_claims' "
                           "(the training claims) is missing")
    file = _inside(path, name, "seen_claims")
    if not file.is_file():
        raise NewsclfError(f"{file}: the training claims listed in the manifest are missing")
    if fingerprint_file(file) != manifest.get("seen_claims_sha256"):
        raise NewsclfError(f"{file}: sha256 does not match the manifest's 'seen_claims_sha256' (modified)")
    try:
        claims = json.loads(file.read_text(encoding="utf-8"))["claims"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise NewsclfError(f"{file}: expected JSON with a 'claims' list ({type(e).__name__})") from None
    if not isinstance(claims, list) or not all(isinstance(c, str) for c in claims):
        raise NewsclfError(f"{file}: field 'claims' must list claim hashes (strings)")
    return frozenset(claims)
