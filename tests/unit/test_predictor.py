"""Predictor: streaming in input order with bounded read-ahead, top_k, the record schema, predict.py's writer."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from newsclf import workflows
from newsclf.errors import NewsclfError
from newsclf.inference.predictor import Predictor
from tests.conftest import CONFIGS, custom_data_overrides, make_stance_rows, make_topic_rows, write_jsonl


def train_tiny(root: Path, task: str = "topic", model: str = "tfidf", extra=()) -> tuple[Path, dict[str, Path]]:
    """Train a checkpoint on the synthetic data of conftest (module-scoped fixtures use it)."""
    rows = make_topic_rows() if task == "topic" else make_stance_rows()
    cut = (60, 75) if task == "topic" else (80, 100)
    paths = {"train": write_jsonl(root / "train.jsonl", rows[:cut[0]]),
             "dev": write_jsonl(root / "dev.jsonl", rows[cut[0]:cut[1]]),
             "test": write_jsonl(root / "test.jsonl", rows[cut[1]:])}
    run = root / "run"
    run.mkdir()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("config", [*custom_data_overrides(paths, task), f"model={model}", *extra])
    GlobalHydra.instance().clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(workflows, "run_dir", lambda: run)
        workflows.train(cfg)
    return run / "checkpoint", paths


@pytest.fixture(scope="module")
def topic(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("topic"))


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _docs(paths) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "label"} for r in _rows(paths["test"]) + _rows(paths["dev"])]


def test_stream_keeps_input_order_and_matches_the_model(topic):
    ckpt, paths = topic
    docs = _docs(paths)
    # vary lengths a lot so that length sorting really reorders each window
    for i, d in enumerate(docs):
        d["text"] = d["text"] + " extra words" * (i % 7)
    pred = Predictor.from_checkpoint(ckpt)
    out = list(pred.predict_stream(iter(docs), batch_size=3, window=7))
    assert [r["id"] for r in out] == [d["id"] for d in docs]
    direct = pred.checkpoint.model.predict_proba(pred.spec.model_inputs(docs))  # unsorted, one call
    got = np.array([[r["scores"][label] for label in pred.labels] for r in out])
    np.testing.assert_allclose(got, direct, rtol=0, atol=1e-12)
    assert out == pred.predict(docs)


def test_stream_reads_ahead_one_window_only(topic):
    ckpt, paths = topic
    docs = _docs(paths) * 20
    consumed = []

    def source():
        for d in docs:
            consumed.append(1)
            yield d

    stream = Predictor.from_checkpoint(ckpt).predict_stream(source(), batch_size=4, window=10)
    next(stream)
    assert len(consumed) == 10  # one window read, not the whole input
    for _ in range(10):
        next(stream)
    assert len(consumed) == 20


def test_worker_processes_give_the_same_records_in_order(topic):
    ckpt, paths = topic
    docs = _docs(paths) * 4
    plain = list(Predictor.from_checkpoint(ckpt, processes=1).predict_stream(iter(docs), batch_size=5))
    forked = Predictor.from_checkpoint(ckpt, processes=2)
    try:
        assert forked.start_workers()
        out = list(forked.predict_stream(iter(docs), batch_size=5))
    finally:
        forked.close()
    assert out == plain and len(out) == len(docs)


@pytest.mark.parametrize("n", [0, 3, 100, 128, 129, 256, 1000])
def test_worker_batches_end_in_pieces(n):
    """Full batches while the input lasts; what is left at the end (the held-back batch and the partial one)
    in pieces of >= MIN_PIECE for the workers to share; every document once, in order."""
    from newsclf.inference.predictor import MIN_PIECE, _ending_in_pieces

    batches = list(_ending_in_pieces(iter(range(n)), 128, 2))
    assert [x for b in batches for x in b] == list(range(n))
    full = batches[:max(0, -(-n // 128) - 2 + (n % 128 == 0))]  # all but the last one or two batches' worth
    assert all(len(b) == 128 for b in full)
    tail = n - 128 * len(full)
    pieces = batches[len(full):]
    assert tail <= 2 * 128 and len(pieces) == -(-tail // max(MIN_PIECE, -(-tail // 8)))
    assert all(len(p) >= MIN_PIECE for p in pieces[:-1])


def test_record_schema_and_top_k(topic):
    ckpt, paths = topic
    doc = _docs(paths)[0]
    full = Predictor.from_checkpoint(ckpt).predict([doc])[0]
    assert list(full) == ["id", "label", "scores", "model", "checkpoint"]
    assert full["model"] == "tfidf.v1" and len(full["checkpoint"]) == 16
    values = list(full["scores"].values())
    assert values == sorted(values, reverse=True) and sum(values) == pytest.approx(1.0, abs=1e-12)
    assert full["label"] == next(iter(full["scores"]))
    top = Predictor.from_checkpoint(ckpt, top_k=2).predict([doc])[0]
    assert list(top["scores"].items()) == list(full["scores"].items())[:2]
    assert top["label"] == full["label"]
    no_id = Predictor.from_checkpoint(ckpt).predict([{"title": doc["title"], "text": doc["text"]}])[0]
    assert "id" not in no_id and no_id["scores"] == full["scores"]


@pytest.mark.parametrize("kwargs, match", [({"top_k": 0}, "top_k"), ({"top_k": "2"}, "top_k"),
                                           ({"threads": -1}, "threads"), ({"runtime": "tensorrt"}, "runtime"),
                                           ({"batch_size": 0}, "batch_size"), ({"processes": 0}, "processes"),
                                           ({"forward_batch_size": 0}, "forward_batch_size")])
def test_bad_options_are_one_line_errors(topic, kwargs, match):
    with pytest.raises(NewsclfError, match=match):
        Predictor.from_checkpoint(topic[0], **kwargs)


def test_onnx_runtime_refuses_a_tfidf_checkpoint(topic):
    pytest.importorskip("onnxruntime")
    with pytest.raises(NewsclfError, match="only transformer checkpoints"):
        Predictor.from_checkpoint(topic[0], runtime="onnx")


def test_stance_pairs_fast_and_plain_tfidf_agree(tmp_path):
    ckpt, paths = train_tiny(tmp_path, task="stance")
    docs = _rows(paths["test"])
    fast = Predictor.from_checkpoint(ckpt).predict(docs)
    plain = Predictor.from_checkpoint(ckpt, fast_tfidf=False).predict(docs)
    assert [r["label"] for r in fast] == [r["label"] for r in plain]
    for a, b in zip(fast, plain, strict=True):
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_predict_writes_jsonl_with_a_progress_bar_on_terminals(topic, compose_cfg, tmp_path, capsys, monkeypatch):
    ckpt, paths = topic
    out = tmp_path / "pred.jsonl"
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    n = workflows.predict(compose_cfg("predict", [f"checkpoint={ckpt}", f"input={paths['test']}", f"output={out}",
                                                   "top_k=1", "batch_size=4", "window=8"]))
    monkeypatch.undo()
    assert "predict:" in terminal.getvalue() and "docs" in terminal.getvalue()  # tqdm's bar
    preds = _rows(out)
    assert n == len(preds) == len(_rows(paths["test"]))
    assert all(len(p["scores"]) == 1 for p in preds)
    workflows.predict(compose_cfg("predict", [f"checkpoint={ckpt}", f"input={paths['test']}", "output=-"]))
    captured = capsys.readouterr()
    assert "predict:" not in captured.err
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == [p["id"] for p in preds]


def test_predict_checks_the_output_folder_before_loading(topic, compose_cfg, tmp_path):
    with pytest.raises(NewsclfError, match="does not exist"):
        workflows.predict(compose_cfg("predict", [f"checkpoint={topic[0]}", f"input={topic[1]['test']}",
                                                  f"output={tmp_path / 'missing' / 'p.jsonl'}"]))
