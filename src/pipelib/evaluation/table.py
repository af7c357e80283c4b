"""The headline tables (DARSLP Table 5 / Table 6): every system scored with the SLRTP metrics.

A row is one (system, back-translator) pair. Systems: ``GT`` (the ground-truth test poses: the
ceiling), the pipeline's generator systems (``production.systems``: ``DARSLP``, ``DARSLP-KL``, ...),
any configured external predictions
(e.g. the challenge's ``PT_baseline_test.pt``) and ``mean-pose`` (the mean training pose held for the
median training length: the floor). Back-translators: ``trained`` (this pipeline's) and / or ``slrtp``
(the SLRTP 2025 evaluation's model), named in ``back_translator_kind`` and identified by file and
weights hash in ``back_translator``.

Every system is scored on the frames the evaluator scores (``metrics.scoring_frames``, with each
video's frame rate from the files): its pose metrics (DTW-MJE, total_distance, avg_duration) once, shared
by its rows, and each back-translator translates those same frames. Every measured row also gives the
DTW used (``dtw``), an integer ``n_sequences`` and a ``warning`` when it scores fewer sentences than
``evaluation.statistics.min_sentences``. The sibling ``<table>_stats.csv`` (from :func:`score_table`)
holds a bootstrap interval for every metric of every measured row and paired tests between the systems
scored by the same back-translator.

Skeleton layouts: each system's poses have a layout (``layout``); when they meet a back-translator or
ground truth of another layout, ``layout_note`` says so and a warning is logged, or, with
``evaluation.layout_mismatch: refuse``, scoring stops with that sentence.

A system trained with several seeds (its predictions given as ``{seed: source}``) is scored run by
run: its ``measured`` row holds the mean over its runs, a ``seed std`` row their standard deviation
(ddof 1), and its statistics are those of the seed mean (``statistics.seed_mean``). Every run of every
such system is also a row of the sibling ``<table>_seeds.csv`` (:data:`SEED_COLUMNS`).

For corpora the paper reports on, its numbers follow as ``reported`` rows with a ``difference`` row
(measured - reported) per system, against the measured rows of the back-translator kind the paper
used (``slrtp`` for Table 5) when present, else against each measured row.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelib.evaluation.back_translator import pose_inputs
from pipelib.evaluation.back_translators import BackTranslator
from pipelib.evaluation.predictions import PredictionSource, align_to_ids, read_prediction_file
from pipelib.io.atomic import atomic_path, write_text_atomic
from pipelib.metrics import catalog, statistics
from pipelib.metrics import dtw as dtw_methods
from pipelib.metrics.slrtp import scoring_frames
from pipelib.production.systems import RESERVED as RESERVED_SYSTEMS  # the table's own rows
from pipelib.skeletons.layout import SLRTP, check_layout, layout_mismatch
from pipelib.skeletons.read import SkeletonSequence, read_layout, read_split

log = logging.getLogger("pipelib.evaluation")

#: The columns DARSLP reports (``reported`` and ``difference`` rows; ``pipelib.metrics.catalog.PAPER``).
PAPER_COLUMNS = list(catalog.PAPER)
#: Every metric of ``score_system``, the paper's first (then WER, total_distance, avg_duration).
METRIC_COLUMNS = list(catalog.SLRTP)
KEY_COLUMNS = ["system", "source", "back_translator_kind"]
INFO_COLUMNS = ["split", "n_sequences", "dtw", "back_translator", "layout", "layout_note", "warning"]
COLUMNS = [*KEY_COLUMNS, *METRIC_COLUMNS, *INFO_COLUMNS]
STATS_COLUMNS = ["system", "back_translator_kind", "back_translator", "metric", "versus", "estimate",
                 "ci_low", "ci_high", "p_value", "n_sequences", "resamples", "confidence", "seed", "dtw"]
SEED_COLUMNS = ["system", "seed", "back_translator_kind", *METRIC_COLUMNS, "split", "n_sequences",
                "back_translator"]
#: ``source`` of the row giving a several-seed system's standard deviation over its runs.
SEED_STD = "seed std"
#: Predictions of a system trained with several seeds: seed -> its run's predictions.
SeedRuns = Mapping[int, "PredictionSource | str | os.PathLike[str]"]
LAYOUT_POLICIES = ("warn", "refuse")


@dataclass
class SystemPoses:
    """One system's poses in ground-truth order, each video's frame rate and the poses' layout."""

    name: str
    poses: list[np.ndarray]
    fps: list[float]
    layout: str | None


