"""ONNX export of a tiny BERT checkpoint: fp32 parity with torch, int8, predict.py runtime=onnx, refusals.

The default suite exports with the TorchScript exporter (2 s); the dynamo exporter, the default of
export_onnx.py, takes close to a minute on 2 cores even for a tiny BERT, so its parity test is marked slow.
Both feed the same onnxruntime code.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from newsclf.checkpoint import load_checkpoint
from newsclf.errors import NewsclfError
from newsclf.inference.onnx import FP32, INT8, META, export
from newsclf.inference.predictor import Predictor
from newsclf.utils import fingerprint_file
from tests.unit.test_predictor import train_tiny

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # tiny_transformer trains on one thread


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    before = torch.get_num_threads()
    ckpt, paths = train_tiny(tmp_path_factory.mktemp("onnx_topic"), model="tiny_transformer", extra=["model.epochs=1"])
    torch.set_num_threads(before)
    out = export(ckpt, quantize="int8", exporter="torchscript")
    return ckpt, paths, out


def _docs(paths):
    rows = [json.loads(line) for line in paths["test"].read_text().splitlines()]
    for i, r in enumerate(rows):  # lengths that differ a lot, so that batches pad
        r["text"] = r["text"] + " more words here" * (i % 9)
    return rows


def _probs(predictor, docs):
    return predictor.predict_proba(docs, batch_size=5)


def test_fp32_parity_and_int8(exported):
    ckpt, paths, out = exported
    assert out == ckpt / "onnx" and {FP32, INT8, META} <= {p.name for p in out.iterdir()}
    docs = _docs(paths)
    native = Predictor.from_checkpoint(ckpt)
    fp32 = Predictor.from_checkpoint(ckpt, runtime="onnx", threads=1)
    int8 = Predictor.from_checkpoint(ckpt, runtime="onnx", onnx_model=out / INT8, threads=1)
    assert native.checkpoint.model.temperature_ != 1.0  # the temperature must be applied on both sides
    reference = _probs(native, docs)
    assert np.abs(_probs(fp32, docs) - reference).max() <= 1e-4
    q = _probs(int8, docs)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-9)
    assert np.abs(q - reference).max() <= 0.05  # int8 weights: close, not equal
    rec = int8.predict(docs[:1])[0]
    assert rec["runtime"] == "onnx-int8" and rec["model"] == "transformer.v1"
    assert fp32.predict(docs[:1])[0]["runtime"] == "onnx"
    meta = json.loads((out / META).read_text())
    assert meta["checkpoint_fingerprint"] == native.checkpoint.fingerprint
    assert meta["files"][FP32]["probe_max_abs_prob_diff"] <= 1e-4


def test_forward_batch_is_16_on_cpu_unless_set_and_does_not_change_results(exported):
    ckpt, paths, _ = exported
    docs = _docs(paths) * 3
    assert len(docs) > 16
    default = Predictor.from_checkpoint(ckpt)
    assert default.checkpoint.model.eval_batch_size == 16  # the checkpoint says 64 (configs/model/transformer.yaml)
    assert load_checkpoint(ckpt).model.eval_batch_size == 64
    three = Predictor.from_checkpoint(ckpt, forward_batch_size=3)
    assert three.model.eval_batch_size == 3
    whole = len(docs)  # one predictor batch: the forward batch alone decides the padding
    assert np.abs(default.predict_proba(docs, batch_size=whole) - three.predict_proba(docs, batch_size=whole)).max() <= 1e-5
    assert Predictor.from_checkpoint(ckpt, runtime="onnx", threads=1).model.batch_size == 16
    assert Predictor.from_checkpoint(ckpt, runtime="onnx", threads=1, forward_batch_size=4).model.batch_size == 4


def test_graph_has_dynamic_batch_and_sequence_axes(exported):
    model = onnx.load(str(exported[2] / FP32))
    for inp in model.graph.input:
        dims = inp.type.tensor_type.shape.dim
        assert len(dims) == 2 and all(d.dim_param and not d.dim_value for d in dims), inp


def test_predict_py_runs_the_onnx_model(exported, compose_cfg, tmp_path):
    from newsclf import workflows

    ckpt, paths, _ = exported
    out = tmp_path / "pred.jsonl"
    workflows.predict(compose_cfg("predict", [f"checkpoint={ckpt}", f"input={paths['test']}", f"output={out}",
                                              "runtime=onnx", "threads=1"]))
    preds = [json.loads(line) for line in out.read_text().splitlines()]
    native = Predictor.from_checkpoint(ckpt).predict([json.loads(line) for line in paths["test"].read_text().splitlines()])
    assert [p["id"] for p in preds] == [p["id"] for p in native]
    for a, b in zip(preds, native, strict=True):
        assert a["runtime"] == "onnx" and a["label"] == b["label"]
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-4)


def test_refuses_modified_missing_or_foreign_models(exported, tmp_path):
    ckpt, _, out = exported
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with open(copy / FP32, "r+b") as f:  # flip one byte of the weights
        f.seek(-100, 2)
        byte = f.read(1)
        f.seek(-100, 2)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(NewsclfError, match="sha256 does not match"):
        Predictor.from_checkpoint(ckpt, runtime="onnx", onnx_model=copy / FP32)
    with pytest.raises(NewsclfError, match="no ONNX model there"):
        Predictor.from_checkpoint(ckpt, runtime="onnx", onnx_model=tmp_path / "none")
    meta = json.loads((out / META).read_text())
    meta["checkpoint_fingerprint"] = "0" * 16
    shutil.copy(out / FP32, copy / FP32)
    (copy / META).write_text(json.dumps(meta))
    with pytest.raises(NewsclfError, match="exported from checkpoint"):
        Predictor.from_checkpoint(ckpt, runtime="onnx", onnx_model=copy)


def test_refuses_custom_operator_domains(exported, tmp_path):
    from onnx import TensorProto, helper

    ckpt, _, out = exported
    node = helper.make_node("Evil", ["input_ids"], ["logits"], domain="attacker.ops")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, 1])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])])
    bad = tmp_path / "bad"
    bad.mkdir()
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                      helper.make_opsetid("attacker.ops", 1)]), str(bad / FP32))
    meta = json.loads((out / META).read_text())
    meta["files"] = {FP32: {"quantize": None, "sha256": fingerprint_file(bad / FP32)}}
    (bad / META).write_text(json.dumps(meta))
    with pytest.raises(NewsclfError, match="operator domains"):
        Predictor.from_checkpoint(ckpt, runtime="onnx", onnx_model=bad)


def test_export_refuses_tfidf_and_bad_options(tmp_path):
    ckpt, _ = train_tiny(tmp_path)
    with pytest.raises(NewsclfError, match="only transformer checkpoints"):
        export(ckpt)
    with pytest.raises(NewsclfError, match="quantize"):
        export(ckpt, quantize="int4")


@pytest.mark.slow
def test_dynamo_exporter_parity(exported, tmp_path):
    pytest.importorskip("onnxscript")
    ckpt, paths, _ = exported
    out = export(ckpt, output_dir=tmp_path / "dynamo", quantize="int8", exporter="dynamo")
    docs = _docs(paths)
    reference = _probs(Predictor.from_checkpoint(ckpt), docs)
    got = _probs(Predictor.from_checkpoint(ckpt, runtime="onnx", onnx_model=out), docs)
    assert np.abs(got - reference).max() <= 1e-4
    q = _probs(Predictor.from_checkpoint(ckpt, runtime="onnx", onnx_model=out / INT8), docs)
    assert np.abs(q - reference).max() <= 0.05


def test_export_config_composes(compose_cfg):
    cfg = compose_cfg("export_onnx", ["checkpoint=x", "quantize=int8"])
    assert (cfg.exporter, cfg.quantize, cfg.output_dir, cfg.opset) == ("dynamo", "int8", None, 18)


@pytest.mark.slow
def test_export_script(exported, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    ckpt = exported[0]
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "export_onnx.py"), f"checkpoint={ckpt}",
                           f"output_dir={tmp_path}", "exporter=torchscript"], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "max |p_onnx - p_torch|" in proc.stdout and (tmp_path / FP32).is_file()
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "export_onnx.py"), f"checkpoint={ckpt}",
                          "quantize=int4"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "quantize" in bad.stderr
