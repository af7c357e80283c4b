"""Provenance records attached to every output: what config, code, packages, inputs and host made it."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = (
    "pipelib", "numpy", "torch", "mediapipe", "opencv-python", "h5py", "pyarrow", "snakemake",
    "onnxruntime", "mlflow", "sacrebleu", "jiwer", "pose-format",
)


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal configs give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(section: Any) -> str:
    """sha256 of a config section in canonical JSON form."""
    return hashlib.sha256(canonical_json(section).encode()).hexdigest()


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def path_checksum(path: str | os.PathLike[str]) -> str:
    """sha256 of a file, or of a directory's sorted (relative name, size) listing.

    Directories of frames are summarised by names and sizes, not contents, to stay cheap.
    """
    p = Path(path)
    if p.is_file():
        return file_sha256(p)
    h = hashlib.sha256()
    for f in sorted(q for q in p.rglob("*") if q.is_file()):
        h.update(f"{f.relative_to(p)}\0{f.stat().st_size}\n".encode())
    return "dir:" + h.hexdigest()


@lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """Git commit of the project checkout and whether its tree was dirty (None outside git)."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
            check=True, timeout=10,
        ).stdout.strip()
        dirty = bool(subprocess.run(
            ["git", "--no-optional-locks", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Installed versions of the packages whose behaviour shapes our outputs."""
    out = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def collect(
    section: Any,
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    seed: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Provenance of one output: config-section hash, code, packages, input checksums, seed, host."""
    record: dict[str, Any] = {
        "config_sha256": config_hash(section),
        "config": section,
        "code": code_version(),
        "packages": package_versions(),
        "inputs": {str(p): path_checksum(p) for p in inputs},
        "seed": seed,
        "host": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if extra:
        record.update(extra)
    return record


def sidecar_path(output: str | os.PathLike[str]) -> Path:
    """Where the provenance JSON of ``output`` lives: ``<output>.prov.json``."""
    p = Path(output)
    return p.with_name(p.name + ".prov.json")
