"""Fusion's input checks: each slot block's width, non-finite values and implausible magnitudes.

A slot block of the wrong width is refused (:class:`InputValueError` naming slot, file and video).
Frames of a slot that hold a NaN/Inf value, or a finite value beyond ``fusion.max_abs_value``, are
masked (invalid for that slot), so they reach neither the statistics nor the fused features, and
counted per video and slot: the fused shards keep the counts (file attribute ``input_checks``),
the job logs name each video, and ``fused/report.csv`` sums them per slot.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from pipelib.datasets.values import InputValueError, ValueCheck, mask_bad_values
from pipelib.estimators.base import SLOT_DIMS
from pipelib.io import shards

log = logging.getLogger("pipelib.fusion")

#: default of ``fusion.max_abs_value``: far beyond any slot's real range (pixel coordinates,
#: axis-angles, relative depth, class ids), so only corrupt numbers trip it.
DEFAULT_MAX_ABS = 1.0e6
CHECK_KEYS = ("video", "slot", "file", "nonfinite", "nonfinite_values", "out_of_range", "max_abs")


def check_width(video: shards.VideoArrays, slot: str, path: str | os.PathLike[str]) -> None:
    """Raise :class:`InputValueError` unless the block is (T, the slot's declared width)."""
    width, expected = video.features.shape[1], SLOT_DIMS[slot]
    if width != expected:
        raise InputValueError(
            f"fusion input {path}: video {video.video_id!r} has a slot {slot!r} block {width} values wide "
            f"per frame, but slot {slot} declares {expected}; re-run the extraction of that slot "
            f"(estimators.{slot}), whose backend wrote another layout"
        )


def checked_slot(video: shards.VideoArrays, slot: str, path: str | os.PathLike[str],
                 max_abs: float = DEFAULT_MAX_ABS) -> tuple[shards.VideoArrays, ValueCheck]:
    """The slot block with its bad frames masked (and NaN/Inf zeroed), and what was masked."""
    check_width(video, slot, path)
    check = mask_bad_values(video.features, video.mask, max_abs)
    clean = shards.VideoArrays(video.video_id, check.values, check.valid, extras=video.extras,
                               attrs=video.attrs)
    return clean, check


def record(video_id: str, slot: str, path: str | os.PathLike[str], check: ValueCheck,
           max_abs: float) -> dict[str, Any]:
    """One ``input_checks`` row (keys :data:`CHECK_KEYS`), logged as a warning."""
    row = {"video": video_id, "slot": slot, "file": os.path.basename(path), **check.as_dict()}
    log.warning(
        "video %s, slot %s (%s): masked %d frame(s) holding NaN/Inf (%d values) and %d frame(s) with "
        "|value| > fusion.max_abs_value = %g (largest finite |value| %g)",
        video_id, slot, path, check.nonfinite, check.nonfinite_values, check.out_of_range, max_abs,
        check.max_abs)
    return row
