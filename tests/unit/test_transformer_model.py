"""TransformerClassifier on a tiny random BERT (no download): forward/backward, accumulation, save/load, resume."""

from __future__ import annotations

import os
import shutil
import signal

import numpy as np
import pytest
import torch

from newsclf.errors import NewsclfError
from newsclf.models.transformer import TransformerClassifier, load_pretrained
from newsclf.training.loop import FineTuner, LoopConfig, Split, make_accelerator
from tests.conftest import make_stance_rows, make_topic_rows

TINY = dict(pretrained="tiny-random-bert", max_length=64, epochs=3, batch_size=8, learning_rate=1e-2,
            warmup_ratio=0.0, early_stopping_patience=None, progress=False, num_threads=1, save_every_steps=4)


@pytest.fixture(autouse=True)
def one_thread():
    """A tiny model is fastest on one thread, and the tests share the CPU with everything else."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def topic():
    rows = make_topic_rows()
    X = [f"{r['title']}. {r['text']}" for r in rows]
    y = [r["label"] for r in rows]
    return X[:60], y[:60], X[60:75], y[60:75], X[75:], y[75:]


def test_forward_backward_reaches_every_parameter():
    torch.manual_seed(0)
    tokenizer, model = load_pretrained("tiny-random-bert", ["a", "b", "c"])
    batch = tokenizer(["one short text", "a second, longer text here"], padding=True, return_tensors="pt")
    out = model(**batch, labels=torch.tensor([0, 2]))
    assert out.logits.shape == (2, 3) and torch.isfinite(out.loss)
    out.loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    # token type 1 and unused positions get no gradient from single texts; every layer does
    assert all("embeddings" in n for n in missing), missing


def _one_step(groups, weights):
    """Weights after one SGD step over ``groups`` (dropout off), for the accumulation check."""
    torch.manual_seed(0)
    tokenizer, model = load_pretrained("tiny-random-bert", ["a", "b"])
    texts = [f"text number {i} " + "word " * i for i in range(8)]
    train = Split(tokenizer(texts, add_special_tokens=True), np.array([0, 1, 1, 0, 1, 1, 1, 0]))
    acc = make_accelerator("cpu", "no")
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    model, opt, sched = acc.prepare(model, opt, sched)
    tuner = FineTuner(acc, model, opt, sched, train, None, None, LoopConfig(max_grad_norm=None), weights=weights,
                      pad_id=0, with_types=True, run_dir=None, signature={})
    model.eval()  # no dropout: the two runs must see the same function
    loss = tuner._step(groups)
    return loss, {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("weights", [None, torch.tensor([1.0, 3.0])])
def test_accumulated_step_equals_one_big_batch(weights):
    loss_big, big = _one_step([[0, 1, 2, 3, 4, 5, 6, 7]], weights)
    loss_acc, acc = _one_step([[0, 1, 2], [3, 4, 5, 6, 7]], weights)  # uneven micro-batches
    assert loss_acc == pytest.approx(loss_big, rel=1e-5)
    for k in big:
        torch.testing.assert_close(acc[k], big[k], rtol=1e-5, atol=1e-6)


def test_fit_predict_save_load_identical(topic, tmp_path):
    X, y, Xd, yd, Xt, yt = topic
    model = TransformerClassifier(**TINY).fit(X, y, X_dev=Xd, y_dev=yd, seed=1, run_dir=tmp_path / "run")
    assert model.labels_ == sorted(set(y))
    probs = model.predict_proba(Xt)
    assert probs.shape == (len(Xt), 3) and np.allclose(probs.sum(axis=1), 1.0)
    assert np.mean(np.array(model.predict(Xt)) == np.array(yt)) >= 0.8  # the synthetic classes are separable
    model.temperature_ = 1.7
    model.save(tmp_path / "ckpt")
    assert not list((tmp_path / "ckpt").glob("*.bin")) and (tmp_path / "ckpt" / "model.safetensors").is_file()
    loaded = TransformerClassifier.load(tmp_path / "ckpt")
    assert loaded.temperature_ == 1.7 and loaded.get_params() == model.get_params()
    assert np.array_equal(loaded.predict_proba(Xt), model.predict_proba(Xt))
    log = (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()
    assert sum('"event": "epoch"' in line for line in log) == 3


def test_pairs_train_and_predict(tmp_path):
    rows = make_stance_rows(48)
    X = [(r["headline"], r["body"]) for r in rows]
    y = [r["label"] for r in rows]
    model = TransformerClassifier(**{**TINY, "epochs": 1}, input_kind="pair").fit(X, y, seed=0)
    assert model.logits(X[:5]).shape == (5, 4)
    assert model.logits([]).shape == (0, 4)


def _interrupt_at(step):
    def callback(tuner):
        if tuner.pos.step == step:
            os.kill(os.getpid(), signal.SIGINT)
    return callback


def test_resume_equals_uninterrupted(topic, tmp_path):
    X, y, Xd, yd, Xt, _ = topic
    fit = dict(X_dev=Xd, y_dev=yd, seed=3)
    full = TransformerClassifier(**TINY).fit(X, y, run_dir=tmp_path / "full", **fit).predict_proba(Xt)

    # SIGINT mid-epoch 2: the loop finishes the step, saves, exits 130; resume continues from there
    with pytest.raises(SystemExit) as stop:
        TransformerClassifier(**TINY).fit(X, y, run_dir=tmp_path / "a", callbacks=[_interrupt_at(10)], **fit)
    assert stop.value.code == 128 + signal.SIGINT
    resumed = TransformerClassifier(**TINY).fit(X, y, run_dir=tmp_path / "a2", resume=tmp_path / "a", **fit)
    assert np.array_equal(resumed.predict_proba(Xt), full)
    assert resumed.training_["steps"] == 24 and len(resumed.training_["history"]) == 3

    # SIGKILL right after the periodic save of step 4: copy that state, resume from the copy with auto
    def snapshot(tuner):
        if tuner.pos.step == 4:
            shutil.copytree(tmp_path / "b" / "state", tmp_path / "killed" / "state")
    TransformerClassifier(**TINY).fit(X, y, run_dir=tmp_path / "b", callbacks=[snapshot], **fit)
    again = TransformerClassifier(**TINY).fit(X, y, run_dir=tmp_path / "killed", resume="auto", **fit)
    assert np.array_equal(again.predict_proba(Xt), full)


def test_resume_refuses_other_settings_and_missing_state(topic, tmp_path):
    X, y, Xd, yd, _, _ = topic
    with pytest.raises(SystemExit):
        TransformerClassifier(**TINY).fit(X, y, seed=0, run_dir=tmp_path / "a", callbacks=[_interrupt_at(2)])
    with pytest.raises(NewsclfError, match="learning_rate"):
        TransformerClassifier(**{**TINY, "learning_rate": 0.5}).fit(X, y, seed=0, resume=tmp_path / "a")
    with pytest.raises(NewsclfError, match="no such run directory"):
        TransformerClassifier(**TINY).fit(X, y, resume=tmp_path / "nope")
    with pytest.raises(NewsclfError, match="no saved training state"):
        TransformerClassifier(**TINY).fit(X, y, resume=tmp_path)


def test_user_errors_are_one_line():
    with pytest.raises(NewsclfError, match="select_metric"):
        TransformerClassifier(**TINY, select_metric="f2").fit(["a", "b"], ["x", "y"])
    with pytest.raises(NewsclfError, match="model.pretrained"):
        TransformerClassifier(**{**TINY, "pretrained": "/no/such/model"}).fit(["a", "b"], ["x", "y"])
    with pytest.raises(NewsclfError, match="class_weight"):
        TransformerClassifier(**TINY, class_weight={"z": 2}).fit(["a", "b"], ["x", "y"])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_bf16_fit_save_load(topic, tmp_path):
    X, y, Xd, yd, Xt, _ = topic
    model = TransformerClassifier(**{**TINY, "num_threads": None}, device="cuda").fit(X, y, X_dev=Xd, y_dev=yd)
    assert model.device_.type == "cuda"
    probs = model.predict_proba(Xt)
    assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1.0)
    model.save(tmp_path / "ckpt")
    loaded = TransformerClassifier.load(tmp_path / "ckpt")
    assert np.allclose(loaded.predict_proba(Xt), probs, atol=1e-6)


def test_select_metric_f_avg_needs_its_labels_and_scores_them():
    with pytest.raises(NewsclfError, match="model.select_metric=f_avg needs model.f_avg_labels"):
        TransformerClassifier(select_metric="f_avg")._check_params()
    model = TransformerClassifier(select_metric="f_avg", f_avg_labels=["AGAINST", "FAVOR"])
    model._check_params()
    model.labels_ = ["AGAINST", "FAVOR", "NONE"]
    logits = np.array([[2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0], [2.0, 0, 0]])  # predicts A, F, N, A
    out = model._scorer()(logits, np.array([0, 1, 1, 2]))  # gold A, F, F, N
    # F1(AGAINST) = 2/3 (1 right of 2 predicted, 1 gold); F1(FAVOR) = 2/3 (1 of 1 predicted, 2 gold)
    assert out["metric"] == out["f_avg"] == pytest.approx(2 / 3)
