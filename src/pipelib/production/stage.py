"""Production steps that combine files for people: the rendered comparisons."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from pipelib.metrics.slrtp import subsample
from pipelib.production.predictions import read_predictions
from pipelib.production.render import render_comparisons
from pipelib.skeletons.read import read_layout, read_split


def render_step(fps: float, render_fps: float) -> int:
    """Frame step that brings ``fps`` closest to ``render_fps`` (at least 1): 2 for 25 or 30 -> 12.5."""
    if not (fps > 0 and render_fps > 0):
        raise ValueError(f"frame rates must be > 0, got {fps} and render_fps {render_fps}")
    return max(1, round(fps / render_fps))


def render(predictions_h5: str | os.PathLike[str], skeleton_h5: str | os.PathLike[str],
           section: Mapping[str, Any], out_path: str | os.PathLike[str], split: str = "test", *,
           system: str) -> None:
    """Ground truth beside generated poses for the first test sentences, at about ``render_fps``: every
    :func:`render_step`-th frame of each video at its recorded rate, played at the first sentence's
    resulting rate. A prediction that records no rate runs at its ground truth's. ``system`` names the
    generator of ``predictions_h5`` (e.g. ``DARSLP-KL``; the rule knows it from its phase) and is drawn
    above the generated panels."""
    render_fps = float(section.get("render_fps", 12.5))
    gt = read_split(skeleton_h5, split)
    pred, rates = read_predictions(predictions_h5, split)
    gt_seqs = [(s.video_id, s.text, subsample(s.poses, render_step(s.fps, render_fps)),
                subsample(s.joint_mask, render_step(s.fps, render_fps))) for s in gt]
    gt_fps = {s.video_id: s.fps for s in gt}
    pred_seqs = {}
    for k, p in pred.items():
        step = render_step(rates.get(k, gt_fps.get(k, render_fps)), render_fps)
        pred_seqs[k] = (subsample(p, step), np.ones((len(p[::step]), 178), bool))
    shown = gt[0].fps / render_step(gt[0].fps, render_fps)
    render_comparisons(gt_seqs, pred_seqs, out_path, n=int(section.get("render_sentences", 3)), fps=shown,
                       system=system, layout=read_layout(skeleton_h5))
