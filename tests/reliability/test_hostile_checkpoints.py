"""A checkpoint from a stranger cannot run code: loading never unpickles, never imports a module the checkpoint
names, never reads outside the checkpoint, and refuses damaged or unknown payloads with a one-line error.

Each hostile payload is *live*: the pickle really creates the canary file when unpickled, and the module
really creates it when imported (checked first), so "the canary is absent" means the loader refused it.
"""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from pathlib import Path

import pytest

from newsclf.checkpoint import load_checkpoint
from newsclf.errors import NewsclfError
from newsclf.models import registry
from newsclf.utils import fingerprint_file
from tests.reliability.cases import Case
from tests.reliability.harness import Call, problems, run_inprocess


class _Canary:
    """Unpickling this opens (creates) ``path``: the proof that something unpickled it."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def live_pickle(canary: Path) -> bytes:
    probe = canary.with_name(canary.name + ".probe")
    payload = pickle.dumps(_Canary(probe))
    pickle.loads(payload).close()  # the payload works: unpickling it does create a file
    assert probe.exists()
    probe.unlink()
    return pickle.dumps(_Canary(canary))


def copy_ckpt(env, tmp_path: Path) -> Path:
    ckpt = tmp_path / "a" / "b" / "ckpt"  # so that '../../x' from the checkpoint lands in tmp_path / "a"
    shutil.copytree(env.topic, ckpt)
    return ckpt


def edit_manifest(ckpt: Path, edit) -> None:
    manifest = json.loads((ckpt / "manifest.json").read_text())
    edit(manifest)
    (ckpt / "manifest.json").write_text(json.dumps(manifest))


def rehash(ckpt: Path) -> None:
    """Make the manifest agree with whatever the payload now holds: only the loader itself may refuse it."""
    model = ckpt / "model"
    hashes = {str(p.relative_to(model)): fingerprint_file(p) for p in sorted(model.rglob("*")) if p.is_file()}
    edit_manifest(ckpt, lambda m: m.update(payload_sha256=hashes))


# ----------------------------------------------------------------------------------------------- pickles
@pytest.mark.parametrize("target", ["arrays.safetensors", "state.json"])
def test_pickle_in_place_of_a_payload_file_is_refused(env, tmp_path, target):
    canary = tmp_path / "canary"
    ckpt = copy_ckpt(env, tmp_path)
    (ckpt / "model" / target).write_bytes(live_pickle(canary))
    rehash(ckpt)
    with pytest.raises(NewsclfError, match="cannot load the tfidf.v1 payload"):
        load_checkpoint(ckpt)
    assert not canary.exists()


def test_extra_pickle_files_are_never_opened(env, tmp_path):
    canary = tmp_path / "canary"
    ckpt = copy_ckpt(env, tmp_path)
    for name in ("model.pkl", "pytorch_model.bin", "optimizer.pt"):
        (ckpt / "model" / name).write_bytes(live_pickle(canary))
    rehash(ckpt)
    loaded = load_checkpoint(ckpt)  # a valid checkpoint with junk beside it: loads, junk untouched
    assert loaded.labels == load_checkpoint(env.topic).labels
    assert not canary.exists()


def test_pickled_manifest_is_refused(env, tmp_path):
    canary = tmp_path / "canary"
    ckpt = copy_ckpt(env, tmp_path)
    (ckpt / "manifest.json").write_bytes(live_pickle(canary))
    with pytest.raises(NewsclfError, match="manifest.json: not valid JSON"):
        load_checkpoint(ckpt)
    assert not canary.exists()


def test_pickle_as_transformer_weights_is_refused(env, tmp_path):
    """A transformer.v1 payload whose weights are a pickle (``pytorch_model.bin``): never torch.load-ed."""
    if "transformer.v1" not in registry():
        pytest.skip("newsclf.models.transformer is not importable")
    from transformers import BertConfig

    from newsclf.models.transformer import STATE_FILE, TransformerClassifier, minilm_path

    canary = tmp_path / "canary"
    ckpt = copy_ckpt(env, tmp_path)
    model = ckpt / "model"
    shutil.rmtree(model)
    model.mkdir()
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(Path(minilm_path()) / name, model / name)
    BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
               num_labels=3).to_json_file(model / "config.json")
    params = TransformerClassifier(pretrained="tiny-random-bert").get_params()
    labels = json.loads((ckpt / "manifest.json").read_text())["labels"]
    (model / STATE_FILE).write_text(json.dumps({"params": params, "labels": labels, "temperature": 1.0}))
    (model / "pytorch_model.bin").write_bytes(live_pickle(canary))
    edit_manifest(ckpt, lambda m: m.update(model_kind="transformer.v1"))
    rehash(ckpt)
    with pytest.raises(NewsclfError, match="cannot load the transformer.v1 payload .*model.safetensors"):
        load_checkpoint(ckpt)
    assert not canary.exists()


def test_pickled_run_config_is_refused_by_evaluate(env, tmp_path):
    canary = tmp_path / "canary"
    ckpt = copy_ckpt(env, tmp_path)
    (ckpt / "config.yaml").write_bytes(live_pickle(canary))
    outcome = run_inprocess(_evaluate_split(ckpt, tmp_path))
    assert problems(_case("config.yaml: not a readable run config"), outcome) == [], outcome.stderr
    assert not canary.exists()


# ----------------------------------------------------------------------------------------------- config targets
def _evaluate_split(ckpt: Path, work: Path) -> Call:
    run = work / "eval"
    return Call("evaluate", [f"checkpoint={ckpt}", "split=dev", f"hydra.run.dir={run}"],
                [run / "metrics.json", run / "report.md"])


def _case(expect: str) -> Case:
    return Case("hostile", "", lambda w, e: None, expect)


def _hostile_data(canary: Path) -> list[dict]:
    path = {"_target_": "pathlib.Path", "_args_": [str(canary)]}
    return [
        {"_target_": "newsclf.data.sources.Path.write_text", "_args_": [path, "pwned"]},  # through an attribute
        {"_target_": "newsclf.data.sources.os.system", "_args_": [f"touch {canary}"]},
        {"_target_": "builtins.exec", "_args_": [f"open({str(canary)!r}, 'w')"]},
        {"_target_": "newsclf.data.sources.LocalFiles",  # a nested node: Hydra instantiates it first
         "train": {"_target_": "pathlib.Path.write_text", "_args_": [path, "pwned"]}},
    ]


@pytest.mark.parametrize("index", range(4))
def test_hostile_targets_in_the_run_config_are_refused(env, tmp_path, index):
    """evaluate split=... rebuilds the data source from the checkpoint's config.yaml: only newsclf classes."""
    from omegaconf import OmegaConf

    canary = tmp_path / "canary"
    ckpt = copy_ckpt(env, tmp_path)
    cfg = OmegaConf.load(ckpt / "config.yaml")
    cfg.data = _hostile_data(canary)[index]
    OmegaConf.save(cfg, ckpt / "config.yaml")
    outcome = run_inprocess(_evaluate_split(ckpt, tmp_path))
    assert problems(_case(r"config _target_ '[\w.]+' is not allowed"), outcome) == [], outcome.stderr
    assert not canary.exists()


