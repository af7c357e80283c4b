"""Generate poses for the dev and test sentences: text -> latents -> autoencoder decoder -> 178 x 3."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

import numpy as np
import torch

from pipelib import provenance
from pipelib.batching import batch_indices
from pipelib.io import shards
from pipelib.production.latents import load_autoencoder
from pipelib.production.train_generator import load_generator
from pipelib.skeletons.read import read_layout, read_split

log = logging.getLogger("pipelib.production")


@torch.no_grad()
def generate_poses(generator_ckpt: str | os.PathLike[str], ae_ckpt: str | os.PathLike[str],
                   texts: list[str], batch_size: int = 16) -> list[np.ndarray]:
    """Poses (L_i, 178, 3) float32, shoulder-width units, at the predicted length of each text."""
    gen, ae = load_generator(generator_ckpt), load_autoencoder(ae_ckpt)
    out: list[np.ndarray] = []
    for idx in batch_indices(len(texts), batch_size, shuffle=False):
        feats, pad = gen.text_encoder.encode([texts[i] for i in idx])
        latents, lengths, _ = gen.generator.generate(feats, pad)          # (B, max_len, C), (B,)
        poses = ae.decode(latents)                                         # (B, max_len, 178, 3)
        out += [poses[b, : int(lengths[b])].numpy().astype(np.float32) for b in range(len(idx))]
    return out


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
