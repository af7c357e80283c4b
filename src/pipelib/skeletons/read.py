"""Read a skeleton file back as per-video sequences, one split at a time, and the layout a file records."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from pipelib.io import shards
from pipelib.skeletons.layout import check_layout


@dataclass
class SkeletonSequence:
    """One video: poses (T, 178, 3) float32 shoulder-width units, joint_mask (T, 178) bool."""

    video_id: str
    poses: np.ndarray
    joint_mask: np.ndarray
    text: str
    gloss: str
    signer: str

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
        out.append(SkeletonSequence(v.video_id, np.where(jm[..., None], poses, 0.0).astype(np.float32), jm,
                                    str(v.attrs.get("text", "")), str(v.attrs.get("gloss", "")),
                                    str(v.attrs.get("signer", ""))))
    if not out:
        raise ValueError(f"{path} has no videos of split {split!r}")
    return sorted(out, key=lambda s: s.video_id)


def read_layout(path: str | os.PathLike[str]) -> str:
    """The skeleton layout (``pipelib.skeletons.layout.LAYOUTS``) a skeleton or prediction file records
    in its ``skeleton`` attribute; ValueError naming the file when it records none or an unknown one."""
    found = shards.read_attrs(path).get("skeleton")
    if found is None:
        raise ValueError(f"{path} records no skeleton layout (attribute 'skeleton'); it was written before "
                         f"layouts were recorded: re-run the job that writes it")
    return check_layout(found, str(path))
