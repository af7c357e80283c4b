"""Pass/fail limits judged on a stage's recorded outcome, apart from the stage's work.

The manifest records its rejects (``rejected.parquet``) and every extraction shard its failed videos
(the shard's failure table) without failing; the workflow compares those counts with
``manifest.max_reject_fraction`` and ``extraction.max_failure_fraction`` whenever it starts, so
editing a limit re-runs no work, and a broken limit fails in a check job that names it. Imports are
deferred: the workflow calls the counting functions while it builds its DAG.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelib.errors import DataError


class LimitError(DataError):
    """A stage's outcome breaks a configured pass/fail limit."""


def within(n_bad: int, n_total: int, max_fraction: float) -> bool:
    """True when ``n_bad`` of ``n_total`` is at most ``max_fraction`` (an empty total always passes)."""
    return n_total <= 0 or n_bad / n_total <= float(max_fraction)


def manifest_counts(manifest_path: str | os.PathLike[str],
                    rejected_path: str | os.PathLike[str]) -> tuple[int, int]:
    """(rejected entries, scanned entries) of a manifest, read from the parquet footers only."""
    import pyarrow.parquet as pq

    kept = pq.read_metadata(manifest_path).num_rows
    rejected = pq.read_metadata(rejected_path).num_rows
    return rejected, kept + rejected


def shard_counts(shard_path: str | os.PathLike[str]) -> tuple[int, int]:
    """(failed videos, videos) of an extraction shard."""
    from pipelib.io import shards

    failed = len(shards.read_failures(shard_path))
    return failed, failed + len(shards.video_ids(shard_path))


def _mark(marker: str | os.PathLike[str] | None, text: str) -> None:
    if marker is not None:
        Path(marker).parent.mkdir(parents=True, exist_ok=True)
        Path(marker).write_text(text + "\n", encoding="utf-8")


def check_manifest(manifest_path: str | os.PathLike[str], rejected_path: str | os.PathLike[str],
                   max_fraction: float, source: str = "",
                   marker: str | os.PathLike[str] | None = None) -> None:
    """Raise a :class:`~pipelib.datasets.errors.ManifestError` (a DataError) when more than
    ``max_fraction`` of the scanned entries were rejected (``source`` says where the limit was set);
    else write ``marker`` (if given) saying the manifest passed."""
    from pipelib.datasets.errors import ManifestError

    n_rejected, n_total = manifest_counts(manifest_path, rejected_path)
    if within(n_rejected, n_total, max_fraction):
        _mark(marker, f"{n_rejected} of {n_total} rejected: within the limit {max_fraction}")
        return
    where = f" (set in {source})" if source else ""
    raise ManifestError(
        f"{Path(rejected_path)}: {n_rejected} of {n_total} entries ({n_rejected / n_total:.1%}) were "
        f"rejected, more than manifest.max_reject_fraction = {float(max_fraction):g}{where}; that file "
        f"gives each entry's reason: fix those entries, or raise manifest.max_reject_fraction if losing "
        f"them is acceptable."
    )


def check_shard(shard_path: str | os.PathLike[str], max_fraction: float, source: str = "",
                log_path: str | os.PathLike[str] | None = None,
                marker: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`LimitError` when more than ``max_fraction`` of a shard's videos failed extraction
    (naming ``log_path``, where the reasons were logged); else write ``marker`` (if given)."""
    n_failed, n_total = shard_counts(shard_path)
    if within(n_failed, n_total, max_fraction):
        _mark(marker, f"{n_failed} of {n_total} failed: within the limit {max_fraction}")
        return
    reasons = f" and in {log_path}" if log_path else ""
    where = f" (set in {source})" if source else ""
    raise LimitError(
        f"{Path(shard_path)}: {n_failed} of {n_total} videos failed ({n_failed / n_total:.1%}), more than "
        f"extraction.max_failure_fraction = {float(max_fraction):g}{where}; each reason is in the shard's "
        f"failure table{reasons}: fix or remove those videos, or raise extraction.max_failure_fraction."
    )
