"""Provenance records attached to every output: what config, code, packages, inputs, host and
runtime environment (device, CUDA, determinism, threads) made it."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
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


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def runtime_environment(device: str | None = None) -> dict[str, Any]:
    """What a result may depend on beyond its config and inputs: where and how torch computed.

    ``device`` is the device the caller computed on (``cpu``, ``cuda``, ``cuda:1``); None means
    ``cuda`` when this process has initialised CUDA, else ``cpu``. Keys: ``device`` (kind),
    ``device_model`` (CPU or GPU name), ``cuda`` / ``cudnn`` (versions torch was built with / loaded,
    None without torch or CUDA), ``deterministic`` (``torch.use_deterministic_algorithms``),
    ``cudnn_deterministic``, ``cudnn_benchmark``, ``threads`` (torch intra-op threads),
    ``cpu_capability`` (the instruction set torch's CPU kernels dispatch to, e.g. ``AVX512``, ``AVX2``:
    it changes float rounding on CPUs of one name, and ``ATEN_CPU_CAPABILITY`` can lower it), ``cpus``
    (CPUs this process may run on). Torch settings are read only if the job imported torch: a job
    that did not computed nothing with it.
    """
    torch = sys.modules.get("torch")
    affinity = getattr(os, "sched_getaffinity", None)
    record: dict[str, Any] = {
        "device": "cpu", "device_model": cpu_model(), "cuda": None, "cudnn": None, "deterministic": None,
        "cudnn_deterministic": None, "cudnn_benchmark": None, "threads": None, "cpu_capability": None,
        "cpus": len(affinity(0)) if affinity else os.cpu_count(),
    }
    if torch is None or not hasattr(torch, "get_num_threads"):  # absent, or half-imported
        return record
    cudnn = torch.backends.cudnn
    record.update(
        cuda=torch.version.cuda, cudnn=cudnn.version() if cudnn.is_available() else None,
        deterministic=bool(torch.are_deterministic_algorithms_enabled()),
        cudnn_deterministic=bool(cudnn.deterministic), cudnn_benchmark=bool(cudnn.benchmark),
        threads=int(torch.get_num_threads()), cpu_capability=_cpu_capability(torch),
    )
    kind = device.split(":")[0] if device else ("cuda" if torch.cuda.is_initialized() else "cpu")
    record["device"] = kind
    if kind != "cpu":
        record["device_model"] = None
        if kind == "cuda" and torch.cuda.is_available():
            index = int(device.split(":")[1]) if device and ":" in device else torch.cuda.current_device()
            record["device_model"] = torch.cuda.get_device_name(index)
    return record


def _cpu_capability(torch: Any) -> str | None:
    """The instruction set torch's CPU kernels use (``torch.backends.cpu.get_cpu_capability()``)."""
    getter = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    return str(getter()) if getter is not None else None


def collect(
    section: Any,
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    seed: int | None = None,
    extra: Mapping[str, Any] | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Provenance of one output: config-section hash, code, packages, input checksums, seed, host,
    and the runtime environment (:func:`runtime_environment` of ``device``)."""
    record: dict[str, Any] = {
        "config_sha256": config_hash(section),
        "config": section,
        "code": code_version(),
        "packages": package_versions(),
        "inputs": {str(p): path_checksum(p) for p in inputs},
        "seed": seed,
        "host": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "runtime": runtime_environment(device),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if extra:
        record.update(extra)
    return record


def sidecar_path(output: str | os.PathLike[str]) -> Path:
    """Where the provenance JSON of ``output`` lives: ``<output>.prov.json``."""
    p = Path(output)
    return p.with_name(p.name + ".prov.json")
