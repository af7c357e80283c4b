"""The headline tables (DARSLP Table 5 / Table 6): every system scored with the SLRTP metrics.

Systems, one row each: ``GT`` (back-translation of the ground-truth test poses: the ceiling),
``DARSLP`` (generator phase 1), ``DARSLP-KL`` (phase 2) and ``mean-pose`` (the mean training pose
held for the median training length: the floor). For corpora the paper reports on, its numbers
follow as ``reported`` rows with a ``difference`` row (measured - reported) per system.

Every measured row also gets the evaluator's ``total_distance`` and ``avg_duration``, the DTW used
(``dtw``), an integer ``n_sequences`` and a ``warning`` when it scores fewer sentences than
``evaluation.statistics.min_sentences``. The sibling ``<table>_stats.csv`` (from :func:`score_table`) holds
a bootstrap interval for every metric of every measured row and paired tests between the systems.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelib.evaluation import dtw as dtw_methods
from pipelib.evaluation import statistics
from pipelib.evaluation.back_translator import load_back_translator, pose_inputs, translate
from pipelib.evaluation.metrics import METRIC_KEYS, scoring_frames
from pipelib.io import shards
from pipelib.io.atomic import atomic_path, write_text_atomic
from pipelib.skeletons.read import SkeletonSequence, read_split
from pipelib.training.checkpoint import weights_sha256

log = logging.getLogger("pipelib.evaluation")

PAPER_COLUMNS = ["DTW-MJE", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE", "chrF"]
EXTRA_METRICS = ["WER", "total_distance", "avg_duration"]
METRIC_COLUMNS = [*PAPER_COLUMNS, *EXTRA_METRICS]
COLUMNS = ["system", "source", *METRIC_COLUMNS, "split", "n_sequences", "dtw", "back_translator", "warning"]
STATS_COLUMNS = ["system", "back_translator", "metric", "versus", "estimate", "ci_low", "ci_high", "p_value",
                 "n_sequences", "resamples", "confidence", "seed", "dtw"]


def mean_pose_baseline(train: list[SkeletonSequence]) -> tuple[np.ndarray, int]:
    """Mean training pose (178, 3) over valid joints and the median training length in frames."""
    poses = np.concatenate([s.poses for s in train])
    mask = np.concatenate([s.joint_mask for s in train])
    count = np.maximum(mask.sum(axis=0), 1)[:, None]                        # (178, 1)
    mean = (poses * mask[..., None]).sum(axis=0) / count
    return mean.astype(np.float32), int(np.median([s.n_frames for s in train]))


def read_predicted(path: str | os.PathLike[str],
                   split: str) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Generated poses (L, 178, 3) of ``split`` by video id, and the frame rate (``fps`` attribute) of
    each video that records one."""
    poses, rates = {}, {}
    for v in shards.iter_videos(path, extras=False):
        if v.attrs.get("split") == split:
            poses[v.video_id] = v.features.reshape(v.n_frames, 178, 3)
            if "fps" in v.attrs:
                rates[v.video_id] = float(v.attrs["fps"])
    return poses, rates


def read_predictions(path: str | os.PathLike[str], split: str) -> dict[str, np.ndarray]:
    """Generated poses (L, 178, 3) of ``split`` by video id."""
    return read_predicted(path, split)[0]


def score_table(skeleton_h5: str | os.PathLike[str], predictions: Mapping[str, str | os.PathLike[str]],
                back_translator: str | os.PathLike[str],
                section: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measured rows for GT, each predicted system (name -> predictions file) and the mean pose, and
    their bootstrap statistics (STATS_COLUMNS).

    Frame rates come from the files: each ground-truth video's ``fps`` and each prediction's (a
    prediction that records none is taken to run at its ground truth's rate, as the generator's do).
    """
    split = section.get("split", "test")
    dtw, radius = section.get("dtw", "fastdtw"), int(section.get("dtw_radius", 1))
    dtw_label = dtw_methods.describe(dtw, radius)
    stats_cfg = statistics.settings(section.get("statistics"))
    gt = read_split(skeleton_h5, split)
    refs = [s.text for s in gt]
    gt_poses, gt_fps = [s.poses for s in gt], [s.fps for s in gt]
    model, vocab, _ = load_back_translator(back_translator)
    bt_id = f"{Path(back_translator).name}@weights-sha256:{weights_sha256(back_translator)[:16]}"
    mean, length = mean_pose_baseline(read_split(skeleton_h5, "train"))
    systems: dict[str, tuple[list[np.ndarray], list[float]]] = {"GT": (gt_poses, gt_fps)}
    for name, path in predictions.items():
        pred, rates = read_predicted(path, split)
        missing = [s.video_id for s in gt if s.video_id not in pred]
        if missing:
            raise ValueError(f"{path} has no prediction for {len(missing)} {split} videos, e.g. {missing[0]}")
        systems[name] = ([pred[s.video_id] for s in gt], [rates.get(s.video_id, s.fps) for s in gt])
    systems["mean-pose"] = ([np.repeat(mean[None], length, axis=0) for _ in gt], gt_fps)

    rows, per_system = [], {}
    warning = statistics.few_sentences_warning(len(gt), int(stats_cfg["min_sentences"]))
    if warning:
        log.warning("%s: %s", split, warning)
    for name, (poses, rates) in systems.items():
        pred_frames, gt_frames = scoring_frames(poses, gt_poses, rates, gt_fps)  # what the evaluator scores
        pose = statistics.pose_statistics(pred_frames, gt_frames, dtw, radius)  # DTW once per sentence
        hyps = translate(model, vocab, pose_inputs(pred_frames, step=1), beam=section.get("beam"))
        found = {**statistics.text_statistics(hyps, refs), **pose}
        per_system[name] = {k: found[k] for k in METRIC_KEYS}
        scores = {k: v.point for k, v in per_system[name].items()}
        rows.append({"system": name, "source": "measured", **scores, "split": split, "n_sequences": len(gt),
                     "dtw": dtw_label, "back_translator": bt_id, "warning": warning})
        log.info("%s: %s", name, {k: round(v, 4) for k, v in scores.items()})
    table = pd.DataFrame(rows, columns=COLUMNS).astype({"n_sequences": "Int64"})
    stats = statistics.bootstrap(per_system, int(stats_cfg["resamples"]), int(stats_cfg["seed"]),
                                 float(stats_cfg["confidence"]))
    stats = stats.assign(back_translator=bt_id, n_sequences=len(gt), resamples=int(stats_cfg["resamples"]),
                         confidence=float(stats_cfg["confidence"]), seed=int(stats_cfg["seed"]),
                         dtw=dtw_label)
    return table, stats[STATS_COLUMNS]


def add_reported(table: pd.DataFrame, reported_csv: str | os.PathLike[str], table_name: str,
                 dataset_kind: str) -> pd.DataFrame:
    """Append the paper's rows for this table and kind, and measured - reported differences."""
    text = "".join(ln for ln in Path(reported_csv).read_text().splitlines(True) if not ln.startswith("#"))
    ref = pd.read_csv(io.StringIO(text))
    ref = ref[(ref["table"] == table_name) & (ref["dataset_kind"] == dataset_kind)]
    rows = table.to_dict("records")
    for _, r in ref.iterrows():
        measured = table[(table["system"] == r["system"]) & (table["source"] == "measured")]
        rows.append({"system": r["system"], "source": "reported", **{c: r[c] for c in PAPER_COLUMNS}})
        if len(measured):
            diff = {c: float(measured.iloc[0][c]) - float(r[c]) for c in PAPER_COLUMNS}
            rows.append({"system": r["system"], "source": "difference", **diff})
    return pd.DataFrame(rows, columns=COLUMNS).astype({"n_sequences": "Int64"})


def write_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """CSV with metrics rounded to 4 decimals and integer ``n_sequences``, written atomically."""
    out = table.copy()
    for c in METRIC_COLUMNS:
        out[c] = out[c].astype(float).round(4)
    out["n_sequences"] = out["n_sequences"].astype("Int64")
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL)


