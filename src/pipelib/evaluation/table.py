"""The headline tables (DARSLP Table 5 / Table 6): every system scored with the SLRTP metrics.

A row is one (system, back-translator) pair. Systems: ``GT`` (the ground-truth test poses: the
ceiling), ``DARSLP`` (generator phase 1), ``DARSLP-KL`` (phase 2), any configured external predictions
(e.g. the challenge's ``PT_baseline_test.pt``) and ``mean-pose`` (the mean training pose held for the
median training length: the floor). Back-translators: ``trained`` (this pipeline's) and / or ``slrtp``
(the SLRTP 2025 evaluation's model), named in ``back_translator_kind`` and identified by file and
weights hash in ``back_translator``. Pose metrics (DTW-MJE) do not depend on the back-translator.

Skeleton layouts: each system's poses have a layout (``layout``); when they meet a back-translator or
ground truth of another layout, ``layout_note`` says so and a warning is logged, or, with
``evaluation.layout_mismatch: refuse``, scoring stops with that sentence.

For corpora the paper reports on, its numbers follow as ``reported`` rows with a ``difference`` row
(measured - reported) per system, against the measured rows of the back-translator kind the paper
used (``slrtp`` for Table 5) when present, else against each measured row.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelib.evaluation.back_translator import pose_inputs
from pipelib.evaluation.back_translators import BackTranslator
from pipelib.evaluation.metrics import METRIC_KEYS, score_system
from pipelib.evaluation.predictions import PredictionSource, align_to_ids, read_prediction_file
from pipelib.io.atomic import atomic_path, write_text_atomic
from pipelib.skeletons.layout import SLRTP, check_layout, layout_mismatch
from pipelib.skeletons.read import SkeletonSequence, read_layout, read_split

log = logging.getLogger("pipelib.evaluation")

PAPER_COLUMNS = ["DTW-MJE", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE", "chrF"]
#: Every metric of ``score_system``, the paper's first.
METRIC_COLUMNS = [*PAPER_COLUMNS, *(k for k in METRIC_KEYS if k not in PAPER_COLUMNS)]
KEY_COLUMNS = ["system", "source", "back_translator_kind"]
INFO_COLUMNS = ["split", "n_sequences", "back_translator", "layout", "layout_note"]
COLUMNS = [*KEY_COLUMNS, *METRIC_COLUMNS, *INFO_COLUMNS]
RESERVED_SYSTEMS = ("GT", "DARSLP", "DARSLP-KL", "mean-pose")
LAYOUT_POLICIES = ("warn", "refuse")


@dataclass
class SystemPoses:
    """One system's poses in ground-truth order, their frame rate and layout."""

    name: str
    poses: list[np.ndarray]
    fps: float
    layout: str | None


def mean_pose_baseline(train: list[SkeletonSequence]) -> tuple[np.ndarray, int]:
    """Mean training pose (178, 3) over valid joints and the median training length in frames."""
    poses = np.concatenate([s.poses for s in train])
    mask = np.concatenate([s.joint_mask for s in train])
    count = np.maximum(mask.sum(axis=0), 1)[:, None]                        # (178, 1)
    mean = (poses * mask[..., None]).sum(axis=0) / count
    return mean.astype(np.float32), int(np.median([s.n_frames for s in train]))


def load_system(name: str, source: PredictionSource | str | os.PathLike[str], ids: Sequence[str], split: str,
                fps: float) -> SystemPoses:
    """The poses of one predicted system, aligned to ``ids``; its layout is what the file records or
    the source says (they must agree), else the evaluator's ``slrtp178``."""
    src = source if isinstance(source, PredictionSource) else PredictionSource(str(source))
    poses, recorded = read_prediction_file(src.path, split)
    if src.layout is not None:
        check_layout(src.layout, f"predictions {name}")
        if recorded is not None and recorded != src.layout:
            raise ValueError(f"predictions {name}: the config says layout {src.layout} but {src.path} "
                             f"records {recorded}")
    layout = src.layout or recorded or SLRTP
    aligned = align_to_ids(poses, ids, f"predictions {name} ({src.path}, split {split})")
    return SystemPoses(name, aligned, float(src.fps or fps), layout)


def _layout_notes(system: SystemPoses, gt_layout: str, bt: BackTranslator) -> list[str]:
    notes = [layout_mismatch(system.layout, bt.layout, f"the {bt.kind} back-translator"),
             layout_mismatch(system.layout, gt_layout, "ground truth (DTW-MJE)")]
    return [n for n in notes if n]


