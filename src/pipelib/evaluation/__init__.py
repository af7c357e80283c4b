"""Evaluation, the final table stage: every system's poses scored with the SLRTP 2025 metrics
(``pipelib.metrics``) on the frames the evaluator scores, by this pipeline's back-translator and / or the
SLRTP evaluation's own (``back_translators``, ``slrtp_model``), for our systems and anyone's predictions
(``predictions``), one table row per (system, back-translator) (``table``), with bootstrap intervals and
paired tests (``pipelib.metrics.statistics``). It sits on top: it imports the stages whose outputs it
scores, and no stage imports it."""
