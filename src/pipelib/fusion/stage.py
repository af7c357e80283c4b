"""The fusion stage as the pipeline runs it: train statistics, per-shard fusion, the report."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from pipelib import provenance
from pipelib.datasets.manifest import read_manifest
from pipelib.fusion import report, stats
from pipelib.fusion.checks import DEFAULT_MAX_ABS
from pipelib.fusion.fuse import fuse_shard
from pipelib.io import shards

Path_ = str | os.PathLike[str]


def group_by_slot(paths: Iterable[Path_]) -> dict[str, list[str]]:
    """Slot shards grouped by the slot recorded in each file."""
    out: dict[str, list[str]] = {}
    for p in paths:
        out.setdefault(shards.read_attrs(p)["slot"], []).append(str(p))
    return out


def _max_abs(options: Mapping[str, Any]) -> float:
    """``fusion.max_abs_value``: the magnitude beyond which a slot frame is masked as implausible."""
    value = float(options.get("max_abs_value", DEFAULT_MAX_ABS))
    if not value > 0:
        raise ValueError(f"fusion.max_abs_value must be > 0, got {value}")
    return value


def run_stats(manifest_path: Path_, slot_shards: Iterable[Path_], options: Mapping[str, Any],
              out_path: Path_) -> None:
    """Compute normalisation statistics on the manifest's train split and save them."""
    paths = [str(p) for p in slot_shards]
    manifest = read_manifest(manifest_path)
    train_ids = manifest.loc[manifest["split"] == "train", "id"].tolist()
    st = stats.compute(group_by_slot(paths), train_ids, min_std=options["min_std"],
                       max_abs=_max_abs(options))
    prov = provenance.collect(dict(options), inputs=[str(manifest_path), *paths])
    prov["train_videos"] = len(train_ids)
    stats.save(st, out_path, prov)


def run_apply(slot_paths: Mapping[str, Path_], stats_path: Path_, options: Mapping[str, Any],
              out_path: Path_) -> dict[str, int]:
    """Fuse one shard's five slot files with the saved statistics."""
    prov = provenance.collect(dict(options), inputs=[str(stats_path), *map(str, slot_paths.values())])
    return fuse_shard(slot_paths, stats.load(stats_path), out_path, prov, max_abs=_max_abs(options))


def run_report(slot_shards: Iterable[Path_], fused_shards: Iterable[Path_], out_path: Path_) -> None:
    """Write the per-slot extraction report CSV; log each video and slot that fusion masked frames of."""
    fused_shards = list(fused_shards)
    report.log_checks(fused_shards)
    report.write(report.build(group_by_slot(slot_shards), fused_shards), out_path)
