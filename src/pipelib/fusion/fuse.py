"""Concatenate the five slots of each video into normalised (T, 1959) features with masks."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from pipelib.estimators.base import SLOT_DIMS, SLOT_ORDER
from pipelib.fusion.checks import DEFAULT_MAX_ABS, checked_slot, record
from pipelib.fusion.stats import FusionStats
from pipelib.io import shards

log = logging.getLogger("pipelib.fusion")


def fuse_video(parts: Mapping[str, shards.VideoArrays], stats: FusionStats) -> shards.VideoArrays:
    """Fused arrays of one video from its per-slot arrays.

    features (T, 1959) float32: each slot z-normalised with train statistics; a slot's block is 0
    (the train mean) on frames where that slot is invalid. extras ``slot_mask`` (T, 5) bool in
    SLOT_ORDER; mask (T,) is True where any slot is valid. ``parts`` must hold finite values on
    valid frames and each slot's declared width (see :func:`pipelib.fusion.checks.checked_slot`).
    """
    widths = {s: parts[s].features.shape[1] for s in SLOT_ORDER}
    if widths != SLOT_DIMS:
        raise ValueError(f"slot widths {widths} differ from the declared {SLOT_DIMS}")
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
               out_path: str | os.PathLike[str], provenance: Mapping[str, Any],
               max_abs: float = DEFAULT_MAX_ABS) -> dict[str, int]:
    """Fuse every video present in all five slot shards; the others are failures with reasons.

    Each slot block is checked first (:mod:`pipelib.fusion.checks`): a wrong width stops the job,
    frames holding NaN/Inf or values beyond ``max_abs`` are masked and listed in the shard's
    ``input_checks`` attribute. Returns fused, excluded and masked (slot blocks with masked frames).
    """
    ids = {s: shards.video_ids(slot_paths[s]) for s in SLOT_ORDER}
    failed = {s: dict(shards.read_failures(slot_paths[s])) for s in SLOT_ORDER}
    everyone = sorted(set().union(*ids.values(), *(f.keys() for f in failed.values())))
    common = set.intersection(*(set(v) for v in ids.values()))
    n_ok = 0
    checks: list[dict[str, Any]] = []  # filled below; the writer encodes its attrs when it closes
    attrs = {"slot_order": list(SLOT_ORDER), "max_abs_value": float(max_abs), "input_checks": checks,
             "provenance": dict(provenance)}
    with shards.ShardWriter(out_path, attrs=attrs) as writer:
        for vid in everyone:
            if vid not in common:
                reasons = [f"{s}: {failed[s].get(vid, 'missing')}" for s in SLOT_ORDER if vid not in ids[s]]
                writer.fail(vid, "; ".join(reasons))
                log.warning("%s excluded: %s", vid, "; ".join(reasons))
                continue
            parts = {}
            for s in SLOT_ORDER:
                parts[s], check = checked_slot(shards.read_video(slot_paths[s], vid, extras=False), s,
                                               slot_paths[s], max_abs)
                if check.masked:
                    checks.append(record(vid, s, slot_paths[s], check, max_abs))
            try:
                fused = fuse_video(parts, stats)
            except ValueError as exc:
                writer.fail(vid, str(exc))
                log.warning("%s excluded: %s", vid, exc)
                continue
            writer.write(fused)
            n_ok += 1
        n_failed = writer.n_failed
    log.info("fused %d videos, %d excluded, %d slot block(s) with masked frames", n_ok, n_failed, len(checks))
    return {"fused": n_ok, "excluded": n_failed, "masked": len(checks)}
