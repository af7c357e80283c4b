"""Evaluation: the SLRTP 2025 sign-production metrics (DTW-MJE, total_distance and avg_duration on poses;
BLEU, chrF, ROUGE, WER on back-translated text), scored on the frames the evaluator scores (every second
ground-truth frame), with bootstrap intervals and paired tests (``statistics``)."""
