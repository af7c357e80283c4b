"""Read a skeleton file back as per-video sequences, one split at a time, and the layout a file records."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from pipelib.io import shards
from pipelib.skeletons.layout import HOLISTIC, SLRTP, check_layout


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


#: The layout each skeleton source gives (per-video attribute ``source`` of skeleton files).
SOURCE_LAYOUT = {"mediapipe_holistic": HOLISTIC, "slrtp_poses": SLRTP}


def read_layout(path: str | os.PathLike[str]) -> str:
    """The skeleton layout (``pipelib.skeletons.layout.LAYOUTS``) a skeleton or prediction file records
    in its ``skeleton`` attribute; ValueError naming the file when it records none or an unknown one,
    or when its first sequence's ``source`` contradicts it (files written before layouts were
    recorded called every skeleton ``slrtp178``)."""
    found = shards.read_attrs(path).get("skeleton")
    if found is None:
        raise ValueError(f"{path} records no skeleton layout (attribute 'skeleton'); it was written before "
                         f"layouts were recorded: re-run the job that writes it")
    layout = check_layout(found, str(path))
    ids = shards.video_ids(path)
    source = shards.read_video(path, ids[0], extras=False).attrs.get("source") if ids else None
    if source in SOURCE_LAYOUT and SOURCE_LAYOUT[source] != layout:
        raise ValueError(f"{path} says layout {layout} but holds {source} skeletons "
                         f"({SOURCE_LAYOUT[source]}); it was written before layouts were recorded: re-run "
                         f"its rule (snakemake --forcerun skeletons ...)")
    return layout
