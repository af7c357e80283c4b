"""Metric functions, a leaf under every stage that scores: ``production`` and ``signx`` use them, and
``evaluation`` (the final table stage) builds its tables from them; this package imports no stage.

- ``catalog``: the one metric list (names, direction, formatting) from which every table's columns derive;
- ``slrtp``: the SLRTP 2025 metrics (DTW-MJE, total_distance, avg_duration; BLEU, chrF, ROUGE, WER);
- ``dtw``: the DTW alignments DTW-MJE uses (both fastdtw builds, exact);
- ``statistics``: bootstrap intervals and paired tests over sentences.
"""
