"""``export_slrtp``: one split of a skeleton or prediction file in the SLRTP challenge ``.pt`` layout.

The file is a dict ``id -> {name, text, gloss, speaker, poses_3d: torch.FloatTensor (F, 178, 3), layout}``
saved with ``torch.save``; it holds only strings and tensors, so ``torch.load(weights_only=True)``
(and :func:`pipelib.datasets.slrtp.load_split`) reads it. The public SLRTP evaluator reads it both as
ground truth (``text`` and ``poses_3d``) and as predictions (an id -> dict with ``poses_3d``), and
ignores ``layout``, which records the skeleton layout (:data:`pipelib.skeletons.layout.LAYOUTS`):
the challenge's own files are ``slrtp178``; poses this pipeline extracted are ``holistic178``, whose
face slots the official back-translator and SLRTP ground truth read in another order.
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
from pipelib.skeletons.read import read_layout

log = logging.getLogger("pipelib.skeletons")


def export_slrtp(h5_path: str | os.PathLike[str], split: str, out_pt: str | os.PathLike[str],
                 drop_empty_frames: bool = False) -> int:
    """Write the ``split`` sequences of ``h5_path`` to ``out_pt``; returns how many were written.

    ``h5_path``: a skeleton file (:func:`~pipelib.skeletons.write.write_skeletons`) or a prediction
    file (:func:`pipelib.production.predictions.write_predictions`); either records its layout. Masked
    joints are exported as 0. ``drop_empty_frames`` leaves out frames without a body (the evaluator
    has no mask); by default every frame is kept, so F = the sequence's frame count.
    """
    if split not in SPLITS:
        raise ValueError(f"split {split!r}: use one of {', '.join(SPLITS)}")
    try:
        layout = read_layout(h5_path)
    except ValueError as err:
        raise ValueError(f"{h5_path} is neither a skeleton nor a prediction file of this pipeline ({err})"
                         ) from None
    import torch

    out: dict[str, dict[str, object]] = {}
    for v in shards.iter_videos(h5_path):
        if v.attrs.get("split") != split:
            continue
        if v.features.shape[1] != N_VALUES:
            raise ValueError(f"{h5_path}: sequence {v.video_id} has {v.features.shape[1]} values per frame, "
                             f"expected {N_VALUES}")
        fps = float(v.attrs.get("fps", FPS))
        if abs(fps - FPS) > 1e-6:
            log.warning("%s is at %g fps; the SLRTP evaluator assumes %g fps", v.video_id, fps, FPS)
        poses = v.features.reshape(-1, N_JOINTS, 3)                           # (T, 178, 3)
        if "joint_mask" in v.extras:
            poses = np.where(v.extras["joint_mask"][..., None], poses, 0.0)
        if drop_empty_frames:
            poses = poses[v.mask]
        if poses.shape[0] == 0:
            log.warning("%s has no frame with a body and is left out of %s", v.video_id, out_pt)
            continue
        out[v.video_id] = {
            "name": str(v.attrs.get("name", v.video_id)), "text": str(v.attrs.get("text", "")),
            "gloss": str(v.attrs.get("gloss", "")), "speaker": str(v.attrs.get("signer", "")),
            "poses_3d": torch.from_numpy(np.ascontiguousarray(poses, dtype=np.float32)),
            "layout": layout,
        }
    if not out:
        raise ValueError(f"{h5_path} holds no {split} sequences with a body; nothing to export to {out_pt}")
    with atomic_path(out_pt) as tmp:
        torch.save(out, tmp)
    log.info("exported %d %s sequences (layout %s) of %s to %s", len(out), split, layout, h5_path, out_pt)
    return len(out)
