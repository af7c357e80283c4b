"""DARSLP generator: text features -> 80 latent channels per frame, non-autoregressively, plus a length.

Text features (B, L, text_dim) -> Linear -> + positional encoding -> Transformer encoder (memory).
Decoder queries: one canonical reference latent (a buffer set from data with ``set_reference``),
projected to d_model, repeated over ``max_len`` frames, + positional encoding. The Transformer decoder
cross-attends to the memory without a causal mask, so all ``max_len`` frames come out at once;
Linear d_model -> latent_dim. Length head: masked mean-pool of the memory -> Linear(d_model, 1) ->
sigmoid = the sequence length as a ratio of ``max_len``. Inference keeps the first
round(ratio * max_len) frames.

Latent box (not in the paper): the autoencoder's latents are strongly correlated within a region;
along most principal axes the training latents hardly vary (e.g. 2 of 16 face axes carry nearly all
the variance), yet the unregularised decoder maps those axes to large, random joint displacements.
A generator's per-channel errors excite exactly those axes, which is what turns generated faces and
hands into crumpled meshes. ``set_latent_box`` stores each region's principal axes and spreads of the
training latents, and ``generate`` keeps every axis within ``latent_box`` standard deviations of the
training mean (``latent_box: 0`` turns this off); ground-truth latents pass nearly unchanged.

Losses: phase 1 = region-weighted masked L1 on latents + L1 on the length ratio; phase 2 adds the
channel-prior KL term of :mod:`pipelib.production.priors`; a phase-2 run starts from the phase-1
checkpoint (the trainer's ``init_from``), never from scratch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from pipelib.production.generator_config import CONFIG_KEY, GeneratorConfig
from pipelib.production.priors import masked_kl
from pipelib.text.encoders import PositionalEncoding, TextEncoderConfig, build_text_encoder
from pipelib.text.vocab import Vocab
from pipelib.training.loading import load_model

L1_WEIGHTS = (1.0, 14.0, 10.0, 2.0)   # body, right hand, left hand, face (the paper's final choice)
KL_WEIGHTS = (1.0, 10.0, 6.0, 1.0)


class LatentGenerator(nn.Module):
    """Text features -> (latents (B, max_len, latent_dim), length ratio (B,)) in one pass."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.text_proj = nn.Linear(cfg.text_dim, d)
        self.text_pos = PositionalEncoding(d, cfg.max_text_len)
        enc_layer = nn.TransformerEncoderLayer(d, cfg.enc_heads, cfg.ffn_dim, cfg.dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(enc_layer, cfg.enc_layers, enable_nested_tensor=False)
        self.length_head = nn.Linear(d, 1)

        self.register_buffer("reference", torch.zeros(cfg.latent_dim))   # (latent_dim,)
        self.register_buffer("reference_set", torch.tensor(False))
        c = cfg.latent_dim
        self.register_buffer("box_mean", torch.zeros(c))                 # (C,)
        self.register_buffer("box_axes", torch.eye(c))                   # (C, C) block-diagonal rotation
        self.register_buffer("box_sd", torch.zeros(c))                   # (C,) sd along each axis
        self.register_buffer("box_set", torch.tensor(False))
        self.query_proj = nn.Linear(cfg.latent_dim, d)
        self.query_pos = PositionalEncoding(d, cfg.max_len)
        dec_layer = nn.TransformerDecoderLayer(d, cfg.dec_heads, cfg.ffn_dim, cfg.dropout, batch_first=True)
        self.decoder = nn.TransformerDecoder(dec_layer, cfg.dec_layers)
        self.out = nn.Linear(d, cfg.latent_dim)
        self.drop = nn.Dropout(cfg.dropout)

    def set_reference(self, latent: torch.Tensor) -> None:
        """Store the canonical reference latent (latent_dim,), e.g. the mean training latent."""
        latent = torch.as_tensor(latent, dtype=torch.float32)
        if latent.shape != (self.cfg.latent_dim,) or not torch.isfinite(latent).all():
            raise ValueError(f"reference latent must be finite with shape ({self.cfg.latent_dim},), "
                             f"got {tuple(latent.shape)}")
        self.reference.copy_(latent)
        self.reference_set.fill_(True)

    def set_latent_box(self, latents: torch.Tensor, region_slices: RegionSlices) -> None:
        """Principal axes and spreads of training latents ``(N, latent_dim)``, per region (channel slices)."""
        latents = torch.as_tensor(latents, dtype=torch.float64)
        c = self.cfg.latent_dim
        if latents.dim() != 2 or latents.shape[1] != c or latents.shape[0] < 2:
            raise ValueError(f"latent box needs (N >= 2, {c}) training latents, got {tuple(latents.shape)}")
        mean = latents.mean(dim=0)                                         # (C,)
        axes = torch.zeros(c, c, dtype=torch.float64)
        sd = torch.zeros(c, dtype=torch.float64)
        for sl in _slices(region_slices, [1.0] * len(_as_list(region_slices)), c):
            centred = latents[:, sl] - mean[sl]                            # (N, C_r)
            var, vec = torch.linalg.eigh(centred.T @ centred / (len(latents) - 1))
            axes[sl, sl] = vec
            sd[sl] = var.clamp(min=0.0).sqrt()
        self.box_mean.copy_(mean.float())
        self.box_axes.copy_(axes.float())
        self.box_sd.copy_(sd.float())
        self.box_set.fill_(True)

    def keep_in_box(self, latents: torch.Tensor) -> torch.Tensor:
        """``latents (..., C)`` with each principal coordinate clamped to +-latent_box training sds."""
        if self.cfg.latent_box == 0.0 or not bool(self.box_set):
            return latents
        coords = (latents - self.box_mean) @ self.box_axes                 # (..., C)
        limit = self.cfg.latent_box * self.box_sd
        coords = torch.maximum(torch.minimum(coords, limit), -limit)
        return self.box_mean + coords @ self.box_axes.T                    # (..., C)

    def encode(self, text_feats: torch.Tensor, text_pad_mask: torch.Tensor) -> torch.Tensor:
        """Memory (B, L, d_model) of text features (B, L, text_dim) with pad mask (B, L) (True = pad)."""
        if text_feats.dim() != 3 or text_feats.shape[-1] != self.cfg.text_dim:
            raise ValueError(f"text features must be (B, L, {self.cfg.text_dim}) to match "
                             f"{CONFIG_KEY}.text_dim, got {tuple(text_feats.shape)}")
        if text_pad_mask.shape != text_feats.shape[:2] or text_pad_mask.dtype != torch.bool:
            raise ValueError(f"text_pad_mask must be bool (B, L) = {tuple(text_feats.shape[:2])}, "
                             f"got {text_pad_mask.dtype} {tuple(text_pad_mask.shape)}")
        if text_pad_mask.all(dim=1).any():
            raise ValueError("every sentence needs at least one unpadded token")
        x = self.drop(self.text_pos(self.text_proj(text_feats)))          # (B, L, d)
        return self.encoder(x, src_key_padding_mask=text_pad_mask)        # (B, L, d)

    def length_ratio(self, memory: torch.Tensor, text_pad_mask: torch.Tensor) -> torch.Tensor:
        """Predicted length / max_len in (0, 1), shape (B,), from the masked mean of the memory."""
        keep = (~text_pad_mask).unsqueeze(-1).to(memory.dtype)           # (B, L, 1)
        pooled = (memory * keep).sum(dim=1) / keep.sum(dim=1)             # (B, d)
        return torch.sigmoid(self.length_head(pooled)).squeeze(-1)        # (B,)

    def queries(self, batch: int) -> torch.Tensor:
        """Decoder queries (B, max_len, d_model): the projected reference latent + positions."""
        if not bool(self.reference_set):
            raise RuntimeError("LatentGenerator: the reference latent is unset; call "
                               "set_reference(mean training latent) before training or load a checkpoint")
        q = self.query_proj(self.reference)                                # (d,)
        q = q.expand(batch, self.cfg.max_len, -1)                          # (B, max_len, d)
        return self.drop(self.query_pos(q))

    def forward(self, text_feats: torch.Tensor, text_pad_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents (B, max_len, latent_dim) and length ratio (B,) for text features (B, L, text_dim)."""
        memory = self.encode(text_feats, text_pad_mask)                   # (B, L, d)
        ratio = self.length_ratio(memory, text_pad_mask)                   # (B,)
        h = self.decoder(self.queries(memory.shape[0]), memory,
                         memory_key_padding_mask=text_pad_mask)            # (B, max_len, d), no causal mask
        return self.out(h), ratio                                          # (B, max_len, latent_dim)

    def predict_lengths(self, ratio: torch.Tensor) -> torch.Tensor:
        """Frame counts (B,) long: round(ratio * max_len) clamped to [1, max_len]."""
        return torch.round(ratio * self.cfg.max_len).long().clamp(1, self.cfg.max_len)

    @torch.no_grad()
    def generate(self, text_feats: torch.Tensor, text_pad_mask: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Inference (call ``eval()`` first): latents (B, max_len, latent_dim) kept in the latent box,
        lengths (B,) and frame mask (B, max_len), True for the frames to keep."""
        latents, ratio = self(text_feats, text_pad_mask)
        latents = self.keep_in_box(latents)
        lengths = self.predict_lengths(ratio)
        return latents, lengths, frame_mask_from_lengths(lengths, self.cfg.max_len)


class TextToLatent(nn.Module):
    """A text encoder and a generator trained together: ``forward(texts)`` -> (latents, ratio)."""

    def __init__(self, text_encoder: nn.Module, generator: LatentGenerator) -> None:
        super().__init__()
        if getattr(text_encoder, "out_dim", generator.cfg.text_dim) != generator.cfg.text_dim:
            raise ValueError(f"{CONFIG_KEY}.text_dim ({generator.cfg.text_dim}) must equal the text "
                             f"encoder's output width ({text_encoder.out_dim})")
        self.text_encoder = text_encoder
        self.generator = generator

    @classmethod
    def from_checkpoint_config(cls, stored: Mapping[str, Any]) -> tuple[TextToLatent, dict[str, Vocab]]:
        """The untrained model of a generator checkpoint: its ``section`` and text ``vocab`` (JSON)."""
        vocab = Vocab.from_json(stored["vocab"])
        return build_model(stored["section"], vocab), {"text": vocab}

    def forward(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        feats, pad_mask = self.text_encoder.encode(texts)                  # (B, L, D), (B, L)
        return self.generator(feats, pad_mask)

    @torch.no_grad()
    def generate_latents(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents (B, max_len, C) and frame counts (B,) for a batch of sentences: what generation asks
        of every generator kind (docs/systems.md)."""
        feats, pad_mask = self.text_encoder.encode(texts)
        latents, lengths, _ = self.generator.generate(feats, pad_mask)
        return latents, lengths


def build_model(section: Mapping[str, Any], vocab: Vocab) -> TextToLatent:
    """Text encoder + generator as the ``production.generator`` section configures them; ``text_dim``
    follows the encoder's width."""
    te_cfg = TextEncoderConfig.from_dict(section.get("text_encoder"), f"{CONFIG_KEY}.text_encoder")
    encoder = build_text_encoder(te_cfg, vocab, f"{CONFIG_KEY}.text_encoder")
    model_section = dict(section.get("model") or {})
    model_section["text_dim"] = encoder.out_dim
    gen_cfg = GeneratorConfig.from_dict(model_section, f"{CONFIG_KEY}.model")
    return TextToLatent(encoder, LatentGenerator(gen_cfg))


def load_generator(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> TextToLatent:
    """A trained generator rebuilt from its checkpoint (config and vocabulary inside), eval mode."""
    return load_model(path, map_location, expect=TextToLatent).model


# ---------------------------------------------------------------------------------------------- targets

def frame_mask_from_lengths(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) frame counts -> (B, max_len) bool, True for the first ``lengths[b]`` frames."""
    return torch.arange(max_len, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def length_target_ratio(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Length-head target (B,) float: min(F / max_len, 1)."""
    return (lengths.to(torch.float32) / max_len).clamp(max=1.0)


def pad_latents(seqs: Sequence[torch.Tensor], max_len: int
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ground-truth latents [(F_i, C)] -> targets (B, max_len, C) zero-padded (longer ones cut),
    frame mask (B, max_len) bool and length ratio (B,) = min(F_i / max_len, 1)."""
    if not seqs:
        raise ValueError("pad_latents needs at least one sequence")
    channels = seqs[0].shape[-1]
    targets = seqs[0].new_zeros(len(seqs), max_len, channels)
    lengths = torch.zeros(len(seqs), dtype=torch.long)
    for i, s in enumerate(seqs):
        if s.dim() != 2 or s.shape[-1] != channels:
            raise ValueError(f"sequence {i} has shape {tuple(s.shape)}; expected (F, {channels})")
        n = min(s.shape[0], max_len)
        targets[i, :n] = s[:n]
        lengths[i] = s.shape[0]
    mask = frame_mask_from_lengths(lengths.clamp(max=max_len), max_len).to(targets.device)
    return targets, mask, length_target_ratio(lengths, max_len).to(targets.device)


# ----------------------------------------------------------------------------------------------- losses

RegionSlices = Sequence[slice] | Mapping[str, slice]


def _as_list(region_slices: RegionSlices) -> list[slice]:
    return list(region_slices.values()) if isinstance(region_slices, Mapping) else list(region_slices)


def _slices(region_slices: RegionSlices, weights: Sequence[float], channels: int) -> list[slice]:
    out = _as_list(region_slices)
    if len(out) != len(weights):
        raise ValueError(f"{len(out)} regions but {len(weights)} region weights")
    for sl in out:
        if not isinstance(sl, slice) or sl.stop is None or sl.stop > channels or (sl.start or 0) < 0:
            raise ValueError(f"region slice {sl!r} does not lie within the {channels} latent channels")
    return out


def region_l1(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor,
              region_slices: RegionSlices, region_weights: Sequence[float] = L1_WEIGHTS
              ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Region-weighted L1 over valid frames: sum_R w_R * sum_{valid t, c in R} |pred - target| / #valid.

    ``pred`` (B, T_p, C) with T_p >= T; ``target`` (B, T, C); ``frame_mask`` (B, T) bool. Padded target
    frames never reach the result (not even NaN). Returns the total and the unweighted per-region terms.
    """
    if target.dim() != 3 or pred.dim() != 3 or pred.shape[-1] != target.shape[-1]:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must be (B, T, C)")
    steps = target.shape[1]
    if pred.shape[1] < steps or pred.shape[0] != target.shape[0]:
        raise ValueError(f"target {tuple(target.shape)} is longer than pred {tuple(pred.shape)}")
    if frame_mask.shape != target.shape[:2] or frame_mask.dtype != torch.bool:
        raise ValueError(f"frame_mask must be bool {tuple(target.shape[:2])}, got {frame_mask.dtype} "
                         f"{tuple(frame_mask.shape)}")
    slices = _slices(region_slices, region_weights, pred.shape[-1])
    err = (pred[:, :steps] - target).abs()                                 # (B, T, C)
    err = torch.where(frame_mask.unsqueeze(-1), err, torch.zeros_like(err))
    n_valid = frame_mask.sum().clamp(min=1)
    parts = [err[..., sl].sum() / n_valid for sl in slices]
    total = sum((w * p for w, p in zip(region_weights, parts, strict=True)), pred.new_zeros(()))
    return total, parts


def phase1_loss(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor,
                region_slices: RegionSlices, region_weights: Sequence[float] = L1_WEIGHTS, *,
                length_pred: torch.Tensor, length_target_ratio: torch.Tensor,
                length_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """Phase-1 objective: region-weighted masked L1 on latents + ``length_weight`` * L1 on the ratio.

    Returns ``{"loss", "latent", "length", "latent/<i>"}`` (scalars; ``latent/<i>`` unweighted per region,
    named by the mapping's keys when ``region_slices`` is a dict).
    """
    latent, parts = region_l1(pred, target, frame_mask, region_slices, region_weights)
    if length_pred.shape != length_target_ratio.shape:
        raise ValueError(f"length_pred {tuple(length_pred.shape)} and length_target_ratio "
                         f"{tuple(length_target_ratio.shape)} must match")
    length = (length_pred - length_target_ratio).abs().mean()
    names = list(region_slices) if isinstance(region_slices, Mapping) else range(len(parts))
    out = {"loss": latent + length_weight * length, "latent": latent, "length": length}
    out.update({f"latent/{name}": p.detach() for name, p in zip(names, parts, strict=True)})
    return out


def phase2_loss(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor,
                region_slices: RegionSlices, region_weights: Sequence[float] = L1_WEIGHTS, *,
                length_pred: torch.Tensor, length_target_ratio: torch.Tensor,
                prior_mean: torch.Tensor, prior_logvar: torch.Tensor,
                kl_region_weights: Sequence[float] = KL_WEIGHTS, kl_weight: float = 1.0,
                length_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """Phase-2 objective: :func:`phase1_loss` + ``kl_weight`` * the channel-prior KL
    (:func:`pipelib.production.priors.masked_kl`) of the predicted latents over the valid frames only.

    ``prior_mean``, ``prior_logvar``: (C,); ``kl_region_weights``: one weight per region, spread over
    its channels. Returns phase 1's dict with ``"kl"`` added and included in ``"loss"``.
    """
    out = phase1_loss(pred, target, frame_mask, region_slices, region_weights, length_pred=length_pred,
                      length_target_ratio=length_target_ratio, length_weight=length_weight)
    channel_w = pred.new_zeros(pred.shape[-1])                                 # (C,)
    slices = _slices(region_slices, kl_region_weights, pred.shape[-1])
    for sl, w in zip(slices, kl_region_weights, strict=True):
        channel_w[sl] = float(w)
    kl = masked_kl(pred[:, : target.shape[1]], frame_mask, prior_mean, prior_logvar, channel_w)
    out["kl"] = kl
    out["loss"] = out["loss"] + kl_weight * kl
    return out
