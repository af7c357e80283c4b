"""Concatenate the five slots of each video into normalised (T, 1959) features with masks."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from pipelib.estimators.base import SLOT_ORDER
from pipelib.fusion.stats import FusionStats
from pipelib.io import shards

log = logging.getLogger("pipelib.fusion")


def fuse_video(parts: Mapping[str, shards.VideoArrays], stats: FusionStats) -> shards.VideoArrays:
    """Fused arrays of one video from its per-slot arrays.

    features (T, 1959) float32: each slot z-normalised with train statistics; a slot's block is 0
    (the train mean) on frames where that slot is invalid. extras ``slot_mask`` (T, 5) bool in
    SLOT_ORDER; mask (T,) is True where any slot is valid.
    """
    lengths = {s: parts[s].n_frames for s in SLOT_ORDER}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"slots disagree on the number of frames: {lengths}")
    x = np.concatenate([parts[s].features for s in SLOT_ORDER], axis=1).astype(np.float64)
    slot_mask = np.stack([parts[s].mask for s in SLOT_ORDER], axis=1)  # (T, 5)
    z = (x - stats.mean) / stats.std
    start = 0
    for j, s in enumerate(SLOT_ORDER):
        width = parts[s].features.shape[1]
        z[~slot_mask[:, j], start:start + width] = 0.0
        start += width
    vid = parts[SLOT_ORDER[0]].video_id
    return shards.VideoArrays(vid, z.astype(np.float32), slot_mask.any(axis=1),
                              extras={"slot_mask": slot_mask},
                              attrs=dict(parts["mediapipe"].attrs))


def fuse_shard(slot_paths: Mapping[str, str | os.PathLike[str]], stats: FusionStats,
               out_path: str | os.PathLike[str], provenance: Mapping[str, Any]) -> dict[str, int]:
    """Fuse every video present in all five slot shards; the others are failures with reasons."""
    ids = {s: shards.video_ids(slot_paths[s]) for s in SLOT_ORDER}
    failed = {s: dict(shards.read_failures(slot_paths[s])) for s in SLOT_ORDER}
    everyone = sorted(set().union(*ids.values(), *(f.keys() for f in failed.values())))
    common = set.intersection(*(set(v) for v in ids.values()))
    n_ok = 0
    attrs = {"slot_order": list(SLOT_ORDER), "provenance": dict(provenance)}
    with shards.ShardWriter(out_path, attrs=attrs) as writer:
        for vid in everyone:
            if vid not in common:
                reasons = [f"{s}: {failed[s].get(vid, 'missing')}" for s in SLOT_ORDER if vid not in ids[s]]
                writer.fail(vid, "; ".join(reasons))
                log.warning("%s excluded: %s", vid, "; ".join(reasons))
                continue
            parts = {s: shards.read_video(slot_paths[s], vid, extras=False) for s in SLOT_ORDER}
            try:
                fused = fuse_video(parts, stats)
            except ValueError as exc:
                writer.fail(vid, str(exc))
                log.warning("%s excluded: %s", vid, exc)
                continue
            writer.write(fused)
            n_ok += 1
        n_failed = writer.n_failed
    log.info("fused %d videos, %d excluded", n_ok, n_failed)
    return {"fused": n_ok, "excluded": n_failed}
