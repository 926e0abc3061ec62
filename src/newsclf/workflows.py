"""Entry workflows: ``train(cfg)``, ``evaluate(cfg)``, ``predict(cfg)``. The only Hydra-aware module.

Each reads like a table of contents; everything below receives plain Python values.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import json
import logging
import os
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
from newsclf.evaluation.bootstrap import bootstrap_intervals
from newsclf.evaluation.calibration import (
    brier_score,
    expected_calibration_error,
    fit_temperature,
    nll,
    reliability_bins,
    uncalibrated,
)
from newsclf.evaluation.decision import Decider, check_decision, claim_key, decide
from newsclf.evaluation.metrics import FNC_UNRELATED, check_f_avg_labels, classification_metrics, prefixed
from newsclf.evaluation.plots import write_split_plots
from newsclf.evaluation.report import markdown_report
from newsclf.inference.predictor import Predictor
from newsclf.training.distributed import world_size
from newsclf.utils import (
    atomic_path,
    check_parent_dir,
    fingerprint_texts,
    seed_everything,
    write_json_atomic,
    write_text_atomic,
)

log = logging.getLogger("newsclf")
ALLOWED_TARGETS = ("newsclf.data.sources.", "newsclf.models.")


# ----------------------------------------------------------------------------------------------- helpers
def instantiate(node: DictConfig | dict, **kwargs):
    """``hydra.utils.instantiate`` with ``_convert_="all"``, refusing any ``_target_`` outside newsclf."""
    from hydra.utils import instantiate as hydra_instantiate

    target = node.get("_target_") if node is not None else None
    for found in [target, *_nested_targets(node)]:  # Hydra instantiates nested _target_ nodes too
        if not _allowed_class(found):
            raise NewsclfError(f"config _target_ {found!r} is not allowed; expected a newsclf class under "
                               f"{ALLOWED_TARGETS}")
    try:
        return hydra_instantiate(node, _convert_="all", **kwargs)
    except Exception as e:
        cause = e.__cause__ or e
        if isinstance(cause, NewsclfError):
            raise cause from None
        raise NewsclfError(f"cannot build {target}: {cause}") from None


def _allowed_class(target) -> bool:
    """Only a class *defined* in an allowed module: Hydra resolves dotted paths through attributes, so a prefix
    check alone would let ``newsclf.data.sources.Path.write_text`` (from a checkpoint's config) write files."""
    if not isinstance(target, str) or not target.startswith(ALLOWED_TARGETS):
        return False
    module_name, _, name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name, None)
    except ImportError:
        return False
    return isinstance(cls, type) and cls.__module__ == module_name


