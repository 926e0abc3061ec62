"""A weighted ensemble of whole models: the weighted mean of their calibrated log-probabilities.

Members are any newsclf model kinds trained on the same data (e.g. ``experiment=stance_ensemble``: the stacked
two-stage system and the one-LR TF-IDF baseline, whose errors differ). Each member is temperature-calibrated
on dev after fitting; the ensemble's logits are ``sum_m w_m log p_m`` (weights normalised to sum 1, a weighted
geometric mean of the probabilities), and the workflow then fits one temperature on them.

Saved as one directory: ``ensemble.json`` naming each member's kind and weight, and one sub-directory per member
in its own format. Loading looks the member kinds up in the fixed registry (no ensemble inside an ensemble);
nothing is imported by name.

``bags`` trains a member several times with different seeds and averages the copies: ``bags={"stacked": 3}``
replaces member ``stacked`` (weight ``w``) by ``stacked``, ``stacked_seed1`` and ``stacked_seed2``, each of weight
``w / 3``, fitted with the run's seed plus 0, 1 and 2 (``seed_offsets``). The copies are ordinary members from then
on: saved in their own sub-directories and loaded like any other, so a bagged checkpoint needs nothing new to load.
Averaging over training seeds reduces how much the result depends on one seed's luck (which folds, which MLP
initialisation).

``new_claim_weights`` (pair input) gives the members a second set of weights for the pairs whose claim (headline)
training never saw: e.g. ``experiment=stance_best`` weighs a cross-encoder member 0 on known claims and 0.4 on
new ones, because it helps on new stories and hurts where training knows the claims. The ensemble keeps the
``claim_key`` of every training claim (saved in ``ensemble.json``) and picks each row's weights by its headline.
Each mixture is calibrated as it would be alone: on dev, one temperature is fitted to each mixture over all dev
rows (``T_known``, ``T_new``), and the new-claim rows' logits are scaled by ``T_known / T_new``, so that the
ensemble temperature the workflow then fits (``T_known`` when every dev claim is known, as on the FNC-1 hold-out)
turns them into ``softmax(new mixture / T_new)``. Known-claim rows are thus scored exactly as the ensemble with
``weights`` alone, new-claim rows as the ensemble with ``new_claim_weights`` alone.

Training scores the dev split three times (member temperatures, the ensemble's temperature, dev metrics); the
members' dev logits are therefore kept in memory from the first pass, keyed by a SHA-256 of the dev inputs, and
reused when ``logits`` is called on exactly those inputs again (each member's current temperature is applied at
use). The memo is never saved.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
from pathlib import Path

import numpy as np

from newsclf.errors import NewsclfError
from newsclf.evaluation.calibration import fit_temperature
from newsclf.evaluation.decision import claim_key
from newsclf.models.base import FromLogits, softmax
from newsclf.models.two_stage import _calibrate, _stage_resume

STATE_FILE = "ensemble.json"
log = logging.getLogger("newsclf")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CLAIM_KEY = re.compile(r"^[0-9a-f]{16}$")


def _check_members(members: dict, weights: dict, where: str) -> dict[str, float]:
    if not isinstance(members, dict) or len(members) < 2:
        raise NewsclfError(f"{where}: expected at least two members, found {len(members or {})}")
    bad = [n for n in members if not isinstance(n, str) or not _NAME.match(n)]
    if bad:
        raise NewsclfError(f"{where}: member name {bad[0]!r} is not a lower-case identifier (a-z, 0-9, _)")
    weights = dict(weights or {})
    if set(weights) != set(members):
        raise NewsclfError(f"{where}: weights name {sorted(weights)}; expected one per member {sorted(members)}")
    out = {}
    for name, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not np.isfinite(w) or w < 0:
            raise NewsclfError(f"{where}: weight of {name!r} is {w!r}; expected a number >= 0")
        out[name] = float(w)
    total = sum(out.values())
    if total <= 0:
        raise NewsclfError(f"{where}: the weights sum to 0; expected a positive sum")
    return {name: w / total for name, w in out.items()}


def _expand_bags(members: dict, weight_sets: list[dict],
                 bags: dict | None) -> tuple[dict, list[dict], dict[str, int]]:
    """Replace each bagged member by ``n`` copies (``name``, ``name_seed1``, ...), each with ``1 / n`` of its
    weight in every set of ``weight_sets`` (already checked); return the members, the weight sets and each copy's
    seed offset (0 for members that are not bagged)."""
    bags = dict(bags or {})
    for name, n in bags.items():
        if name not in members:
            raise NewsclfError(f"model.bags: {name!r} is not a member; expected one of {sorted(members)}")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10:
            raise NewsclfError(f"model.bags: {name!r} has {n!r} copies; expected a whole number from 1 to 10")
    out_members, out_weights, offsets = {}, [{} for _ in weight_sets], {}
    for name, member in members.items():
        n = bags.get(name, 1)
        for k in range(n):
            copy_name = name if k == 0 else f"{name}_seed{k}"
            if k and (copy_name in members or not _NAME.match(copy_name)):
                raise NewsclfError(f"model.bags: the copy name {copy_name!r} of {name!r} is taken or too long; "
                                   "rename the member")
            out_members[copy_name] = member if k == 0 else copy.deepcopy(member)
            for weights, out in zip(weight_sets, out_weights, strict=True):
                out[copy_name] = weights[name] / n
            offsets[copy_name] = k
    return out_members, out_weights, offsets


def _require_pairs(input_kind: str) -> None:
    if input_kind != "pair":
        raise NewsclfError("model.new_claim_weights: claims exist only for pair input (task.input=pair), "
                           f"found {input_kind!r}")


def _fingerprint(X: list) -> str:
    """SHA-256 of the model inputs (strings or (headline, body) pairs), in order."""
    h = hashlib.sha256()
    for x in X:
        h.update(json.dumps(x, ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def _log_probs(logits: np.ndarray, temperature: float) -> np.ndarray:
    return np.log(np.clip(softmax(logits / temperature), 1e-12, 1.0))


class EnsembleClassifier(FromLogits):
    """``members`` (name -> model), combined as the weighted mean of their calibrated log-probabilities."""

    kind = "ensemble.v1"

    def __init__(self, members: dict, weights: dict, input_kind: str = "text", bags: dict | None = None,
                 seed_offsets: dict | None = None, new_claim_weights: dict | None = None):
        weight_sets = [_check_members(members, weights, "model.weights")]
        if new_claim_weights:
            _require_pairs(input_kind)
            weight_sets.append(_check_members(members, new_claim_weights, "model.new_claim_weights"))
        # the copies split their member's checked, normalised weights: each set still sums to 1
        self.members, weight_sets, offsets = _expand_bags(dict(members), weight_sets, bags)
        self.weights = weight_sets[0]
        self.new_claim_weights = weight_sets[1] if len(weight_sets) > 1 else None
        self.seed_offsets = {n: int((seed_offsets or {}).get(n, offsets[n])) for n in self.members}
        self.input_kind = input_kind
        self.temperature_ = 1.0
        self.seen_claims_: frozenset[str] = frozenset()  # claim_key of every training claim (new_claim_weights)
        self.new_claim_scale_ = 1.0  # T_known / T_new on dev: see the module docstring
        self._dev_memo: tuple[int, str, dict[str, np.ndarray]] | None = None  # (rows, SHA-256, member logits)

    def get_params(self) -> dict:
        return {"input_kind": self.input_kind, "weights": self.weights, "seed_offsets": self.seed_offsets,
                **({"new_claim_weights": self.new_claim_weights} if self.new_claim_weights else {}),
                "members": {n: {"kind": m.kind, **m.get_params()} for n, m in self.members.items()}}

    # ------------------------------------------------------------------------------------------- training
    def fit(self, X, y, X_dev=None, y_dev=None, seed=0, run_dir=None, resume=None, **_):
        X, y = list(X), [str(v) for v in y]
        X_dev, y_dev = list(X_dev or []), [str(v) for v in (y_dev or [])]
        self.labels_ = sorted(set(y))
        self._dev_memo, memo = None, {}
        if self.new_claim_weights:
            _require_pairs(self.input_kind)
            self.seen_claims_ = frozenset(claim_key(x[0]) for x in X)
        if not y_dev:
            log.warning("ensemble without a labelled dev split: no member is calibrated, so the weights act on "
                        "uncalibrated probabilities (an over-confident member counts for more)")
        for name, member in self.members.items():
            member.input_kind = self.input_kind
            member.fit(X, y, X_dev=X_dev, y_dev=y_dev, seed=seed + self.seed_offsets[name],
                       run_dir=Path(run_dir) / name if run_dir is not None else None,
                       resume=_stage_resume(resume, name))
            if list(member.labels_) != self.labels_:
                raise NewsclfError(f"ensemble member {name!r} learned labels {member.labels_}, "
                                   f"expected {self.labels_}")
            dev_logits = _calibrate(member, X_dev, y_dev)
            if X_dev:
                dev_logits = member.logits(X_dev) if dev_logits is None else dev_logits
                memo[name] = dev_logits
        if X_dev:
            self._dev_memo = (len(X_dev), _fingerprint(X_dev), memo)
        self.new_claim_scale_ = 1.0
        if self.new_claim_weights and y_dev:  # each mixture's own temperature over every dev row
            index = {label: i for i, label in enumerate(self.labels_)}
            y_idx = np.array([index[v] for v in y_dev])
            t_known = fit_temperature(self._mix(memo, self.weights, len(X_dev)), y_idx)
            t_new = fit_temperature(self._mix(memo, self.new_claim_weights, len(X_dev)), y_idx)
            self.new_claim_scale_ = t_known / t_new
            log.info("ensemble: dev temperature %.4g with weights, %.4g with new_claim_weights", t_known, t_new)
        self.training_ = {name: getattr(m, "training_", {}) for name, m in self.members.items()}
        return self

    # ------------------------------------------------------------------------------------------- inference
    def new_claims(self, X) -> np.ndarray:
        """Which rows of ``X`` have a claim (headline) training never saw; all False without new_claim_weights."""
        if not self.new_claim_weights:
            return np.zeros(len(X), dtype=bool)
        return np.array([claim_key(x[0]) not in self.seen_claims_ for x in X], dtype=bool)

    def _mix(self, raw: dict[str, np.ndarray], weights: dict[str, float], n: int) -> np.ndarray:
        """The weighted mean of the members' calibrated log-probabilities (``raw``: each member's logits)."""
        out = np.zeros((n, len(self.labels_)))
        for name, member in self.members.items():
            if weights[name] > 0:
                out += weights[name] * _log_probs(raw[name], member.temperature_)
        return out

    def logits(self, X) -> np.ndarray:
        X = list(X)
        memo = None
        if self._dev_memo is not None and self._dev_memo[0] == len(X) and self._dev_memo[1] == _fingerprint(X):
            memo = self._dev_memo[2]
        new = self.new_claims(X)
        known_w, new_w = self.weights, self.new_claim_weights or {}
        raw = {}
        for name, member in self.members.items():
            # a member runs on the rows whose weights use it (e.g. a member weighed only on new claims)
            rows = ((~new) & (known_w[name] > 0)) | (new & (new_w.get(name, 0) > 0))
            if rows.all():
                raw[name] = memo[name] if memo is not None else member.logits(X)
            elif rows.any():
                raw[name] = np.full((len(X), len(self.labels_)), np.nan)
                raw[name][rows] = (memo[name][rows] if memo is not None
                                   else member.logits([x for x, r in zip(X, rows, strict=True) if r]))
        out = np.zeros((len(X), len(self.labels_)))
        if (~new).any():
            out[~new] = self._mix({n: r[~new] for n, r in raw.items()}, known_w, int((~new).sum()))
        if new.any():  # scaled so that the ensemble temperature T_known turns them into new mixture / T_new
            out[new] = self.new_claim_scale_ * self._mix({n: r[new] for n, r in raw.items()}, new_w, int(new.sum()))
        return out

    # ------------------------------------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, member in self.members.items():
            member.save(directory / name)
        state = {"input_kind": self.input_kind, "labels": self.labels_, "temperature": self.temperature_,
                 "weights": self.weights, "seed_offsets": self.seed_offsets,
                 "members": {n: m.kind for n, m in self.members.items()}}
        if self.new_claim_weights:
            state.update(new_claim_weights=self.new_claim_weights, new_claim_scale=self.new_claim_scale_,
                         seen_claims=sorted(self.seen_claims_))
        (directory / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> EnsembleClassifier:
        from newsclf.models import registry

        directory = Path(directory)
        where = str(directory / STATE_FILE)
        try:
            state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
            members_state, labels = dict(state["members"]), [str(v) for v in state["labels"]]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise NewsclfError(f"{where}: not a readable ensemble state ({type(e).__name__})") from None
        kinds = registry()
        members = {}
        for name, kind in members_state.items():
            if not isinstance(name, str) or not _NAME.match(name):  # a name is a sub-directory: no paths
                raise NewsclfError(f"{where}: member name {name!r} is not a lower-case identifier")
            if kind not in kinds or kinds[kind] is cls:  # no nesting: a member is a plain model kind
                raise NewsclfError(f"{where}: member {name!r} has unknown kind {kind!r}; "
                                   f"expected one of {sorted(k for k in kinds if kinds[k] is not cls)}")
            members[name] = kinds[kind].load(directory / name)
        weights = _check_members(members, state.get("weights"), where)
        offsets = state.get("seed_offsets") or {}
        if not isinstance(offsets, dict) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                    for v in offsets.values()):
            raise NewsclfError(f"{where}: seed_offsets must map member names to whole numbers")
        new_weights = state.get("new_claim_weights")
        model = cls(members, weights, state.get("input_kind", "text"), seed_offsets=offsets,
                    new_claim_weights=_check_members(members, new_weights, where) if new_weights else None)
        model.labels_ = labels
        model.temperature_ = float(state.get("temperature", 1.0))
        if new_weights:
            seen, scale = state.get("seen_claims"), state.get("new_claim_scale")
            if not isinstance(seen, list) or not all(isinstance(k, str) and _CLAIM_KEY.match(k) for k in seen):
                raise NewsclfError(f"{where}: seen_claims must list the training claims' keys (16 hex digits)")
            if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
                raise NewsclfError(f"{where}: new_claim_scale is {scale!r}; expected a number > 0")
            model.seen_claims_, model.new_claim_scale_ = frozenset(seen), float(scale)
        return model
