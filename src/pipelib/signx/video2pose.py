"""SignX stage 2, Video2Pose: raw frames -> the five slots' fused pose features, so that stage-1 latents can
be made from video alone (paper Sec. 3.3 and App. B.2).

Per frame a spatial ViT (patch embedding, CLS token, learned positional embedding, pre-norm Transformer
layers) gives the CLS embedding v_t (Eq. 4). The patch embedding is the paper's one Conv2d with kernel =
stride = ``patch_size`` (``stem: patch``) or, with ``stem: conv``, a stack of 3x3 stride-2 convolutions that
reaches the same patch grid (log2(patch_size) layers, widths doubling up to ``spatial_dim``, GELU between):
the "early convolutions" ViT, which learns from few images much faster at almost no extra cost; the
``conv_norm`` stem adds a BatchNorm after each of those convolutions, as that paper's stem has (see
:func:`conv_stem` for why it matters; training steps take 30-45% longer); temporal attention over the CLS
embeddings of a video, with a padding mask and sinusoidal positions, gives V_temp (Eq. 5); one linear
projection per slot maps V_temp to that slot's features (Eq. 6), concatenated in ``SLOT_ORDER`` into the fused
1959-d vector, in the same z-normalised space as the fused shards. The loss (Eq. 14) is the squared error over
the valid slot entries of real frames only (:func:`video2pose_loss`). Stage 1 stays frozen (:func:`freeze`);
:func:`latents_from_video` runs predicted features through its encoder.

Config section ``signx.video2pose.model`` (``Video2PoseConfig.from_dict``); defaults are demo-sized, the
paper-scale model is a ViT-B/16 at 224 px (image_size 224, patch_size 16, spatial_dim 768,
spatial_layers 12, spatial_heads 12)::

    image_size: 64         # square input frames (pixels); frames_input resizes to this
    patch_size: 8          # must divide image_size
    spatial_dim: 128
    spatial_layers: 2
    spatial_heads: 4
    temporal_dim: 128      # must be even (sinusoidal positions)
    temporal_layers: 2
    temporal_heads: 4
    ffn_mult: 4            # feed-forward width = ffn_mult x model width
    dropout: 0.1
    stem: patch            # patch (one Conv2d, the paper's ViT) | conv (3x3 stride-2 stack; patch_size
                           # must then be a power of two) | conv_norm (that stack with BatchNorm)

Masks follow :mod:`pipelib.models`: ``pad`` (B, T) bool is True at padding frames; ``slot_mask``
(B, T, 5) bool is True where a slot holds real features.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from pipelib.estimators.base import FUSED_DIM, SLOT_DIMS, SLOT_ORDER
from pipelib.models.blocks import EncoderLayer, PositionalEncoding, TransformerConfig
from pipelib.signx.video2pose_config import STEMS as STEMS
from pipelib.signx.video2pose_config import WHERE, Video2PoseConfig
from pipelib.signx.video2pose_config import Video2PoseSection as Video2PoseSection
from pipelib.training.loading import load_model, stored_model_config

#: ``encode(features (B, T, 1959), slot_mask (B, T, 5), pad (B, T)) -> latents (B, T, d_latent)``
EncodeFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _layer_config(d_model: int, heads: int, ffn_mult: int, dropout: float) -> TransformerConfig:
    """Shape of one shared pre-norm encoder layer (``vocab_size`` is unused by encoder layers)."""
    return TransformerConfig(vocab_size=1, d_model=d_model, heads=heads, ffn=ffn_mult * d_model,
                             dropout=dropout, emb_dropout=dropout)


# --------------------------------------------------------------------------------------------- modules


def conv_stem(patch_size: int, width: int, norm: bool = False) -> nn.Sequential:
    """3x3 stride-2 convolutions from RGB to ``width`` channels: ``(N, 3, S, S)`` -> ``(N, width, S/p, S/p)``
    for ``p = patch_size`` (a power of two): log2(p) layers, channels doubling from width / 2^(layers-1)
    (at least 8), GELU between layers, none after the last. ``norm`` puts a BatchNorm before each GELU and
    after the last convolution (the early-convolution ViT's stem): without it the default initialisation
    shrinks what tells frames apart about 3.5x per layer, so a 5-layer stem starts almost blind."""
    layers = patch_size.bit_length() - 1
    widths = [max(8, width >> (layers - 1 - i)) for i in range(layers)]
    widths[-1] = width
    mods: list[nn.Module] = []
    c_in = 3
    for i, c_out in enumerate(widths):
        mods.append(nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1, bias=not norm))
        if norm:
            mods.append(nn.BatchNorm2d(c_out))
        if i < layers - 1:
            mods.append(nn.GELU())
        c_in = c_out
    return nn.Sequential(*mods)


class SpatialViT(nn.Module):
    """One frame -> one embedding: ``(N, 3, S, S)`` -> ``(N, spatial_dim)`` (the final CLS state)."""

    # The stem reads channels-last frames: oneDNN's CPU convolutions, most of a training step, run about
    # 10-15% faster on them (benchmarks/bench_video2pose_step.py); the result is the same function.
    stem_memory_format = torch.channels_last

    def __init__(self, cfg: Video2PoseConfig) -> None:
        super().__init__()
        d = cfg.spatial_dim
        if cfg.stem in ("conv", "conv_norm"):
            self.patch_embed: nn.Module = conv_stem(cfg.patch_size, d, norm=cfg.stem == "conv_norm")
        else:
            self.patch_embed = nn.Conv2d(3, d, kernel_size=cfg.patch_size, stride=cfg.patch_size)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.num_patches + 1, d))
        self.drop = nn.Dropout(cfg.dropout)
        layer_cfg = _layer_config(d, cfg.spatial_heads, cfg.ffn_mult, cfg.dropout)
        self.layers = nn.ModuleList(EncoderLayer(layer_cfg) for _ in range(cfg.spatial_layers))
        self.norm = nn.LayerNorm(d)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls, std=0.02)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(images.contiguous(memory_format=self.stem_memory_format))  # (N, d, S/p, S/p)
        x = x.flatten(2).transpose(1, 2)                               # (N, P, d)
        x = torch.cat([self.cls.expand(x.size(0), -1, -1), x], dim=1)  # (N, P+1, d)
        x = self.drop(x + self.pos_embed)                              # (N, P+1, d)
        for layer in self.layers:
            x = layer(x, None)                                         # (N, P+1, d), no padding
        return self.norm(x[:, 0])                                      # (N, d)


class TemporalAttention(nn.Module):
    """Per-frame embeddings -> contextual ones: ``(B, T, spatial_dim)`` -> ``(B, T, temporal_dim)``."""

    def __init__(self, cfg: Video2PoseConfig) -> None:
        super().__init__()
        d = cfg.temporal_dim
        self.proj = nn.Linear(cfg.spatial_dim, d) if cfg.spatial_dim != d else nn.Identity()
        self.pos = PositionalEncoding(d)
        self.drop = nn.Dropout(cfg.dropout)
        layer_cfg = _layer_config(d, cfg.temporal_heads, cfg.ffn_mult, cfg.dropout)
        self.layers = nn.ModuleList(EncoderLayer(layer_cfg) for _ in range(cfg.temporal_layers))
        self.norm = nn.LayerNorm(d)

    def forward(self, v: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.pos(self.proj(v)))                          # (B, T, d)
        for layer in self.layers:
            x = layer(x, pad)                                          # (B, T, d), padding keys ignored
        return self.norm(x)                                            # (B, T, d)


class Video2Pose(nn.Module):
    """Frames ``(B, T, 3, S, S)`` (ImageNet-normalised RGB) + ``pad (B, T)`` -> features ``(B, T, 1959)``.

    The spatial ViT runs on real frames only, so padding frames cost nothing and cannot reach real ones;
    outputs at padding frames are 0. Every video needs at least one real frame. ``seed`` (optional) makes
    the initial weights reproducible without touching the global RNG.
    """

    def __init__(self, config: Video2PoseConfig | None = None, seed: int | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else Video2PoseConfig()
        self.config.validate()
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self.spatial = SpatialViT(self.config)
            self.temporal = TemporalAttention(self.config)
            d = self.config.temporal_dim
            self.heads = nn.ModuleDict({s: nn.Linear(d, SLOT_DIMS[s]) for s in SLOT_ORDER})  # Eq. 6

    @classmethod
    def from_checkpoint_config(cls, stored: Mapping[str, Any]) -> tuple[Video2Pose, dict[str, Any]]:
        """The untrained model of a stage-2 checkpoint (its ``video2pose`` config); no vocabularies."""
        return cls(Video2PoseConfig.from_dict(stored["video2pose"])), {}

    def _check(self, frames: torch.Tensor, pad: torch.Tensor) -> None:
        s = self.config.image_size
        if frames.dim() != 5 or tuple(frames.shape[2:]) != (3, s, s):
            raise ValueError(f"frames must have shape (B, T, 3, {s}, {s}) for {WHERE}.image_size {s}, got "
                             f"{tuple(frames.shape)}; resize them with pipelib.signx.frames_input")
        if tuple(pad.shape) != tuple(frames.shape[:2]):
            raise ValueError(f"pad must have shape {tuple(frames.shape[:2])}, got {tuple(pad.shape)}")
        if bool(pad.all(dim=1).any()):
            raise ValueError("every video in the batch needs at least one real (non-padding) frame")

    def frame_embeddings(self, frames: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Spatial ViT CLS state of each real frame, 0 at padding: ``(B, T, spatial_dim)``."""
        real = ~pad                                                    # (B, T)
        v_real = self.spatial(frames[real])                            # (N_real, spatial_dim)
        v = v_real.new_zeros(*pad.shape, v_real.size(-1))              # (B, T, spatial_dim)
        v[real] = v_real
        return v

    def forward(self, frames: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        pad = pad.to(torch.bool)
        self._check(frames, pad)
        v = self.frame_embeddings(frames, pad)                         # (B, T, spatial_dim)
        h = self.temporal(v, pad)                                      # (B, T, temporal_dim)
        out = torch.cat([self.heads[s](h) for s in SLOT_ORDER], dim=-1)  # (B, T, 1959)
        return out.masked_fill(pad[..., None], 0.0)                    # (B, T, 1959)


# --------------------------------------------------------------------------------------------- loss


def expand_slot_mask(slot_mask: torch.Tensor) -> torch.Tensor:
    """``(..., 5)`` per-slot mask -> ``(..., 1959)`` per-entry mask, each slot repeated over its width."""
    if slot_mask.shape[-1] != len(SLOT_ORDER):
        raise ValueError(f"slot_mask must end in {len(SLOT_ORDER)} slots {SLOT_ORDER}, got "
                         f"{tuple(slot_mask.shape)}")
    widths = torch.tensor([SLOT_DIMS[s] for s in SLOT_ORDER], device=slot_mask.device)
    return slot_mask.to(torch.bool).repeat_interleave(widths, dim=-1)  # (..., 1959)


def video2pose_loss(pred: torch.Tensor, target: torch.Tensor, slot_mask: torch.Tensor,
                    pad: torch.Tensor, balance_slots: bool = False) -> dict[str, torch.Tensor]:
    """Mean squared error over valid entries: real frames (``~pad``) x slots marked in ``slot_mask``.

    ``pred``, ``target``: (B, T, 1959) z-normalised features; ``slot_mask`` (B, T, 5) bool; ``pad`` (B, T)
    bool. Whatever masked entries hold (even NaN) changes neither the loss nor its gradient.

    Returns scalars: ``loss`` and ``mse_<slot>`` (mean over that slot's valid entries; 0 where the batch
    has none). ``loss`` is the mean over all valid entries (Eq. 14 up to a constant factor), so the two
    576-d grids weigh 3.5x the 165-d SMPL-X slot; with ``balance_slots`` it is the mean of the per-slot
    MSEs over the slots the batch holds, each slot weighing the same.
    """
    if pred.shape != target.shape or pred.shape[-1] != FUSED_DIM:
        raise ValueError(f"pred and target must both be (B, T, {FUSED_DIM}), got {tuple(pred.shape)} and "
                         f"{tuple(target.shape)}")
    valid = expand_slot_mask(slot_mask) & ~pad.to(torch.bool)[..., None]  # (B, T, 1959)
    zero = torch.zeros((), dtype=pred.dtype, device=pred.device)
    sq = (torch.where(valid, pred, zero) - torch.where(valid, target, zero)) ** 2  # (B, T, 1959), 0 if masked
    out: dict[str, torch.Tensor] = {"loss": sq.sum() / valid.sum().clamp(min=1)}
    start, per_slot, present = 0, [], []
    for s in SLOT_ORDER:
        part = slice(start, start + SLOT_DIMS[s])
        n = valid[..., part].sum()
        out[f"mse_{s}"] = sq[..., part].sum() / n.clamp(min=1)
        per_slot.append(out[f"mse_{s}"])
        present.append(n > 0)
        start = part.stop
    if balance_slots:
        held = torch.stack(present).to(pred.dtype)                            # (5,)
        out["loss"] = (torch.stack(per_slot) * held).sum() / held.sum().clamp(min=1)
    return out


# --------------------------------------------------------------------------------------------- stage 1


def freeze(module: nn.Module) -> nn.Module:
    """Freeze a (stage-1) module in place: no parameter requires grad, eval mode; returns it.

    Keep it outside the module being trained (whose ``train()`` would switch it back to training
    mode), or call ``freeze`` again after ``train()``.
    """
    module.requires_grad_(False)
    return module.eval()


def features_at_stride(video2pose: Video2Pose, frames: torch.Tensor, pad: torch.Tensor,
                       stride: int = 1) -> torch.Tensor:
    """Features for every frame from a model trained on every ``stride``-th frame: ``(B, T, 3, S, S)``
    -> ``(B, T, 1959)``.

    Each stride phase of the video (frames k, k + stride, ...) runs alone, with the frame spacing the
    temporal attention was trained on, and the outputs go back in frame order; stride 1 is one call.
    Phases that hold only padding (short videos) are skipped; padding frames come out as 0."""
    pad = pad.to(torch.bool)
    if stride <= 1:
        return video2pose(frames, pad)
    out = frames.new_zeros(*pad.shape, FUSED_DIM)                              # (B, T, 1959)
    for k in range(min(stride, pad.size(1))):
        sub_pad = pad[:, k::stride]                                            # (B, T_k)
        rows = torch.nonzero(~sub_pad.all(dim=1)).flatten()                    # videos with a real frame
        if len(rows):
            out[rows, k::stride] = video2pose(frames[rows, k::stride], sub_pad[rows])
    return out


def latents_from_video(video2pose: Video2Pose, pose2gloss_encode_fn: EncodeFn, frames: torch.Tensor,
                       pad: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """Stage-1 latents made from video alone: ``(B, T, 3, S, S)`` frames -> ``(B, T, d_latent)``.

    Video2Pose makes the features of every frame (``features_at_stride``: phase by phase when it was
    trained on every ``stride``-th frame); they fill every slot of every real frame, so the slot mask
    handed to ``pose2gloss_encode_fn(features (B, T, 1959), slot_mask (B, T, 5), pad (B, T))`` is
    ``~pad`` for all five slots. Gradients flow back to ``video2pose``; wrap the call in
    ``torch.no_grad()`` to export.
    """
    pad = pad.to(torch.bool)
    features = features_at_stride(video2pose, frames, pad, stride)            # (B, T, 1959)
    slot_mask = (~pad)[..., None].expand(*pad.shape, len(SLOT_ORDER))  # (B, T, 5)
    return pose2gloss_encode_fn(features, slot_mask, pad)              # (B, T, d_latent)


def load_video2pose(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Video2Pose:
    """The Video2Pose model stored in a stage-2 checkpoint, eval mode."""
    return load_model(path, map_location, expect=Video2Pose).model


def trained_stride(path: str | os.PathLike[str]) -> int:
    """The ``frame_stride`` a Video2Pose checkpoint was trained with (1 when not recorded)."""
    section = dict(stored_model_config(path).get("section") or {})
    return int(section.get("frame_stride") or 1)


