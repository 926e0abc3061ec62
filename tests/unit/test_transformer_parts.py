"""The transformer's building blocks: tokenization, epoch plans, collation, optimizer, loss, saved state."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from newsclf.errors import NewsclfError
from newsclf.features.tokenize import PairEncoder, SpecialTemplate, truncate
from newsclf.training.batching import collate, epoch_groups, inference_batches, steps_per_epoch
from newsclf.training.optim import WarmupLinear, class_weights, param_groups, weighted_loss_sum
from newsclf.training.state import find_save, flatten, load_part, save_state, unflatten


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from newsclf.models.transformer import minilm_path

    return AutoTokenizer.from_pretrained(minilm_path())


# ----------------------------------------------------------------------------------------------- tokenize
def test_template_matches_the_tokenizer(tokenizer):
    enc = PairEncoder(tokenizer, max_length=512)
    pair = ("Markets fall", "Shares dropped sharply on Monday.")
    got = enc.encode([pair, ("", "x")])
    ref = tokenizer(*pair)
    assert got["input_ids"][0] == ref["input_ids"]
    assert got["token_type_ids"][0] == ref["token_type_ids"]
    single = enc.encode(["Shares dropped sharply on Monday."])
    assert single["input_ids"][0] == tokenizer("Shares dropped sharply on Monday.")["input_ids"]


def test_truncate_head_and_head_tail():
    ids = list(range(100))
    assert truncate(ids, 10, "head") == list(range(10))
    assert truncate(ids, 8, "head_tail", 0.25) == [0, 1, 94, 95, 96, 97, 98, 99]
    assert truncate(ids[:5], 8, "head_tail") == ids[:5]


def test_pair_truncation_keeps_headline_and_body_end(tokenizer):
    enc = PairEncoder(tokenizer, max_length=32, truncation="head_tail", head_fraction=0.5)
    body = " ".join(["alpha"] * 200 + ["omega"])
    out = enc.encode([("short headline", body)])
    ids = out["input_ids"][0]
    assert len(ids) == 32
    words = tokenizer.convert_ids_to_tokens(ids)
    assert words[1:3] == ["short", "headline"] and words[-2:] == ["omega", "[SEP]"]
    head_only = PairEncoder(tokenizer, max_length=32, truncation="head").encode([("short headline", body)])
    assert "omega" not in tokenizer.convert_ids_to_tokens(head_only["input_ids"][0])


def test_bad_truncation_is_a_user_error(tokenizer):
    with pytest.raises(NewsclfError, match="model.truncation"):
        PairEncoder(tokenizer, 64, truncation="middle")
    with pytest.raises(NewsclfError, match="model.max_length"):
        PairEncoder(tokenizer, 4)


def test_template_probe_reads_token_types(tokenizer):
    t = SpecialTemplate.probe(tokenizer)
    assert t.n_special(pair=True) == 3 and t.n_special(pair=False) == 2 and t.types == (0, 1)


# ----------------------------------------------------------------------------------------------- batching
@pytest.mark.parametrize("grouped", [True, False])
def test_epoch_plan_covers_each_example_once_and_is_deterministic(grouped):
    lengths = np.random.default_rng(0).integers(5, 200, size=203)
    plan = epoch_groups(lengths, batch_size=8, accum=3, seed=1, epoch=0, group_by_length=grouped, mega_factor=4)
    flat = [i for group in plan for batch in group for i in batch]
    assert sorted(flat) == list(range(203))
    assert plan == epoch_groups(lengths, 8, 3, 1, 0, grouped, 4)
    assert plan != epoch_groups(lengths, 8, 3, 1, 1, grouped, 4)
    assert all(1 <= len(g) <= 3 for g in plan) and all(len(g) == 3 for g in plan[:-1])
    assert len(plan) == steps_per_epoch(203, 8, 3, grouped, 4)


def test_length_grouping_cuts_padding():
    lengths = np.random.default_rng(0).integers(5, 200, size=800)

    def padded(grouped):
        plan = epoch_groups(lengths, 16, 1, 0, 0, grouped)
        return sum(len(b) * max(lengths[b]) for g in plan for b in g)

    assert padded(True) < 0.7 * padded(False)


def test_collate_pads_to_the_longest_in_batch():
    enc = {"input_ids": [[1, 2, 3], [4], [5, 6, 7, 8, 9]], "token_type_ids": [[0, 0, 1], [0], [0, 0, 0, 1, 1]]}
    out = collate(enc, [0, 1], pad_id=0)
    assert out["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert out["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert out["token_type_ids"].tolist() == [[0, 0, 1], [0, 0, 0]]
    assert collate(enc, [1], pad_id=0, pad_to_multiple_of=8)["input_ids"].shape == (1, 8)
    assert sorted(i for b in inference_batches([3, 1, 5], 2) for i in b) == [0, 1, 2]


# ----------------------------------------------------------------------------------------------- optim / loss
def test_no_decay_on_biases_and_layernorm():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    decay, no_decay = param_groups(model, 0.01)
    assert [p.shape for p in decay["params"]] == [torch.Size([4, 4])]
    assert len(no_decay["params"]) == 3 and no_decay["weight_decay"] == 0.0


def test_warmup_then_linear_decay():
    f = WarmupLinear(warmup=4, total=14)
    assert [round(f(s), 3) for s in range(5)] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert f(9) == pytest.approx(0.5) and f(14) == 0.0


def test_class_weights():
    w = class_weights("balanced", ["a", "b"], ["a", "a", "a", "b"])
    assert w.tolist() == pytest.approx([4 / 6, 2.0])
    assert class_weights({"b": 3}, ["a", "b"], ["a", "b"]).tolist() == [1.0, 3.0]
    assert class_weights(None, ["a", "b"], ["a", "b"]) is None
    with pytest.raises(NewsclfError, match="unknown label"):
        class_weights({"c": 1}, ["a", "b"], ["a", "b"])
    with pytest.raises(NewsclfError, match="class_weight"):
        class_weights("inverse", ["a", "b"], ["a", "b"])


def test_class_weights_scale_each_example_loss():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 1])
    ce = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    w = torch.tensor([1.0, 3.0])
    assert weighted_loss_sum(logits, y, None).item() == pytest.approx(ce.sum().item())
    assert weighted_loss_sum(logits, y, w).item() == pytest.approx((ce[0] + 3 * ce[1] + 3 * ce[2]).item())
    # zero weight: the class's examples contribute no loss at all
    assert weighted_loss_sum(logits, y, torch.tensor([1.0, 0.0])).item() == pytest.approx(ce[0].item())


# ----------------------------------------------------------------------------------------------- state
def test_state_round_trip_keeps_types(tmp_path):
    opt = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=0.1)
    opt.zero_grad()
    sum(p.sum() for g in opt.param_groups for p in g["params"]).backward()
    opt.step()
    tensors: dict = {}
    back = unflatten(json.loads(json.dumps(flatten(opt.state_dict(), tensors))), tensors)
    fresh = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=0.1)
    fresh.load_state_dict(back)
    assert fresh.param_groups[0]["betas"] == opt.param_groups[0]["betas"]
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_save_state_keeps_the_newest_complete_save(tmp_path):
    root = tmp_path / "state"
    save_state(root, {"trainer": {"step": 1}, "best": {"w": torch.ones(2)}})
    second = save_state(root, {"trainer": {"step": 2}}, carry=("best",))
    (root / ".tmp-save-crashed").mkdir()  # a save killed mid-write is never picked
    assert find_save(tmp_path) == second == find_save(root)
    assert [p.name for p in root.iterdir() if p.name.startswith("save-")] == [second.name]
    assert load_part(second, "trainer") == {"step": 2}
    assert torch.equal(load_part(second, "best")["w"], torch.ones(2))  # carried over without rewriting
    assert find_save(tmp_path / "nothing") is None


def test_log_rewind_drops_later_and_cut_lines(tmp_path):
    from newsclf.training.logs import LOG_FILE, RunLog

    log = RunLog(tmp_path, tensorboard=False)
    for step in (2, 4, 6):
        log.write({"event": "step", "step": step})
    with open(tmp_path / LOG_FILE, "a") as f:
        f.write('{"event": "st')  # killed mid-write
    log.rewind(4)
    assert [json.loads(x)["step"] for x in (tmp_path / LOG_FILE).read_text().splitlines()] == [2, 4]


@pytest.mark.parametrize("kwargs,field", [({"learning_rate": -1e-4}, "learning_rate"), ({"learning_rate": 0}, "learning_rate"),
                                          ({"warmup_ratio": 1.5}, "warmup_ratio"), ({"weight_decay": -1}, "weight_decay"),
                                          ({"max_length": 2}, "max_length"), ({"head_fraction": "x"}, "head_fraction")])
def test_bad_hyperparameters_are_one_line_errors_before_any_weights_load(kwargs, field):
    from newsclf.errors import NewsclfError
    from newsclf.models.transformer import TransformerClassifier

    with pytest.raises(NewsclfError, match=f"model.{field}: expected"):
        TransformerClassifier(pretrained="/nonexistent", **kwargs).fit(["a b", "c d"], ["x", "y"])
