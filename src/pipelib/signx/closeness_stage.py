"""How close Video2Pose's features, and the stage-1 latents made from them, come to the estimator-made
ones on the test split (``pipelib.signx.closeness``): one CSV row + ``<csv>.prov.json``.

Each test video (with pixels and fused features) is run whole, on the section's ``device`` or
``train.device`` (auto: CUDA when present); the section may be ``signx.closeness`` or
``signx.video2pose``. With ``frame_stride: null`` every frame is compared, as recognition uses them:
Video2Pose runs phase by phase at the stride it was trained with (``features_at_stride``); an explicit
``frame_stride`` n compares every n-th frame, run as one sequence. Feature
metrics count the valid slots of valid frames; latent metrics compare Pose2Gloss latents of the
video-made features (``latents_from_video``: every slot marked valid) with those of the fused features,
over every frame.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch

from pipelib import provenance
from pipelib.io.atomic import atomic_path, write_text_atomic
from pipelib.signx.closeness import FeatureCloseness, LatentCloseness, closeness_row
from pipelib.signx.data import FusedCorpus, split_rows
from pipelib.signx.frame_pairs import load_pair, pixel_rows
from pipelib.signx.pose2gloss import load_pose2gloss
from pipelib.signx.video2pose import features_at_stride, latents_from_video, load_video2pose, trained_stride
from pipelib.training.device import resolve_device

log = logging.getLogger("pipelib.signx")


@torch.no_grad()
def closeness_table(manifest: str | os.PathLike[str], fused_shards: Sequence[str | os.PathLike[str]],
                    pose2gloss_ckpt: str | os.PathLike[str], video2pose_ckpt: str | os.PathLike[str],
                    section: Mapping[str, Any], *, dataset: str = "", split: str = "test") -> pd.DataFrame:
    """The one-row closeness table over ``split`` (``pipelib.signx.closeness.closeness_row``)."""
    sec = dict(section or {})
    device = resolve_device(str(sec.get("device", dict(sec.get("train") or {}).get("device", "auto"))),
                            "signx.closeness.device")
    stage1, _ = load_pose2gloss(pose2gloss_ckpt)
    video2pose = load_video2pose(video2pose_ckpt)
    stage1.to(device)
    video2pose.to(device)
    stride = int(sec.get("frame_stride") or 1)
    phases = 1 if sec.get("frame_stride") else trained_stride(video2pose_ckpt)
    feats, lats = FeatureCloseness(), LatentCloseness()
    with FusedCorpus(fused_shards) as corpus:
        rows = pixel_rows(split_rows(manifest, split), corpus, f"closeness {split} split")
        for _, row in rows.iterrows():
            pair = load_pair(row, corpus, video2pose.config.image_size, stride)
            frames = torch.from_numpy(pair.frames)[None].to(device)            # (1, T, 3, S, S)
            pad = torch.zeros(1, len(pair.frames), dtype=torch.bool, device=device)  # (1, T)
            pred = features_at_stride(video2pose, frames, pad, phases)         # (1, T, 1959)
            feats.add(pred[0], pair.features, pair.slot_mask, pair.mask)
            z_video = latents_from_video(video2pose, stage1.encode, frames, pad, phases)  # (1, T, d_latent)
            z_pose = stage1.encode(torch.tensor(pair.features)[None].to(device),    # cached arrays are
                                   torch.tensor(pair.slot_mask)[None].to(device), pad)  # read-only: copy
            lats.add(z_video[0], z_pose[0])
    if not len(rows):
        log.warning("closeness: no %s video has frames and fused features; the row holds NaN", split)
    return closeness_row(feats.result(), lats.result(), dataset=dataset, split=split, videos=len(rows))


def evaluate_closeness(manifest: str | os.PathLike[str], fused_shards: Sequence[str | os.PathLike[str]],
                       pose2gloss_ckpt: str | os.PathLike[str], video2pose_ckpt: str | os.PathLike[str],
                       out_csv: str | os.PathLike[str], section: Mapping[str, Any], *,
                       dataset: str = "", split: str = "test") -> pd.DataFrame:
    """Closeness over ``split``; writes ``out_csv`` and its provenance sidecar; returns the one-row table."""
    sec = dict(section or {})
    table = closeness_table(manifest, fused_shards, pose2gloss_ckpt, video2pose_ckpt, sec, dataset=dataset,
                            split=split)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    prov = provenance.collect(sec,
                              inputs=[manifest, *fused_shards, pose2gloss_ckpt, video2pose_ckpt])
    write_text_atomic(provenance.sidecar_path(out_csv), json.dumps(prov, indent=2, default=str) + "\n")
    log.info("closeness (%s, %d videos): feature mse %.4f cos %.3f, latent mse %.4f cos %.3f", split,
             table["videos"].iloc[0], table["mse"].iloc[0], table["cos"].iloc[0], table["latent_mse"].iloc[0],
             table["latent_cos"].iloc[0])
    return table