def mean_pose_baseline(train: list[SkeletonSequence]) -> tuple[np.ndarray, int]:
    """Mean training pose (178, 3) over valid joints and the median training length in frames."""
    poses = np.concatenate([s.poses for s in train])
    mask = np.concatenate([s.joint_mask for s in train])
    count = np.maximum(mask.sum(axis=0), 1)[:, None]                        # (178, 1)
    mean = (poses * mask[..., None]).sum(axis=0) / count
    return mean.astype(np.float32), int(np.median([s.n_frames for s in train]))


def load_system(name: str, source: PredictionSource | str | os.PathLike[str], ids: Sequence[str], split: str,
                gt_fps: Sequence[float]) -> SystemPoses:
    """The poses of one predicted system, aligned to ``ids``; its layout is what the file records or
    the source says (they must agree), else the evaluator's ``slrtp178``; each video's frame rate is
    what the file records, else the source's ``fps``, else its ground truth's (``gt_fps``, ids order)."""
    src = source if isinstance(source, PredictionSource) else PredictionSource(str(source))
    poses, recorded, rates = read_prediction_file(src.path, split)
    if src.layout is not None:
        check_layout(src.layout, f"predictions {name}")
        if recorded is not None and recorded != src.layout:
            raise ValueError(f"predictions {name}: the config says layout {src.layout} but {src.path} "
                             f"records {recorded}")
    layout = src.layout or recorded or SLRTP
    aligned = align_to_ids(poses, ids, f"predictions {name} ({src.path}, split {split})")
    return SystemPoses(name, aligned, src.rates(rates, ids, gt_fps), layout)


#: ``back_translator_kind`` of the rows scored without a back-translator (pose metrics only).
NO_BACK_TRANSLATOR = "none"


def _layout_notes(system: SystemPoses, gt_layout: str, bt: BackTranslator | None) -> list[str]:
    notes = [layout_mismatch(system.layout, bt.layout, f"the {bt.kind} back-translator") if bt else "",
             layout_mismatch(system.layout, gt_layout, "ground truth (DTW-MJE)")]
    return [n for n in notes if n]


def _kind(bt: BackTranslator | None) -> str:
    return bt.kind if bt is not None else NO_BACK_TRANSLATOR


