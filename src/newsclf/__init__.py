"""newsclf: train, evaluate and serve news text classifiers (topic, stance, syndication)."""

__version__ = "0.1.0"
