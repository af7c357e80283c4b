"""The per-dataset manifest: every usable sequence with its frames verified and its shard assigned.

Manifest columns: id, split, source (absolute frame folder, video file, .pt or .pose file), media
(``frames``/``video``/``poses``/``pose_file``), frame_count, fps, signer, gloss, text, shard (int in
[0, n_shards)). Rows are sorted by split (train, dev, test) then id. Entries that cannot be used go
to the rejected table: id, split, source, reason. Both are parquet files whose schema metadata holds
the provenance JSON under ``pipelib.provenance``.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelib.datasets import csl_daily, phoenix, pose_files, slrtp, videos
from pipelib.datasets.errors import ManifestError
from pipelib.datasets.frames import VERIFY_MODES, verify_source
from pipelib.datasets.records import MANIFEST_COLUMNS, POSE_MEDIA, REJECTED_COLUMNS, SPLITS, Entry
from pipelib.io.atomic import atomic_path

log = logging.getLogger(__name__)

PROVENANCE_KEY = b"pipelib.provenance"
READERS: dict[str, Callable[..., list[Entry]]] = {
    "synthetic": phoenix.scan,
    "phoenix14t": phoenix.scan,
    "csl_daily": csl_daily.scan,
    "slrtp_poses": slrtp.scan,
    "pose_files": pose_files.scan,
    "videos": videos.scan,
}
MANIFEST_SCHEMA = pa.schema([
    ("id", pa.string()), ("split", pa.string()), ("source", pa.string()), ("media", pa.string()),
    ("frame_count", pa.int64()), ("fps", pa.float64()), ("signer", pa.string()), ("gloss", pa.string()),
    ("text", pa.string()), ("shard", pa.int64()),
])
REJECTED_SCHEMA = pa.schema([(c, pa.string()) for c in REJECTED_COLUMNS])


def scan_dataset(name: str, kind: str, root: Path, fps: float | None = None) -> list[Entry]:
    """Entries of the dataset as its reader lists them (frames not yet verified)."""
    if kind not in READERS:
        raise ValueError(f"datasets.{name}.kind is {kind!r}; use one of {sorted(READERS)}")
    return READERS[kind](Path(root), name=name, fps=fps)


def _id_problem(entry: Entry, seen: dict[str, str]) -> str | None:
    if not entry.id:
        return "the entry has an empty id"
    if "/" in entry.id or entry.id in (".", ".."):
        return f"id {entry.id!r} cannot name a video in the HDF5 shards (it contains '/' or is '.'/'..')"
    if entry.id in seen:
        return f"id {entry.id!r} is already used by an entry of split {seen[entry.id]!r}"
    seen[entry.id] = entry.split
    return None


def _verify(entries: Sequence[Entry], mode: str, threads: int) -> None:
    """Fill frame_count and reject of each entry still pending, ``threads`` entries at a time."""
    todo = [e for e in entries if e.reject is None and e.media not in POSE_MEDIA]
    with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
        results = list(pool.map(lambda e: verify_source(e.source, e.media, mode), todo))
    for entry, (count, reason) in zip(todo, results, strict=True):
        entry.frame_count, entry.reject = count, reason


def assign_shards(
    frame_counts: Sequence[int] | np.ndarray, n_shards: int, ids: Sequence[str] | None = None,
) -> np.ndarray:
    """Shard index in [0, n_shards) for each entry, balancing the total frames per shard.

    Longest-first greedy: entries are taken in order of decreasing frame count (ties by ``ids`` when
    given, else by position) and each goes to the shard with the fewest frames so far (ties: fewer
    entries, then lower shard index). The result depends only on the inputs; with at least
    ``n_shards`` entries every shard is non-empty, and the most and least loaded shards differ by at
    most the largest frame count. Returns (N,) int64.
    """
    if n_shards < 1:
        raise ValueError(f"n_shards must be at least 1, got {n_shards}")
    counts = np.asarray(frame_counts, dtype=np.int64).reshape(-1)
    if (counts < 0).any():
        raise ValueError("frame counts must be non-negative")
    if ids is not None and len(ids) != len(counts):
        raise ValueError(f"{len(ids)} ids for {len(counts)} frame counts")
    tie = list(ids) if ids is not None else list(range(len(counts)))
    order = sorted(range(len(counts)), key=lambda i: (-int(counts[i]), tie[i], i))
    heap = [(0, 0, s) for s in range(n_shards)]  # (frames, entries, shard)
    shards = np.zeros(len(counts), dtype=np.int64)
    for i in order:
        load, n, s = heapq.heappop(heap)
        shards[i] = s
        heapq.heappush(heap, (load + int(counts[i]), n + 1, s))
    return shards


def _manifest_frame(entries: Sequence[Entry], shards: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({
        "id": [e.id for e in entries], "split": [e.split for e in entries],
        "source": [str(e.source) for e in entries], "media": [e.media for e in entries],
        "frame_count": np.array([e.frame_count or 0 for e in entries], dtype=np.int64),
        "fps": np.array([e.fps for e in entries], dtype=np.float64),
        "signer": [e.signer for e in entries], "gloss": [e.gloss for e in entries],
        "text": [e.text for e in entries], "shard": np.asarray(shards, dtype=np.int64),
    }, columns=list(MANIFEST_COLUMNS))
    return frame


def _rejected_frame(entries: Sequence[Entry]) -> pd.DataFrame:
    return pd.DataFrame({
        "id": [e.id for e in entries], "split": [e.split for e in entries],
        "source": [str(e.source) for e in entries], "reason": [str(e.reject) for e in entries],
    }, columns=list(REJECTED_COLUMNS), dtype=object)


def build_manifest(
    name: str, kind: str, root: Path, n_shards: int, verify: str = "full", threads: int = 2,
    fps: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scan, verify and shard one dataset: (manifest, rejected) tables as described above.

    ``name`` is the dataset's config name, ``kind`` its reader (see :data:`READERS`), ``verify``
    ``full`` or ``quick`` (config ``manifest.verify``), ``threads`` how many entries are verified at
    once, ``fps`` an override of the corpus frame rate. Raises :class:`ManifestError` if the dataset
    lists no entries at all.
    """
    if verify not in VERIFY_MODES:
        raise ValueError(f"manifest.verify is {verify!r}; use one of {VERIFY_MODES}")
    if n_shards < 1:
        raise ValueError(f"the number of shards for dataset {name!r} must be at least 1, got {n_shards}")
    entries = scan_dataset(name, kind, root, fps=fps)
    if not entries:
        raise ManifestError(
            f"dataset {name!r} (kind {kind}) at {root} lists no entries in any split; "
            f"check its annotation files and datasets.{name}.root"
        )
    entries.sort(key=lambda e: (SPLITS.index(e.split), e.id))
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.reject is None:
            entry.reject = _id_problem(entry, seen)
    _verify(entries, verify, threads)
    kept = [e for e in entries if e.reject is None]
    dropped = [e for e in entries if e.reject is not None]
    shards = assign_shards([e.frame_count or 0 for e in kept], n_shards, ids=[e.id for e in kept])
    log.info("dataset %s: %d entries kept, %d rejected, %d shards", name, len(kept), len(dropped), n_shards)
    return _manifest_frame(kept, shards), _rejected_frame(dropped)


