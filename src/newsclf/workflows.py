"""Entry workflows: ``train(cfg)``, ``evaluate(cfg)``, ``predict(cfg)``. The only Hydra-aware module.

Each reads like a table of contents; everything below receives plain Python values.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from newsclf.checkpoint import load_checkpoint, save_checkpoint
from newsclf.data.inputs import InputSpec, columns_to_records
from newsclf.data.readers import read_records
from newsclf.data.sources import Source, resolve_data_root
from newsclf.errors import NewsclfError
from newsclf.evaluation.calibration import brier_score, expected_calibration_error, fit_temperature
from newsclf.evaluation.metrics import classification_metrics, prefixed
from newsclf.evaluation.report import markdown_report
from newsclf.inference.predictor import Predictor
from newsclf.utils import atomic_path, fingerprint_texts, seed_everything, write_json_atomic, write_text_atomic

log = logging.getLogger("newsclf")
ALLOWED_TARGETS = ("newsclf.data.sources.", "newsclf.models.")


# ----------------------------------------------------------------------------------------------- helpers
def instantiate(node: DictConfig | dict, **kwargs):
    """``hydra.utils.instantiate`` with ``_convert_="all"``, refusing any ``_target_`` outside newsclf."""
    from hydra.utils import instantiate as hydra_instantiate

    target = node.get("_target_") if node is not None else None
    if not isinstance(target, str) or not target.startswith(ALLOWED_TARGETS):
        raise NewsclfError(f"config _target_ {target!r} is not allowed; expected a class under {ALLOWED_TARGETS}")
    try:
        return hydra_instantiate(node, _convert_="all", **kwargs)
    except Exception as e:
        cause = e.__cause__ or e
        if isinstance(cause, NewsclfError):
            raise cause from None
        raise NewsclfError(f"cannot build {target}: {cause}") from None


def run_dir() -> Path:
    """The Hydra run directory (the job's output dir), or the cwd outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:
        return Path.cwd()


def input_spec(task_cfg) -> InputSpec:
    return InputSpec(kind=task_cfg.input, repair_feed_residue=bool(task_cfg.repair_feed_residue),
                     strip_markers=bool(task_cfg.strip_markers))


def subsample(records: list[dict], limit: int | None, seed: int) -> list[dict]:
    """A seeded subset of ``limit`` records in their original order (debug / CPU-budget knob)."""
    if not limit or limit >= len(records):
        return records
    keep = sorted(random.Random(seed).sample(range(len(records)), int(limit)))
    return [records[i] for i in keep]


def load_splits(data_cfg, data_root: str | None, max_train: int | None, max_eval: int | None, seed: int):
    source: Source = instantiate(data_cfg)
    dsd = source.load(resolve_data_root(data_root))
    splits = {}
    for name in dsd:
        records = columns_to_records(dsd[name][:]) if len(dsd[name]) else []
        splits[name] = subsample(records, max_train if name == "train" else max_eval, seed)
    return source, dsd, splits


def labelled(records: list[dict]) -> bool:
    return bool(records) and all(r.get("label") is not None for r in records)


def score_split(model, spec: InputSpec, records: list[dict], labels: list[str], fnc: bool) -> dict:
    """Metrics of ``model`` on labelled records, calibration measures included."""
    probs = model.predict_proba(spec.model_inputs(records))
    y_true = [r["label"] for r in records]
    y_pred = [labels[i] for i in probs.argmax(axis=1)]
    metrics = classification_metrics(y_true, y_pred, labels, fnc=fnc)
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[t] for t in y_true])
    metrics["ece"] = expected_calibration_error(probs, y)
    metrics["brier"] = brier_score(probs, y)
    return metrics


def calibrate(model, spec: InputSpec, dev: list[dict], method: str) -> dict:
    """Fit a temperature on dev logits and store it in the model; return ECE before / after."""
    if method in (None, "none") or not labelled(dev):
        return {"method": "none"}
    if method != "temperature":
        raise NewsclfError(f"calibration: expected 'none' or 'temperature', found {method!r}")
    logits = model.logits(spec.model_inputs(dev))
    index = {label: i for i, label in enumerate(model.labels_)}
    y = np.array([index[r["label"]] for r in dev])
    from newsclf.models.base import softmax

    before = expected_calibration_error(softmax(logits / model.temperature_), y)
    model.temperature_ = fit_temperature(logits, y)
    after = expected_calibration_error(softmax(logits / model.temperature_), y)
    return {"method": "temperature", "temperature": model.temperature_, "dev_ece_before": before,
            "dev_ece_after": after}


