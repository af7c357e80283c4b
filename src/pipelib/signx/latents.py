"""Per-frame Pose2Gloss latents of every video of one fused shard (the SignX latent shards).

Each video is encoded alone (no padding), so its latents do not depend on which videos share a batch.
Output layout (``pipelib.io.shards``): features (T, d_latent) float32, mask (T,) = the fused mask, the
fused video attributes; failures of the fused shard stay failures. File attributes: ``latent_dim``,
``pose2gloss`` (checkpoint path and the sha256 of its weights) and ``provenance``.
"""

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
from pipelib.signx.data import FusedVideo, fused_video
from pipelib.signx.pose2gloss import Pose2Gloss, load_pose2gloss
from pipelib.training.checkpoint import weights_sha256
from pipelib.training.device import resolve_device

log = logging.getLogger("pipelib.signx")


@torch.no_grad()
def encode_fused(model: Pose2Gloss, video: FusedVideo) -> np.ndarray:
    """Latents (T, d_latent) float32 of one video (model in eval mode, on any device)."""
    device = next(model.parameters()).device
    x = torch.from_numpy(video.features)[None].to(device)                  # (1, T, 1959)
    sm = torch.from_numpy(video.slot_mask)[None].to(device)                # (1, T, 5)
    pad = torch.zeros(1, video.n_frames, dtype=torch.bool, device=device)  # (1, T) no padding
    return model.encode(x, sm, pad)[0].float().cpu().numpy()              # (T, d_latent)


def extract_latents(fused_shard: str | os.PathLike[str], pose2gloss_ckpt: str | os.PathLike[str],
                    out_h5: str | os.PathLike[str], section: Mapping[str, Any]) -> int:
    """Write the latents of every video of ``fused_shard`` to ``out_h5`` atomically; returns the count.

    ``section`` (recorded in the provenance) may be ``signx.latents`` with a ``device`` key, or
    ``signx.pose2gloss`` whose ``train.device`` is then used; default ``auto`` (CUDA when present).
    """
    model, _ = load_pose2gloss(pose2gloss_ckpt)
    section = dict(section or {})
    if "device" in section:
        name, key = section["device"], "signx.latents.device"
    else:
        name, key = dict(section.get("train") or {}).get("device", "auto"), "signx.pose2gloss.train.device"
    device = resolve_device(str(name), key)
    model.to(device).eval()
    prov = provenance.collect(section, inputs=[fused_shard, pose2gloss_ckpt])
    attrs = {"latent_dim": model.cfg.d_latent, "provenance": prov,
             "pose2gloss": {"path": str(Path(pose2gloss_ckpt).resolve()),
                            "weights_sha256": weights_sha256(pose2gloss_ckpt)}}
    n = 0
    with shards.ShardWriter(out_h5, attrs=attrs) as writer:
        for video in shards.iter_videos(fused_shard):
            z = encode_fused(model, fused_video(video, fused_shard))
            writer.write(shards.VideoArrays(video.video_id, z, video.mask, attrs=dict(video.attrs)))
            n += 1
        for vid, reason in shards.read_failures(fused_shard):
            writer.fail(vid, f"no fused features: {reason}")
    log.info("latents: %d videos (%d failures kept) of %s -> %s", n, writer.n_failed, fused_shard, out_h5)
    return n
