"""Production steps that combine files for people: the rendered comparisons."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from pipelib.evaluation.metrics import subsample, subsample_step
from pipelib.evaluation.predictions import read_h5_predictions
from pipelib.production.render import render_comparisons
from pipelib.skeletons.read import read_layout, read_split


def render(predictions_h5: str | os.PathLike[str], skeleton_h5: str | os.PathLike[str],
           section: Mapping[str, Any], out_path: str | os.PathLike[str], split: str = "test",
           fps: float = 25.0) -> None:
    """Ground truth beside generated poses for the first test sentences, at ``render_fps``."""
    step = subsample_step(fps, float(section.get("render_fps", 12.5)))
    gt = read_split(skeleton_h5, split)
    pred = read_h5_predictions(predictions_h5, split)
    gt_seqs = [(s.video_id, s.text, subsample(s.poses, step), subsample(s.joint_mask, step)) for s in gt]
    pred_seqs = {k: (subsample(p, step), np.ones(len(p[::step]), bool)[:, None].repeat(178, 1))
                 for k, p in pred.items()}
    render_comparisons(gt_seqs, pred_seqs, out_path, n=int(section.get("render_sentences", 3)),
                       fps=float(section.get("render_fps", 12.5)), layout=read_layout(skeleton_h5))
