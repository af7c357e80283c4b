"""The extraction report: which backend and weights made every slot, and how much of it is valid."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from pipelib.estimators.base import SLOT_DIMS, SLOT_ORDER
from pipelib.io import shards
from pipelib.io.atomic import atomic_path

log = logging.getLogger("pipelib.fusion")

#: ``masked_nonfinite`` / ``masked_out_of_range``: frames fusion masked for holding NaN/Inf / a value
#: beyond ``fusion.max_abs_value``; ``masked_videos``: videos with such frames; ``valid_fraction``
#: counts frames valid after that masking.
COLUMNS = ["slot", "dim", "backend", "weights", "videos", "failed", "frames", "valid_fraction",
           "masked_nonfinite", "masked_out_of_range", "masked_videos"]


def input_checks(fused_shards: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Every ``input_checks`` row (video, slot, counts) recorded in the fused shards."""
    rows: list[dict[str, Any]] = []
    for p in fused_shards:
        rows += shards.read_attrs(p).get("input_checks") or []
    return rows


def _summarise(name: str, dim: int, paths: Iterable[str | os.PathLike[str]],
               checks: list[dict[str, Any]]) -> dict:
    backend, weights = set(), set()
    videos = failed = frames = valid = 0
    for p in paths:
        attrs = shards.read_attrs(p)
        backend.add(attrs.get("backend", "fusion"))
        for wname, w in attrs.get("provenance", {}).get("estimator", {}).get("weights", {}).items():
            weights.add(f"{wname}={os.path.basename(w['path'])}@sha256:{w['sha256'][:16]}")
        failed += len(shards.read_failures(p))
        for v in shards.iter_videos(p, extras=False):
            videos += 1
            frames += v.n_frames
            valid += int(v.mask.sum())
    nonfinite = sum(int(c["nonfinite"]) for c in checks)
    out_of_range = sum(int(c["out_of_range"]) for c in checks)
    if name != "fused":  # slot shards hold the frames as extracted: take off what fusion masked
        valid -= nonfinite + out_of_range
    return {"slot": name, "dim": dim, "backend": ";".join(sorted(backend)),
            "weights": ";".join(sorted(weights)) or "none (derived or bundled)",
            "videos": videos, "failed": failed, "frames": frames,
            "valid_fraction": round(valid / frames, 6) if frames else 0.0,
            "masked_nonfinite": nonfinite, "masked_out_of_range": out_of_range,
            "masked_videos": len({c["video"] for c in checks})}


def build(slot_shards: Mapping[str, Iterable[str | os.PathLike[str]]],
          fused_shards: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """One row per slot (in fusion order) and a final `fused` row (masked counts over all slots)."""
    fused_shards = list(fused_shards)
    checks = input_checks(fused_shards)
    rows = [_summarise(s, SLOT_DIMS[s], slot_shards[s], [c for c in checks if c["slot"] == s])
            for s in SLOT_ORDER]
    rows.append(_summarise("fused", sum(SLOT_DIMS.values()), fused_shards, checks))
    return pd.DataFrame(rows, columns=COLUMNS)


def log_checks(fused_shards: Iterable[str | os.PathLike[str]]) -> None:
    """Log one line per video and slot whose frames fusion masked (the report's per-video detail)."""
    checks = input_checks(fused_shards)
    for c in checks:
        log.warning("video %s, slot %s (%s): %d frame(s) masked for NaN/Inf (%d values), %d for "
                    "|value| beyond fusion.max_abs_value (largest finite |value| %g)", c["video"], c["slot"],
                    c["file"], c["nonfinite"], c["nonfinite_values"], c["out_of_range"], c["max_abs"])
    log.info("%d video/slot block(s) had frames masked by fusion's input checks", len(checks))


def write(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write the report CSV atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
