"""The headline tables (DARSLP Table 5 / Table 6): every system scored with the SLRTP metrics.

Systems, one row each: ``GT`` (back-translation of the ground-truth test poses: the ceiling),
``DARSLP`` (generator phase 1), ``DARSLP-KL`` (phase 2) and ``mean-pose`` (the mean training pose
held for the median training length: the floor). For corpora the paper reports on, its numbers
follow as ``reported`` rows with a ``difference`` row (measured - reported) per system.
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

from pipelib.evaluation.back_translator import load_back_translator, pose_inputs, translate
from pipelib.evaluation.metrics import score_system
from pipelib.io import shards
from pipelib.io.atomic import atomic_path, write_text_atomic
from pipelib.skeletons.read import SkeletonSequence, read_split
from pipelib.training.checkpoint import weights_sha256

log = logging.getLogger("pipelib.evaluation")

PAPER_COLUMNS = ["DTW-MJE", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE", "chrF"]
COLUMNS = ["system", "source", *PAPER_COLUMNS, "WER", "split", "n_sequences", "back_translator"]


def mean_pose_baseline(train: list[SkeletonSequence]) -> tuple[np.ndarray, int]:
    """Mean training pose (178, 3) over valid joints and the median training length in frames."""
    poses = np.concatenate([s.poses for s in train])
    mask = np.concatenate([s.joint_mask for s in train])
    count = np.maximum(mask.sum(axis=0), 1)[:, None]                        # (178, 1)
    mean = (poses * mask[..., None]).sum(axis=0) / count
    return mean.astype(np.float32), int(np.median([s.n_frames for s in train]))


def read_predictions(path: str | os.PathLike[str], split: str) -> dict[str, np.ndarray]:
    """Generated poses (L, 178, 3) of ``split`` by video id."""
    return {v.video_id: v.features.reshape(v.n_frames, 178, 3)
            for v in shards.iter_videos(path, extras=False) if v.attrs.get("split") == split}


def score_table(skeleton_h5: str | os.PathLike[str], predictions: Mapping[str, str | os.PathLike[str]],
                back_translator: str | os.PathLike[str], section: Mapping[str, Any],
                fps: float = 25.0) -> pd.DataFrame:
    """Measured rows for GT, each predicted system (name -> predictions file) and the mean pose."""
    split = section.get("split", "test")
    gt = read_split(skeleton_h5, split)
    refs = [s.text for s in gt]
    model, vocab, _ = load_back_translator(back_translator)
    bt_id = f"{Path(back_translator).name}@weights-sha256:{weights_sha256(back_translator)[:16]}"
    mean, length = mean_pose_baseline(read_split(skeleton_h5, "train"))
    systems: dict[str, list[np.ndarray]] = {"GT": [s.poses for s in gt]}
    for name, path in predictions.items():
        pred = read_predictions(path, split)
        missing = [s.video_id for s in gt if s.video_id not in pred]
        if missing:
            raise ValueError(f"{path} has no prediction for {len(missing)} {split} videos, e.g. {missing[0]}")
        systems[name] = [pred[s.video_id] for s in gt]
    systems["mean-pose"] = [np.repeat(mean[None], length, axis=0) for _ in gt]

    rows = []
    for name, poses in systems.items():
        hyps = translate(model, vocab, pose_inputs(poses, fps), beam=section.get("beam"))
        scores = score_system(hyps, refs, poses, [s.poses for s in gt], fps=fps,
                              dtw=section.get("dtw", "fastdtw"), radius=int(section.get("dtw_radius", 1)))
        rows.append({"system": name, "source": "measured", **scores, "split": split,
                     "n_sequences": len(gt), "back_translator": bt_id})
        log.info("%s: %s", name, {k: round(v, 4) for k, v in scores.items()})
    return pd.DataFrame(rows, columns=COLUMNS)


def add_reported(table: pd.DataFrame, reported_csv: str | os.PathLike[str], table_name: str,
                 dataset_kind: str) -> pd.DataFrame:
    """Append the paper's rows for this table and kind, and measured - reported differences."""
    text = "".join(ln for ln in Path(reported_csv).read_text().splitlines(True) if not ln.startswith("#"))
    ref = pd.read_csv(io.StringIO(text))
    ref = ref[(ref["table"] == table_name) & (ref["dataset_kind"] == dataset_kind)]
    rows = [table]
    for _, r in ref.iterrows():
        measured = table[(table["system"] == r["system"]) & (table["source"] == "measured")]
        reported = {"system": r["system"], "source": "reported", **{c: r[c] for c in PAPER_COLUMNS}}
        rows.append(pd.DataFrame([reported], columns=COLUMNS))
        if len(measured):
            diff = {c: float(measured.iloc[0][c]) - float(r[c]) for c in PAPER_COLUMNS}
            diff_row = {"system": r["system"], "source": "difference", **diff}
            rows.append(pd.DataFrame([diff_row], columns=COLUMNS))
    return pd.concat(rows, ignore_index=True)


def write_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """CSV with metrics rounded to 4 decimals, written atomically."""
    out = table.copy()
    for c in [*PAPER_COLUMNS, "WER"]:
        out[c] = out[c].astype(float).round(4)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL)


def write_report(table: pd.DataFrame, path: str | os.PathLike[str], title: str,
                 notes: Mapping[str, str]) -> None:
    """A short Markdown report a person can read in a terminal."""
    lines = [f"# {title}", ""]
    shown = table[["system", "source", *PAPER_COLUMNS, "WER"]].copy()
    header = "| " + " | ".join(shown.columns) + " |"
    lines += [header, "|" + "---|" * len(shown.columns)]
    for _, r in shown.iterrows():
        cells = [f"{v:.4f}" if isinstance(v, float) and c in ("DTW-MJE",) else
                 f"{v:.2f}" if isinstance(v, float) else str(v) for c, v in r.items()]
        lines.append("| " + " | ".join("" if x == "nan" else x for x in cells) + " |")
    lines += ["", *[f"- {k}: {v}" for k, v in notes.items()], ""]
    write_text_atomic(path, "\n".join(lines))