def _nested_targets(node) -> list:
    """Every ``_target_`` below the top level of a config node (in dicts and lists, at any depth)."""
    tree = OmegaConf.to_container(node, resolve=False) if isinstance(node, DictConfig) else node
    found, stack = [], [v for k, v in (tree or {}).items() if k != "_target_"]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found += [item["_target_"]] if "_target_" in item else []
            stack += [v for k, v in item.items() if k != "_target_"]
        elif isinstance(item, list):
            stack += item
    return found


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
    for knob, value in (("max_train_samples", max_train), ("max_eval_samples", max_eval)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise NewsclfError(f"{knob}: expected a number of examples (>= 0) or null for all, found {value!r}")
    source: Source = instantiate(data_cfg)
    dsd = source.load(resolve_data_root(data_root))
    splits = {}
    for name in dsd:
        records = columns_to_records(dsd[name][:]) if len(dsd[name]) else []
        splits[name] = subsample(records, max_train if name == "train" else max_eval, seed)
    return source, dsd, splits


def labelled(records: list[dict]) -> bool:
    return bool(records) and all(r.get("label") is not None for r in records)


def check_split_labels(splits: dict[str, list[dict]], labels: list[str]) -> None:
    """A dev / test label the model cannot predict would break scoring after training: refuse it up front."""
    for name, records in splits.items():
        for rec in records:
            if rec.get("label") is not None and rec["label"] not in labels:
                raise NewsclfError(f"{name} split, id {rec.get('id')!r}: label {rec['label']!r} is not among the "
                                   f"labels {labels} (taken from train or data.labels)")


def score_split(model, spec: InputSpec, records: list[dict], labels: list[str], fnc: bool,
                decision: str | Decider = "argmax", bootstrap: int = 0, groups: list[str] | None = None,
                unit: str = "row", f_avg_labels: list[str] | None = None) -> dict:
    """Metrics of ``model`` on labelled records, calibration measures included; labels by ``decision`` (a rule
    name or a checkpoint's :class:`Decider`). With ``bootstrap`` > 0, 95% intervals from that many resamples of
    the rows (of whole groups when ``groups`` gives one key per record, named ``unit``; see ``bootstrap_groups``)
    under ``metrics["bootstrap"]``."""
    decider = decision if isinstance(decision, Decider) else Decider(tuple(labels), decision)
    decision = decider.rule
    probs = model.predict_proba(spec.model_inputs(records))
    y_true = [r["label"] for r in records]
    claims = spec.claims(records) if decider.needs_claims else None
    y_pred = decider.decide(probs, claims)
    metrics = classification_metrics(y_true, y_pred, labels, fnc=fnc, f_avg_labels=f_avg_labels)
    metrics["decision"] = decision
    if claims is not None:  # how many pairs the weights could touch, and what the rule alone scores
        metrics["new_claim_pairs"] = int(decider.new_claims(claims).sum())
        plain = classification_metrics(y_true, decide(probs, labels, decision), labels, fnc=fnc,
                                       f_avg_labels=f_avg_labels)
        metrics.update({f"unweighted/{k}": plain[k] for k in ("accuracy", "macro_f1", "fnc_score", "f_avg")
                        if k in plain})
    if f_avg_labels:
        metrics["f_avg_labels"] = list(f_avg_labels)
    if bootstrap:
        metrics["bootstrap"] = {"draws": int(bootstrap), "level": 0.95, "unit": unit,
                                "units": len(set(groups)) if groups is not None else len(records),
                                "intervals": bootstrap_intervals(y_true, y_pred, labels, fnc=fnc,
                                                                 f_avg_labels=f_avg_labels, groups=groups,
                                                                 n=int(bootstrap))}
    if decision != "argmax":  # what the most probable label would have scored, for comparison
        plain = classification_metrics(y_true, decide(probs, labels), labels, fnc=fnc, f_avg_labels=f_avg_labels)
        metrics.update({f"argmax/{k}": plain[k] for k in ("accuracy", "macro_f1", "fnc_score", "f_avg") if k in plain})
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[t] for t in y_true])
    metrics["ece"] = expected_calibration_error(probs, y)
    metrics["brier"] = brier_score(probs, y)
    # the same measures at temperature 1 show what calibration changed (on test too, not only on its dev fit)
    metrics["temperature"] = float(model.temperature_)
    raw = uncalibrated(probs, model.temperature_)
    metrics["ece_uncalibrated"] = expected_calibration_error(raw, y)
    metrics["brier_uncalibrated"] = brier_score(raw, y)
    metrics["reliability"] = reliability_bins(probs, y)
    metrics["reliability_uncalibrated"] = reliability_bins(raw, y)
    return metrics


