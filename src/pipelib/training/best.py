"""The best epoch's checkpoint, kept under a name no workflow declares; ``best.pt`` is a copy of it.

Workflows declare ``<run_dir>/best.pt`` as a training job's output, and Snakemake deletes the declared
outputs of a job that failed, was killed or is about to be re-run. A job killed after its best epoch
would then resume from ``last.pt``, never improve again and never write ``best.pt``. So the trainer
writes the best epoch's checkpoint to ``best-epochNNN.pt`` (before ``last.pt`` commits that epoch),
keeps only the one ``last.pt`` names, and copies it to ``best.pt`` atomically whenever ``fit`` returns,
also for a run that was already complete. Naming the file by epoch keeps a kill between the two saves
harmless even where a re-run epoch is not bit-identical (GPU): the committed best stays on disk until
a later ``last.pt`` names another.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from pipelib.io.atomic import atomic_path, write_failure
from pipelib.training.checkpoint import CheckpointError, read_checkpoint

log = logging.getLogger("pipelib.training")
KEPT_FILE = re.compile(r"best-epoch(\d+)\.pt")
BEST_NAME = "best.pt"


def kept_best_path(run_dir: Path, epoch: int) -> Path:
    """``run_dir/best-epochNNN.pt`` (at least three digits): the kept checkpoint of best epoch ``epoch``."""
    return run_dir / f"best-epoch{epoch:03d}.pt"


def kept_best_files(run_dir: Path) -> dict[int, Path]:
    """Kept best-epoch checkpoints present in ``run_dir``, by epoch."""
    out = {}
    for path in run_dir.iterdir():
        match = KEPT_FILE.fullmatch(path.name)
        if match and path.is_file():
            out[int(match.group(1))] = path
    return out


def prune_kept_best(run_dir: Path, keep: int | None) -> None:
    """Delete every kept best-epoch checkpoint except epoch ``keep`` (all of them when None)."""
    for epoch, path in kept_best_files(run_dir).items():
        if epoch != keep:
            path.unlink(missing_ok=True)
            log.debug("removed %s (the committed best epoch is %s)", path, keep)


def adopt_best(run_dir: Path, epoch: int) -> bool:
    """Keep ``best.pt`` as epoch ``epoch``'s kept checkpoint if it is that epoch's (a run directory from
    before kept checkpoints existed); True when the kept checkpoint exists afterwards."""
    kept, best = kept_best_path(run_dir, epoch), run_dir / BEST_NAME
    if kept.is_file():
        return True
    if not best.is_file():
        return False
    try:
        if read_checkpoint(best)["epoch"] != epoch:
            return False
    except CheckpointError:
        return False
    _copy(best, kept)
    log.info("kept %s as %s", best, kept.name)
    return True


def materialise_best(run_dir: Path, epoch: int) -> Path:
    """Copy the kept checkpoint of ``epoch`` to ``run_dir/best.pt`` atomically; returns that path."""
    kept, best = kept_best_path(run_dir, epoch), run_dir / BEST_NAME
    _copy(kept, best)
    return best


def _copy(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` atomically; a failed write raises CheckpointError naming ``dest``."""
    if not src.is_file():
        raise CheckpointError(f"{src} is missing, so {dest} cannot be written; delete "
                              f"{src.parent / 'last.pt'} to train the run again")
    with atomic_path(dest) as tmp:
        try:
            shutil.copyfile(src, tmp)
        except OSError as err:
            raise CheckpointError(write_failure(dest, err)) from err
