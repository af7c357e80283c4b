"""Frames lined up with fused features, the data Video2Pose trains and is scored on.

A :class:`FramePair` holds one video's frames ``(T, 3, S, S)`` float32 (as
:func:`pipelib.signx.frames_input.entry_frames` prepares them) and its fused target; :func:`load_pair`
builds one from a manifest row, :class:`PairSet` serves a split's pairs (cached or prepared per use) and
:func:`pair_batch` pads pairs into a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from pipelib.batching import pad_sequences
from pipelib.signx.data import FusedCorpus
from pipelib.signx.frames_input import entry_frames_strided

log = logging.getLogger("pipelib.signx")
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
        """Frames ``start`` .. ``start + length`` (None: to the end)."""
        stop = None if length is None else start + length
        return self._part(slice(start, stop))

    def phase(self, k: int, stride: int) -> FramePair:
        """Every ``stride``-th frame from frame ``k``: frames k, k + stride, ..."""
        return self._part(slice(k, None, stride))

    def _part(self, part: slice) -> FramePair:
        return FramePair(self.video_id, self.frames[part], self.features[part], self.slot_mask[part],
                         self.mask[part])


def load_pair(row: Mapping[str, Any], corpus: FusedCorpus, image_size: int, stride: int = 1) -> FramePair:
    """Frames of a manifest row lined up with its fused features, every ``stride``-th frame (only those
    frames are decoded)."""
    frames, total = entry_frames_strided(row, image_size, stride)           # (ceil(T_f / stride), 3, S, S)
    fused = corpus.get(str(row["id"]))
    n = min(total, fused.n_frames)
    if total != fused.n_frames:
        log.warning("video %s: %d decoded frames but %d fused frames; using the first %d", row["id"],
                    total, fused.n_frames, n)
    step = slice(0, n, stride)
    kept = len(range(n)[step])
    return FramePair(fused.video_id, frames[:kept], fused.features[step], fused.slot_mask[step],
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
