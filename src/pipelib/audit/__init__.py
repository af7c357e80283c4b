"""Reproducibility audit: re-execute sampled rule jobs in a scratch directory and compare outputs.

``compare`` holds the per-format comparators (provenance-only content ignored), ``rerun`` finds the
recorded jobs and re-executes them, ``stage`` writes ``results/<ds>/audit.csv``; ``python -m
pipelib.audit compare A B`` compares two complete runs file by file.
"""
