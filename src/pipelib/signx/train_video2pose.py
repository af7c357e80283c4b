"""Train SignX stage 2 (Video2Pose): raw frames -> the fused 1959-d features, stage 1 frozen.

Config section ``signx.video2pose``::

    batch_size: 4        # videos per step
    frame_stride: 1      # keep every n-th frame (of both the frames and the fused features)
    max_frames: 32       # frames per training video after the stride: a window drawn per (seed, epoch,
                         # video); dev videos use their first max_frames (null: whole videos)
    cache_frames: true   # keep the prepared frames in memory for the whole run (false: decode per use)
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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from pipelib.batching import batch_indices, pad_sequences
from pipelib.sections import SectionError, from_section
from pipelib.signx.data import FusedCorpus, split_rows
from pipelib.signx.frames_input import entry_frames
from pipelib.signx.pose2gloss import Pose2Gloss
from pipelib.signx.train_pose2gloss import load_pose2gloss
from pipelib.signx.video2pose import Video2Pose, Video2PoseConfig, freeze, video2pose_loss
from pipelib.training import TrainConfig, fit
from pipelib.training.checkpoint import load_for_inference, load_model_weights, weights_sha256
from pipelib.training.device import device_of
from pipelib.training.rundir import fingerprint, prepare_run_dir

log = logging.getLogger("pipelib.signx")
SECTION = "signx.video2pose"
PIXEL_MEDIA = ("frames", "video")


@dataclass
class FramePair:
    """One video's frames (T, 3, S, S) float32 and its fused target: features (T, 1959) float32,
    slot_mask (T, 5) bool (and-ed with the frame mask), frame mask (T,) bool."""

    video_id: str
    frames: np.ndarray
    features: np.ndarray
    slot_mask: np.ndarray
    mask: np.ndarray

    def window(self, start: int, length: int | None) -> FramePair:
        stop = None if length is None else start + length
        part = slice(start, stop)
        return FramePair(self.video_id, self.frames[part], self.features[part], self.slot_mask[part],
                         self.mask[part])


def load_pair(row: Mapping[str, Any], corpus: FusedCorpus, image_size: int, stride: int = 1) -> FramePair:
    """Frames of a manifest row lined up with its fused features, every ``stride``-th frame."""
    frames = entry_frames(row, image_size)                                  # (T_f, 3, S, S)
    fused = corpus.get(str(row["id"]))
    n = min(len(frames), fused.n_frames)
    if len(frames) != fused.n_frames:
        log.warning("video %s: %d decoded frames but %d fused frames; using the first %d", row["id"],
                    len(frames), fused.n_frames, n)
    step = slice(0, n, stride)
    return FramePair(fused.video_id, frames[step], fused.features[step], fused.slot_mask[step],
                     fused.mask[step])


def pixel_rows(rows: pd.DataFrame, corpus: FusedCorpus, what: str) -> pd.DataFrame:
    """The rows that have pixels and fused features (logs how many were dropped)."""
    has_pixels = rows["media"].isin(PIXEL_MEDIA)
    if not has_pixels.all():
        log.warning("%s: %d of %d entries have no pixels (media poses) and are skipped", what,
                    int((~has_pixels).sum()), len(rows))
    rows = rows[has_pixels]
    kept = set(corpus.present(list(rows["id"]), what))
    return rows[rows["id"].isin(kept)].reset_index(drop=True)


class PairSet:
    """The frame/feature pairs of some manifest rows, prepared once (``cache``) or on each use."""

    def __init__(self, rows: pd.DataFrame, corpus: FusedCorpus, image_size: int, stride: int,
                 cache: bool) -> None:
        self.rows = [r for _, r in rows.iterrows()]
        self.corpus, self.image_size, self.stride = corpus, image_size, stride
        self._cache: dict[int, FramePair] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, i: int) -> FramePair:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        pair = load_pair(self.rows[i], self.corpus, self.image_size, self.stride)
        if self._cache is not None:
            self._cache[i] = pair
        return pair


def pair_batch(pairs: Sequence[FramePair]) -> dict[str, torch.Tensor]:
    """frames (B, T, 3, S, S), features (B, T, 1959), slot_mask (B, T, 5) bool, pad (B, T) bool."""
    frames, real = pad_sequences([p.frames for p in pairs])                       # (B, T, 3, S, S), (B, T)
    features, _ = pad_sequences([p.features for p in pairs])                      # (B, T, 1959)
    slot_mask, _ = pad_sequences([p.slot_mask.astype(np.float32) for p in pairs])  # (B, T, 5)
    return {"frames": frames, "features": features, "slot_mask": slot_mask.bool(), "pad": ~real}


def train_window(pair: FramePair, max_frames: int | None, seed: int, epoch: int, index: int) -> FramePair:
    """A ``max_frames`` window of ``pair`` whose start depends only on (seed, epoch, index)."""
    n = len(pair.frames)
    if max_frames is None or n <= max_frames:
        return pair
    start = int(np.random.default_rng([seed, epoch, index]).integers(0, n - max_frames + 1))
    return pair.window(start, max_frames)


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
        b = pair_batch([dev.get(i).window(0, max_frames) for i in idx])
        b = {k: v.to(device) for k, v in b.items()}
        pred = model(b["frames"], b["pad"])                                  # (B, T, 1959)
        loss = video2pose_loss(pred, b["features"], b["slot_mask"], b["pad"], balance_slots)["loss"]
        sums["loss"] += float(loss) * len(idx)
        if stage1 is not None:
            sums["latent_mse"] += float(latent_mse(stage1, pred, b)) * len(idx)
    return {k: v / len(dev) for k, v in sums.items()}


def load_video2pose(path: str | os.PathLike[str]) -> Video2Pose:
    """The Video2Pose model stored in a stage-2 checkpoint, eval mode, CPU."""
    ckpt = load_for_inference(path)
    cfg = ckpt.config.get("model", {})
    if "video2pose" not in cfg:
        raise ValueError(f"{path} is not a Video2Pose checkpoint (no model.video2pose in its config); "
                         f"train it with pipelib.signx.train_video2pose")
    model = Video2Pose(Video2PoseConfig.from_dict(cfg["video2pose"]))
    load_model_weights(model, ckpt)
    return model.eval()


def trained_stride(path: str | os.PathLike[str]) -> int:
    """The ``frame_stride`` a Video2Pose checkpoint was trained with (1 when not recorded)."""
    section = dict(load_for_inference(path).config.get("model", {}).get("section") or {})
    return int(section.get("frame_stride") or 1)


@dataclass(frozen=True)
class Video2PoseSection:
    """The ``signx.video2pose`` section: videos per batch, every ``frame_stride``-th frame used, at most
    ``max_frames`` per training window (None: whole videos), whether decoded frames stay in memory, whether
    the loss weighs the five slots alike, the weight of the frozen stage-1 latent loss, and the ``model``
    (:class:`Video2PoseConfig`) and ``train`` (:class:`TrainConfig`) sub-sections."""

    batch_size: int = 4
    frame_stride: int = 1
    max_frames: int | None = 32
    cache_frames: bool = True
    balance_slots: bool = False
    latent_weight: float = 0.0
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = SECTION) -> Video2PoseSection:
        """Parse and check the section; bad keys and values raise SectionError naming ``where.key``."""
        sec = from_section(cls, data, where)
        for key in ("batch_size", "frame_stride", "max_frames"):
            value = getattr(sec, key)
            if value is not None and value < 1:
                also = " or null" if key == "max_frames" else ""
                raise SectionError(f"{where}.{key}: must be an integer >= 1{also}, got {value!r}")
        if sec.latent_weight < 0:
            raise SectionError(f"{where}.latent_weight: must be >= 0, got {sec.latent_weight}")
        return sec


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
            sets[split] = PairSet(rows, corpus, cfg.image_size, stride, stage.cache_frames)
        train, dev = sets["train"], sets["dev"]
        log.info("video2pose: %d train / %d dev videos at %d px, stride %d, max_frames %s", len(train),
                 len(dev), cfg.image_size, stride, max_frames)

        def batches(epoch: int) -> Iterator[dict[str, torch.Tensor]]:
            for idx in batch_indices(len(train), batch_size, shuffle=True, seed=train_cfg.seed, epoch=epoch):
                yield pair_batch([train_window(train.get(i), max_frames, train_cfg.seed, epoch, i)
                                  for i in idx])

        model = Video2Pose(cfg, seed=train_cfg.seed)
        stage1_record = {"weights_sha256": weights_sha256(pose2gloss_ckpt) if stage1_inputs else None}
        stored = {"video2pose": cfg.to_dict(), "section": sec, "pose2gloss": stage1_record}
        balance = stage.balance_slots
        result = fit(model, make_step(stage1, latent_weight, balance),
                     lambda m: evaluate_dev(m, stage1, dev, batch_size, max_frames, balance), batches,
                     train_cfg, run_dir, model_config=stored)
    log.info("video2pose best dev %s %.4f at epoch %d", train_cfg.monitor, result.best_metric,
             result.best_epoch)
    return result.best_path
