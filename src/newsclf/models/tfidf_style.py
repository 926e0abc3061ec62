"""TF-IDF + writing style in one linear model (model kind ``tfidf_style.v1``), for single texts.

Features (:class:`newsclf.features.style.StyleFeatures`): word n-gram TF-IDF, TF-IDF of the text with content
words masked to their shapes, and a standardised vector of style statistics, each block scaled by a weight;
then logistic regression (or ridge), exactly as in :class:`newsclf.models.tfidf.TfidfClassifier`, whose
fitting, logits, calibration hooks and JSON + safetensors persistence it reuses. Everything is computed from
the model input, i.e. after a syndication task's marker stripping.
"""

from __future__ import annotations

from newsclf.errors import NewsclfError
from newsclf.features.style import StyleFeatures
from newsclf.models.tfidf import TfidfClassifier


class TfidfStyleClassifier(TfidfClassifier):
    """Linear classifier over word TF-IDF + masked-text TF-IDF + style statistics. Text input only."""

    kind = "tfidf_style.v1"
    _PARAMS = ("word_ngram_range", "word_weight", "masked_ngram_range", "masked_min_df", "masked_weight",
               "style_weight", "sublinear_tf", "classifier", "C", "class_weight", "max_iter", "input_kind")

    def __init__(self, word_ngram_range=(1, 2), word_weight=1.0, masked_ngram_range=(1, 3), masked_min_df=2,
                 masked_weight=1.0, style_weight=0.5, sublinear_tf=True, classifier="logistic", C=3.0,
                 class_weight="balanced", max_iter=5000, input_kind="text"):
        super().__init__(word_ngram_range=word_ngram_range, char_ngram_range=None, sublinear_tf=sublinear_tf,
                         classifier=classifier, C=C, class_weight=class_weight, max_iter=max_iter,
                         input_kind=input_kind)
        self.word_weight = word_weight
        self.masked_ngram_range = masked_ngram_range
        self.masked_min_df = masked_min_df
        self.masked_weight = masked_weight
        self.style_weight = style_weight

    def get_params(self) -> dict:
        out = {k: getattr(self, k) for k in self._PARAMS}
        for k in ("word_ngram_range", "masked_ngram_range"):
            out[k] = list(out[k])
        return out

    def _features(self) -> StyleFeatures:
        for key in ("word_weight", "masked_weight", "style_weight"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise NewsclfError(f"model.{key}: expected a number >= 0 (0 = leave the block out), found {value!r}")
        return StyleFeatures(word_ngram_range=tuple(self.word_ngram_range), word_weight=float(self.word_weight),
                             masked_ngram_range=tuple(self.masked_ngram_range), masked_min_df=self.masked_min_df,
                             masked_weight=float(self.masked_weight), style_weight=float(self.style_weight),
                             sublinear_tf=self.sublinear_tf)

    def fit(self, X, y, **kwargs) -> TfidfStyleClassifier:
        if self.input_kind != "text":
            raise NewsclfError(f"model=tfidf_style reads single texts; this task's input is {self.input_kind!r} "
                               "(use model=tfidf for pairs)")
        return super().fit(X, y, **kwargs)
