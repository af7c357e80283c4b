"""Decide whether a training run directory may be resumed or must start over.

A restarted job (SLURM requeue, retry) resumes from ``last.pt``; a job re-run because its config
or its input data changed must not: it would resume, or even skip, on a model trained for
something else. The run directory keeps ``fingerprint.json`` (the config, the input checksums and
the code the run was started with); a different fingerprint clears the run's checkpoints first.

The code is the source of every ``pipelib`` module the training process has loaded when it prepares
its run directory (the trainer, the model, the data pipeline), with the torch and numpy versions: a
job re-run after an edit to any of them (a fix, a new default, ``--forcerun`` after a change) trains
again rather than resuming, or handing back, a run made by other code. An edit to a module training
never loads (the report, a plot) leaves a killed run resumable. With the same config, inputs and code
a finished run is reused (its outputs are what training again would make, within device rounding).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipelib.io.atomic import write_text_atomic
from pipelib.provenance import canonical_json, file_sha256, package_versions, path_checksum

log = logging.getLogger("pipelib.training")

RUN_FILES = ("last.pt", "best.pt", "history.csv", "config.json")
#: how a log names each part of a fingerprint
WHAT = {"config": "for another config", "inputs": "on other input data",
        "code": "by other code (pipelib modules, torch, numpy)"}


def fingerprint(config: Mapping[str, Any], inputs: Iterable[str | os.PathLike[str]]) -> dict[str, Any]:
    """What a run is for: its config, the checksum of every input file and :func:`code_fingerprint`."""
    return {"config": json.loads(canonical_json(config)),
            "inputs": {str(p): path_checksum(p) for p in inputs},
            "code": code_fingerprint()}


def code_fingerprint() -> str:
    """SHA-256 over the source of the ``pipelib`` modules loaded in this process and the versions of
    torch and numpy (see the module doc)."""
    digest = hashlib.sha256()
    for name in sorted(sys.modules):
        if name != "pipelib" and not name.startswith("pipelib."):
            continue
        source = getattr(sys.modules[name], "__file__", None)
        if source and Path(source).is_file():
            digest.update(f"{name} {file_sha256(source)}\n".encode())
    versions = package_versions()
    digest.update(f"torch {versions.get('torch')} numpy {versions.get('numpy')}".encode())
    return digest.hexdigest()


def prepare_run_dir(run_dir: str | os.PathLike[str], fp: Mapping[str, Any]) -> bool:
    """Make ``run_dir`` ready for a run with fingerprint ``fp``; True if a resume is possible."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "fingerprint.json"
    wanted = json.loads(canonical_json(fp))
    before = json.loads(path.read_text()) if path.exists() else None
    if before != wanted:
        stale = [f for f in RUN_FILES if (run_dir / f).exists()]
        stale += sorted(p.name for p in run_dir.glob("best-epoch*.pt"))  # training.best's kept epochs
        if stale:
            changed = [WHAT.get(k, k) for k in sorted(set(wanted) | set(before or {}))
                       if (before or {}).get(k) != wanted.get(k)]
            log.info("%s was trained %s: starting over (removing %s)", run_dir,
                     " and ".join(changed), ", ".join(stale))
        for f in stale:
            (run_dir / f).unlink()
        write_text_atomic(path, canonical_json(fp) + "\n")
        return False
    return (run_dir / "last.pt").exists()
