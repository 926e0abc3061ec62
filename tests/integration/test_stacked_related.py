"""``model.related=stacked_related`` (TF-IDF pair model + sentence-embedding similarities, stacked on body folds)
as stage 1 of the two-stage stance model, through the real configs, with a tiny random BERT as the encoder."""

from __future__ import annotations

import numpy as np
import pytest

from newsclf.errors import NewsclfError
from newsclf.models.stacked_related import StackedRelatedClassifier
from newsclf.models.tfidf import TfidfClassifier
from tests.conftest import make_stance_rows
from tests.integration.stacked_checks import assert_stage_round_trip, train_stance


def _train(compose_cfg, paths, run_dir, monkeypatch, encoder, *extra):
    overrides = ["model=two_stage", "model@model.related=stacked_related", "model@model.stance=stacked_stance",
                 f"model.related.encoder={encoder}", f"model.stance.encoder={encoder}",
                 "model.related.max_length=16", "model.stance.max_length=16", "model.related.folds=3",
                 "model.stance.folds=3", "model.related.tfidf.char_ngram_range=null",
                 "model.stance.tfidf.char_ngram_range=null", "model.stance.mlp_epochs=30", *extra]
    return train_stance(compose_cfg, paths, run_dir, monkeypatch, overrides)


def test_stacked_stage1_trains_saves_and_reloads_identically(compose_cfg, tiny_stance, tiny_encoder, tmp_path,
                                                             monkeypatch):
    metrics = _train(compose_cfg, tiny_stance, tmp_path / "run", monkeypatch, tiny_encoder)
    assert metrics["dev/fnc_score"] >= 0.6 and metrics["dev/f1/unrelated"] >= 0.8
    ckpt = assert_stage_round_trip(tmp_path / "run", metrics, tiny_stance, tmp_path, "related", "stacked_related.v1",
                                   "stacked_related.json")
    # both stages embed with one encoder (and one string cache) when their settings agree
    assert ckpt.model.related._matcher().encoder is ckpt.model.stance._matcher().encoder


def _pairs(n=120, seed=3):
    rows = make_stance_rows(n, seed)
    return [(r["headline"], r["body"]) for r in rows], ["unrelated" if r["label"] == "unrelated" else "related"
                                                        for r in rows]


def _model(encoder, **kw):
    tfidf = TfidfClassifier(char_ngram_range=None, min_df=1, input_kind="pair")
    return StackedRelatedClassifier(tfidf, **{"encoder": str(encoder), "max_length": 16, "folds": 3, **kw})


def test_meta_model_sees_only_out_of_fold_tfidf_probabilities(tiny_encoder, monkeypatch):
    X, y = _pairs()
    fits, scored = [], []
    real_fit, real_proba = TfidfClassifier.fit, TfidfClassifier.predict_proba

    def fit(self, X, y, **kw):
        fits.append({b for _, b in X})
        self.seen_bodies_ = fits[-1]
        return real_fit(self, X, y, **kw)

    def proba(self, X):
        scored.append((getattr(self, "seen_bodies_", set()), {b for _, b in X}))
        return real_proba(self, X)

    monkeypatch.setattr(TfidfClassifier, "fit", fit)
    monkeypatch.setattr(TfidfClassifier, "predict_proba", proba)
    model = _model(tiny_encoder).fit(X, y, seed=0)
    assert len(fits) == 4 and fits[-1] == {b for _, b in X}  # 3 fold models, then the final one on everything
    assert len(scored) == 3 and all(seen and held and not seen & held for seen, held in scored)
    held_all = set().union(*(held for _, held in scored))
    assert held_all == {b for _, b in X}  # every training pair scored once, by a model that did not see its body
    assert model.meta_coef_.shape == (2, 2 + 21)


def test_bad_folds_and_broken_arrays_are_refused(tiny_encoder, tmp_path):
    X, y = _pairs(40)
    with pytest.raises(NewsclfError, match="model.folds"):
        _model(tiny_encoder, folds=1).fit(X, y)
    with pytest.raises(NewsclfError, match="distinct bodies"):
        _model(tiny_encoder, folds=50).fit(X, y)
    model = _model(tiny_encoder).fit(X, y, seed=0)
    model.save(tmp_path / "m")
    assert np.array_equal(StackedRelatedClassifier.load(tmp_path / "m").logits(X), model.logits(X))
    from safetensors.numpy import load_file, save_file

    arrays = load_file(str(tmp_path / "m" / "arrays.safetensors"))
    arrays["meta.coef"] = arrays["meta.coef"][:, :5]
    save_file(arrays, str(tmp_path / "m" / "arrays.safetensors"))
    with pytest.raises(NewsclfError, match="do not fit"):
        StackedRelatedClassifier.load(tmp_path / "m")


def test_body_ids_match_numpy_unique_without_its_fixed_width_array():
    from newsclf.models.stacked_stance import body_ids

    pairs = [("h", "b" * 5), ("h2", "a"), ("h3", "b" * 5), ("h", "Zürich é"), ("h", "")]
    expected = np.unique([b for _, b in pairs], return_inverse=True)[1].ravel()
    assert body_ids(pairs).tolist() == expected.tolist() == [3, 2, 3, 1, 0]
