"""Read the provenance record an output carries, whatever its format.

Where records live: a ``<file>.prov.json`` sidecar; the ``provenance`` attribute of an HDF5 file;
the ``pipelib.provenance`` key of a parquet file's schema metadata; ``meta.provenance`` of a checkpoint;
``provenance.json`` inside an output folder.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

from pipelib.provenance import sidecar_path

_JSON_PREFIX = "json:"  # pipelib.io.shards' marker of JSON-encoded attributes


def _decode(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, bytes):
        raw = raw.decode()
    if isinstance(raw, str):
        raw = raw[len(_JSON_PREFIX):] if raw.startswith(_JSON_PREFIX) else raw
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return raw if isinstance(raw, dict) else None


def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The provenance dict of the output ``path``, or None where it carries none (or is unreadable)."""
    p = Path(path)
    try:
        sidecar = sidecar_path(p)
        if sidecar.is_file():
            return _decode(sidecar.read_text())
        if p.is_dir():
            inner = p / "provenance.json"
            return _decode(inner.read_text()) if inner.is_file() else None
        suffix = p.suffix.lower()
        if suffix in (".h5", ".hdf5"):
            import h5py

            with h5py.File(p, "r") as h5:
                return _decode(h5.attrs.get("provenance"))
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            meta = pq.read_schema(p).metadata or {}
            return _decode(meta.get(b"pipelib.provenance", meta.get(b"provenance")))
        if suffix == ".pt":
            import torch

            ckpt = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
            meta = ckpt.get("meta") if isinstance(ckpt, dict) else None
            return _decode(meta.get("provenance")) if isinstance(meta, dict) else None
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, pickle.UnpicklingError):
        return None
    return None
