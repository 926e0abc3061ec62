"""A syndication detector that cannot cheat: markers never reach a model, copies never cross a split.

- Injection: every known footer and credit, added where it lives (start / end of the body, title suffix),
  leaves the prediction ``scores`` unchanged, for TF-IDF, TF-IDF + style and the transformer, and shows up in
  ``evidence``.
- Real NDTV data: no footer or credit in any model input (all splits, also with the AG News weak labels);
  no near-duplicate pair across splits above the configured threshold; a marker-only model is near perfect,
  which is what the leak would be worth.
- ``predict.py`` on the seed article reports the Devdiscourse footer as evidence.
"""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from newsclf import workflows
from newsclf.data.dedup import cross_split_pairs
from newsclf.data.inputs import columns_to_records
from newsclf.data.markers import MARKERS, find_markers, injectable, marker_only_text, strip_markers
from newsclf.data.sources import AgNewsWire, NdtvSyndication
from newsclf.data.text import join_title
from newsclf.inference.predictor import Predictor
from newsclf.models.tfidf import TfidfClassifier
from newsclf.models.tfidf_style import TfidfStyleClassifier
from tests.conftest import SEED_ARTICLE, custom_data_overrides, load_benchmark, write_jsonl

INJECTED = [r for r in MARKERS if r.kind != "residue"]
NDTV_FOOTER = "(This story has not been edited by NDTV staff and is auto-generated from a syndicated feed.)"
WIRE_WORDS = "officials said statement agency ministry spokesperson announced reported according told".split()
STAFF_WORDS = "watch exclusive tweeted viral video reacted fans opposition slammed yesterday".split()
FILLER = "the a of in on with and for to by at from as after before today".split()


def _story(rng: random.Random, words: list[str], n: int = 18) -> str:
    return " ".join(rng.choice(words if rng.random() < 0.5 else FILLER) for _ in range(n)).capitalize() + "."


def make_syndication_rows(n: int = 80, seed: int = 0) -> list[dict]:
    """Wire-style vs staff-style stories; the syndicated ones carry the footer and a dateline, as on NDTV."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        wire = i % 2 == 0
        body = " ".join(_story(rng, WIRE_WORDS if wire else STAFF_WORDS) for _ in range(3))
        text = f"NEW DELHI (PTI) - {body} {NDTV_FOOTER}" if wire else body
        rows.append({"id": f"s{i}", "title": _story(rng, WIRE_WORDS if wire else STAFF_WORDS, 6)[:-1],
                     "text": text, "label": "syndicated" if wire else "not_syndicated"})
    return rows


@pytest.fixture
def tiny_syndication(tmp_path):
    rows = make_syndication_rows()
    base = tmp_path / "tiny_syndication"
    base.mkdir()
    return {"train": write_jsonl(base / "train.jsonl", rows[:50]), "dev": write_jsonl(base / "dev.jsonl", rows[50:62]),
            "test": write_jsonl(base / "test.jsonl", rows[62:])}


def _train(compose_cfg, paths, run, monkeypatch, model: str, extra=()):
    run.mkdir(exist_ok=True)
    monkeypatch.setattr(workflows, "run_dir", lambda: run)
    cfg = compose_cfg("config", [*custom_data_overrides(paths, "syndication"), f"model={model}", *extra])
    return workflows.train(cfg)


def _sentence_end(t: str) -> str:
    """An inner dateline follows a lead sentence: make sure the text ends like one."""
    return t if t.rstrip().endswith((".", '"', "”")) else t.rstrip() + "."


def injected_variants(records: list[dict], rule) -> list[list[dict]]:
    """``records`` with the rule's bare marker added where it lives: body start / end, own line, title end."""
    m = injectable(rule)
    forms = {"start": [lambda t: f"{m} {t}", lambda t: f"{m}\n{t}"],
             "end": [lambda t: f"{t} {m}", lambda t: f"{t}\n{m}"],
             "line": [lambda t: f"{m}\n{t}", lambda t: f"{t}\n{m}"],
             "inner": [lambda t: f"{_sentence_end(t)} {m}{t}"]}
    forms["any"] = forms["start"] + forms["end"]
    variants = [[{**r, "text": f(r["text"])} for r in records] for f in forms[rule.position]]
    if rule.position in ("end", "any"):  # a title suffix "(Reuters)" / a footer after the title
        variants.append([{**r, "title": f"{r['title']} {m}"} for r in records])
    return variants


