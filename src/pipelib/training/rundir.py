"""Decide whether a training run directory may be resumed or must start over.

A restarted job (SLURM requeue, retry) resumes from ``last.pt``; a job re-run because its config
or its input data changed must not: it would resume, or even skip, on a model trained for
something else. The run directory keeps ``fingerprint.json`` (the config and input checksums the
run was started for); a different fingerprint clears the run's checkpoints first.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipelib.io.atomic import write_text_atomic
from pipelib.provenance import canonical_json, path_checksum

log = logging.getLogger("pipelib.training")

RUN_FILES = ("last.pt", "best.pt", "history.csv", "config.json")


def fingerprint(config: Mapping[str, Any], inputs: Iterable[str | os.PathLike[str]]) -> dict[str, Any]:
    """What a run is for: its config and the checksum of every input file."""
    return {"config": json.loads(canonical_json(config)),
            "inputs": {str(p): path_checksum(p) for p in inputs}}


def prepare_run_dir(run_dir: str | os.PathLike[str], fp: Mapping[str, Any]) -> bool:
    """Make ``run_dir`` ready for a run with fingerprint ``fp``; True if a resume is possible."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "fingerprint.json"
    same = path.exists() and json.loads(path.read_text()) == json.loads(canonical_json(fp))
    if not same:
        stale = [f for f in RUN_FILES if (run_dir / f).exists()]
        if stale:
            log.info("%s was trained for another config or other inputs: starting over (removing %s)",
                     run_dir, ", ".join(stale))
        for f in stale:
            (run_dir / f).unlink()
        write_text_atomic(path, canonical_json(fp) + "\n")
    return same and (run_dir / "last.pt").exists()
