"""Evaluation: the SLRTP 2025 sign-production metrics (DTW-MJE on poses; BLEU, chrF, ROUGE, WER on
back-translated text), scored at 12.5 fps, by this pipeline's back-translator and / or the SLRTP
evaluation's own (``back_translators``, ``slrtp_model``), for our systems and anyone's predictions
(``predictions``), one table row per (system, back-translator) (``table``)."""
