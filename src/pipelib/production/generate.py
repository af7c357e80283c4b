"""Generate poses from sentences: text -> latents -> autoencoder decoder -> 178 x 3 (the file they go
into: :mod:`pipelib.production.predictions`)."""

from __future__ import annotations

import os

import numpy as np
import torch

from pipelib.batching import batch_indices
from pipelib.production.autoencoder import load_autoencoder
from pipelib.training.loading import load_model


@torch.no_grad()
def generate_poses(generator_ckpt: str | os.PathLike[str], ae_ckpt: str | os.PathLike[str],
                   texts: list[str], batch_size: int = 16) -> list[np.ndarray]:
    """Poses (L_i, 178, 3) float32, shoulder-width units, at the predicted length of each text. The
    generator is any model class whose checkpoint ``load_model`` rebuilds and that has
    ``generate_latents(texts)`` (every generator kind of ``production.systems``)."""
    gen, ae = load_model(generator_ckpt).model, load_autoencoder(ae_ckpt)
    if not callable(getattr(gen, "generate_latents", None)):
        raise TypeError(f"{generator_ckpt}: its model ({type(gen).__name__}) has no generate_latents(texts); "
                        f"a generator kind must give latents and frame counts for a batch of sentences")
    out: list[np.ndarray] = []
    for idx in batch_indices(len(texts), batch_size, shuffle=False):
        latents, lengths = gen.generate_latents([texts[i] for i in idx])  # (B, max_len, C), (B,)
        poses = ae.decode(latents)                                         # (B, max_len, 178, 3)
        out += [poses[b, : int(lengths[b])].numpy().astype(np.float32) for b in range(len(idx))]
    return out
