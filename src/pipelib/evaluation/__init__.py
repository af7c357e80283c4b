"""Evaluation: the SLRTP 2025 sign-production metrics (DTW-MJE, total_distance and avg_duration on poses;
BLEU, chrF, ROUGE, WER on back-translated text), scored on the frames the evaluator scores (every second
ground-truth frame), by this pipeline's back-translator and / or the SLRTP evaluation's own
(``back_translators``, ``slrtp_model``), for our systems and anyone's predictions (``predictions``), one
table row per (system, back-translator) (``table``), with bootstrap intervals and paired tests
(``statistics``)."""