def score_table(skeleton_h5: str | os.PathLike[str],
                predictions: Mapping[str, PredictionSource | str | os.PathLike[str]],
                back_translators: Sequence[BackTranslator], section: Mapping[str, Any],
                fps: float = 25.0) -> pd.DataFrame:
    """Measured rows: every system (GT, ``predictions`` by name, mean-pose) x every back-translator.

    ``section``: the ``evaluation`` config (``split``, ``dtw``, ``dtw_radius``, ``layout_mismatch``).
    ``fps``: the dataset's frame rate (ground truth, and predictions whose source gives none).
    """
    split = section.get("split", "test")
    policy = section.get("layout_mismatch", "warn")
    if policy not in LAYOUT_POLICIES:
        raise ValueError(f"evaluation.layout_mismatch must be one of {LAYOUT_POLICIES}, got {policy!r}")
    clash = sorted(set(predictions) & {"GT", "mean-pose"})
    if clash:
        raise ValueError(f"prediction system name(s) {clash} are reserved for the table's own rows; "
                         f"rename them")
    gt = read_split(skeleton_h5, split)
    gt_layout = read_layout(skeleton_h5)
    ids, refs = [s.video_id for s in gt], [s.text for s in gt]
    gt_poses = [s.poses for s in gt]
    mean, length = mean_pose_baseline(read_split(skeleton_h5, "train"))
    systems = [SystemPoses("GT", gt_poses, fps, gt_layout)]
    systems += [load_system(name, src, ids, split, fps) for name, src in predictions.items()]
    floor = [np.repeat(mean[None], length, axis=0) for _ in gt]                  # (L, 178, 3) each
    systems.append(SystemPoses("mean-pose", floor, fps, gt_layout))

    notes = {(s.name, bt.kind): _layout_notes(s, gt_layout, bt) for s in systems for bt in back_translators}
    found = sorted({n for v in notes.values() for n in v})
    for note in found:
        if policy == "refuse":
            raise ValueError(f"{note}; set evaluation.layout_mismatch: warn to score them anyway (the table "
                             f"then says so), or score poses of the matching layout")
        log.warning("layout mismatch: %s", note)

    rows = []
    for system in systems:
        pose_scores = score_system(None, None, system.poses, gt_poses, fps=system.fps, gt_fps=fps,
                                   dtw=section.get("dtw", "fastdtw"),
                                   radius=int(section.get("dtw_radius", 1)))
        inputs = pose_inputs(system.poses, system.fps)                    # (T', 534) at 12.5 fps
        for bt in back_translators:
            text_scores = score_system(bt.translate(inputs), refs)
            scores = {k: v if not math.isnan(v) else pose_scores.get(k, math.nan)
                      for k, v in text_scores.items()}
            rows.append({"system": system.name, "source": "measured", "back_translator_kind": bt.kind,
                         **scores, "split": split, "n_sequences": len(gt), "back_translator": bt.identity,
                         "layout": system.layout or "",
                         "layout_note": "; ".join(notes[system.name, bt.kind])})
            log.info("%s / %s: %s", system.name, bt.kind, {k: round(v, 4) for k, v in scores.items()})
    return pd.DataFrame(rows, columns=COLUMNS)


def add_reported(table: pd.DataFrame, reported_csv: str | os.PathLike[str], table_name: str,
                 dataset_kind: str) -> pd.DataFrame:
    """Append the paper's rows for this table and kind, and measured - reported differences."""
    text = "".join(ln for ln in Path(reported_csv).read_text().splitlines(True) if not ln.startswith("#"))
    ref = pd.read_csv(io.StringIO(text), keep_default_na=False)
    ref = ref[(ref["table"] == table_name) & (ref["dataset_kind"] == dataset_kind)]
    rows = [table]
    for _, r in ref.iterrows():
        kind = str(r.get("back_translator_kind", ""))
        measured = table[(table["system"] == r["system"]) & (table["source"] == "measured")]
        if kind and (measured["back_translator_kind"] == kind).any():
            measured = measured[measured["back_translator_kind"] == kind]
        reported = {"system": r["system"], "source": "reported", "back_translator_kind": kind,
                    **{c: float(r[c]) for c in PAPER_COLUMNS}}
        rows.append(pd.DataFrame([reported], columns=COLUMNS))
        for _, m in measured.iterrows():
            diff = {c: float(m[c]) - float(r[c]) for c in PAPER_COLUMNS}
            rows.append(pd.DataFrame([{"system": r["system"], "source": "difference",
                                       "back_translator_kind": m["back_translator_kind"], **diff}],
                                     columns=COLUMNS))
    return pd.concat(rows, ignore_index=True)


def write_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """CSV with metrics rounded to 4 decimals, written atomically."""
    out = table.copy()
    for c in METRIC_COLUMNS:
        out[c] = out[c].astype(float).round(4)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL)


def write_report(table: pd.DataFrame, path: str | os.PathLike[str], title: str,
                 notes: Mapping[str, str]) -> None:
    """A short Markdown report a person can read in a terminal."""
    lines = [f"# {title}", ""]
    shown = table[[*KEY_COLUMNS, *METRIC_COLUMNS]].copy()
    header = "| " + " | ".join(shown.columns) + " |"
    lines += [header, "|" + "---|" * len(shown.columns)]
    for _, r in shown.iterrows():
        cells = [f"{v:.4f}" if isinstance(v, float) and c in ("DTW-MJE",) else
                 f"{v:.2f}" if isinstance(v, float) else str(v) for c, v in r.items()]
        lines.append("| " + " | ".join("" if x == "nan" else x for x in cells) + " |")
    lines += ["", *[f"- {k}: {v}" for k, v in notes.items()], ""]
    write_text_atomic(path, "\n".join(lines))
