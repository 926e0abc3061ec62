"""Shared fixtures: composed real configs, tiny synthetic data sets, the real data root."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark(name: str):
    """``benchmarks/<name>.py`` as a module (the benchmark scripts are not a package), for testing its functions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
CONFIGS = ROOT / "configs"
SEED_ARTICLE = ROOT / "seeds" / "000_0990739798a3f71f.txt"

TOPIC_WORDS = {
    "sports": "match goal team coach season league player score win cup striker final".split(),
    "business": "shares market profit bank stock investors quarter earnings company deal economy".split(),
    "science": "research study scientists space planet software computer data chip laboratory".split(),
}
FILLER = "the a of in on with and for to by at from as after before said today".split()


def _sentence(rng: random.Random, words: list[str], n: int = 14) -> str:
    return " ".join(rng.choice(words if rng.random() < 0.6 else FILLER) for _ in range(n)).capitalize() + "."


def make_topic_rows(n_per_class: int = 30, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for label, words in TOPIC_WORDS.items():
        for i in range(n_per_class):
            rows.append({"id": f"{label}-{i}", "title": _sentence(rng, words, 6), "text": _sentence(rng, words),
                         "label": label})
    rng.shuffle(rows)
    return rows


def make_stance_rows(n: int = 120, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topic = rng.choice(list(TOPIC_WORDS))
        other = rng.choice([t for t in TOPIC_WORDS if t != topic])
        headline = _sentence(rng, TOPIC_WORDS[topic], 8)
        label = ["agree", "disagree", "discuss", "unrelated"][i % 4]
        body_words = TOPIC_WORDS[other] if label == "unrelated" else TOPIC_WORDS[topic]
        cue = {"agree": "confirmed true indeed", "disagree": "fake hoax denied false", "discuss": "reportedly allegedly claims",
               "unrelated": ""}[label]
        body = f"{headline} {cue} " + " ".join(_sentence(rng, body_words) for _ in range(3)) if label != "unrelated" \
            else " ".join(_sentence(rng, body_words) for _ in range(3))
        rows.append({"id": str(i), "headline": headline, "body": body, "label": label})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def tiny_topic(tmp_path: Path) -> dict[str, Path]:
    rows = make_topic_rows()
    tmp_path = tmp_path / "tiny_topic"
    tmp_path.mkdir()
    return {"train": write_jsonl(tmp_path / "train.jsonl", rows[:60]), "dev": write_jsonl(tmp_path / "dev.jsonl", rows[60:75]),
            "test": write_jsonl(tmp_path / "test.jsonl", rows[75:])}


@pytest.fixture
def tiny_stance(tmp_path: Path) -> dict[str, Path]:
    rows = make_stance_rows()
    tmp_path = tmp_path / "tiny_stance"
    tmp_path.mkdir()
    return {"train": write_jsonl(tmp_path / "train.jsonl", rows[:80]), "dev": write_jsonl(tmp_path / "dev.jsonl", rows[80:100]),
            "test": write_jsonl(tmp_path / "test.jsonl", rows[100:])}


@pytest.fixture
def compose_cfg():
    """Compose a real config (``config``, ``evaluate``, ``predict``) with overrides, Hydra state cleaned up."""

    def _compose(name: str = "config", overrides: list[str] | None = None):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
            return compose(config_name=name, overrides=overrides or [])

    yield _compose
    GlobalHydra.instance().clear()


def custom_data_overrides(paths: dict[str, Path], task: str = "topic") -> list[str]:
    return [f"task={task}", "data=custom", f"data.train={paths['train']}", f"data.dev={paths['dev']}",
            f"data.test={paths['test']}"]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data root. Missing data fails under CI (CI=true) and skips elsewhere."""
    root = os.environ.get("NEWSCLF_DATA_ROOT") or str(ROOT.parent / "shared" / "data")
    path = Path(root)
    if not (path / "ag_news").is_dir():
        message = f"real data not found at {path} (set NEWSCLF_DATA_ROOT)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ["NEWSCLF_DATA_ROOT"] = str(path)
    return path


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide random BERT with MiniLM's tokenizer, saved as a local model folder (safetensors):
    the sentence-encoder code path without the real model."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from newsclf.models.transformer import minilm_path

    path = tmp_path_factory.mktemp("tiny_encoder")
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
