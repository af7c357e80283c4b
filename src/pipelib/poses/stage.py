"""The poses stage as the pipeline runs it: one slot, one shard, provenance recorded."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pipelib.datasets.manifest import read_manifest
from pipelib.poses.extract import extract_shard


def run(manifest_path: str | os.PathLike[str], holistic_path: str | os.PathLike[str] | None,
        slot: str, shard: int, estimator: Mapping[str, Any], extraction: Mapping[str, Any],
        out_path: str | os.PathLike[str], gpu_booked: bool = False) -> dict[str, Any]:
    """Extract ``slot`` for the videos of ``shard`` listed in the manifest into ``out_path``.

    ``gpu_booked``: the job's resources include a GPU (``resources.<rule>.gpu`` > 0), so a model
    backend on ``device: auto`` must get one (see :mod:`pipelib.estimators.placement`).
    """
    inputs = [str(manifest_path)] + ([str(holistic_path)] if holistic_path else [])
    return extract_shard(
        read_manifest(manifest_path), shard, slot, estimator, out_path,
        holistic_path=holistic_path,
        max_failure_fraction=1.0,  # the workflow judges extraction.max_failure_fraction (pipelib.limits)
        provenance_section={"estimator": dict(estimator), "extraction": dict(extraction)},
        inputs=inputs,
        gpu_booked=gpu_booked,
        workers=extraction.get("workers"),
    )
