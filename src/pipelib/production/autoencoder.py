"""DARSLP region-wise pose autoencoder: 178-joint poses <-> 80 latent channels in four region groups.

Each region (:mod:`pipelib.production.regions`) has its own encoder and a mirrored decoder; the
latent vector is the concatenation body | right hand | left hand | face (8 | 28 | 28 | 16 by
default). Sizes follow the DARSLP reference: body a single ``Linear(18->8)`` (``hidden.body = 0``),
hands ``Linear(63->40)-PReLU-Linear(40->28)``, face ``Linear(384->96)-PReLU-Linear(96->16)``.

Loss (:func:`ae_loss`): per region, the L1 error over valid joints only, weighted 0.5 / 1.5 / 1.5 /
1.0 (body / right hand / left hand / face), plus ``encoder_l1`` (1e-4) x the sum of |W| over the
weight matrices of all four encoders (the paper's Eq. 2; the reference code leaves the face encoder
out and also counts biases and PReLU slopes). ``loss_norm`` chooses how a region's error is
averaged: ``value`` (default) divides by the number of valid values (a mean absolute error in
shoulder widths), ``frame`` divides the summed error by the number of frames with a valid joint in
the region (the paper's Eq. 1 and the reference, which let the 384-value face outweigh a hand).

Config section (``AEConfig.from_dict``; region mappings may name only the regions they change)::

    latent:       {body: 8, right_hand: 28, left_hand: 28, face: 16}
    hidden:       {body: 0, right_hand: 40, left_hand: 40, face: 96}   # 0: one Linear layer
    loss_weights: {body: 0.5, right_hand: 1.5, left_hand: 1.5, face: 1.0}
    encoder_l1:   1.0e-4
    loss_norm:    value            # or frame
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from pipelib.production.autoencoder_config import DEFAULT_HIDDEN as DEFAULT_HIDDEN
from pipelib.production.autoencoder_config import DEFAULT_LATENT as DEFAULT_LATENT
from pipelib.production.autoencoder_config import DEFAULT_LOSS_WEIGHTS as DEFAULT_LOSS_WEIGHTS
from pipelib.production.autoencoder_config import LOSS_NORMS as LOSS_NORMS
from pipelib.production.autoencoder_config import AEConfig
from pipelib.production.regions import (
    REGION_DIMS,
    REGION_JOINTS,
    REGIONS,
    merge_regions,
    split_joint_mask,
    split_regions,
)
from pipelib.training.loading import load_model


def region_mlp(n_in: int, n_hidden: int, n_out: int) -> nn.Sequential:
    """``Linear(n_in->n_hidden)-PReLU-Linear(n_hidden->n_out)``; ``Linear(n_in->n_out)`` if n_hidden is 0."""
    if n_hidden == 0:
        return nn.Sequential(nn.Linear(n_in, n_out))
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.PReLU(), nn.Linear(n_hidden, n_out))


def _expand_mask(poses: torch.Tensor, joint_mask: torch.Tensor) -> torch.Tensor:
    """``joint_mask`` as ``(B, T, 178)`` bool; a ``(B, T)`` frame mask applies to every joint."""
    m = joint_mask.to(torch.bool)
    if m.shape == poses.shape[:-2]:
        m = m[..., None].expand(poses.shape[:-1])                             # (B, T, 178)
    if m.shape != poses.shape[:-1]:
        raise ValueError(f"joint_mask must have shape {tuple(poses.shape[:-1])} (or frames only, "
                         f"{tuple(poses.shape[:-2])}), got {tuple(joint_mask.shape)}")
    return m


class PoseAutoencoder(nn.Module):
    """Region-wise autoencoder. ``encode: (..., 178, 3) -> (..., C)``, ``decode: (..., C) -> (..., 178, 3)``.

    ``seed`` (optional) makes the initial weights reproducible without touching the global RNG.
    """

    def __init__(self, config: AEConfig | None = None, seed: int | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else AEConfig()
        self.config.validate()
        lat, hid = self.config.latent, self.config.hidden
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self.encoders = nn.ModuleDict({r: region_mlp(REGION_DIMS[r], hid[r], lat[r]) for r in REGIONS})
            self.decoders = nn.ModuleDict({r: region_mlp(lat[r], hid[r], REGION_DIMS[r]) for r in REGIONS})

    @classmethod
    def from_checkpoint_config(cls, stored: Mapping[str, Any]) -> tuple[PoseAutoencoder, dict[str, Any]]:
        """The untrained model a checkpoint's stored model config (an ``AEConfig`` dict) describes."""
        return cls(AEConfig.from_dict(dict(stored))), {}

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def latent_slices(self) -> dict[str, slice]:
        """Channel range of each region in the latent vector."""
        return self.config.latent_slices()

    def encode_regions(self, poses: torch.Tensor) -> dict[str, torch.Tensor]:
        """``poses: (..., 178, 3)`` -> ``{region: (..., L_r)}``."""
        parts = split_regions(poses)                                          # {r: (..., J_r, 3)}
        return {r: self.encoders[r](parts[r].flatten(-2)) for r in REGIONS}   # {r: (..., L_r)}

    def encode(self, poses: torch.Tensor, joint_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``poses: (B, T, 178, 3)`` (any leading shape) -> ``(B, T, C)``.

        ``joint_mask: (B, T, 178)`` (or ``(B, T)``) bool, optional: masked joints are set to 0 (the
        skeleton files' convention) before encoding, so whatever they held cannot reach the latents.
        """
        if joint_mask is not None:
            m = _expand_mask(poses, joint_mask)                               # (B, T, 178)
            poses = torch.where(m[..., None], poses, torch.zeros((), dtype=poses.dtype, device=poses.device))
        z = self.encode_regions(poses)
        return torch.cat([z[r] for r in REGIONS], dim=-1)                    # (B, T, C)

    def decode_regions(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """``z: (..., C)`` -> ``{region: (..., J_r, 3)}``."""
        if z.shape[-1] != self.latent_dim:
            raise ValueError(f"latents must have {self.latent_dim} channels, got shape {tuple(z.shape)}")
        slices = self.latent_slices()
        return {
            r: self.decoders[r](z[..., slices[r]]).unflatten(-1, (len(REGION_JOINTS[r]), 3))  # (..., J_r, 3)
            for r in REGIONS
        }

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z: (B, T, C)`` -> ``(B, T, 178, 3)``; body wrists are copies of the hand roots."""
        return merge_regions(self.decode_regions(z))                          # (B, T, 178, 3)

    def forward(self, poses: torch.Tensor, joint_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Reconstruction ``(B, T, 178, 3)`` of ``poses``."""
        return self.decode(self.encode(poses, joint_mask))

    def encoder_weight_l1(self) -> torch.Tensor:
        """Sum of |W| over the weight matrices of every encoder Linear layer (scalar)."""
        return sum(
            (m.weight.abs().sum() for enc in self.encoders.values() for m in enc if isinstance(m, nn.Linear)),
            torch.zeros((), device=next(self.parameters()).device),
        )


def ae_loss(model: PoseAutoencoder, poses: torch.Tensor, joint_mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Masked region-weighted L1 reconstruction loss plus the encoder-weight L1 term.

    ``poses: (B, T, 178, 3)`` shoulder-width units; ``joint_mask: (B, T, 178)`` bool (or ``(B, T)``),
    True where a joint is real: padded frames and untracked joints are False and never count, and
    their values never reach the encoder (they are zeroed first). Body wrists (slots 2, 5) belong to
    no region and are not scored.

    Returns scalars: ``loss`` (= ``recon`` + ``reg``), ``recon`` (sum of weight x region error),
    ``reg`` (encoder_l1 x sum |W_enc|), and ``recon_<region>`` (unweighted region error). A region
    with no valid joint in the batch contributes 0.
    """
    cfg = model.config
    m = _expand_mask(poses, joint_mask)                                       # (B, T, 178)
    x = torch.where(m[..., None], poses, torch.zeros((), dtype=poses.dtype, device=poses.device))
    recon = model.decode_regions(model.encode(x))                             # {r: (B, T, J_r, 3)}
    targets, masks = split_regions(x), split_joint_mask(m)                    # (B, T, J_r, 3), (B, T, J_r)
    out: dict[str, torch.Tensor] = {}
    total = torch.zeros((), dtype=poses.dtype, device=poses.device)
    for r in REGIONS:
        valid = masks[r][..., None].expand_as(targets[r])                     # (B, T, J_r, 3)
        err = torch.where(valid, (recon[r] - targets[r]).abs(), torch.zeros_like(targets[r])).sum()
        count = valid.sum() if cfg.loss_norm == "value" else masks[r].any(dim=-1).sum()
        out[f"recon_{r}"] = err / count.clamp(min=1)
        total = total + cfg.loss_weights[r] * out[f"recon_{r}"]
    out["recon"] = total
    out["reg"] = cfg.encoder_l1 * model.encoder_weight_l1()
    out["loss"] = out["recon"] + out["reg"]
    return out


def load_autoencoder(path: str | os.PathLike[str],
                     map_location: str | torch.device = "cpu") -> PoseAutoencoder:
    """The autoencoder stored in a training checkpoint, in eval mode."""
    return load_model(path, map_location, expect=PoseAutoencoder).model