def stats_path(table_path: str | os.PathLike[str]) -> Path:
    """Where a table's statistics go: ``table5.csv`` -> ``table5_stats.csv``."""
    p = Path(table_path)
    return p.with_name(f"{p.stem}_stats{p.suffix}")


def write_stats(stats: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """The statistics CSV (STATS_COLUMNS; estimates, bounds and p-values to 6 decimals), atomically."""
    out = stats.copy()
    for c in ("estimate", "ci_low", "ci_high", "p_value"):
        out[c] = out[c].astype(float).round(6)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL)


def _cell(metric: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if metric in ("DTW-MJE", "total_distance", "avg_duration") else f"{value:.2f}"
    return str(value)


def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *["| " + " | ".join(r) + " |" for r in rows]]


def write_report(table: pd.DataFrame, path: str | os.PathLike[str], title: str, notes: Mapping[str, str],
                 stats: pd.DataFrame | None = None) -> None:
    """A short Markdown report a person can read in a terminal: the table (with each measured value's
    bootstrap interval when ``stats`` is given), any few-sentences warning, the paired tests, notes."""
    lines = [f"# {title}", ""]
    own = {}
    if stats is not None:
        for r in stats[stats["versus"].fillna("") == ""].itertuples():
            own[(r.system, r.back_translator, r.metric)] = (r.ci_low, r.ci_high)
    rows = []
    for _, r in table.iterrows():
        cells = [str(r["system"]), str(r["source"])]
        for c in METRIC_COLUMNS:
            cell = _cell(c, r[c])
            ci = own.get((r["system"], r["back_translator"], c)) if r["source"] == "measured" else None
            if cell and ci is not None and np.isfinite(ci[0]):
                cell += f" [{_cell(c, float(ci[0]))}, {_cell(c, float(ci[1]))}]"
            cells.append(cell)
        rows.append(cells)
    lines += _markdown(["system", "source", *METRIC_COLUMNS], rows)
    warnings = sorted({w for w in table.get("warning", pd.Series(dtype=str)).fillna("") if w})
    lines += [""] + [f"**Warning:** {w}." for w in warnings]
    if stats is not None and len(stats):
        first = stats.iloc[0]
        lines += ["", f"Intervals: {float(first['confidence']):.0%} paired bootstrap over the "
                  f"{int(first['n_sequences'])} sentences, {int(first['resamples'])} resamples, seed "
                  f"{int(first['seed'])}. DTW: {first['dtw']}.", "",
                  "Paired differences (system - versus) with their two-sided bootstrap p-values:", ""]
        pairs = stats[stats["versus"].fillna("") != ""]
        several = pairs["back_translator"].nunique() > 1
        prow = []
        for (bt, system, versus), g in pairs.groupby(["back_translator", "system", "versus"], sort=False):
            by_metric = {m: (e, p) for m, e, p in zip(g["metric"], g["estimate"], g["p_value"], strict=True)}
            label = f"{system} vs {versus}" + (f" ({bt})" if several else "")
            prow.append([label, *[
                "" if m not in by_metric or not np.isfinite(by_metric[m][0]) else
                f"{by_metric[m][0] + 0.0:+.4g} (p={by_metric[m][1]:.3f})" for m in METRIC_COLUMNS]])
        lines += _markdown(["pair", *METRIC_COLUMNS], prow)
    lines += ["", *[f"- {k}: {v}" for k, v in notes.items()], ""]
    write_text_atomic(path, "\n".join(lines))
