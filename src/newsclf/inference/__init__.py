"""Prediction from a checkpoint: ``Predictor.from_checkpoint(path).predict(records)``."""
