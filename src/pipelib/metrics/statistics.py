"""Confidence intervals and paired significance tests by bootstrap resampling over sentences.

Every metric is a function of per-sentence sufficient statistics summed over the sentences scored
(``pipelib.metrics.slrtp``: ``*_sentence_stats`` and ``*_from_stats``). A resample draws n sentences
with replacement and recomputes each metric from the drawn sentences' summed statistics, so corpus-level
metrics (BLEU, chrF, WER, DTW-MJE's pooled mean, total_distance's ratio of means) are recomputed on
every resample, never averaged per sentence. Aligned DTW errors are per-sentence statistics computed
once, so resampling never re-runs DTW. This is the sufficient-statistics scheme of sacrebleu's
``paired_bs`` (its ``_extract_corpus_statistics`` / ``_compute_score_from_stats``, used here for BLEU and
chrF); the intervals and the test below are ours.

One resampling plan (``resamples`` x n sentence draws from a seeded generator) is shared by every system
and metric, so comparisons between systems are paired: both are scored on the same drawn sentences.

- Interval: the percentile interval of the resampled scores, order statistics ``k`` and ``B - 1 - k``
  (0-based) of the B sorted scores with ``k = floor(B (1 - confidence) / 2)``; at 95% and B = 1000 the
  25th and 974th, the order statistics sacrebleu's ``estimate_ci`` takes. Non-finite resampled scores
  (a resample without reference words, say) are left out.
- Paired test of systems A and B on one metric: observed difference ``d = A - B``; per resample
  ``d_b = A_b - B_b``. Shifting the bootstrap distribution of the difference to the null hypothesis,
  the two-sided p-value is ``(1 + #{b: |d_b - d| >= |d|}) / (B + 1)`` (Koehn 2004 with the shift of
  Riezler & Maxwell 2005; the +1 as in sacrebleu). Identical systems get p = 1 (sacrebleu's ``paired_bs``
  counts strictly larger centred |differences|, which gives two identical systems p = 1 / (B + 1)).
  The difference's interval uses the percentile rule above on ``d_b``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelib.metrics import slrtp
from pipelib.metrics.statistics_config import SECTION, StatisticsConfig
from pipelib.sections import from_section

INTERVAL_COLUMNS = ["system", "metric", "versus", "estimate", "ci_low", "ci_high", "p_value"]


def settings(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """``evaluation.statistics`` with defaults filled in (a plain dict, as provenance records it); a bad
    key raises :class:`~pipelib.sections.SectionError` naming it."""
    return asdict(from_section(StatisticsConfig, section, SECTION))


@dataclass(frozen=True)
class MetricStats:
    """One metric of one system: its corpus score as ``slrtp`` computes it (``point``), per-sentence
    statistics ``values`` (n, k) and ``score``, which maps a (k,) column sum to the metric's value."""

    point: float
    values: np.ndarray
    score: Callable[[np.ndarray], float]

    @property
    def n(self) -> int:
        return int(self.values.shape[0])


def _pick(fn: Callable[[np.ndarray], Mapping[str, float]], key: str) -> Callable[[np.ndarray], float]:
    return lambda s: fn(s)[key]