# ----------------------------------------------------------------------------------------------- paths
TRAVERSALS = ["../../x", "/etc/passwd", "model/../../../x", ""]


@pytest.mark.parametrize("value", TRAVERSALS)
@pytest.mark.parametrize("field", ["files.model", "files.config", "payload_sha256"])
def test_path_traversal_in_any_file_field_is_refused(env, tmp_path, field, value):
    ckpt = copy_ckpt(env, tmp_path)
    (tmp_path / "a" / "x").write_text("outside the checkpoint")  # what '../../x' would reach

    def edit(manifest):
        if field == "payload_sha256":
            manifest["payload_sha256"][value] = fingerprint_file(tmp_path / "a" / "x")
        else:
            manifest["files"][field.split(".")[1]] = value

    edit_manifest(ckpt, edit)
    with pytest.raises(NewsclfError, match="inside the checkpoint|outside the checkpoint"):
        load_checkpoint(ckpt)


@pytest.mark.parametrize("link", ["model/arrays.safetensors", "model"])
def test_symlink_out_of_the_checkpoint_is_refused(env, tmp_path, link):
    ckpt = copy_ckpt(env, tmp_path)
    outside = tmp_path / "outside"
    shutil.move(ckpt / link, outside)  # the real file / folder, now outside the checkpoint
    (ckpt / link).symlink_to(outside)
    with pytest.raises(NewsclfError, match="outside the checkpoint"):
        load_checkpoint(ckpt)


