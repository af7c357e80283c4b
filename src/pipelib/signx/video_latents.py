"""SignX's RGB-only front end: pruned latents made from pixels alone.

frames (1, T, 3, S, S) -> Video2Pose (every frame, phase by phase at the stride it was trained with)
-> the frozen Pose2Gloss encoder -> the pruning mask's kept dimensions -> (1, T, kept_width), the input
the latent-space recognisers take. The recognition table scores it beside the estimator-made latents;
the efficiency table times it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pipelib.signx.frame_pairs import PIXEL_MEDIA
from pipelib.signx.frames_input import entry_frames
from pipelib.signx.pose2gloss import Pose2Gloss, load_pose2gloss
from pipelib.signx.pruning import PruningMask
from pipelib.signx.video2pose import Video2Pose, latents_from_video, load_video2pose, trained_stride


@dataclass
class VideoFrontEnd:
    """Video2Pose and the Pose2Gloss encoder it was trained against, in eval mode on ``device``."""

    video2pose: Video2Pose
    pose2gloss: Pose2Gloss
    stride: int                # the frame spacing Video2Pose was trained with
    keep: torch.Tensor         # (kept_width,) int64: the pruning mask's kept latent dimensions
    device: torch.device

    @classmethod
    def load(cls, video2pose_ckpt: str | os.PathLike[str], pose2gloss_ckpt: str | os.PathLike[str],
             mask: PruningMask, device: torch.device) -> VideoFrontEnd:
        """Both checkpoints on ``device``; the mask must have been fitted on this Pose2Gloss's latents."""
        pose2gloss, _ = load_pose2gloss(pose2gloss_ckpt)
        if pose2gloss.cfg.d_latent != mask.dim:
            raise ValueError(f"{pose2gloss_ckpt} makes {pose2gloss.cfg.d_latent}-d latents but the pruning "
                             f"mask was fitted on {mask.dim}; use the Pose2Gloss checkpoint the latents "
                             "came from")
        video2pose = load_video2pose(video2pose_ckpt).to(device).eval()
        return cls(video2pose, pose2gloss.to(device).eval(), trained_stride(video2pose_ckpt),
                   torch.as_tensor(mask.kept_indices, device=device), device)

    @property
    def image_size(self) -> int:
        """Side of the square frames Video2Pose takes (pixels)."""
        return int(self.video2pose.config.image_size)

    def frames(self, entry: Mapping[str, Any]) -> torch.Tensor:
        """A manifest row's decoded frames on the device: (1, T, 3, S, S) float32."""
        return torch.from_numpy(entry_frames(entry, self.image_size))[None].to(self.device)

    @torch.inference_mode()
    def latents(self, frames: torch.Tensor) -> torch.Tensor:
        """Pruned latents of one video's frames: (1, T, 3, S, S) -> (1, T, kept_width) float32."""
        pad = torch.zeros(frames.shape[:2], dtype=torch.bool, device=frames.device)  # (1, T)
        z = latents_from_video(self.video2pose, self.pose2gloss.encode, frames, pad, self.stride)
        return z.index_select(-1, self.keep)

    def of_videos(self, entries: Iterable[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """``{id: (T, kept_width) float32}`` for the manifest rows that have pixels (media frames or
        video); rows without are left out."""
        out = {}
        for entry in entries:
            if entry["media"] in PIXEL_MEDIA:
                out[str(entry["id"])] = self.latents(self.frames(entry))[0].float().cpu().numpy()
        return out
