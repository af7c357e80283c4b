"""The SLRTP 2025 sign-production metrics, defined as its evaluation code computes them.

Frame rate. The evaluator subsamples ground truth ``[::2]`` always, and predictions ``[::2]`` only when
its ``--fps`` is 25 (the default, the rate of its ground truth); other rates are left untouched (its
README passes ``--fps 12`` for predictions already at 12.5 fps). :func:`scoring_frames` applies that
rule with the ground truth's own frame rate in the place of the 25: predictions at the ground truth's
rate are subsampled like it, others are taken as they are. On 25 fps PHOENIX-2014-T this is the
evaluator's rule; a 30 fps CSL-Daily corpus is scored at 15 fps on both sides. Every pose metric and
the back-translator see these frames.

Text metrics compare back-translated hypotheses with reference sentences, one pair per video, all on a
0-100 scale:

- BLEU-1..4: cumulative corpus BLEU over whitespace tokens (no tokenizer, no lower-casing),
  ``BLEU-n = BP * exp(mean_{k<=n} log p_k)`` with p_k the clipped k-gram precision in percent, floor
  smoothing with value 0 (so any p_k = 0 for k <= n gives 0), BP = exp(1 - ref_len / hyp_len) when
  hyp_len < ref_len. SLRTP's embedded sacrebleu 1.4.2 derivative also gives 0 when no hypothesis has
  k tokens for some k <= n; sacrebleu 2.x's effective order would drop that order instead.
- chrF: sacrebleu ``CHRF()`` defaults (character 6-grams, beta 2, whitespace ignored), corpus level.
- ROUGE: ROUGE-L F-measure per sentence over ``split(" ")`` tokens, beta 1.2, averaged.
- WER: jiwer word error rate after normalisation, corpus level (total edits / total reference words).

Pose metrics, on the scoring frames:

- DTW-MJE aligns each predicted (T, J, 3) sequence to its ground truth with DTW over the flattened
  frames (``pipelib.metrics.dtw``: either build of fastdtw, or exact), then takes the mean
  per-joint Euclidean error over all aligned frame pairs of all sequences together (not a mean of
  per-sequence means).
- total_distance: for each wrist (left: slot 5, right: slot 2), the mean over sequences of its summed
  frame-to-frame Euclidean path length, divided by the same mean over the ground truth; the two
  wrists' ratios averaged. 1.0 = as much hand travel as the ground truth; low = regression to the mean.
- avg_duration: the mean over sequences of len(prediction) / len(ground truth).

The evaluator computes these two in float32 (torch); here they are float64, so they agree to about
1e-7 relative.

Every corpus metric is also available as per-sentence sufficient statistics (``*_sentence_stats``)
whose column sums give the corpus score through the matching ``*_from_stats``: what
``pipelib.metrics.statistics`` resamples.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import jiwer
import numpy as np
from sacrebleu.metrics import BLEU, CHRF

from pipelib.metrics import catalog
from pipelib.metrics.dtw import aligner
from pipelib.skeletons.layout import BODY_NAMES

log = logging.getLogger("pipelib.metrics")

METRIC_KEYS = catalog.SLRTP  # names, order, direction and formatting: pipelib.metrics.catalog
TEXT_KEYS = catalog.SLRTP_TEXT
POSE_KEYS = catalog.SLRTP_POSE
ROUGE_BETA = 1.2
GT_STEP = 2  # the evaluator scores every second ground-truth frame, whatever its rate
LEFT_WRIST, RIGHT_WRIST = BODY_NAMES.index("left_wrist"), BODY_NAMES.index("right_wrist")  # 5, 2

# SLRTP's WER normalisation, in its order. RemovePunctuation deletes (without inserting a space) every
# character whose Unicode general category starts with "P" (Pc Pd Ps Pe Pi Pf Po: . , ; : ! ? ' " - ( )
# [ ] « » „ “ ¿ and so on); symbols (S*) such as + $ € are kept. The English contraction expansion is
# case-sensitive and rarely fires on German text.
_WER_TRANSFORM = jiwer.Compose([
    jiwer.ExpandCommonEnglishContractions(),
    jiwer.ToLowerCase(),
    jiwer.RemoveMultipleSpaces(),
    jiwer.Strip(),
    jiwer.RemovePunctuation(),
    jiwer.ReduceToListOfListOfWords(),
])


# --- frame rate -------------------------------------------------------------------------------------

def subsample(poses: Any, step: int = 2) -> Any:
    """Every ``step``-th frame from frame 0: (T, ...) -> (ceil(T / step), ...), same array type."""
    if int(step) != step or step < 1:
        raise ValueError(f"subsample step must be an integer >= 1, got {step!r}")
    return poses[::int(step)]


def prediction_step(pred_fps: float, gt_fps: float) -> int:
    """Frame step of a prediction under the evaluator's rule: 2 when it runs at the ground truth's frame
    rate (the evaluator's ``--fps 25`` on 25 fps ground truth), else 1 (taken as it is)."""
    if not (pred_fps > 0 and gt_fps > 0):
        raise ValueError(f"frame rates must be > 0, got prediction {pred_fps} and ground truth {gt_fps}")
    return GT_STEP if math.isclose(pred_fps, gt_fps, rel_tol=1e-6) else 1


def _per_video(fps: float | Sequence[float], n: int, name: str) -> list[float]:
    if np.isscalar(fps):
        return [float(fps)] * n
    rates = [float(f) for f in fps]
    if len(rates) != n:
        raise ValueError(f"{len(rates)} {name} frame rates for {n} videos; give one per video")
    return rates


def scoring_frames(pred_poses: Sequence[Any], gt_poses: Sequence[Any], pred_fps: float | Sequence[float],
                   gt_fps: float | Sequence[float]) -> tuple[list[Any], list[Any]]:
    """The frames the evaluator scores: ground truth ``[::2]``; each prediction ``[::2]`` when its frame
    rate equals its ground truth's, untouched otherwise (see the module docstring).

    pred_poses, gt_poses: per video (T, ...) arrays paired by position (a None prediction stays None);
    pred_fps, gt_fps: one rate for all videos or one per video. A prediction whose rate is neither the
    ground truth's nor about half of it is scored as it is, as the evaluator does, with a warning.
    """
    if len(pred_poses) != len(gt_poses):
        raise ValueError(f"{len(pred_poses)} predicted pose sequences but {len(gt_poses)} ground-truth ones; "
                         "give one prediction per ground-truth video, in the same order")
    p_fps = _per_video(pred_fps, len(pred_poses), "prediction")
    g_fps = _per_video(gt_fps, len(gt_poses), "ground-truth")
    odd = sorted({(p, g) for p, g in zip(p_fps, g_fps, strict=True)
                  if prediction_step(p, g) == 1 and abs(p - g / GT_STEP) > 0.05 * g / GT_STEP})
    for p, g in odd:
        log.warning("predictions at %g fps against %g fps ground truth: scored as they are against every "
                    "%d-th ground-truth frame (%g fps), as the SLRTP evaluator does",
                    p, g, GT_STEP, g / GT_STEP)
    pred = [None if p is None else subsample(p, prediction_step(f, g))
            for p, f, g in zip(pred_poses, p_fps, g_fps, strict=True)]
    gt = [None if g is None else subsample(g, GT_STEP) for g in gt_poses]
    return pred, gt


# --- poses ------------------------------------------------------------------------------------------

def _pose_pair(k: int, pred: Any, gt: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != g.shape[1:]:
        raise ValueError(f"pose pair {k}: need (T, J, 3) arrays with equal J, got {p.shape} and {g.shape}")
    return p, g


def _check_pairs(pred_poses: Sequence[Any], gt_poses: Sequence[Any]) -> None:
    if len(pred_poses) != len(gt_poses):
        raise ValueError(f"{len(pred_poses)} predicted pose sequences but {len(gt_poses)} ground-truth ones; "
                         "give one prediction per ground-truth video, in the same order")


def dtw_sentence_stats(pred_poses: Sequence[Any], gt_poses: Sequence[Any], method: str = "fastdtw",
                       radius: int = 1) -> np.ndarray:
    """Per pair (n, 2) float64: [sum of per-joint aligned errors, number of (frame pair, joint) terms].

    pred_poses, gt_poses: per video (T_i, J, 3) and (T'_i, J, 3) arrays (numpy or torch), paired by
    position. Each pair is aligned by DTW ``method`` (``pipelib.metrics.dtw.METHODS``, with
    ``radius`` for FastDTW) on flattened frames with Euclidean distance. Pairs where either side is None
    or has no frames give [0, 0] (skipped, as SLRTP does).
    """
    _check_pairs(pred_poses, gt_poses)
    align = aligner(method, radius)
    out = np.zeros((len(gt_poses), 2))
    for k, (pred, gt) in enumerate(zip(pred_poses, gt_poses, strict=True)):
        if pred is None or gt is None or len(pred) == 0 or len(gt) == 0:
            continue
        p, g = _pose_pair(k, pred, gt)
        _, path = align(p, g)
        idx = np.asarray(path)  # (L, 2): (pred frame, gt frame)
        err = np.linalg.norm(p[idx[:, 0]] - g[idx[:, 1]], axis=2)  # (L, J) per-joint distances
        out[k] = float(err.sum()), err.size
    return out


def dtw_mje_from_stats(stats: np.ndarray) -> float:
    """DTW-MJE from :func:`dtw_sentence_stats` rows, summed in order (NaN when nothing was aligned)."""
    total, count = 0.0, 0.0
    for s, c in np.asarray(stats, dtype=np.float64).reshape(-1, 2):
        total += float(s)
        count += float(c)
    return total / count if count else math.nan


def dtw_mje(pred_poses: Sequence[Any], gt_poses: Sequence[Any], method: str = "fastdtw",
            radius: int = 1) -> float:
    """DTW mean joint error over a corpus, in the poses' units: the mean of ||pred_joint - gt_joint||
    over the aligned frame pairs of every sequence pooled (see :func:`dtw_sentence_stats`)."""
    return dtw_mje_from_stats(dtw_sentence_stats(pred_poses, gt_poses, method, radius))


def path_length(track: Any) -> float:
    """Summed frame-to-frame Euclidean distance of one point's (T, 3) track (0 for T < 2)."""
    t = np.asarray(track, dtype=np.float64)
    return float(np.linalg.norm(np.diff(t, axis=0), axis=1).sum()) if len(t) > 1 else 0.0


def motion_sentence_stats(pred_poses: Sequence[Any], gt_poses: Sequence[Any]) -> np.ndarray:
    """Per pair (n, 6) float64: wrist path lengths [pred left, pred right, gt left, gt right] and
    [len(pred) / len(gt), 1], the statistics of total_distance and avg_duration."""
    _check_pairs(pred_poses, gt_poses)
    out = np.zeros((len(gt_poses), 6))
    for k, (pred, gt) in enumerate(zip(pred_poses, gt_poses, strict=True)):
        if gt is None or len(gt) == 0:
            raise ValueError(f"pose pair {k}: the ground truth has no frames")
        p = np.zeros((0,) + np.shape(gt)[1:]) if pred is None else pred
        p, g = _pose_pair(k, p, gt)
        if g.shape[1] <= max(LEFT_WRIST, RIGHT_WRIST):
            raise ValueError(f"pose pair {k}: total_distance needs the SLRTP skeleton's wrists (slots "
                             f"{RIGHT_WRIST} and {LEFT_WRIST}), got {g.shape[1]} joints")
        out[k] = (path_length(p[:, LEFT_WRIST]), path_length(p[:, RIGHT_WRIST]),
                  path_length(g[:, LEFT_WRIST]), path_length(g[:, RIGHT_WRIST]), len(p) / len(g), 1.0)
    return out


def _ratio(a: float, b: float) -> float:
    """a / b, with IEEE results for b = 0 (inf, or NaN for 0 / 0)."""
    if b:
        return a / b
    return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)


def total_distance_from_stats(stats: Sequence[float] | np.ndarray) -> float:
    """total_distance from summed :func:`motion_sentence_stats` (6,): the mean of the two wrists'
    predicted / ground-truth path-length ratios (a ratio of means: the counts cancel)."""
    s = [float(v) for v in stats]
    return (_ratio(s[0], s[2]) + _ratio(s[1], s[3])) / 2


def avg_duration_from_stats(stats: Sequence[float] | np.ndarray) -> float:
    """avg_duration from summed :func:`motion_sentence_stats` (6,)."""
    s = [float(v) for v in stats]
    return _ratio(s[4], s[5])


def total_distance(pred_poses: Sequence[Any], gt_poses: Sequence[Any]) -> float:
    """How far the wrists travel compared with the ground truth (1.0 = as far); module docstring."""
    return total_distance_from_stats(motion_sentence_stats(pred_poses, gt_poses).sum(axis=0))


def avg_duration(pred_poses: Sequence[Any], gt_poses: Sequence[Any]) -> float:
    """Mean over sequences of len(prediction) / len(ground truth)."""
    return avg_duration_from_stats(motion_sentence_stats(pred_poses, gt_poses).sum(axis=0))


# --- text -------------------------------------------------------------------------------------------

def _check_text(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references; give one hypothesis per "
                         "reference, in the same order")
    if not refs:
        raise ValueError("no sentences to score")


def _bleu_metric() -> BLEU:
    return BLEU(tokenize="none", smooth_method="floor", smooth_value=0.0, effective_order=True,
                max_ngram_order=4)


def bleu_sentence_stats(hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
    """Per sentence (n, 10) int64: [hyp length, ref length, matches 1..4, hyp n-grams 1..4] (sacrebleu's
    sufficient statistics, no tokenizer)."""
    _check_text(hyps, refs)
    return np.asarray(_bleu_metric()._extract_corpus_statistics(list(hyps), [list(refs)]), dtype=np.int64)


def bleu_from_stats(stats: Sequence[int] | np.ndarray) -> dict[str, float]:
    """Cumulative BLEU-1..4 (0-100) from summed :func:`bleu_sentence_stats` (10,); module docstring."""
    st = [int(v) for v in stats]
    sys_len, ref_len, counts, totals = st[0], st[1], st[2:6], st[6:10]
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    # precisions in percent; an order with no matches (or no hypothesis n-grams) has precision 0
    prec = [100.0 * c / t if t > 0 and c > 0 else 0.0 for c, t in zip(counts, totals, strict=True)]
    out = {}
    for n in range(1, 5):
        if any(p == 0.0 for p in prec[:n]):
            out[f"BLEU-{n}"] = 0.0
        else:
            out[f"BLEU-{n}"] = bp * math.exp(sum(math.log(p) for p in prec[:n]) / n)
    return out


def bleu(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """Cumulative corpus BLEU-1..4 (0-100) as SLRTP computes it; see the module docstring."""
    return bleu_from_stats(bleu_sentence_stats(hyps, refs).sum(axis=0))


def chrf(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus chrF (0-100) with sacrebleu's defaults: statistics summed over sentences, then scored."""
    _check_text(hyps, refs)
    return float(CHRF().corpus_score(list(hyps), [list(refs)]).score)


def chrf_sentence_stats(hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
    """Per sentence (n, 18) int64: sacrebleu CHRF()'s [hyp, ref, match] counts per character order."""
    _check_text(hyps, refs)
    return np.asarray(CHRF()._extract_corpus_statistics(list(hyps), [list(refs)]), dtype=np.int64)


def chrf_from_stats(stats: Sequence[int] | np.ndarray) -> float:
    """Corpus chrF (0-100) from summed :func:`chrf_sentence_stats`."""
    return float(CHRF()._compute_score_from_stats([int(v) for v in stats]).score)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists."""
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for tok in a:
        cur = [0]
        for j, other in enumerate(b):
            cur.append(prev[j] + 1 if tok == other else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(hyp: str, ref: str, beta: float = ROUGE_BETA) -> float:
    """Sentence ROUGE-L F-measure in [0, 1] over ``split(" ")`` tokens.

    With L = LCS length, P = L / len(hyp tokens), R = L / len(ref tokens):
    F = (1 + beta^2) P R / (R + beta^2 P), and 0 when P or R is 0. Splitting on single spaces keeps
    empty tokens: "" is one empty token, so rouge_l("", "") = 1, and "" against "a  b" (two spaces,
    tokens "a", "", "b") has L = 1.
    """
    h, r = hyp.split(" "), ref.split(" ")
    lcs = lcs_length(r, h)
    p, rec = lcs / len(h), lcs / len(r)
    if p == 0 or rec == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * p * rec / (rec + b2 * p)


def rouge(hyps: Sequence[str], refs: Sequence[str], beta: float = ROUGE_BETA) -> float:
    """Mean sentence ROUGE-L F-measure x100."""
    _check_text(hyps, refs)
    return 100.0 * sum(rouge_l(h, r, beta) for h, r in zip(hyps, refs, strict=True)) / len(refs)


def rouge_sentence_stats(hyps: Sequence[str], refs: Sequence[str], beta: float = ROUGE_BETA) -> np.ndarray:
    """Per sentence (n, 2): [ROUGE-L F-measure x100, 1]; ROUGE = column 0 sum / column 1 sum."""
    _check_text(hyps, refs)
    return np.array([[100.0 * rouge_l(h, r, beta), 1.0] for h, r in zip(hyps, refs, strict=True)])


def wer(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus word error rate x100: (S + D + I) over all sentences / reference words, after
    SLRTP's normalisation (contractions expanded, lower-cased, spaces collapsed, punctuation removed).

    If every reference is empty after normalisation, jiwer returns the insertion count instead.
    """
    _check_text(hyps, refs)
    return 100.0 * float(jiwer.wer(list(refs), list(hyps), reference_transform=_WER_TRANSFORM,
                                   hypothesis_transform=_WER_TRANSFORM))


def word_error_rates(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """Corpus WER and its substitution / deletion / insertion parts, each x100 of the reference words
    (``WER`` = ``SUB`` + ``DEL`` + ``INS``), with the normalisation of :func:`wer`."""
    _check_text(hyps, refs)
    out = jiwer.process_words(list(refs), list(hyps), reference_transform=_WER_TRANSFORM,
                              hypothesis_transform=_WER_TRANSFORM)
    n = sum(len(r) for r in out.references)
    return {"WER": 100.0 * out.wer, "SUB": 100.0 * out.substitutions / n,
            "DEL": 100.0 * out.deletions / n, "INS": 100.0 * out.insertions / n}


def wer_sentence_stats(hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
    """Per sentence (n, 4) int64: [substitutions, deletions, insertions, reference words] after the
    normalisation of :func:`wer`, from one jiwer alignment of the corpus."""
    _check_text(hyps, refs)
    out = jiwer.process_words(list(refs), list(hyps), reference_transform=_WER_TRANSFORM,
                              hypothesis_transform=_WER_TRANSFORM)
    stats = np.zeros((len(refs), 4), dtype=np.int64)
    for k, (chunks, ref) in enumerate(zip(out.alignments, out.references, strict=True)):
        for c in chunks:
            if c.type == "substitute":
                stats[k, 0] += c.ref_end_idx - c.ref_start_idx
            elif c.type == "delete":
                stats[k, 1] += c.ref_end_idx - c.ref_start_idx
            elif c.type == "insert":
                stats[k, 2] += c.hyp_end_idx - c.hyp_start_idx
        stats[k, 3] = len(ref)
    return stats


def wer_from_stats(stats: Sequence[int] | np.ndarray) -> dict[str, float]:
    """WER, SUB, DEL, INS (x100 of reference words) from summed :func:`wer_sentence_stats` (4,)."""
    s, d, i, n = (float(v) for v in stats)
    if n == 0:
        return dict.fromkeys(("WER", "SUB", "DEL", "INS"), math.nan)
    # the same float operations as jiwer's corpus wer and word_error_rates, so the results are identical
    return {"WER": 100.0 * ((s + d + i) / n), "SUB": 100.0 * s / n, "DEL": 100.0 * d / n,
            "INS": 100.0 * i / n}


# --- one system -------------------------------------------------------------------------------------

def score_system(hyps: Sequence[str] | None, refs: Sequence[str] | None,
                 pred_frames: Sequence[Any] | None = None, gt_frames: Sequence[Any] | None = None,
                 dtw: str = "fastdtw", radius: int = 1) -> dict[str, float]:
    """All SLRTP metrics of one system, keyed as METRIC_KEYS.

    hyps, refs: back-translated and reference sentences (None: text metrics are NaN).
    pred_frames, gt_frames: per-video (T, J, 3) poses as scored, i.e. after :func:`scoring_frames`
    (None: pose metrics are NaN). ``dtw``: a ``pipelib.metrics.dtw.METHODS`` name, with ``radius``.
    """
    out = dict.fromkeys(METRIC_KEYS, math.nan)
    if hyps is not None or refs is not None:
        if hyps is None or refs is None:
            raise ValueError("give both hyps and refs, or neither")
        out.update(bleu(hyps, refs))
        out["ROUGE"] = rouge(hyps, refs)
        out["chrF"] = chrf(hyps, refs)
        out["WER"] = wer(hyps, refs)
    if pred_frames is not None or gt_frames is not None:
        if pred_frames is None or gt_frames is None:
            raise ValueError("give both pred_frames and gt_frames, or neither")
        out["DTW-MJE"] = dtw_mje(pred_frames, gt_frames, method=dtw, radius=radius)
        out["total_distance"] = total_distance(pred_frames, gt_frames)
        out["avg_duration"] = avg_duration(pred_frames, gt_frames)
    return out
