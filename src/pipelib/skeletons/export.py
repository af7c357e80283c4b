"""``export_slrtp``: one split of a skeleton file in the SLRTP challenge ``.pt`` layout.

The file is a dict ``id -> {name, text, gloss, speaker, poses_3d: torch.FloatTensor (F, 178, 3)}``
saved with ``torch.save``; it holds only strings and tensors, so ``torch.load(weights_only=True)``
(and :func:`pipelib.datasets.slrtp.load_split`) reads it, and the public SLRTP evaluator can score it.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from pipelib.datasets.records import SPLITS
from pipelib.datasets.slrtp import FPS
from pipelib.io import shards
from pipelib.io.atomic import atomic_path
from pipelib.skeletons.layout import N_JOINTS, N_VALUES
from pipelib.skeletons.write import LAYOUT

log = logging.getLogger("pipelib.skeletons")


def export_slrtp(skeleton_h5: str | os.PathLike[str], split: str, out_pt: str | os.PathLike[str],
                 drop_empty_frames: bool = False) -> int:
    """Write the ``split`` videos of ``skeleton_h5`` (from :func:`write_skeletons`) to ``out_pt``.

    Masked joints are exported as 0. ``drop_empty_frames`` leaves out frames without a body (the
    evaluator has no mask); by default every frame is kept, so F = the video's frame count. Returns
    the number of sequences written.
    """
    if split not in SPLITS:
        raise ValueError(f"split {split!r}: use one of {', '.join(SPLITS)}")
    layout = shards.read_attrs(skeleton_h5).get("skeleton")
    if layout != LAYOUT:
        raise ValueError(f"{skeleton_h5} is not a skeleton file (attrs skeleton = {layout!r}); "
                         f"write it with pipelib.skeletons.write.write_skeletons")
    import torch

    out: dict[str, dict[str, object]] = {}
    for v in shards.iter_videos(skeleton_h5, extras=False):
        if v.attrs.get("split") != split:
            continue
        if v.features.shape[1] != N_VALUES:
            raise ValueError(f"{skeleton_h5}: video {v.video_id} has {v.features.shape[1]} values per frame, "
                             f"expected {N_VALUES}")
        fps = float(v.attrs.get("fps", FPS))
        if abs(fps - FPS) > 1e-6:
            log.warning("%s is at %g fps; the SLRTP evaluator assumes %g fps", v.video_id, fps, FPS)
        poses = v.features.reshape(-1, N_JOINTS, 3)                           # (T, 178, 3)
        if drop_empty_frames:
            poses = poses[v.mask]
        if poses.shape[0] == 0:
            log.warning("%s has no frame with a body and is left out of %s", v.video_id, out_pt)
            continue
        out[v.video_id] = {
            "name": str(v.attrs.get("name", v.video_id)), "text": str(v.attrs.get("text", "")),
            "gloss": str(v.attrs.get("gloss", "")), "speaker": str(v.attrs.get("signer", "")),
            "poses_3d": torch.from_numpy(np.ascontiguousarray(poses, dtype=np.float32)),
        }
    if not out:
        raise ValueError(f"{skeleton_h5} holds no {split} videos with a body; nothing to export to {out_pt}")
    with atomic_path(out_pt) as tmp:
        torch.save(out, tmp)
    return len(out)
