"""Data layer: loaders for the bundled data sets and the user's own files, cleaning, splits, input readers."""
