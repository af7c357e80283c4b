"""The ``evaluation.statistics`` config section (:class:`StatisticsConfig`), importable without pandas or
the metric libraries: the workflow checks it whenever it starts. The statistics are in
:mod:`pipelib.metrics.statistics`, which re-exports these names."""

from __future__ import annotations

from dataclasses import dataclass

SECTION = "evaluation.statistics"


@dataclass(frozen=True)
class StatisticsConfig:
    """``evaluation.statistics``: bootstrap resamples, their seed, the interval's confidence (0-1) and the
    sentence count below which the table warns that intervals are wide."""

    resamples: int = 1000
    seed: int = 2025
    confidence: float = 0.95
    min_sentences: int = 30
