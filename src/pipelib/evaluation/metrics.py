"""The SLRTP 2025 sign-production metrics, defined as its evaluation code computes them.

Poses are scored at 12.5 fps: 25 fps sequences are subsampled ``[::2]`` first. Text metrics compare
back-translated hypotheses with reference sentences, one pair per video, all on a 0-100 scale:

- BLEU-1..4: cumulative corpus BLEU over whitespace tokens (no tokenizer, no lower-casing),
  ``BLEU-n = BP * exp(mean_{k<=n} log p_k)`` with p_k the clipped k-gram precision in percent, floor
  smoothing with value 0 (so any p_k = 0 for k <= n gives 0), BP = exp(1 - ref_len / hyp_len) when
  hyp_len < ref_len. SLRTP's embedded sacrebleu 1.4.2 derivative also gives 0 when no hypothesis has
  k tokens for some k <= n; sacrebleu 2.x's effective order would drop that order instead.
- chrF: sacrebleu ``CHRF()`` defaults (character 6-grams, beta 2, whitespace ignored), corpus level.
- ROUGE: ROUGE-L F-measure per sentence over ``split(" ")`` tokens, beta 1.2, averaged.
- WER: jiwer word error rate after normalisation, corpus level (total edits / total reference words).

DTW-MJE aligns each predicted (T, J, 3) sequence to its ground truth with DTW over the flattened
frames, then takes the mean per-joint Euclidean error over all aligned frame pairs of all sequences
together (not a mean of per-sequence means).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jiwer
import numpy as np
from sacrebleu.metrics import BLEU, CHRF

from pipelib.evaluation.dtw import dtw_exact, fastdtw

TARGET_FPS = 12.5
METRIC_KEYS = ("DTW-MJE", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE", "chrF", "WER")
DTW_METHODS = ("fastdtw", "exact")
ROUGE_BETA = 1.2

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

def subsample_step(fps: float, target_fps: float = TARGET_FPS) -> int:
    """Frame step that brings ``fps`` to ``target_fps``: 25 -> 2, 12.5 -> 1, 50 -> 4."""
    ratio = float(fps) / float(target_fps)
    step = round(ratio)
    if step < 1 or abs(ratio - step) > 1e-6:
        raise ValueError(f"fps {fps} is not an integer multiple of the {target_fps} fps the SLRTP metrics "
                         f"use; resample the poses or set fps to a multiple of {target_fps}")
    return int(step)


def subsample(poses: Any, step: int = 2) -> Any:
    """Every ``step``-th frame from frame 0: (T, ...) -> (ceil(T / step), ...), same array type."""
    if int(step) != step or step < 1:
        raise ValueError(f"subsample step must be an integer >= 1, got {step!r}")
    return poses[::int(step)]


# --- poses ------------------------------------------------------------------------------------------

def dtw_mje(pred_poses: Sequence[Any], gt_poses: Sequence[Any], method: str = "fastdtw",
            radius: int = 1) -> float:
    """DTW mean joint error over a corpus, in the poses' units.

    pred_poses, gt_poses: per video (T_i, J, 3) and (T'_i, J, 3) arrays (numpy or torch), paired by
    position. Pairs where either side is None or has no frames are skipped, as SLRTP does. Each pair
    is aligned by ``method`` ("fastdtw" with ``radius``, SLRTP's choice, or "exact") on flattened
    frames with Euclidean distance; the aligned pairs of every sequence are pooled and the mean of
    ||pred_joint - gt_joint|| over all pooled pairs and joints is returned. NaN if nothing is left.
    """
    if method not in DTW_METHODS:
        raise ValueError(f"dtw method {method!r} unknown; use one of {DTW_METHODS}")
    if len(pred_poses) != len(gt_poses):
        raise ValueError(f"{len(pred_poses)} predicted pose sequences but {len(gt_poses)} ground-truth ones; "
                         "give one prediction per ground-truth video, in the same order")
    total, count = 0.0, 0
    for k, (pred, gt) in enumerate(zip(pred_poses, gt_poses, strict=True)):
        if pred is None or gt is None or len(pred) == 0 or len(gt) == 0:
            continue
        p = np.asarray(pred, dtype=np.float64)
        g = np.asarray(gt, dtype=np.float64)
        if p.ndim != 3 or p.shape[1:] != g.shape[1:]:
            raise ValueError(f"pose pair {k}: need (T, J, 3) arrays with equal J, "
                             f"got {p.shape} and {g.shape}")
        if method == "fastdtw":
            _, path = fastdtw(p, g, radius=radius)
        else:
            _, path = dtw_exact(p, g)
        idx = np.asarray(path)  # (L, 2): (pred frame, gt frame)
        err = np.linalg.norm(p[idx[:, 0]] - g[idx[:, 1]], axis=2)  # (L, J) per-joint distances
        total += float(err.sum())
        count += err.size
    return total / count if count else math.nan


# --- text -------------------------------------------------------------------------------------------

def _check_text(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references; give one hypothesis per "
                         "reference, in the same order")
    if not refs:
        raise ValueError("no sentences to score")


def bleu(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """Cumulative corpus BLEU-1..4 (0-100) as SLRTP computes it; see the module docstring."""
    _check_text(hyps, refs)
    stats = BLEU(tokenize="none", smooth_method="floor", smooth_value=0.0, effective_order=True,
                 max_ngram_order=4).corpus_score(list(hyps), [list(refs)])
    sys_len, ref_len = stats.sys_len, stats.ref_len
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    # precisions in percent; an order with no matches (or no hypothesis n-grams) has precision 0
    prec = [100.0 * c / t if t > 0 and c > 0 else 0.0
            for c, t in zip(stats.counts, stats.totals, strict=True)]
    out = {}
    for n in range(1, 5):
        if any(p == 0.0 for p in prec[:n]):
            out[f"BLEU-{n}"] = 0.0
        else:
            out[f"BLEU-{n}"] = bp * math.exp(sum(math.log(p) for p in prec[:n]) / n)
    return out


def chrf(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus chrF (0-100) with sacrebleu's defaults: statistics summed over sentences, then scored."""
    _check_text(hyps, refs)
    return float(CHRF().corpus_score(list(hyps), [list(refs)]).score)


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


# --- one system -------------------------------------------------------------------------------------

def score_system(hyps: Sequence[str] | None, refs: Sequence[str] | None,
                 pred_poses: Sequence[Any] | None = None, gt_poses: Sequence[Any] | None = None,
                 fps: float = 25.0, dtw: str = "fastdtw", *, gt_fps: float | None = None,
                 radius: int = 1) -> dict[str, float]:
    """All SLRTP metrics of one system, keyed as METRIC_KEYS.

    hyps, refs: back-translated and reference sentences (None: text metrics are NaN).
    pred_poses, gt_poses: per-video (T, J, 3) poses at ``fps`` (ground truth at ``gt_fps``, default
    ``fps``), subsampled to 12.5 fps before DTW (None: DTW-MJE is NaN). ``dtw``: "fastdtw" (SLRTP,
    with ``radius``) or "exact".
    """
    out = dict.fromkeys(METRIC_KEYS, math.nan)
    if hyps is not None or refs is not None:
        if hyps is None or refs is None:
            raise ValueError("give both hyps and refs, or neither")
        out.update(bleu(hyps, refs))
        out["ROUGE"] = rouge(hyps, refs)
        out["chrF"] = chrf(hyps, refs)
        out["WER"] = wer(hyps, refs)
    if pred_poses is not None or gt_poses is not None:
        if pred_poses is None or gt_poses is None:
            raise ValueError("give both pred_poses and gt_poses, or neither")
        ps, gs = subsample_step(fps), subsample_step(fps if gt_fps is None else gt_fps)
        pred = [None if p is None else subsample(p, ps) for p in pred_poses]
        gt = [None if g is None else subsample(g, gs) for g in gt_poses]
        out["DTW-MJE"] = dtw_mje(pred, gt, method=dtw, radius=radius)
    return out
