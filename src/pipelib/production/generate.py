"""Generate poses from sentences: text -> latents -> autoencoder decoder -> 178 x 3 (the file they go
into: :mod:`pipelib.production.predictions`)."""

from __future__ import annotations

import os

import numpy as np
import torch

from pipelib.batching import batch_indices
from pipelib.production.autoencoder import load_autoencoder
from pipelib.production.generator import load_generator


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
