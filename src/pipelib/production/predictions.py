"""The prediction file of this pipeline (``predictions_phase*.h5``): written by :func:`write_predictions`,
read back by :func:`read_predictions`.

One shard file (``pipelib.io.shards``) holds every generated sentence of the splits asked for: features
(L, 534) = (L, 178, 3) flattened, an all-true frame mask, and attributes ``split``, ``text``, ``gloss``,
``gt_frames`` and ``fps`` per sequence; the file records the skeleton layout (attribute ``skeleton``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

import numpy as np

from pipelib import provenance
from pipelib.io import shards
from pipelib.production.generate import generate_poses
from pipelib.skeletons.layout import N_JOINTS
from pipelib.skeletons.read import read_layout, read_split

log = logging.getLogger("pipelib.production")


def write_predictions(generator_ckpt: str | os.PathLike[str], ae_ckpt: str | os.PathLike[str],
                      skeleton_h5: str | os.PathLike[str], splits: Iterable[str],
                      out_path: str | os.PathLike[str]) -> int:
    """Generated poses of every sentence of ``splits``: features (L, 534), attrs split, text, gloss,
    gt_frames and fps (the rate of the skeletons the generator learnt from: its output's rate); the file
    records the skeleton layout of ``skeleton_h5`` (attribute ``skeleton``), which the poses follow."""
    prov = provenance.collect({"splits": list(splits)},
                              inputs=[str(generator_ckpt), str(ae_ckpt), str(skeleton_h5)])
    n = 0
    attrs = {"provenance": prov, "system": str(generator_ckpt), "skeleton": read_layout(skeleton_h5)}
    with shards.ShardWriter(out_path, attrs=attrs) as w:
        for split in splits:
            seqs = read_split(skeleton_h5, split)
            poses = generate_poses(generator_ckpt, ae_ckpt, [s.text for s in seqs])
            for s, p in zip(seqs, poses, strict=True):
                w.write(shards.VideoArrays(s.video_id, p.reshape(len(p), -1), np.ones(len(p), bool),
                                           attrs={"split": split, "text": s.text, "gloss": s.gloss,
                                                  "gt_frames": s.n_frames, "fps": s.fps}))
                n += 1
    log.info("generated %d sequences into %s", n, out_path)
    return n


def read_predictions(path: str | os.PathLike[str],
                     split: str) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Generated poses (L, 178, 3) of ``split`` by id, from a file of :func:`write_predictions`, and the
    frame rate (attribute ``fps``) of each sequence that records one."""
    poses, rates = {}, {}
    for v in shards.iter_videos(path, extras=False):
        if v.attrs.get("split") == split:
            poses[v.video_id] = v.features.reshape(v.n_frames, N_JOINTS, 3)
            if "fps" in v.attrs:
                rates[v.video_id] = float(v.attrs["fps"])
    return poses, rates
