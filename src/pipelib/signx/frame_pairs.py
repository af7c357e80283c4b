"""Frames lined up with fused features, the data Video2Pose trains and is scored on.

A :class:`FramePair` holds one video's frames ``(T, 3, S, S)`` float32 (as
:func:`pipelib.signx.frames_input.entry_frames` prepares them) and its fused target; :func:`load_pair`
builds one from a manifest row, :class:`PairSet` serves windows of a split's videos, decoding a frame folder's
frames only when a window first needs them, and :func:`pair_batch` pads pairs into a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch

from pipelib.batching import pad_sequences
from pipelib.datasets.frames import frame_files, read_frame
from pipelib.signx.data import FusedCorpus, FusedVideo
from pipelib.signx.frames_input import entry_frames_strided, prepare_frame

log = logging.getLogger("pipelib.signx")
PIXEL_MEDIA = ("frames", "video")
T = TypeVar("T")


@dataclass
class FramePair:
    """One video's frames (T, 3, S, S) float32 and its fused target: features (T, 1959) float32,
    slot_mask (T, 5) bool (and-ed with the frame mask), frame mask (T,) bool."""

    video_id: str
    frames: np.ndarray
    features: np.ndarray
    slot_mask: np.ndarray
    mask: np.ndarray


def _aligned(row: Mapping[str, Any], corpus: FusedCorpus, total: int) -> tuple[FusedVideo, int]:
    """The fused video of ``row`` and how many of its ``total`` decoded frames line up with it (logged
    when the counts differ)."""
    fused = corpus.get(str(row["id"]))
    n = min(total, fused.n_frames)
    if total != fused.n_frames:
        log.warning("video %s: %d decoded frames but %d fused frames; using the first %d", row["id"],
                    total, fused.n_frames, n)
    return fused, n


def load_pair(row: Mapping[str, Any], corpus: FusedCorpus, image_size: int, stride: int = 1) -> FramePair:
    """Frames of a manifest row lined up with its fused features, every ``stride``-th frame (only those
    frames are decoded)."""
    frames, total = entry_frames_strided(row, image_size, stride)           # (ceil(T_f / stride), 3, S, S)
    fused, n = _aligned(row, corpus, total)
    step = slice(0, n, stride)
    return FramePair(fused.video_id, frames[:len(range(n)[step])], fused.features[step],
                     fused.slot_mask[step], fused.mask[step])


def pixel_rows(rows: pd.DataFrame, corpus: FusedCorpus, what: str) -> pd.DataFrame:
    """The rows that have pixels and fused features (logs how many were dropped)."""
    has_pixels = rows["media"].isin(PIXEL_MEDIA)
    if not has_pixels.all():
        log.warning("%s: %d of %d entries have no pixels (media poses) and are skipped", what,
                    int((~has_pixels).sum()), len(rows))
    rows = rows[has_pixels]
    kept = set(corpus.present(list(rows["id"]), what))
    return rows[rows["id"].isin(kept)].reset_index(drop=True)


@dataclass
class _Video:
    """What a :class:`PairSet` knows of one video: its frame files (None for a video file, which is decoded
    whole), how many frames line up with its fused features (``n``, at stride 1), and its prepared frames
    (T_s, 3, S, S) at the set's stride: with ``cache``, those ``ready`` so far; a video file's, from the
    decode that counted them until their first use."""

    paths: list[Path] | None
    n: int
    frames: np.ndarray | None = None
    ready: np.ndarray | None = None


class PairSet:
    """The frame/feature pairs of some manifest rows at every ``stride``-th frame, served whole
    (:meth:`get`) or as windows (:meth:`take`).

    A frame folder's frames are decoded and prepared when a window first needs them, on ``workers``
    threads (OpenCV releases the GIL), so a training window of a few frames costs a few decodes, not the
    whole video's; with ``cache`` they are kept (memory: the prepared frames used so far), else decoded
    on each use. A video file is decoded whole at its first use (and kept with ``cache``). The frames
    served are those :func:`load_pair` prepares, whichever way they were decoded.
    """

    def __init__(self, rows: pd.DataFrame, corpus: FusedCorpus, image_size: int, stride: int,
                 cache: bool, workers: int = 1) -> None:
        self.rows = [r for _, r in rows.iterrows()]
        self.corpus, self.image_size, self.stride = corpus, image_size, stride
        self.cache, self.workers = cache, max(int(workers), 1)
        self._videos: dict[int, _Video] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def length(self, i: int) -> int:
        """Frames of video ``i`` at the set's stride, the positions :meth:`take` accepts."""
        return len(range(0, self._video(i).n, self.stride))

    def get(self, i: int) -> FramePair:
        """Video ``i`` whole (every ``stride``-th frame)."""
        return self.take(i, range(self.length(i)))

    def take(self, i: int, positions: range) -> FramePair:
        """Video ``i`` at ``positions`` (a range over 0 .. :meth:`length` - 1)."""
        return self.take_many([(i, positions)])[0]

    def take_many(self, wanted: Sequence[tuple[int, range]]) -> list[FramePair]:
        """:meth:`take` of each (video, positions); the frames not yet decoded are decoded together."""
        videos = [self._video(i) for i, _ in wanted]
        keys = list(dict.fromkeys((i, p) for (i, positions), video in zip(wanted, videos, strict=True)
                                  if video.paths is not None
                                  for p in positions if not (self.cache and video.ready[p])))
        decoded = dict(zip(keys, self._map(self._decode_frame, keys), strict=True))
        out = []
        for (i, positions), video in zip(wanted, videos, strict=True):
            part = slice(positions.start, positions.stop, positions.step)
            if video.paths is None:
                frames = (video.frames if video.frames is not None else self._decode_video(i)[0])[part]
                if not self.cache:
                    video.frames = None  # decoded to count its frames; not kept
            elif self.cache:
                for p in positions:
                    if not video.ready[p]:
                        video.frames[p], video.ready[p] = decoded[(i, p)], True
                frames = video.frames[part]
            else:
                frames = np.stack([decoded[(i, p)] for p in positions]) if len(positions) else \
                    np.zeros((0, 3, self.image_size, self.image_size), np.float32)
            fused = self.corpus.get(str(self.rows[i]["id"]))
            step = slice(0, video.n, self.stride)
            out.append(FramePair(fused.video_id, frames, fused.features[step][part],
                                 fused.slot_mask[step][part], fused.mask[step][part]))
        return out

    def _video(self, i: int) -> _Video:
        video = self._videos.get(i)
        if video is None:
            row = self.rows[i]
            frames = None
            if row["media"] == "frames":
                paths = frame_files(Path(row["source"]))
                total = len(paths)
            else:
                paths = None
                frames, total = self._decode_video(i)
            video = _Video(paths, _aligned(row, self.corpus, total)[1])
            t = len(range(0, video.n, self.stride))
            if frames is not None:
                video.frames = frames[:t]
            elif self.cache:
                video.frames = np.zeros((t, 3, self.image_size, self.image_size), np.float32)
                video.ready = np.zeros(t, bool)
            self._videos[i] = video
        return video

    def _decode_video(self, i: int) -> tuple[np.ndarray, int]:
        """A video file's frames at the set's stride, prepared, and its frame count."""
        return entry_frames_strided(self.rows[i], self.image_size, self.stride)

    def _decode_frame(self, key: tuple[int, int]) -> np.ndarray:
        i, p = key
        return prepare_frame(read_frame(self._videos[i].paths[p * self.stride]), self.image_size)

    def _map(self, fn: Callable[[T], np.ndarray], items: list[T]) -> list[np.ndarray]:
        if self.workers == 1 or len(items) < 2:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(min(self.workers, len(items)), thread_name_prefix="frames") as pool:
            return list(pool.map(fn, items))


def pair_batch(pairs: Sequence[FramePair]) -> dict[str, torch.Tensor]:
    """frames (B, T, 3, S, S), features (B, T, 1959), slot_mask (B, T, 5) bool, pad (B, T) bool."""
    frames, real = pad_sequences([p.frames for p in pairs])                       # (B, T, 3, S, S), (B, T)
    features, _ = pad_sequences([p.features for p in pairs])                      # (B, T, 1959)
    slot_mask, _ = pad_sequences([p.slot_mask.astype(np.float32) for p in pairs])  # (B, T, 5)
    return {"frames": frames, "features": features, "slot_mask": slot_mask.bool(), "pad": ~real}
