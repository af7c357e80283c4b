"""Per-dimension normalisation statistics of the fused features, from the train split only."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from pipelib.datasets.values import EmptySplitError, dataset_of
from pipelib.estimators.base import SLOT_DIMS, SLOT_ORDER
from pipelib.fusion.checks import DEFAULT_MAX_ABS, checked_slot, record
from pipelib.io import shards
from pipelib.io.atomic import atomic_path


@dataclass
class FusionStats:
    """mean, std: (1959,) float64 over valid train frames of each slot; frames: valid frames per slot."""

    mean: np.ndarray
    std: np.ndarray
    frames: dict[str, int]


def slot_offsets() -> dict[str, slice]:
    """Where each slot sits in the fused 1959-d vector."""
    out, start = {}, 0
    for slot in SLOT_ORDER:
        out[slot] = slice(start, start + SLOT_DIMS[slot])
        start += SLOT_DIMS[slot]
    return out


def compute(slot_shards: Mapping[str, Iterable[str | os.PathLike[str]]], train_ids: Collection[str],
            min_std: float = 1e-6, max_abs: float = DEFAULT_MAX_ABS) -> FusionStats:
    """Mean and population std per dimension over the valid frames of ``train_ids``.

    Only finite values count: frames holding NaN/Inf or a value beyond ``max_abs`` are masked first
    and logged per video (:mod:`pipelib.fusion.checks`); a block of the wrong width is refused.
    Dimensions whose std is below ``min_std`` get std 1, so normalisation only centres them.
    """
    train = set(train_ids)
    offsets = slot_offsets()
    mean = np.zeros(sum(SLOT_DIMS.values()))
    std = np.ones_like(mean)
    frames: dict[str, int] = {}
    for slot in SLOT_ORDER:
        s = np.zeros(SLOT_DIMS[slot])
        ss = np.zeros(SLOT_DIMS[slot])
        n = 0
        paths = [str(p) for p in slot_shards[slot]]
        for path in paths:
            for vid in shards.video_ids(path):
                if vid not in train:
                    continue
                v, check = checked_slot(shards.read_video(path, vid, extras=False), slot, path, max_abs)
                if check.masked:
                    record(vid, slot, path, check, max_abs)
                x = v.features[v.mask].astype(np.float64)
                s += x.sum(axis=0)
                ss += (x * x).sum(axis=0)
                n += len(x)
        if n == 0:
            where = f"dataset {dataset_of(paths[0])!r}, split 'train'" if paths else "split 'train'"
            raise EmptySplitError(
                f"{where}: slot {slot} has no valid frame in {len(train)} train video(s) of "
                f"{len(paths)} shard file(s) after masking, so fusion statistics cannot be computed; "
                f"masked frames are logged above and the extraction logs say why the others failed"
            )
        m = s / n
        var = np.maximum(ss / n - m * m, 0.0)
        sd = np.sqrt(var)
        mean[offsets[slot]] = m
        std[offsets[slot]] = np.where(sd < min_std, 1.0, sd)
        frames[slot] = n
    return FusionStats(mean=mean, std=std, frames=frames)


def save(stats: FusionStats, path: str | os.PathLike[str], provenance: Mapping[str, Any]) -> None:
    """Write statistics (and their provenance) to an HDF5 file atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5["mean"] = stats.mean
        h5["std"] = stats.std
        h5.attrs["slot_order"] = list(SLOT_ORDER)
        h5.attrs["train_frames"] = shards.encode_attr(stats.frames)
        h5.attrs["provenance"] = shards.encode_attr(dict(provenance))


def load(path: str | os.PathLike[str]) -> FusionStats:
    """Read statistics written by :func:`save`."""
    attrs = shards.read_attrs(path)
    with h5py.File(path, "r") as h5:
        return FusionStats(mean=h5["mean"][()], std=h5["std"][()], frames=attrs["train_frames"])
