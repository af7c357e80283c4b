"""``build_skeleton``: one MediaPipe-shard video -> normalised (T, 178, 3) skeleton and joint mask."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from pipelib.io.shards import VideoArrays
from pipelib.skeletons.config import SkeletonConfig
from pipelib.skeletons.gaps import fill_short_gaps
from pipelib.skeletons.layout import PART_SLICES
from pipelib.skeletons.normalise import normalise
from pipelib.skeletons.pixels import holistic_pixels

_GAP_FILLED = (1, 2, 3)  # parts whose gaps are interpolated: right hand, left hand, face (not the body)


def build_skeleton(
    holistic: VideoArrays, cfg: SkeletonConfig | Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(poses (T, 178, 3) float32, joint_mask (T, 178) bool)`` of one MediaPipe-shard video.

    poses are in shoulder-width units centred on the neck (pixels centred on the neck with
    ``scale: none``); hand and face gaps of at most ``max_gap`` frames inside the sequence are
    interpolated; frames without a pose are masked whole; masked joints are 0.
    """
    cfg = SkeletonConfig.coerce(cfg)
    joints, part_valid = holistic_pixels(holistic)                           # (T, 178, 3), (T, 4)
    has_pose = part_valid[:, 0]                                              # (T,)
    joints = normalise(joints, has_pose, cfg.scale, holistic.video_id)       # (T, 178, 3)
    for p in _GAP_FILLED:
        sl = PART_SLICES[p]
        joints[:, sl], part_valid[:, p] = fill_short_gaps(
            joints[:, sl], part_valid[:, p], cfg.max_gap, allowed=has_pose)
    if not cfg.depth:
        joints[..., 2] = 0.0
    joint_mask = np.zeros(joints.shape[:2], dtype=bool)                      # (T, 178)
    for p, sl in enumerate(PART_SLICES):
        joint_mask[:, sl] = part_valid[:, p, None]
    joints[~joint_mask] = 0.0
    return joints.astype(np.float32), joint_mask
