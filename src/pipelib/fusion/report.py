"""The extraction report: which backend and weights made every slot, and how much of it is valid."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import pandas as pd

from pipelib.estimators.base import SLOT_DIMS, SLOT_ORDER
from pipelib.io import shards
from pipelib.io.atomic import atomic_path

COLUMNS = ["slot", "dim", "backend", "weights", "videos", "failed", "frames", "valid_fraction"]


def _summarise(name: str, dim: int, paths: Iterable[str | os.PathLike[str]]) -> dict:
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
    return {"slot": name, "dim": dim, "backend": ";".join(sorted(backend)),
            "weights": ";".join(sorted(weights)) or "none (derived or bundled)",
            "videos": videos, "failed": failed, "frames": frames,
            "valid_fraction": round(valid / frames, 6) if frames else 0.0}


def build(slot_shards: Mapping[str, Iterable[str | os.PathLike[str]]],
          fused_shards: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """One row per slot (in fusion order) and a final `fused` row."""
    rows = [_summarise(s, SLOT_DIMS[s], slot_shards[s]) for s in SLOT_ORDER]
    rows.append(_summarise("fused", sum(SLOT_DIMS.values()), fused_shards))
    return pd.DataFrame(rows, columns=COLUMNS)


def write(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write the report CSV atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
