"""Model kinds. The registry maps a persisted, versioned kind name to the class that loads it.

Checkpoints name their kind; the loader looks it up here and nowhere else, so a checkpoint can never make
newsclf import a module it names.
"""

from __future__ import annotations


def registry() -> dict:
    from newsclf.models.ensemble import EnsembleClassifier
    from newsclf.models.tfidf import TfidfClassifier
    from newsclf.models.tfidf_style import TfidfStyleClassifier
    from newsclf.models.two_stage import TwoStageClassifier

    kinds = {TfidfClassifier.kind: TfidfClassifier, TfidfStyleClassifier.kind: TfidfStyleClassifier,
             TwoStageClassifier.kind: TwoStageClassifier, EnsembleClassifier.kind: EnsembleClassifier}
    try:
        from newsclf.models.stacked_related import StackedRelatedClassifier
        from newsclf.models.stacked_stance import StackedStanceClassifier
        from newsclf.models.transformer import TransformerClassifier
    except ImportError:  # transformer support is optional at import time (e.g. a minimal install)
        return kinds
    kinds[TransformerClassifier.kind] = TransformerClassifier
    kinds[StackedStanceClassifier.kind] = StackedStanceClassifier
    kinds[StackedRelatedClassifier.kind] = StackedRelatedClassifier
    return kinds
