"""SignX stage inputs: which videos of the manifest a stage uses, their fused features and gloss batches.

Fused shards (``results/<ds>/fused/shardNNN.h5``) hold per video features (T, 1959) float32, mask (T,)
bool (True = some slot valid) and the extra ``slot_mask`` (T, 5) bool. Videos listed as failures in a
shard, or absent from every shard, are skipped (and counted in the log). Features are read on demand
(one open HDF5 handle per shard), so a corpus need not fit in memory; videos already read are kept
(read-only) until ``cache_bytes`` are held, so that epochs over a small corpus (the demo: ~70 MB) do
not wait on HDF5 decompression, while a large one streams.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch

from pipelib.batching import pad_sequences, pad_token_ids
from pipelib.datasets.manifest import read_manifest
from pipelib.datasets.values import require_split
from pipelib.estimators.base import FUSED_DIM, SLOT_ORDER
from pipelib.io import shards
from pipelib.text.vocab import Vocab

log = logging.getLogger("pipelib.signx")


def split_rows(manifest: str | os.PathLike[str] | pd.DataFrame, split: str) -> pd.DataFrame:
    """The manifest rows of one split (train, dev or test), in manifest order."""
    frame = manifest if isinstance(manifest, pd.DataFrame) else read_manifest(manifest)
    return frame[frame["split"] == split].reset_index(drop=True)


@dataclass
class FusedVideo:
    """One video's stage-1 input: features (T, 1959) float32, slot_mask (T, 5) bool (True = slot valid,
    already and-ed with the frame mask), mask (T,) bool (True = frame has a valid slot)."""

    video_id: str
    features: np.ndarray
    slot_mask: np.ndarray
    mask: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.features.shape[0])


def fused_video(video: shards.VideoArrays, path: str | os.PathLike[str] = "?") -> FusedVideo:
    """A :class:`FusedVideo` from a fused shard's :class:`VideoArrays`; errors name the shard."""
    if video.features.shape[1] != FUSED_DIM:
        raise ValueError(f"{path}: video {video.video_id} has {video.features.shape[1]} values per frame, "
                         f"not the fused {FUSED_DIM}; pass the fused shards (results/<ds>/fused/)")
    sm = shards.checked_extras(video, {"slot_mask": (len(SLOT_ORDER),)},
                               f"{path} is not a fused shard; rebuild it with the fusion stage")["slot_mask"]
    slot_mask = sm.astype(bool) & video.mask[:, None]
    return FusedVideo(video.video_id, video.features, slot_mask, video.mask.copy())


#: default memory for videos kept after their first read (bytes)
CACHE_BYTES = 1 << 30


