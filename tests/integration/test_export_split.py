"""``scripts/export_split.py``: a split as prediction input (id + input fields, no label), then predict.py-ready."""

from __future__ import annotations

import json

import pytest

from newsclf import workflows
from newsclf.errors import NewsclfError
from tests.conftest import custom_data_overrides


def test_export_split_writes_ids_and_input_fields(compose_cfg, tiny_stance, tmp_path):
    out = tmp_path / "pairs.jsonl"
    cfg = compose_cfg("export_split", [*custom_data_overrides(tiny_stance, "stance"), "split=test", f"output={out}"])
    assert workflows.export_split(cfg) == 20
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    source = [json.loads(line) for line in tiny_stance["test"].read_text().splitlines()]
    assert rows == [{"id": r["id"], "headline": r["headline"], "body": r["body"]} for r in source]


def test_export_split_unknown_split_is_one_line(compose_cfg, tiny_stance, tmp_path):
    cfg = compose_cfg("export_split", [*custom_data_overrides(tiny_stance, "stance"), "split=nope",
                                       f"output={tmp_path / 'x.jsonl'}"])
    with pytest.raises(NewsclfError, match="split='nope'"):
        workflows.export_split(cfg)
    assert not (tmp_path / "x.jsonl").exists()