def calibrate(model, spec: InputSpec, dev: list[dict], method: str) -> dict:
    """Fit a temperature on dev logits and store it in the model; return ECE before / after."""
    if method in (None, "none"):
        return {"method": "none"}
    if method != "temperature":
        raise NewsclfError(f"calibration: expected 'none' or 'temperature', found {method!r}")
    if not labelled(dev):  # e.g. the final refit on every labelled example (FNC-1 data.dev_split=none)
        log.warning("calibration=temperature: no labelled dev split, so no temperature is fitted (T stays 1)")
        return {"method": "none", "requested": "temperature", "skipped": "no labelled dev split"}
    logits = model.logits(spec.model_inputs(dev))
    index = {label: i for i, label in enumerate(model.labels_)}
    y = np.array([index[r["label"]] for r in dev])
    from newsclf.models.base import softmax

    before = expected_calibration_error(softmax(logits / model.temperature_), y)
    nll_before = nll(logits, y, model.temperature_)
    model.temperature_ = fit_temperature(logits, y)
    after = expected_calibration_error(softmax(logits / model.temperature_), y)
    if after > before:  # T minimises NLL, not the binned ECE; they disagree mostly on small dev sets
        log.warning("calibration: dev ECE rose from %.4f to %.4f at T=%.3g (dev NLL did not rise; %d dev examples)",
                    before, after, model.temperature_, len(y))
    # T minimises dev NLL (never worse than T=1); ECE is binned and noisy on a small dev set, so record both
    return {"method": "temperature", "temperature": model.temperature_, "dev_n": len(y), "dev_ece_before": before,
            "dev_ece_after": after, "dev_nll_before": nll_before, "dev_nll_after": nll(logits, y, model.temperature_)}


# ----------------------------------------------------------------------------------------------- train
def train(cfg: DictConfig) -> dict:
    """Seed, load data, build the model, fit, calibrate, evaluate, save; return the metrics."""
    out = run_dir()
    seed_everything(cfg.seed)
    spec = input_spec(cfg.task)
    source, dsd, splits = load_splits(cfg.data, cfg.data_root, cfg.max_train_samples, cfg.max_eval_samples, cfg.seed)
    labels = source.label_list(dsd)
    check_split_labels(splits, labels)
    f_avg = check_f_avg_labels(cfg.task.get("f_avg_labels"), labels)  # fails before training, not after
    if cfg.task.fnc_metric and FNC_UNRELATED not in labels:  # the FNC score of other labels would be a silent 0
        raise NewsclfError(f"task.fnc_metric=true needs FNC-1 labels ('unrelated', 'agree', ...), found {labels}; "
                           "for (target, text) stance use task=target_stance")
    train_recs, dev_recs = splits["train"], splits.get("dev", [])
    decider = Decider(tuple(labels), check_decision(cfg.task.get("decision", "argmax"), labels),
                      cfg.task.get("new_claim_weights") or {})
    seen_claims = None
    if decider.needs_claims:  # pair input only: fails here, before training
        seen_claims = frozenset(map(claim_key, spec.claims(train_recs)))
        decider = dataclasses.replace(decider, seen_claims=seen_claims)
    model = instantiate(cfg.model, input_kind=spec.kind)
    if world_size() > 1 and not getattr(model, "distributed", False):
        raise NewsclfError(f"{type(model).__name__} trains in one process: start it with python, not with "
                           f"accelerate launch / torchrun ({world_size()} processes)")
    started = time.perf_counter()
    model.fit(spec.model_inputs(train_recs), [r["label"] for r in train_recs],
              X_dev=spec.model_inputs(dev_recs), y_dev=[r["label"] for r in dev_recs], seed=cfg.seed, run_dir=out,
              resume=cfg.get("resume"))
    train_time = time.perf_counter() - started
    if not getattr(model, "is_main_process_", True):  # data-parallel ranks > 0: rank 0 evaluates and writes
        return {}
    if list(model.labels_) != labels:
        raise NewsclfError(f"training labels {model.labels_} differ from the data set's labels {labels}: "
                           "a label has no training example")
    calibration = calibrate(model, spec, dev_recs, cfg.calibration)
    metrics = {"train_time_s": round(train_time, 3)}
    for name, records in splits.items():
        if name != "train" and labelled(records):
            scores = score_split(model, spec, records, labels, cfg.task.fnc_metric, decider, f_avg_labels=f_avg)
            metrics.update(prefixed(scores, name))
            if name == "dev":  # dev plots beside the checkpoint: cheap, and the leaderboard embeds them
                write_split_plots(out, scores, labels, f"{cfg.task.name} / dev", prefix="dev_")
    fingerprints = {name: fingerprint_texts([str(r.get(c)) for r in recs for c in source.columns])
                    for name, recs in splits.items()}
    save_checkpoint(out / "checkpoint", model, task={"name": cfg.task.name, "select_metric": cfg.task.select_metric,
                                                      "fnc_metric": bool(cfg.task.fnc_metric),
                                                      **({"f_avg_labels": f_avg} if f_avg else {}),
                                                      "decision": decider.rule,
                                                      **({"new_claim_weights": decider.new_claim_weights}
                                                         if decider.needs_claims else {})},
                    input_spec=spec, config_yaml=OmegaConf.to_yaml(cfg, resolve=True), seen_claims=seen_claims,
                    extra={"seed": cfg.seed, "metrics": metrics, "calibration": calibration,
                           "data": {"source": OmegaConf.to_container(cfg.data, resolve=True),
                                    "fingerprints": fingerprints, "sizes": {k: len(v) for k, v in splits.items()}}})
    write_json_atomic(out / "metrics.json", metrics)
    print(f"checkpoint: {out / 'checkpoint'}\nmetrics:    {out / 'metrics.json'}")
    return metrics


