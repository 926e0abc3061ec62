"""Feature extractors (TF-IDF, pair similarity) and tokenization helpers."""
