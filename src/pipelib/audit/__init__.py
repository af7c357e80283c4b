"""Reproducibility audit: re-execute sampled rule jobs apart from the real outputs and compare.

``stage`` holds the audit's three kinds of job (draw the sample, re-execute one drawn job, compare)
and writes ``results/<ds>/audit.csv``; ``rerun`` finds the recorded jobs and re-executes one;
``compare`` and ``values`` are the per-format comparators (provenance-only content ignored);
``records`` reads any output's provenance, from which ``device`` says what a comparison may demand
(bitwise, tolerance, another device class, another precision); ``runs`` compares two whole runs and
names what explains each difference (``python -m pipelib.audit compare A B``); ``summary`` writes the
audit's paragraph and table for ``report.md``.
"""
