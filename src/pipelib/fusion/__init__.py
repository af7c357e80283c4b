"""Stage fusion: the five slots concatenated into normalised (T, 1959) features."""
