"""Read a skeleton file back as per-video sequences, one split at a time, and the layout a file records."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from pipelib.datasets.values import mask_bad_values, require_split
from pipelib.io import shards
from pipelib.skeletons.layout import HOLISTIC, SLRTP, check_layout

log = logging.getLogger("pipelib.skeletons")


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
    """Every video of ``split`` in a skeleton file written by ``write_skeletons``, sorted by id.

    Joints holding NaN/Inf (a file not written by this pipeline) are masked and logged per video.
    Raises :class:`~pipelib.datasets.values.EmptySplitError`, naming dataset and split, when the
    split has no video or no frame with a valid joint.
    """
    out = []
    for v in shards.iter_videos(path):
        if v.attrs.get("split") != split:
            continue
        jm = v.extras["joint_mask"].astype(bool) & v.mask[:, None]                  # (T, 178)
        if "fps" not in v.attrs:
            raise ValueError(f"{path}: video {v.video_id} records no frame rate (attribute 'fps'); the file "
                             "was written before frame rates were recorded: re-run the skeletons rule")
        check = mask_bad_values(v.features.reshape(v.n_frames, 178, 3), jm, np.inf)
        if check.nonfinite:
            log.warning("%s: video %s has %d unmasked joint(s) holding NaN/Inf; they are masked", path,
                        v.video_id, check.nonfinite)
        jm = check.valid
        poses = np.where(jm[..., None], check.values, 0.0).astype(np.float32)      # (T, 178, 3)
        out.append(SkeletonSequence(v.video_id, poses, jm, str(v.attrs.get("text", "")),
                                    str(v.attrs.get("gloss", "")), str(v.attrs.get("signer", "")),
                                    float(v.attrs["fps"])))
    require_split(len(out), path, split, "video")
    require_split(sum(int(s.joint_mask.any(axis=1).sum()) for s in out), path, split,
                  "frame with a valid joint", f"{len(out)} video(s), every joint masked")
    return sorted(out, key=lambda s: s.video_id)


#: The layout each skeleton source gives (per-video attribute ``source`` of skeleton files).
SOURCE_LAYOUT = {"mediapipe_holistic": HOLISTIC, "slrtp_poses": SLRTP, "pose_file": HOLISTIC}


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