def _assert_invariant(predictor: Predictor, records: list[dict], atol: float = 0.0) -> int:
    """Scores of every injected variant equal the clean scores; the marker shows up in evidence."""
    base = predictor.predict(records)
    checked = 0
    for rule in INJECTED:
        if rule.position == "inner":
            records_inner = [{**r, "text": f"{_sentence_end(r['text'])} {r['text']}"} for r in records]
            base_cmp, pairs = predictor.predict(records_inner), injected_variants(records, rule)
        else:
            base_cmp, pairs = base, injected_variants(records, rule)
        for variant in pairs:
            got = predictor.predict(variant)
            for b, g, v in zip(base_cmp, got, variant, strict=True):
                assert g["label"] == b["label"], (rule.name, v)
                for label, p in b["scores"].items():
                    assert abs(g["scores"][label] - p) <= atol, (rule.name, v)
                found = {e["marker"] for e in g["evidence"]}
                assert found, (rule.name, v)
                checked += 1
    return checked


# --------------------------------------------------------------------------------------------- injection
@pytest.mark.parametrize("model", ["tfidf", "tfidf_style", "tiny_transformer"])
def test_marker_injection_leaves_scores_unchanged(compose_cfg, tiny_syndication, tmp_path, monkeypatch, model):
    before = torch.get_num_threads()
    try:
        extra = ["model.epochs=1"] if model == "tiny_transformer" else []
        _train(compose_cfg, tiny_syndication, tmp_path / "run", monkeypatch, model, extra=extra)
    finally:
        torch.set_num_threads(before)  # tiny_transformer runs on one thread
    predictor = Predictor.from_checkpoint(tmp_path / "run" / "checkpoint")
    records = [json.loads(line) for line in tiny_syndication["test"].read_text().splitlines()][:3]
    records = [{**r, "text": strip_markers(r["text"])[0]} for r in records]  # start from marker-free texts
    assert _assert_invariant(predictor, records) >= len(INJECTED) * len(records) * 2


def test_predict_seed_article_reports_devdiscourse_footer(compose_cfg, tiny_syndication, tmp_path, monkeypatch):
    _train(compose_cfg, tiny_syndication, tmp_path / "run", monkeypatch, "tfidf")
    out = tmp_path / "seed.jsonl"
    workflows.predict(compose_cfg("predict", [f"checkpoint={tmp_path / 'run'}", f"input={SEED_ARTICLE}",
                                              f"output={out}"]))
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    by_marker = {e["marker"]: e for e in rec["evidence"]}
    assert by_marker["devdiscourse"]["kind"] == "footer"
    assert "not been edited by Devdiscourse staff" in by_marker["devdiscourse"]["text"]
    assert by_marker["devdiscourse_header"]["agency"] == "Reuters"
    # the scores come from the marker-free text: the same article without its markers scores the same
    raw = SEED_ARTICLE.read_text(encoding="utf-8")
    clean = Predictor.from_checkpoint(tmp_path / "run" / "checkpoint").predict([{"text": strip_markers(raw)[0]}])[0]
    assert clean["scores"] == pytest.approx(rec["scores"], abs=1e-12)
    assert clean["evidence"] == []


