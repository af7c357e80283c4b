"""Which epochs' checkpoints a run keeps for averaging: the ``k`` best by the monitored dev metric.

One ranking for the trainer and for :mod:`pipelib.training.averaging`: better value first (lower for
``min``, higher for ``max``), ties to the earlier epoch. Files are ``<run_dir>/epochNNN.pt``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("pipelib.training")
EPOCH_FILE = re.compile(r"epoch(\d+)\.pt")


def rank_key(value: float, epoch: int, mode: str) -> tuple[float, int]:
    """Sort key putting the better ``value`` first (``mode`` min/max), the earlier epoch on ties."""
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return (value if mode == "min" else -value, epoch)


def top_k_epochs(history: Sequence[Mapping[str, Any]], key: str, mode: str, k: int) -> list[int]:
    """Epochs of the ``k`` best rows of ``history`` by ``row[key]``, best first (rows lacking it skipped)."""
    if k <= 0:
        return []
    scored = [(float(r[key]), int(r["epoch"])) for r in history if key in r]
    scored.sort(key=lambda ve: rank_key(ve[0], ve[1], mode))
    return [epoch for _, epoch in scored[:k]]


def epoch_path(run_dir: Path, epoch: int) -> Path:
    """``run_dir/epochNNN.pt`` (at least three digits)."""
    return run_dir / f"epoch{epoch:03d}.pt"


def epoch_files(run_dir: Path) -> dict[int, Path]:
    """Epoch checkpoints present in ``run_dir`` by epoch."""
    out = {}
    for path in run_dir.iterdir():
        match = EPOCH_FILE.fullmatch(path.name)
        if match and path.is_file():
            out[int(match.group(1))] = path
    return out


def prune_epoch_files(run_dir: Path, keep: Sequence[int]) -> None:
    """Delete every ``epochNNN.pt`` of ``run_dir`` whose epoch is not in ``keep``."""
    for epoch, path in sorted(epoch_files(run_dir).items()):
        if epoch not in keep:
            path.unlink(missing_ok=True)
            log.debug("removed %s (not among the kept epochs %s)", path, list(keep))