# ----------------------------------------------------------------------------------------------- train
def train(cfg: DictConfig) -> dict:
    """Seed, load data, build the model, fit, calibrate, evaluate, save; return the metrics."""
    out = run_dir()
    seed_everything(cfg.seed)
    spec = input_spec(cfg.task)
    source, dsd, splits = load_splits(cfg.data, cfg.data_root, cfg.max_train_samples, cfg.max_eval_samples, cfg.seed)
    labels = source.label_list(dsd)
    train_recs, dev_recs = splits["train"], splits.get("dev", [])
    model = instantiate(cfg.model, input_kind=spec.kind)
    started = time.perf_counter()
    model.fit(spec.model_inputs(train_recs), [r["label"] for r in train_recs],
              X_dev=spec.model_inputs(dev_recs), y_dev=[r["label"] for r in dev_recs], seed=cfg.seed, run_dir=out,
              resume=cfg.get("resume"))
    train_time = time.perf_counter() - started
    if list(model.labels_) != labels:
        raise NewsclfError(f"training labels {model.labels_} differ from the data set's labels {labels}: "
                           "a label has no training example")
    calibration = calibrate(model, spec, dev_recs, cfg.calibration)
    metrics = {"train_time_s": round(train_time, 3)}
    for name, records in splits.items():
        if name != "train" and labelled(records):
            metrics.update(prefixed(score_split(model, spec, records, labels, cfg.task.fnc_metric), name))
    fingerprints = {name: fingerprint_texts([str(r.get(c)) for r in recs for c in source.columns])
                    for name, recs in splits.items()}
    save_checkpoint(out / "checkpoint", model, task={"name": cfg.task.name, "select_metric": cfg.task.select_metric,
                                                      "fnc_metric": bool(cfg.task.fnc_metric)},
                    input_spec=spec, config_yaml=OmegaConf.to_yaml(cfg, resolve=True),
                    extra={"seed": cfg.seed, "metrics": metrics, "calibration": calibration,
                           "data": {"source": OmegaConf.to_container(cfg.data, resolve=True),
                                    "fingerprints": fingerprints, "sizes": {k: len(v) for k, v in splits.items()}}})
    write_json_atomic(out / "metrics.json", metrics)
    print(f"checkpoint: {out / 'checkpoint'}\nmetrics:    {out / 'metrics.json'}")
    return metrics


# ----------------------------------------------------------------------------------------------- evaluate
def _records_from_checkpoint_data(ckpt, split: str, data_root: str | None) -> list[dict]:
    run_cfg = OmegaConf.load(ckpt.path / "config.yaml")
    _, _, splits = load_splits(run_cfg.data, data_root or run_cfg.get("data_root"), run_cfg.get("max_train_samples"),
                               run_cfg.get("max_eval_samples"), run_cfg.seed)
    if split not in splits:
        raise NewsclfError(f"split={split!r}: the data set has splits {sorted(splits)}")
    if not labelled(splits[split]):
        raise NewsclfError(f"split={split!r} has no gold labels (e.g. FNC-1 test: predict it and hand it over)")
    return splits[split]


def check_labels(records: list[dict], labels: list[str]) -> None:
    known = set(labels)
    for rec in records:
        gold = rec["label"]
        if isinstance(gold, bool) or not isinstance(gold, str):
            hint = (" (AG News CSVs use 1-based ids: 1=World, 2=Sports, 3=Business, 4=Sci/Tech)"
                    if isinstance(gold, int) or str(gold).isdigit() else "")
            raise NewsclfError(f"{rec.get('_loc', 'input')}: field 'label' is {gold!r}; expected a label name, "
                               f"one of {labels}{hint}")
        if gold not in known:
            hint = " (1-based class ids are not accepted; use names)" if gold.isdigit() else ""
            raise NewsclfError(f"{rec.get('_loc', 'input')}: label {gold!r} is unknown to the checkpoint; "
                               f"expected one of {labels}{hint}")


def evaluate(cfg: DictConfig) -> dict:
    """Load a checkpoint, score it on a split of its data set or on a labelled file, write metrics + report."""
    out = run_dir()
    ckpt = load_checkpoint(cfg.checkpoint)
    if cfg.get("input"):
        records = list(read_records(cfg.input, kind=ckpt.input_spec.kind, label_field="label"))
        name = "input"
    else:
        records = _records_from_checkpoint_data(ckpt, cfg.split, cfg.get("data_root"))
        name = cfg.split
    check_labels(records, ckpt.labels)
    metrics = score_split(ckpt.model, ckpt.input_spec, records, ckpt.labels, bool(ckpt.manifest["task"].get("fnc_metric")))
    flat = prefixed(metrics, name)
    write_json_atomic(out / "metrics.json", flat)
    write_text_atomic(out / "report.md", markdown_report(metrics, ckpt.labels, f"{ckpt.task} / {name} / {ckpt.path}"))
    print(f"metrics: {out / 'metrics.json'}\nreport:  {out / 'report.md'}")
    return flat


# ----------------------------------------------------------------------------------------------- predict
def predict(cfg: DictConfig) -> int:
    """Stream records from ``input`` through the checkpoint to JSONL at ``output`` (``-`` = stdout)."""
    predictor = Predictor.from_checkpoint(cfg.checkpoint, top_k=cfg.get("top_k"))
    records = read_records(cfg.input, kind=predictor.input_kind)
    stream = (
        {k: v for k, v in rec.items() if not k.startswith("_")}
        for rec in records
    )
    if str(cfg.output) == "-":
        n = _write_jsonl(predictor.predict_stream(stream, cfg.batch_size), sys.stdout)
        sys.stdout.flush()
        return n
    with atomic_path(cfg.output) as tmp, open(tmp, "w", encoding="utf-8") as f:
        n = _write_jsonl(predictor.predict_stream(stream, cfg.batch_size), f)
    print(f"predictions: {cfg.output} ({n} documents)", file=sys.stderr)
    return n


def _write_jsonl(records, f) -> int:
    n = 0
    for rec in records:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
    return n
