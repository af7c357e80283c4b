"""Decoded video frames -> Video2Pose input: square-resized, RGB, [0, 1], ImageNet-normalised, channels first.

Frames are resized to ``size`` x ``size`` without keeping the aspect ratio (the whole frame stays in view;
``size`` is ``signx.video2pose.model.image_size``: 64 or 96 in the demo, 224 in the paper). One output
frame per decoded frame, in order, so row t lines up with frame t of the fused shards;
:func:`entry_frames_strided` prepares every n-th frame only (row t = frame n t) and never decodes the
others.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import cv2
import numpy as np

from pipelib.datasets.frames import iter_frames, read_strided

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # RGB
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)   # RGB
SIZE_KEY = "signx.video2pose.model.image_size"


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"image size must be a positive int ({SIZE_KEY}), got {size!r}")


def prepare_frame(frame_bgr: np.ndarray, size: int) -> np.ndarray:
    """One BGR uint8 frame (H, W, 3) -> (3, size, size) float32, ImageNet-normalised RGB."""
    _check_size(size)
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
        raise ValueError(f"frames must be (H, W, 3) BGR uint8, got {frame_bgr.shape} {frame_bgr.dtype}")
    h, w = frame_bgr.shape[:2]
    shrink = size * size < h * w
    img = cv2.resize(frame_bgr, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    rgb = img[:, :, ::-1].astype(np.float32) / 255.0                   # (size, size, 3) in [0, 1]
    return ((rgb - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1).copy()  # (3, size, size)


def prepare_frames(frames: Iterable[np.ndarray], size: int) -> np.ndarray:
    """BGR uint8 frames, each (H, W, 3) -> (T, 3, size, size) float32; at least one frame is needed."""
    _check_size(size)
    out = [prepare_frame(f, size) for f in frames]
    if not out:
        raise ValueError("no frames to prepare: the video decoded to zero frames")
    return np.stack(out)                                               # (T, 3, size, size)


def _check_media(source: str | os.PathLike[str], media: str) -> None:
    if media not in ("frames", "video"):
        raise ValueError(f"{source}: Video2Pose needs decoded frames, but media is {media!r}; only "
                         f"'frames' and 'video' manifest entries have pixels")


def read_frames(source: str | os.PathLike[str], media: str, size: int) -> np.ndarray:
    """Decode a frame folder or video file (``media``: ``frames`` / ``video``) -> (T, 3, size, size)
    float32."""
    _check_media(source, media)
    return prepare_frames(iter_frames(source, media), size)


def entry_frames(entry: Mapping[str, Any], size: int) -> np.ndarray:
    """The frames of one manifest row (``source``, ``media`` columns) -> (T, 3, size, size) float32."""
    try:
        return read_frames(entry["source"], entry["media"], size)
    except ValueError as err:
        raise ValueError(f"manifest entry {entry.get('id', '?')}: {err}") from None


def entry_frames_strided(entry: Mapping[str, Any], size: int, stride: int) -> tuple[np.ndarray, int]:
    """Frames 0, stride, 2 stride, ... of one manifest row -> (ceil(T / stride), 3, size, size) float32,
    equal to ``entry_frames(entry, size)[::stride]``, and T, the row's frame count. The frames in between
    are not decoded, so a run at stride n decodes and prepares 1/n of the frames."""
    try:
        _check_media(entry["source"], entry["media"])
        frames, total = read_strided(entry["source"], entry["media"], stride)
        return prepare_frames(frames, size), total
    except ValueError as err:
        raise ValueError(f"manifest entry {entry.get('id', '?')}: {err}") from None
