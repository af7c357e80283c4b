"""Evaluation: the SLRTP 2025 sign-production metrics (DTW-MJE on poses; BLEU, chrF, ROUGE, WER on
back-translated text), scored at 12.5 fps."""