def export_split(cfg: DictConfig) -> int:
    """Write ``cfg.split`` of the task's data as JSONL prediction input (id + input fields); return the count."""
    _, _, splits = load_splits(cfg.data, cfg.data_root, None, None, 0)
    if cfg.split not in splits:
        raise NewsclfError(f"split={cfg.split!r}: the data set has splits {sorted(splits)}")
    fields = ("headline", "body") if input_spec(cfg.task).kind == "pair" else ("title", "text")
    out = Path(cfg.output)
    check_parent_dir(out)
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for rec in splits[cfg.split]:
            f.write(json.dumps({"id": rec["id"], **{k: rec.get(k) for k in fields}}, ensure_ascii=False) + "\n")
    print(f"{len(splits[cfg.split])} rows of split {cfg.split!r} -> {out}")
    return len(splits[cfg.split])


# ----------------------------------------------------------------------------------------------- evaluate
def _checkpoint_config(path: Path) -> DictConfig:
    """The run config a checkpoint recorded; a damaged one is a one-line error, not a traceback."""
    try:
        cfg = OmegaConf.load(path)
    except Exception as e:  # missing, not UTF-8, not YAML, not a mapping...
        raise NewsclfError(f"{path}: not a readable run config ({type(e).__name__})") from None
    if not isinstance(cfg, DictConfig) or not isinstance(cfg.get("data"), DictConfig) \
            or not isinstance(cfg.get("seed"), int):
        raise NewsclfError(f"{path}: expected a run config with 'data' and 'seed', as scripts/train.py writes")
    return cfg


def _records_from_checkpoint_data(ckpt, split: str, data_root: str | None) -> list[dict]:
    run_cfg = _checkpoint_config(ckpt.path / "config.yaml")
    _, _, splits = load_splits(run_cfg.data, data_root or run_cfg.get("data_root"), run_cfg.get("max_train_samples"),
                               run_cfg.get("max_eval_samples"), run_cfg.seed)
    if split not in splits:
        raise NewsclfError(f"split={split!r}: the data set has splits {sorted(splits)}")
    if not labelled(splits[split]):
        raise NewsclfError(f"split={split!r} has no gold labels (e.g. FNC-1 test: predict it and hand it over)")
    return splits[split]


