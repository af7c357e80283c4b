"""The skeletons stage as the pipeline runs it: every video of the manifest -> one skeleton file."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from pipelib import provenance
from pipelib.datasets.manifest import read_manifest
from pipelib.skeletons.write import write_skeletons


def run(manifest_path: str | os.PathLike[str], holistic_shards: Iterable[str | os.PathLike[str]],
        section: Mapping[str, Any], out_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Write ``out_path`` from the MediaPipe shards (or the SLRTP pose files the manifest names)."""
    shards = [str(p) for p in holistic_shards]
    prov = provenance.collect(dict(section), inputs=[str(manifest_path), *shards])
    summary = write_skeletons(shards, read_manifest(manifest_path), out_path, dict(section), prov)
    if summary["videos"] and not summary["written"]:
        raise ValueError(f"no skeleton could be built from {len(shards)} MediaPipe shard(s): every video "
                         f"failed; the reasons are logged above and in the failure table of {out_path}")
    return summary
