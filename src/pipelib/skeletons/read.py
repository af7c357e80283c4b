"""Read a skeleton file back as per-video sequences, one split at a time."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from pipelib.io import shards


@dataclass
class SkeletonSequence:
    """One video: poses (T, 178, 3) float32 shoulder-width units, joint_mask (T, 178) bool, at ``fps``
    frames per second (the rate its source video was recorded at)."""

    video_id: str
    poses: np.ndarray
    joint_mask: np.ndarray
    text: str
    gloss: str
    signer: str
    fps: float

    @property
    def n_frames(self) -> int:
        return int(self.poses.shape[0])


def read_split(path: str | os.PathLike[str], split: str) -> list[SkeletonSequence]:
    """Every video of ``split`` in a skeleton file written by ``write_skeletons``, sorted by id."""
    out = []
    for v in shards.iter_videos(path):
        if v.attrs.get("split") != split:
            continue
        poses = v.features.reshape(v.n_frames, 178, 3)
        jm = v.extras["joint_mask"].astype(bool) & v.mask[:, None]
        if "fps" not in v.attrs:
            raise ValueError(f"{path}: video {v.video_id} records no frame rate (attribute 'fps'); the file "
                             "was written before frame rates were recorded: re-run the skeletons rule")
        out.append(SkeletonSequence(v.video_id, np.where(jm[..., None], poses, 0.0).astype(np.float32), jm,
                                    str(v.attrs.get("text", "")), str(v.attrs.get("gloss", "")),
                                    str(v.attrs.get("signer", "")), float(v.attrs["fps"])))
    if not out:
        raise ValueError(f"{path} has no videos of split {split!r}")
    return sorted(out, key=lambda s: s.video_id)