def _table(frame: pd.DataFrame, schema: pa.Schema, provenance: dict[str, Any]) -> pa.Table:
    missing = [c for c in schema.names if c not in frame.columns]
    if missing:
        raise ValueError(f"table lacks the column(s) {', '.join(missing)}")
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY] = json.dumps(provenance, sort_keys=True, default=str).encode()
    return table.replace_schema_metadata(meta)


def write_tables(
    manifest: pd.DataFrame, rejected: pd.DataFrame, manifest_path: str | os.PathLike[str],
    rejected_path: str | os.PathLike[str], provenance: dict[str, Any],
) -> None:
    """Write both tables as parquet, each atomically, with ``provenance`` in the schema metadata."""
    for frame, schema, path in (
        (rejected, REJECTED_SCHEMA, rejected_path), (manifest, MANIFEST_SCHEMA, manifest_path),
    ):
        table = _table(frame, schema, provenance)
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)


def read_manifest(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A manifest (or rejected) table written by :func:`write_tables`."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist; build it with the manifest rule first")
    frame = pq.read_table(path).to_pandas()
    if list(frame.columns) not in (list(MANIFEST_COLUMNS), list(REJECTED_COLUMNS)):
        raise ManifestError(
            f"{path} has columns {list(frame.columns)}, expected {list(MANIFEST_COLUMNS)}; rebuild it"
        )
    return frame


def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The provenance dict stored in a table's parquet schema metadata ({} if none)."""
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(PROVENANCE_KEY)
    return json.loads(raw) if raw else {}


def check_rejects(
    n_rejected: int, n_total: int, max_fraction: float, rejected_path: str | os.PathLike[str],
) -> None:
    """Raise :class:`ManifestError` if more than ``max_fraction`` of the ``n_total`` scanned entries
    (kept + rejected) were rejected. Call after :func:`write_tables`, so the tables survive."""
    if not 0.0 <= max_fraction <= 1.0:
        raise ValueError(f"manifest.max_reject_fraction must lie in [0, 1], got {max_fraction}")
    if n_total <= 0 or n_rejected / n_total <= max_fraction:
        return
    raise ManifestError(
        f"{n_rejected} of {n_total} entries ({n_rejected / n_total:.1%}) were rejected, more than the "
        f"configured limit manifest.max_reject_fraction = {max_fraction:g}. The reason for each "
        f"rejected entry is in {rejected_path}; fix those files, or raise manifest.max_reject_fraction "
        f"if losing them is acceptable."
    )