def score_table(skeleton_h5: str | os.PathLike[str],
                predictions: Mapping[str, PredictionSource | str | os.PathLike[str] | SeedRuns],
                back_translators: Sequence[BackTranslator],
                section: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measured rows: every system (GT, ``predictions`` by name, mean-pose) x every back-translator, and
    their bootstrap statistics (STATS_COLUMNS), one resampling plan per back-translator's rows. With no
    back-translator, one row per system gives the pose metrics alone (``back_translator_kind`` ``none``,
    text metrics empty). A prediction given as ``{seed: source}`` is scored run by run (module doc);
    :func:`score_tables` also returns the per-run rows.

    ``section``: the ``evaluation`` config (``split``, ``dtw``, ``dtw_radius``, ``beam``,
    ``layout_mismatch``, ``statistics``). Frame rates come from the files (see :func:`load_system`).
    """
    table, stats, _ = score_tables(skeleton_h5, predictions, back_translators, section)
    return table, stats


def score_tables(skeleton_h5: str | os.PathLike[str],
                 predictions: Mapping[str, PredictionSource | str | os.PathLike[str] | SeedRuns],
                 back_translators: Sequence[BackTranslator],
                 section: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`score_table`'s table and statistics, and the rows of every seeded run (SEED_COLUMNS)."""
    split = section.get("split", "test")
    policy = section.get("layout_mismatch", "warn")
    if policy not in LAYOUT_POLICIES:
        raise ValueError(f"evaluation.layout_mismatch must be one of {LAYOUT_POLICIES}, got {policy!r}")
    clash = sorted(set(predictions) & set(RESERVED_SYSTEMS))
    if clash:
        raise ValueError(f"prediction system name(s) {clash} are reserved for the table's own rows; "
                         f"rename them")
    dtw, radius = section.get("dtw", "fastdtw"), int(section.get("dtw_radius", 1))
    dtw_label = dtw_methods.describe(dtw, radius)
    stats_cfg = statistics.settings(section.get("statistics"))
    gt = read_split(skeleton_h5, split)
    gt_layout = read_layout(skeleton_h5)
    ids, refs = [s.video_id for s in gt], [s.text for s in gt]
    gt_poses, gt_fps = [s.poses for s in gt], [s.fps for s in gt]
    mean, length = mean_pose_baseline(read_split(skeleton_h5, "train"))
    runs: dict[str, list[tuple[int | None, SystemPoses]]] = {"GT": [(None, SystemPoses("GT", gt_poses, gt_fps,
                                                                                          gt_layout))]}
    for name, src in predictions.items():
        seeded = src.items() if isinstance(src, Mapping) else [(None, src)]
        runs[name] = [(seed, load_system(name, one, ids, split, gt_fps)) for seed, one in seeded]
        if not runs[name]:
            raise ValueError(f"predictions {name}: no run to score (an empty seed -> predictions mapping)")
    floor = [np.repeat(mean[None], length, axis=0) for _ in gt]                  # (L, 178, 3) each
    runs["mean-pose"] = [(None, SystemPoses("mean-pose", floor, gt_fps, gt_layout))]

    scorers: list[BackTranslator | None] = list(back_translators) or [None]
    notes = {(name, _kind(bt)): list(dict.fromkeys(n for _, s in system_runs
                                                   for n in _layout_notes(s, gt_layout, bt)))
             for name, system_runs in runs.items() for bt in scorers}
    found = sorted({n for v in notes.values() for n in v})
    for note in found:
        if policy == "refuse":
            raise ValueError(f"{note}; set evaluation.layout_mismatch: warn to score them anyway (the table "
                             f"then says so), or score poses of the matching layout")
        log.warning("layout mismatch: %s", note)
    warning = statistics.few_sentences_warning(len(gt), int(stats_cfg["min_sentences"]))
    if warning:
        log.warning("%s: %s", split, warning)

    rows: list[dict[str, Any]] = []
    seed_rows: list[dict[str, Any]] = []
    per_bt: dict[str, dict[str, dict[str, statistics.MetricStats]]] = {_kind(bt): {} for bt in scorers}
    for name, system_runs in runs.items():
        run_stats = [_run_statistics(s, gt_poses, gt_fps, refs, scorers, dtw, radius) for _, s in system_runs]
        for bt in scorers:
            kind = _kind(bt)
            identity = bt.identity if bt is not None else ""
            per_run = [found[kind] for found in run_stats]
            metrics = [m for m in METRIC_COLUMNS if m in per_run[0]]
            per_bt[kind][name] = {m: statistics.seed_mean([r[m] for r in per_run]) for m in metrics}
            scores = {m: v.point for m, v in per_bt[kind][name].items()}
            info = {"split": split, "n_sequences": len(gt), "back_translator": identity}
            rows.append({"system": name, "source": "measured", "back_translator_kind": kind, **scores, **info,
                         "dtw": dtw_label, "layout": system_runs[0][1].layout or "",
                         "layout_note": "; ".join(notes[name, kind]), "warning": warning})
            log.info("%s / %s: %s", name, kind, {k: round(v, 4) for k, v in scores.items()})
            if len(per_run) > 1:
                rows.append({"system": name, "source": SEED_STD, "back_translator_kind": kind,
                             **{m: float(np.std([r[m].point for r in per_run], ddof=1)) for m in metrics},
                             **info, "dtw": dtw_label})
            seed_rows += [{"system": name, "seed": seed, "back_translator_kind": kind,
                           **{m: r[m].point for m in metrics}, **info}
                          for (seed, _), r in zip(system_runs, per_run, strict=True) if seed is not None]
    table = pd.DataFrame(rows, columns=COLUMNS).astype({"n_sequences": "Int64"})
    stats = []
    for bt in scorers:
        boot = statistics.bootstrap(per_bt[_kind(bt)], int(stats_cfg["resamples"]), int(stats_cfg["seed"]),
                                    float(stats_cfg["confidence"]))
        stats.append(boot.assign(back_translator_kind=_kind(bt),
                                 back_translator=bt.identity if bt is not None else "",
                                 n_sequences=len(gt), resamples=int(stats_cfg["resamples"]),
                                 confidence=float(stats_cfg["confidence"]), seed=int(stats_cfg["seed"]),
                                 dtw=dtw_label))
    seeds = pd.DataFrame(seed_rows, columns=SEED_COLUMNS).astype({"seed": "Int64", "n_sequences": "Int64"})
    return table, pd.concat(stats, ignore_index=True)[STATS_COLUMNS], seeds


def _run_statistics(system: SystemPoses, gt_poses: Sequence[np.ndarray], gt_fps: Sequence[float],
                    refs: Sequence[str], scorers: Sequence[BackTranslator | None], dtw: str,
                    radius: int) -> dict[str, dict[str, statistics.MetricStats]]:
    """One run's metric statistics per back-translator kind, on the frames the evaluator scores."""
    pred_frames, gt_frames = scoring_frames(system.poses, gt_poses, system.fps, gt_fps)  # as scored
    pose = statistics.pose_statistics(pred_frames, gt_frames, dtw, radius)  # DTW once per sentence
    inputs = pose_inputs(pred_frames, step=1)                        # (T', 534): the scored frames
    out = {}
    for bt in scorers:
        text = statistics.text_statistics(bt.translate(inputs), refs) if bt is not None else {}
        found = {**text, **pose}
        out[_kind(bt)] = {k: found[k] for k in METRIC_COLUMNS if k in found}
    return out


def add_reported(table: pd.DataFrame, reported_csv: str | os.PathLike[str], table_name: str,
                 dataset_kind: str) -> pd.DataFrame:
    """Append the paper's rows for this table and kind, and measured - reported differences."""
    text = "".join(ln for ln in Path(reported_csv).read_text().splitlines(True) if not ln.startswith("#"))
    ref = pd.read_csv(io.StringIO(text), keep_default_na=False)
    ref = ref[(ref["table"] == table_name) & (ref["dataset_kind"] == dataset_kind)]
    rows = table.to_dict("records")
    for _, r in ref.iterrows():
        kind = str(r.get("back_translator_kind", ""))
        measured = table[(table["system"] == r["system"]) & (table["source"] == "measured")]
        if kind and (measured["back_translator_kind"] == kind).any():
            measured = measured[measured["back_translator_kind"] == kind]
        rows.append({"system": r["system"], "source": "reported", "back_translator_kind": kind,
                     **{c: float(r[c]) for c in PAPER_COLUMNS}})
        for _, m in measured.iterrows():
            rows.append({"system": r["system"], "source": "difference",
                         "back_translator_kind": m["back_translator_kind"],
                         **{c: float(m[c]) - float(r[c]) for c in PAPER_COLUMNS}})
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


def seeds_path(table_path: str | os.PathLike[str]) -> Path:
    """Where a table's per-run rows go: ``table5.csv`` -> ``table5_seeds.csv``."""
    p = Path(table_path)
    return p.with_name(f"{p.stem}_seeds{p.suffix}")


def write_seeds(seeds: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """The per-run CSV (SEED_COLUMNS; metrics to 4 decimals like the table), written atomically."""
    out = seeds.copy()
    for c in METRIC_COLUMNS:
        out[c] = out[c].astype(float).round(4)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL)


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
        return catalog.cell(metric, value)
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
        cells = ["" if pd.isna(r[c]) else str(r[c]) for c in KEY_COLUMNS]
        for c in METRIC_COLUMNS:
            cell = _cell(c, r[c])
            ci = own.get((r["system"], r["back_translator"], c)) if r["source"] == "measured" else None
            if cell and ci is not None and np.isfinite(ci[0]):
                cell += f" [{_cell(c, float(ci[0]))}, {_cell(c, float(ci[1]))}]"
            cells.append(cell)
        rows.append(cells)
    lines += _markdown([*KEY_COLUMNS, *METRIC_COLUMNS], rows)
    warnings = sorted({w for w in table.get("warning", pd.Series(dtype=str)).fillna("") if w})
    lines += [""] + [f"**Warning:** {w}." for w in warnings]
    if stats is not None and len(stats):
        first = stats.iloc[0]
        lines += ["", f"Intervals: {float(first['confidence']):.0%} paired bootstrap over the "
                  f"{int(first['n_sequences'])} sentences, {int(first['resamples'])} resamples, seed "
                  f"{int(first['seed'])}, one resampling plan per back-translator's rows. "
                  f"DTW: {first['dtw']}.",
                  "", "Paired differences (system - versus) with their two-sided bootstrap p-values:", ""]
        pairs = stats[stats["versus"].fillna("") != ""]
        several = pairs["back_translator_kind"].nunique() > 1
        prow = []
        groups = pairs.groupby(["back_translator_kind", "system", "versus"], sort=False)
        for (kind, system, versus), g in groups:
            by_metric = {m: (e, p) for m, e, p in zip(g["metric"], g["estimate"], g["p_value"], strict=True)}
            label = f"{system} vs {versus}" + (f" ({kind} back-translator)" if several else "")
            prow.append([label, *[
                "" if m not in by_metric or not np.isfinite(by_metric[m][0]) else
                f"{by_metric[m][0] + 0.0:+.4g} (p={by_metric[m][1]:.3f})" for m in METRIC_COLUMNS]])
        lines += _markdown(["pair", *METRIC_COLUMNS], prow)
    lines += ["", *[f"- {k}: {v}" for k, v in notes.items()], ""]
    write_text_atomic(path, "\n".join(lines))