# --------------------------------------------------------------------------------------------- real NDTV
@pytest.fixture(scope="module")
def ndtv(data_root):
    """The NDTV source and splits exactly as ``task=syndication`` builds them (time split + near-dup purge)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from tests.conftest import CONFIGS

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=syndication", f"data_root={data_root}"])
    GlobalHydra.instance().clear()
    source = workflows.instantiate(cfg.data)
    dsd = source.load(data_root)
    return cfg, source, {s: columns_to_records(dsd[s][:]) for s in dsd}


def test_no_cross_split_near_duplicates_on_ndtv(ndtv):
    cfg, source, splits = ndtv
    threshold, k = cfg.data.near_dup_threshold, cfg.data.shingle_size
    assert threshold and all(len(splits[s]) > 50 for s in ("train", "dev", "test"))
    texts = {s: [r["text"] for r in recs] for s, recs in splits.items()}
    assert cross_split_pairs(texts, threshold, k) == []
    assert len(source.purged_) >= 3  # not vacuous: the time split alone had copies on both sides


def test_no_footer_or_credit_reaches_any_model_input(ndtv, data_root):
    cfg, _, splits = ndtv
    spec = workflows.input_spec(cfg.task)
    weak = AgNewsWire(files=("train_partial_first2000.csv",)).rows(data_root)  # the weak-label rows, credited
    assert sum(r["label"] == "syndicated" for r in weak) > 700
    n_syndicated = 0
    for records in [*splits.values(), weak]:
        n_syndicated += sum(r["label"] == "syndicated" for r in records)
        for text in spec.model_inputs(records):
            assert not re.search(r"syndicated feed|edited by \w+ staff", text, re.I), text[-200:]
            leaked = [mk for mk in find_markers(text) if mk.kind != "residue"]
            assert not leaked, leaked
    assert n_syndicated > 1100  # the labels really came from footers / credits that were then removed


def test_marker_only_model_shows_what_the_leak_is_worth(ndtv):
    _, _, splits = ndtv

    def xy(records):
        return [marker_only_text(join_title(r["title"], r["text"])) for r in records], [r["label"] for r in records]

    model = TfidfClassifier(word_ngram_range=(1, 1), char_ngram_range=None).fit(*xy(splits["train"]))
    x_test, y_test = xy(splits["test"])
    assert f1_score(y_test, model.predict(x_test), average="macro") >= 0.95  # the footer is the label


@pytest.mark.parametrize("make", [lambda: TfidfClassifier(char_ngram_range=None), TfidfStyleClassifier],
                         ids=["tfidf", "tfidf_style"])
def test_marker_injection_on_real_ndtv_texts(ndtv, make):
    """Real bodies end in quotes, numbers, abbreviations: injected markers still leave the model input alone."""
    cfg, _, splits = ndtv
    spec = workflows.input_spec(cfg.task)
    train = splits["train"][:150]
    model = make().fit(spec.model_inputs(train), [r["label"] for r in train])
    records = [{"title": r["title"], "text": strip_markers(r["text"])[0]} for r in splits["test"][:8]]
    base = model.predict_proba(spec.model_inputs(records))
    n = 0
    for rule in INJECTED:
        ref = base
        if rule.position == "inner":
            ref = model.predict_proba(spec.model_inputs(
                [{**r, "text": f"{_sentence_end(r['text'])} {r['text']}"} for r in records]))
        for variant in injected_variants(records, rule):
            assert np.array_equal(model.predict_proba(spec.model_inputs(variant)), ref), rule.name
            n += 1
    assert n >= 2 * len(INJECTED)


# --------------------------------------------------------------------------------------------- sections
def _report_module():
    from tests.conftest import load_benchmark

    return load_benchmark("syndication_report")


def test_section_balanced_score_gives_a_section_detector_nothing():
    """World-news is mostly wire copy on NDTV: predicting the label from the section looks good overall but
    scores chance level once every (section, label) cell weighs the same."""
    sections = ["world-news"] * 10 + ["india-news"] * 10 + ["cities"] * 4
    y_true = (["syndicated"] * 9 + ["not_syndicated"] + ["syndicated"] * 2 + ["not_syndicated"] * 8
              + ["not_syndicated"] * 4)
    by_section = ["syndicated" if s == "world-news" else "not_syndicated" for s in sections]
    result = _report_module().scores(y_true, by_section, sections, min_per_label=1)
    assert result["macro_f1"] > 0.85
    assert result["sections"]["balanced"]["sections"] == ["india-news", "world-news"]
    assert result["sections"]["balanced"]["macro_f1"] == pytest.approx(0.5)
    assert result["sections"]["world-news"]["syndicated_share"] == pytest.approx(0.9)
    perfect = _report_module().scores(y_true, y_true, sections, min_per_label=1)["sections"]["balanced"]["macro_f1"]
    assert perfect == pytest.approx(1.0)


def test_section_balanced_score_ignores_tiny_sections():
    """A section with a handful of articles of one label must not weigh as much as a large one: by default a
    section counts only with MIN_PER_LABEL articles of each label."""
    report = _report_module()
    sections = ["india-news"] * 40 + ["business"] * 3
    y_true = ["syndicated"] * 15 + ["not_syndicated"] * 25 + ["not_syndicated"] * 2 + ["syndicated"]
    y_pred = ["not_syndicated"] * 40 + y_true[40:]  # right on the 3 business articles only
    default = report.scores(y_true, y_pred, sections)["sections"]["balanced"]
    assert default["sections"] == ["india-news"] and default["n"] == 40
    assert default["macro_f1"] == pytest.approx(report.scores(y_true[:40], y_pred[:40], sections[:40], 1)[
        "sections"]["balanced"]["macro_f1"])
    loose = report.scores(y_true, y_pred, sections, min_per_label=1)["sections"]["balanced"]
    assert loose["macro_f1"] > default["macro_f1"] + 0.2  # what the 3 business articles were worth
    assert np.isnan(report.scores(y_true[40:], y_pred[40:], sections[40:])["sections"]["balanced"]["macro_f1"])


def test_report_runs_and_style_grid_build_models(compose_cfg):
    """Every configuration the report trains composes from the real configs, and every day-CV grid row builds."""
    report = _report_module()
    for name, overrides in report.RUNS.items():
        cfg = compose_cfg("config", ["task=syndication", *overrides])
        model = workflows.instantiate(cfg.model, input_kind="text")
        assert model.kind in ("tfidf.v1", "tfidf_style.v1", "transformer.v1"), name
    assert compose_cfg("config", ["experiment=syndication_best"]).model._target_.endswith("TfidfStyleClassifier")
    for kwargs in report.STYLE_GRID.values():
        assert TfidfStyleClassifier(**kwargs).get_params()["C"] > 0


def test_test_from_reproduces_the_time_split_on_real_ndtv(ndtv, data_root):
    """``data.test_from`` (how the withheld days of a complete copy are scored) on the day the default test
    split starts gives the default split, article for article."""
    cfg, _, splits = ndtv
    first_test_day = min(r["time"] for r in splits["test"])[:10]
    assert first_test_day == "2021-10-04"
    params = {k: v for k, v in cfg.data.items() if k != "_target_"}
    dsd = NdtvSyndication(**{**params, "test_from": first_test_day}).load(data_root)
    assert {s: sorted(dsd[s]["id"]) for s in dsd} == {s: sorted(r["id"] for r in recs) for s, recs in splits.items()}


def test_report_passes_the_data_file_and_test_day_to_every_run(compose_cfg, tmp_path):
    report = _report_module()
    data = {"file": str(tmp_path / "complete.csv"), "test_from": "2021-10-06"}
    cmd = report.train_command("best", tmp_path / "best", data)
    overrides = cmd[cmd.index("scripts/train.py") + 1:]
    assert overrides == ["task=syndication", "experiment=syndication_best", f"data.file={data['file']}",
                         "data.test_from=2021-10-06", f"hydra.run.dir={tmp_path / 'best'}"]
    source = workflows.instantiate(compose_cfg("config", overrides[:-1]).data)
    assert (source.file, source.test_from) == (data["file"], "2021-10-06")


# ------------------------------------------------------------------------------------ label noise
def test_label_mixing_counts_copies_that_carry_both_labels():
    """Groups of near-identical texts are counted, and those whose members carry different labels are counted
    apart; an unrelated text joins no group; the listing gives the syndicated and the staff side of each pair."""
    noise = load_benchmark("syndication_label_noise")
    story = "The Pentagon plans to rely on air strikes to prevent a resurgence of the group, officials said. " * 3
    other = "Punjab's chief minister allocated portfolios to the new ministers on Tuesday and kept fourteen. " * 3
    texts = [story, story + " Updated.", other, other + " More.", "A story of its own, unlike."]
    labels = ["syndicated", "not_syndicated", "syndicated", "syndicated", "not_syndicated"]
    (result,) = noise.label_mixing(texts, labels, [0.9])
    assert result == {"threshold": 0.9, "pairs": 2, "mixed_pairs": 1, "groups": 2, "mixed_groups": 1,
                      "articles_in_groups": 4, "articles_in_mixed": 2}
    rows = [{"id": str(i), "text": t, "label": y, "time": f"2021-10-0{i + 1}T00:00:00", "section": "world-news"}
            for i, (t, y) in enumerate(zip(texts, labels, strict=True))]
    (pair,) = noise.mixed_pairs(rows, 0.9)
    assert (pair["syndicated_id"], pair["staff_id"]) == ("0", "1") and pair["jaccard"] >= 0.9
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        noise.label_mixing(texts[:2], labels[:1], [0.5])


def test_one_ndtv_story_carries_both_labels(data_root):
    """docs/syndication.md "Results" (copies with both labels): the one pair of NDTV articles with the same body
    (Jaccard >= 0.9) carries the footer on one copy and not on the other; only their titles differ."""
    noise = load_benchmark("syndication_label_noise")
    rows = NdtvSyndication().read_articles(data_root)
    (pair,) = noise.mixed_pairs(rows, 0.9)
    assert pair["jaccard"] >= 0.99
    assert (pair["syndicated_id"], pair["staff_id"]) == ("1057", "766")