# ----------------------------------------------------------------------------------------------- model kinds
CANARY_MODULE = "newsclf_canary_module"


@pytest.mark.parametrize("kind", [f"{CANARY_MODULE}.Evil", CANARY_MODULE, "newsclf.models.tfidf.TfidfClassifier",
                                  "tfidf.v2", "", None, ["tfidf.v1"]])
def test_model_kind_outside_the_registry_is_refused(env, tmp_path, monkeypatch, kind):
    canary = tmp_path / "canary"
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / f"{CANARY_MODULE}.py").write_text(f"open({str(canary)!r}, 'w').close()\nclass Evil: pass\n")
    monkeypatch.syspath_prepend(str(modules))  # importable: if the loader imported it, the canary would appear
    ckpt = copy_ckpt(env, tmp_path)
    edit_manifest(ckpt, lambda m: m.update(model_kind=kind))
    with pytest.raises(NewsclfError, match="unknown model_kind"):
        load_checkpoint(ckpt)
    assert not canary.exists() and CANARY_MODULE not in sys.modules


# ----------------------------------------------------------------------------------------------- damage
@pytest.mark.parametrize("version", [0, 2, "1", None, 1.5, 1.0, True])
def test_unknown_format_version_is_refused(env, tmp_path, version):
    ckpt = copy_ckpt(env, tmp_path)
    edit_manifest(ckpt, lambda m: m.update(format_version=version))
    with pytest.raises(NewsclfError, match="unknown format_version"):
        load_checkpoint(ckpt)


def test_missing_format_version_is_refused(env, tmp_path):
    ckpt = copy_ckpt(env, tmp_path)
    edit_manifest(ckpt, lambda m: m.pop("format_version"))
    with pytest.raises(NewsclfError, match="unknown format_version None"):
        load_checkpoint(ckpt)


@pytest.mark.parametrize("keep", [0, 8, 0.5, -1])
@pytest.mark.parametrize("fix_hash", [False, True])
def test_truncated_weights_are_refused(env, tmp_path, keep, fix_hash):
    ckpt = copy_ckpt(env, tmp_path)
    weights = ckpt / "model" / "arrays.safetensors"
    data = weights.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else (len(data) + keep if keep < 0 else keep)
    weights.write_bytes(data[:cut])
    if fix_hash:
        rehash(ckpt)
    match = "cannot load the tfidf.v1 payload" if fix_hash else "sha256 does not match the manifest"
    with pytest.raises(NewsclfError, match=match):
        load_checkpoint(ckpt)


def test_missing_payload_file_is_refused(env, tmp_path):
    ckpt = copy_ckpt(env, tmp_path)
    (ckpt / "model" / "state.json").unlink()
    with pytest.raises(NewsclfError, match="payload file listed in the manifest is missing"):
        load_checkpoint(ckpt)


def test_labels_that_disagree_with_the_payload_are_refused(env, tmp_path):
    ckpt = copy_ckpt(env, tmp_path)
    edit_manifest(ckpt, lambda m: m.update(labels=list(reversed(m["labels"]))))
    with pytest.raises(NewsclfError, match="do not match the model payload"):
        load_checkpoint(ckpt)
