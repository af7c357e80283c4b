"""Encode every video with the trained autoencoder; channel priors from the training latents."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipelib import provenance
from pipelib.io import shards
from pipelib.production.autoencoder import PoseAutoencoder, load_autoencoder
from pipelib.production.figures import plot_channel_histograms
from pipelib.production.priors import (
    DEFAULT_MIN_STD,
    collect_latents,
    compute_priors,
    region_channel_mask,
    save_priors,
)

log = logging.getLogger("pipelib.production")


def read_slices(latents_h5: str | os.PathLike[str]) -> dict[str, slice]:
    """The region -> channel range map of a latents file, in channel order."""
    return {k: slice(a, b) for k, a, b in shards.read_attrs(latents_h5)["latent_slices"]}


@torch.no_grad()
def encode_video(model: PoseAutoencoder, poses: np.ndarray, joint_mask: np.ndarray) -> np.ndarray:
    """Latents (T, C) float32 of poses (T, 178, 3); masked joints are zeroed before encoding."""
    x = torch.from_numpy(np.where(joint_mask[..., None], poses, 0.0).astype(np.float32))
    return model.encode(x[None], torch.from_numpy(joint_mask)[None])[0].numpy()


def encode_dataset(skeleton_h5: str | os.PathLike[str], ae_path: str | os.PathLike[str],
                   out_path: str | os.PathLike[str]) -> int:
    """Write latents of every video: features (T, C), mask (T,), extra ``channel_mask`` (T, C)."""
    model = load_autoencoder(ae_path)
    slices = model.latent_slices()
    prov = provenance.collect({"autoencoder": str(ae_path)}, inputs=[str(skeleton_h5), str(ae_path)])
    n = 0
    attrs = {"latent_slices": [[k, s.start, s.stop] for k, s in slices.items()], "provenance": prov}
    with shards.ShardWriter(out_path, attrs=attrs) as w:
        for v in shards.iter_videos(skeleton_h5):
            poses = v.features.reshape(v.n_frames, 178, 3)
            jm = v.extras["joint_mask"].astype(bool) & v.mask[:, None]
            z = encode_video(model, poses, jm)
            cmask = region_channel_mask(jm, slices)
            w.write(shards.VideoArrays(v.video_id, z, v.mask, extras={"channel_mask": cmask},
                                       attrs=dict(v.attrs)))
            n += 1
    log.info("encoded %d videos into %s", n, out_path)
    return n


def priors_from_latents(latents_h5: str | os.PathLike[str], section: Mapping[str, Any],
                        priors_path: str | os.PathLike[str], figure_path: str | os.PathLike[str]) -> Path:
    """Channel priors over the valid training latents only, saved with the entropy figure."""
    slices = read_slices(latents_h5)
    items = ((v.features, v.extras["channel_mask"]) for v in shards.iter_videos(latents_h5)
             if v.attrs.get("split") == "train")
    prov = provenance.collect(dict(section), inputs=[str(latents_h5)])
    pri = compute_priors(collect_latents(items), slices, bin_width=float(section.get("bin_width", 0.1)),
                         plot_bins=int(section.get("plot_bins", 40)),
                         min_std=float(section.get("min_std", DEFAULT_MIN_STD)), provenance=prov)
    save_priors(pri, priors_path)
    plot_channel_histograms(pri, figure_path, top_k=int(section.get("top_k", 6)),
                            title="Highest-entropy latent channels per region (training frames)")
    log.info("priors: mean entropy per region %s", pri.region_mean_entropy())
    return Path(priors_path)