def bootstrap_groups(records: list[dict], field: str | None, where: str = "input") -> list[str] | None:
    """Each record's ``field`` value as its bootstrap group key (None: every row is its own group)."""
    if not field:
        return None
    for rec in records:
        if rec.get(field) in (None, ""):
            fields = sorted(k for k in rec if not k.startswith("_"))
            loc = rec.get("_loc") or f"{where}, id {rec.get('id')!r}"
            raise NewsclfError(f"{loc}: bootstrap_group={field!r}, but the record has no "
                               f"{field!r} value; expected one of its fields {fields}")
    return [str(rec[field]) for rec in records]


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
    decision = ckpt.decider(cfg.get("decision"))
    if cfg.get("input"):
        records = list(read_records(cfg.input, kind=ckpt.input_spec.kind, label_field="label"))
        name = "input"
    else:
        records = _records_from_checkpoint_data(ckpt, cfg.split, cfg.get("data_root"))
        name = cfg.split
    check_labels(records, ckpt.labels)
    draws, group = cfg.get("bootstrap", 0) or 0, cfg.get("bootstrap_group")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 0:
        raise NewsclfError(f"bootstrap={draws!r}: expected a number of resamples >= 0 (0 = no intervals)")
    groups = bootstrap_groups(records, group if draws else None, f"{name} split")  # fails before the model runs
    metrics = score_split(ckpt.model, ckpt.input_spec, records, ckpt.labels,
                          bool(ckpt.manifest["task"].get("fnc_metric")), decision, draws, groups, group or "row",
                          f_avg_labels=check_f_avg_labels(ckpt.manifest["task"].get("f_avg_labels"), ckpt.labels))
    flat = prefixed(metrics, name)
    write_json_atomic(out / "metrics.json", flat)
    plots = write_split_plots(out, metrics, ckpt.labels, f"{ckpt.task} / {name}")
    write_text_atomic(out / "report.md", markdown_report(metrics, ckpt.labels, f"{ckpt.task} / {name} / {ckpt.path}",
                                                         images=[p.name for p in plots]))
    print(f"metrics: {out / 'metrics.json'}\nreport:  {out / 'report.md'}\nplots:   {', '.join(map(str, plots))}")
    return flat


# ----------------------------------------------------------------------------------------------- predict
def predict(cfg: DictConfig) -> int:
    """Stream records from ``input`` through the checkpoint to JSONL at ``output`` (``-`` = stdout)."""
    to_file = str(cfg.output) != "-"
    if to_file:
        check_parent_dir(cfg.output)  # fail before the (slow) model load
    predictor = Predictor.from_checkpoint(cfg.checkpoint, top_k=cfg.get("top_k"), runtime=cfg.get("runtime", "native"),
                                          onnx_model=cfg.get("onnx_model"), threads=cfg.get("threads"),
                                          batch_size=cfg.get("batch_size"), processes=_processes(cfg),
                                          forward_batch_size=cfg.get("forward_batch_size"),
                                          decision=cfg.get("decision"))
    gc.freeze()  # the model and the libraries live as long as the process: the collector need not walk them
    predictor.start_workers()  # TF-IDF worker processes, forked before any thread starts (the progress bar's)
    try:
        records = read_records(cfg.input, kind=predictor.input_kind, unique_ids=bool(cfg.get("check_ids", True)))
        preds = predictor.predict_stream(records, window=cfg.get("window"))
        if not to_file:
            n = _write_jsonl(preds, sys.stdout)
            sys.stdout.flush()
            return n
        with atomic_path(cfg.output) as tmp, open(tmp, "w", encoding="utf-8") as f:
            n = _write_jsonl(preds, f, progress=bool(cfg.get("progress", True)))
    finally:
        predictor.close()
    print(f"predictions: {cfg.output} ({n} documents)", file=sys.stderr)
    return n


def _processes(cfg: DictConfig) -> int:
    """``processes`` (null: ``threads``, else every core); only a TF-IDF checkpoint uses more than one."""
    value = cfg.get("processes")
    if value is None:
        value = cfg.get("threads") or os.cpu_count() or 1
    return value


def _write_jsonl(records, f, progress: bool = False) -> int:
    """One JSON object a line; with ``progress``, a tqdm bar (documents, documents/s) on stderr."""
    encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
    if progress:
        from tqdm import tqdm

        records = tqdm(records, desc="predict", unit=" docs", file=sys.stderr, mininterval=1.0, disable=None)  # a bar only on a terminal
    n = 0
    for rec in records:
        f.write(encode(rec) + "\n")
        n += 1
    return n