class FusedCorpus:
    """Random access to the videos of many fused shards by id, reading each video when asked; the first
    ``cache_bytes`` of videos read stay in memory (arrays read-only)."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]], cache_bytes: int = CACHE_BYTES) -> None:
        self.paths = [Path(p) for p in paths]
        self.cache_bytes = int(cache_bytes)
        self._cache: dict[str, FusedVideo] = {}
        self._cached_bytes = 0
        self._where: dict[str, int] = {}
        self.failures: dict[str, str] = {}
        for k, path in enumerate(self.paths):
            for vid in shards.video_ids(path):
                if vid in self._where:
                    raise ValueError(f"video {vid} is in both {self.paths[self._where[vid]]} and {path}; "
                                     f"each video belongs to one shard")
                self._where[vid] = k
            self.failures.update(dict(shards.read_failures(path)))
        self._handles: dict[int, h5py.File] = {}

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def shard_of(self, video_id: str) -> Path:
        return self.paths[self._where[video_id]]

    def get(self, video_id: str) -> FusedVideo:
        """One video's arrays; KeyError naming the shards when it is in none of them."""
        if video_id in self._cache:
            return self._cache[video_id]
        if video_id not in self._where:
            raise KeyError(f"video {video_id} is in none of the {len(self.paths)} fused shard(s)")
        k = self._where[video_id]
        h5 = self._handles.get(k)
        if h5 is None:
            h5 = self._handles[k] = h5py.File(self.paths[k], "r")
        g = h5["videos"][video_id]
        video = shards.VideoArrays(video_id, g["features"][()], g["mask"][()],
                                   extras={"slot_mask": g["slot_mask"][()]} if "slot_mask" in g else {})
        out = fused_video(video, self.paths[k])
        size = out.features.nbytes + out.slot_mask.nbytes + out.mask.nbytes
        if self._cached_bytes + size <= self.cache_bytes:
            for a in (out.features, out.slot_mask, out.mask):
                a.setflags(write=False)
            self._cache[video_id] = out
            self._cached_bytes += size
        return out

    def valid_frames(self, video_id: str) -> int:
        """How many frames of one video have some valid slot (reads the mask only)."""
        k = self._where[video_id]
        h5 = self._handles.get(k)
        if h5 is None:
            h5 = self._handles[k] = h5py.File(self.paths[k], "r")
        return int(np.count_nonzero(h5["videos"][video_id]["mask"][()]))

    def require(self, ids: Sequence[str], manifest: str | os.PathLike[str], split: str, listed: int) -> None:
        """Raise :class:`~pipelib.datasets.values.EmptySplitError` naming dataset and split unless
        some of ``ids`` (the split's videos in the shards, of ``listed`` in the manifest) has a valid
        frame."""
        require_split(len(ids), manifest, split, "video with fused features",
                      f"{listed} listed in the manifest")
        require_split(sum(self.valid_frames(v) for v in ids), manifest, split,
                      "fused frame with a valid slot", f"{len(ids)} video(s), every frame masked")

    def present(self, ids: Sequence[str], what: str) -> list[str]:
        """The ``ids`` stored in the shards (order kept); logs how many failed or are missing."""
        kept = [v for v in ids if v in self._where]
        failed = sum(v in self.failures for v in ids)
        if len(kept) < len(ids):
            log.warning("%s: %d of %d videos have no fused features (%d recorded as failures, %d absent)",
                        what, len(ids) - len(kept), len(ids), failed, len(ids) - len(kept) - failed)
        return kept

    def close(self) -> None:
        for h5 in self._handles.values():
            h5.close()
        self._handles = {}
        self._cache, self._cached_bytes = {}, 0

    def __enter__(self) -> FusedCorpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def gloss_vocab(train_rows: pd.DataFrame, min_freq: int = 1, where: str = "signx.pose2gloss") -> Vocab:
    """The gloss vocabulary (the Pose2Gloss codebook) of the training rows' ``gloss`` column."""
    glosses = [str(g) for g in train_rows["gloss"].fillna("")]
    vocab = Vocab.build(glosses, min_freq=min_freq)
    if len(vocab) <= 4:
        raise ValueError(f"the manifest's train split has no gloss with at least {where}.min_freq = "
                         f"{min_freq} occurrences; SignX needs gloss annotations (manifest column 'gloss')")
    return vocab


def pose_batch(videos: Sequence[FusedVideo], gloss_ids: Sequence[Sequence[int]] | None,
               pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Pose2Gloss batch (``pose2gloss.BATCH_KEYS``): features (B, T, 1959) float32, slot_mask (B, T, 5)
    bool, pad (B, T) bool (True = padding frame), glosses (B, L) int64 right-padded with ``pad_id``."""
    features, real = pad_sequences([v.features for v in videos])          # (B, T, 1959), (B, T)
    slot_mask, _ = pad_sequences([v.slot_mask.astype(np.float32) for v in videos])  # (B, T, 5)
    batch = {"features": features, "slot_mask": slot_mask.bool(), "pad": ~real}
    if gloss_ids is not None:
        batch["glosses"] = pad_token_ids(gloss_ids, pad_id)                 # (B, L)
    return batch