def text_statistics(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, MetricStats]:
    """BLEU-1..4, ROUGE, chrF and WER of back-translated ``hyps`` against ``refs`` (slrtp.TEXT_KEYS)."""
    bleu_stats = slrtp.bleu_sentence_stats(hyps, refs)
    bleu_point = slrtp.bleu_from_stats(bleu_stats.sum(axis=0))
    out = {k: MetricStats(bleu_point[k], bleu_stats, _pick(slrtp.bleu_from_stats, k))
           for k in ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4")}
    rouge_stats = slrtp.rouge_sentence_stats(hyps, refs)
    out["ROUGE"] = MetricStats(slrtp.rouge(hyps, refs), rouge_stats, lambda s: float(s[0] / s[1]))
    out["chrF"] = MetricStats(slrtp.chrf(hyps, refs), slrtp.chrf_sentence_stats(hyps, refs),
                              slrtp.chrf_from_stats)
    out["WER"] = MetricStats(slrtp.wer(hyps, refs), slrtp.wer_sentence_stats(hyps, refs),
                             _pick(slrtp.wer_from_stats, "WER"))
    return out


def pose_statistics(pred_frames: Sequence[Any], gt_frames: Sequence[Any], dtw: str = "fastdtw",
                    radius: int = 1) -> dict[str, MetricStats]:
    """DTW-MJE, total_distance and avg_duration of scoring frames (after ``slrtp.scoring_frames``);
    DTW runs once per sentence here."""
    dtw_stats = slrtp.dtw_sentence_stats(pred_frames, gt_frames, dtw, radius)
    motion = slrtp.motion_sentence_stats(pred_frames, gt_frames)
    motion_sum = motion.sum(axis=0)
    return {
        "DTW-MJE": MetricStats(slrtp.dtw_mje_from_stats(dtw_stats), dtw_stats,
                               lambda s: float(s[0] / s[1]) if s[1] else math.nan),
        "total_distance": MetricStats(slrtp.total_distance_from_stats(motion_sum), motion,
                                      slrtp.total_distance_from_stats),
        "avg_duration": MetricStats(slrtp.avg_duration_from_stats(motion_sum), motion,
                                    slrtp.avg_duration_from_stats),
    }


def system_statistics(hyps: Sequence[str], refs: Sequence[str], pred_frames: Sequence[Any],
                      gt_frames: Sequence[Any], dtw: str = "fastdtw",
                      radius: int = 1) -> dict[str, MetricStats]:
    """Every SLRTP metric of one system (slrtp.METRIC_KEYS order); points equal ``slrtp.score_system``."""
    found = {**text_statistics(hyps, refs), **pose_statistics(pred_frames, gt_frames, dtw, radius)}
    return {k: found[k] for k in slrtp.METRIC_KEYS}


def seed_mean(runs: Sequence[MetricStats]) -> MetricStats:
    """One metric of a system trained with several seeds: the mean of its runs' scores, on the same
    sentences. A resample scores every run on the same drawn sentences and averages them, so its
    intervals and paired tests are those of the seed mean."""
    if not runs:
        raise ValueError("seed_mean needs at least one run")
    if len({r.n for r in runs}) != 1:
        raise ValueError(f"runs scored on different numbers of sentences: {sorted({r.n for r in runs})}")
    if len(runs) == 1:
        return runs[0]
    widths = [r.values.shape[1] for r in runs]
    edges = np.cumsum([0, *widths])
    scores = [r.score for r in runs]

    def score(summed: np.ndarray) -> float:
        summed = np.asarray(summed)
        parts = zip(scores, edges[:-1], edges[1:], strict=True)
        return float(np.mean([fn(summed[a:b]) for fn, a, b in parts]))

    point = float(np.mean([r.point for r in runs]))
    return MetricStats(point, np.concatenate([r.values for r in runs], axis=1), score)


def resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) int64: how often each of n sentences is drawn in each resample (n draws with
    replacement per resample, from ``numpy.random.default_rng(seed)``)."""
    if n < 1 or resamples < 1:
        raise ValueError(f"need at least one sentence and one resample, got n={n}, resamples={resamples}")
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))  # (B, n) drawn sentences
    flat = (idx + n * np.arange(resamples)[:, None]).ravel()
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n)


def resampled_scores(stats: MetricStats, counts: np.ndarray) -> np.ndarray:
    """(B,) the metric on each resample: ``score`` of the drawn sentences' summed statistics."""
    if counts.shape[1] != stats.n:
        raise ValueError(f"resampling plan over {counts.shape[1]} sentences, statistics of {stats.n}")
    sums = counts.astype(np.float64) @ stats.values.astype(np.float64)  # (B, k), exact for counts < 2^53
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.array([stats.score(s) for s in sums.tolist()], dtype=np.float64)


def percentile_interval(samples: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Order-statistic percentile interval of the finite ``samples`` (module docstring); NaNs if none."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    s = np.sort(samples[np.isfinite(samples)])
    if not len(s):
        return math.nan, math.nan
    k = int(math.floor(len(s) * (1 - confidence) / 2))
    return float(s[k]), float(s[len(s) - 1 - k])


def paired_p_value(diffs: np.ndarray, observed: float) -> float:
    """Two-sided p-value of an observed difference given its paired resampled differences (finite ones)."""
    d = diffs[np.isfinite(diffs)]
    if not len(d) or not math.isfinite(observed):
        return math.nan
    extreme = int(np.sum(np.abs(d - observed) >= abs(observed)))
    return (1 + extreme) / (len(d) + 1)


def bootstrap(systems: Mapping[str, Mapping[str, MetricStats]], resamples: int, seed: int,
              confidence: float = 0.95) -> pd.DataFrame:
    """Intervals of every metric of every system and paired tests of every system against each earlier
    one, on one shared resampling plan.

    systems: name -> metric -> statistics, all over the same n sentences in the same order. Rows
    (INTERVAL_COLUMNS): per system and metric ``versus`` "" with the point ``estimate`` and its interval;
    per pair and metric ``versus`` the other system, ``estimate`` = system - versus, the difference's
    interval and ``p_value``.
    """
    sizes = {s.n for per in systems.values() for s in per.values()}
    if len(sizes) != 1:
        raise ValueError(f"systems are scored on different numbers of sentences: {sorted(sizes)}")
    counts = resample_counts(sizes.pop(), resamples, seed)
    boot = {name: {m: resampled_scores(s, counts) for m, s in per.items()} for name, per in systems.items()}
    rows: list[dict[str, Any]] = []
    names = list(systems)
    for i, name in enumerate(names):
        for m, s in systems[name].items():
            lo, hi = percentile_interval(boot[name][m], confidence)
            rows.append({"system": name, "metric": m, "versus": "", "estimate": s.point, "ci_low": lo,
                         "ci_high": hi, "p_value": math.nan})
        for other in names[:i]:
            for m, s in systems[name].items():
                if m not in systems[other]:
                    continue
                observed = s.point - systems[other][m].point
                diffs = boot[name][m] - boot[other][m]
                lo, hi = percentile_interval(diffs, confidence)
                rows.append({"system": name, "metric": m, "versus": other, "estimate": observed, "ci_low": lo,
                             "ci_high": hi, "p_value": paired_p_value(diffs, observed)})
    return pd.DataFrame(rows, columns=INTERVAL_COLUMNS)


def few_sentences_warning(n: int, min_sentences: int) -> str:
    """The table's warning when it scores fewer than ``min_sentences`` sentences, else ""."""
    if n >= min_sentences:
        return ""
    return (f"only {n} sentences (fewer than {min_sentences}): scores are noisy, intervals too narrow "
            "and tests weak")
