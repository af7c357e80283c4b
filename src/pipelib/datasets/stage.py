"""The manifest stage as the pipeline runs it: scan, verify, shard, write both tables."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelib import provenance
from pipelib.datasets.manifest import build_manifest, write_tables
from pipelib.io.atomic import atomic_path

log = logging.getLogger("pipelib.datasets")


LABEL_SUFFIXES = (".csv", ".txt", ".pt", ".pose")


def label_files(root: Path, depth: int = 4) -> list[Path]:
    """Annotation, label and pose files within ``depth`` levels of ``root`` (frames are not listed).

    These are what provenance checksums: hashing every frame of a real corpus would take minutes.
    """
    found: list[Path] = []
    for level in range(1, depth + 1):
        pattern = "/".join(["*"] * level)
        found += [p for p in root.glob(pattern) if p.suffix in LABEL_SUFFIXES and p.is_file()]
    return sorted(found)


def run(name: str, dataset: Mapping[str, Any], options: Mapping[str, Any],
        manifest_path: str | os.PathLike[str], rejected_path: str | os.PathLike[str],
        rejected_log: str | os.PathLike[str]) -> None:
    """Write ``manifest.parquet`` and ``rejected.parquet`` for dataset ``name``.

    The rejects are also written as CSV to ``rejected_log`` (a Snakemake log). The reject fraction
    is not judged here: the workflow judges ``manifest.max_reject_fraction`` on the written tables
    (:func:`pipelib.limits.check_manifest`), so editing the limit re-runs no scan.
    """
    root = Path(dataset["root"])
    manifest, rejected = build_manifest(
        name, dataset["kind"], root, int(dataset["shards"]),
        verify=options["verify"], threads=int(options["threads"]), fps=dataset.get("fps"),
    )
    prov = provenance.collect({"dataset": dict(dataset), "manifest": dict(options)},
                              inputs=label_files(root))
    write_tables(manifest, rejected, manifest_path, rejected_path, prov)
    log.info("%s: %d entries in %d shards, %d rejected", name, len(manifest), int(dataset["shards"]),
             len(rejected))
    with atomic_path(rejected_log) as tmp:
        rejected.to_csv(tmp, index=False)
