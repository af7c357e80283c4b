"""Train SignX stage 2 (Video2Pose): raw frames -> the fused 1959-d features, stage 1 frozen.

Config section ``signx.video2pose``::

    batch_size: 4        # videos per step
    frame_stride: 1      # frames n apart: each training window takes one stride phase (k, k + n, ...),
                         # drawn per (seed, epoch, video), so every frame is trained on; dev uses phase 0
    max_frames: 32       # frames per training video after the stride: a window drawn per (seed, epoch,
                         # video); dev videos use their first max_frames (null: whole videos)
    cache_frames: true   # keep prepared frames in memory once a window has used them (false: decode per
                         # use); a frame folder's frames are decoded when a window first needs them
    balance_slots: false # true: every slot's MSE weighs the same in the loss (false: every entry, Eq. 14)
    latent_weight: 0.0   # > 0 adds latent_weight x the MSE between the frozen Pose2Gloss latents of the
                         # predicted and of the fused features to Eq. 14 (needs the stage-1 checkpoint)
    model: {...}         # Video2PoseConfig keys (image_size, patch_size, widths, depths)
    train: {...}         # TrainConfig; monitor loss (feature MSE) or latent_mse, mode min

Only manifest entries with pixels (media ``frames`` or ``video``) and fused features are used. Frame t of
the decoded video lines up with frame t of the fused shard; when the counts differ the longer one is
cut (logged). Dev metrics: ``loss`` (masked feature MSE) and, given a stage-1 checkpoint, ``latent_mse``
(MSE between the frozen Pose2Gloss latents of the predicted and of the fused features). Checkpoints
store the model config (``video2pose``), the section and the sha256 of the stage-1 checkpoint's weights.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipelib.batching import batch_indices
from pipelib.poses.feed import default_workers
from pipelib.signx.data import FusedCorpus, split_rows
from pipelib.signx.frame_pairs import PairSet, pair_batch, pixel_rows
from pipelib.signx.pose2gloss import Pose2Gloss, load_pose2gloss
from pipelib.signx.video2pose import Video2Pose, Video2PoseConfig, Video2PoseSection, freeze, video2pose_loss
from pipelib.training import TrainConfig, fit
from pipelib.training.checkpoint import weights_sha256
from pipelib.training.device import device_of
from pipelib.training.prefetch import PREFETCH_DEPTH
from pipelib.training.rundir import fingerprint, prepare_run_dir

log = logging.getLogger("pipelib.signx")
SECTION = "signx.video2pose"


def train_window(n_frames: int, stride: int, max_frames: int | None, seed: int, epoch: int,
                 index: int) -> range:
    """The frames of one training sequence of a video of ``n_frames`` frames: one stride phase
    (k, k + stride, ...), cut to a ``max_frames`` window; the phase and the window's start depend only on
    (seed, epoch, index). Drawing the phase lets training see every frame, as inference does
    (:func:`~pipelib.signx.video2pose.features_at_stride` runs each phase alone)."""
    rng = np.random.default_rng([seed, epoch, index])
    phase = range(int(rng.integers(0, min(stride, n_frames))), n_frames, stride) if stride > 1 else \
        range(n_frames)
    if max_frames is None or len(phase) <= max_frames:
        return phase
    start = int(rng.integers(0, len(phase) - max_frames + 1))
    return phase[start:start + max_frames]


def v2p_step(model: Video2Pose, batch: Mapping[str, torch.Tensor],
             balance_slots: bool = False) -> dict[str, torch.Tensor]:
    """Eq. 14 on one batch: masked feature MSE and its per-slot parts."""
    pred = model(batch["frames"], batch["pad"])                                   # (B, T, 1959)
    return video2pose_loss(pred, batch["features"], batch["slot_mask"], batch["pad"], balance_slots)


def latent_mse(stage1: Pose2Gloss, pred: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """MSE over real frames between the frozen stage-1 latents of predicted features (every slot marked
    valid, as ``latents_from_video`` uses them) and of the fused ones (their own slot mask). The target
    side carries no gradient; the prediction side passes its gradient through the frozen encoder."""
    pad = batch["pad"]
    all_slots = (~pad)[..., None].expand_as(batch["slot_mask"])                  # (B, T, 5)
    z_pred = stage1.encode(pred, all_slots, pad)                                  # (B, T, d_latent)
    with torch.no_grad():
        z_true = stage1.encode(batch["features"], batch["slot_mask"], pad)        # (B, T, d_latent)
    real = (~pad).to(pred.dtype)[..., None]                                       # (B, T, 1)
    return (((z_pred - z_true) ** 2) * real).sum() / (real.sum() * z_pred.size(-1)).clamp(min=1)


def make_step(stage1: Pose2Gloss | None, latent_weight: float, balance_slots: bool = False):
    """The training step: Eq. 14 (slot-balanced with ``balance_slots``), plus ``latent_weight`` x
    :func:`latent_mse` when it is > 0."""
    if latent_weight <= 0:
        return v2p_step if not balance_slots else partial(v2p_step, balance_slots=True)
    if stage1 is None:
        raise ValueError(f"{SECTION}.latent_weight > 0 needs the stage-1 (Pose2Gloss) checkpoint")

    def step(model: Video2Pose, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        pred = model(batch["frames"], batch["pad"])                               # (B, T, 1959)
        stage1.to(pred.device)
        out = video2pose_loss(pred, batch["features"], batch["slot_mask"], batch["pad"], balance_slots)
        out["feature_mse"] = out["loss"]
        out["latent_mse"] = latent_mse(stage1, pred, batch)
        out["loss"] = out["feature_mse"] + latent_weight * out["latent_mse"]
        return out

    return step


def evaluate_dev(model: Video2Pose, stage1: Pose2Gloss | None, dev: PairSet, batch_size: int,
                 max_frames: int | None, balance_slots: bool = False) -> dict[str, float]:
    """Dev metrics over the first ``max_frames`` frames of each video, batch values weighted by their video
    counts: ``loss`` (masked feature MSE) and, with a stage-1 model, ``latent_mse`` (frozen Pose2Gloss
    latents of the predicted vs the fused features, over real frames)."""
    device = device_of(model)
    sums = {"loss": 0.0}
    if stage1 is not None:
        stage1.to(device)
        sums["latent_mse"] = 0.0
    for idx in batch_indices(len(dev), batch_size, shuffle=False):
        b = pair_batch(dev.take_many([(i, range(dev.length(i))[:max_frames]) for i in idx]))
        b = {k: v.to(device) for k, v in b.items()}
        pred = model(b["frames"], b["pad"])                                  # (B, T, 1959)
        loss = video2pose_loss(pred, b["features"], b["slot_mask"], b["pad"], balance_slots)["loss"]
        sums["loss"] += float(loss) * len(idx)
        if stage1 is not None:
            sums["latent_mse"] += float(latent_mse(stage1, pred, b)) * len(idx)
    return {k: v / len(dev) for k, v in sums.items()}


def train_video2pose(manifest: str | os.PathLike[str], fused_shards: Sequence[str | os.PathLike[str]],
                     pose2gloss_ckpt: str | os.PathLike[str] | None, run_dir: str | os.PathLike[str],
                     section: Mapping[str, Any]) -> Path:
    """Fit Video2Pose on the train split's frames, select on dev; returns best.pt's path.

    ``pose2gloss_ckpt`` (stage 1, frozen) adds the dev metric ``latent_mse``; None leaves it out."""
    sec = dict(section or {})
    stage = Video2PoseSection.from_dict(sec)
    train_cfg = TrainConfig.from_dict(stage.train, f"{SECTION}.train")
    cfg = Video2PoseConfig.from_dict(stage.model, f"{SECTION}.model")
    batch_size, stride, max_frames = stage.batch_size, stage.frame_stride, stage.max_frames
    latent_weight = stage.latent_weight
    stage1_inputs = [pose2gloss_ckpt] if pose2gloss_ckpt is not None else []
    prepare_run_dir(run_dir, fingerprint(sec, [manifest, *fused_shards, *stage1_inputs]))
    stage1 = freeze(load_pose2gloss(pose2gloss_ckpt)[0]) if pose2gloss_ckpt is not None else None
    with FusedCorpus(fused_shards) as corpus:
        sets = {}
        for split in ("train", "dev"):
            listed = split_rows(manifest, split)
            rows = pixel_rows(listed, corpus, f"video2pose {split} split")
            corpus.require(list(rows["id"]), manifest, split, len(listed))
            # train keeps every frame (each window draws its stride phase); dev scores phase 0
            sets[split] = PairSet(rows, corpus, cfg.image_size, stride if split == "dev" else 1,
                                  stage.cache_frames, workers=default_workers())
        train, dev = sets["train"], sets["dev"]
        log.info("video2pose: %d train / %d dev videos at %d px, stride %d, max_frames %s", len(train),
                 len(dev), cfg.image_size, stride, max_frames)

        def batches(epoch: int) -> Iterator[dict[str, torch.Tensor]]:
            for idx in batch_indices(len(train), batch_size, shuffle=True, seed=train_cfg.seed, epoch=epoch):
                yield pair_batch(train.take_many(
                    [(i, train_window(train.length(i), stride, max_frames, train_cfg.seed, epoch, i))
                     for i in idx]))

        model = Video2Pose(cfg, seed=train_cfg.seed)
        stage1_record = {"weights_sha256": weights_sha256(pose2gloss_ckpt) if stage1_inputs else None}
        stored = {"video2pose": cfg.to_dict(), "section": sec, "pose2gloss": stage1_record}
        balance = stage.balance_slots
        result = fit(model, make_step(stage1, latent_weight, balance),
                     lambda m: evaluate_dev(m, stage1, dev, batch_size, max_frames, balance), batches,
                     train_cfg, run_dir, model_config=stored, prefetch=PREFETCH_DEPTH)
    log.info("video2pose best dev %s %.4f at epoch %d", train_cfg.monitor, result.best_metric,
             result.best_epoch)
    return result.best_path
