"""Atomic file and directory creation: write under a temporary name, rename when complete.

A job killed half-way leaves only a ``.tmp-*`` sibling behind, never a file that looks finished; the
next write of the same file removes such leftovers (a workflow lets one job at a time write an output).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("pipelib.io")
FULL_BELOW_BYTES = 1 << 20  # a failed write with less free space than this is reported as a full disk


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def stale_temps(final: str | os.PathLike[str]) -> list[Path]:
    """Leftovers of earlier writes of ``final`` that were killed before their rename, beside it:
    ``.tmp-<name>-XXXXXXXX[<suffix>]`` files or directories and ``.old-<name>-<pid>`` directories."""
    final = Path(final)
    pattern = re.compile(re.escape(f".tmp-{final.name}-") + r"[a-z0-9_]{8}(\.[^/]*)?"
                         + "|" + re.escape(f".old-{final.name}-") + r"\d+")
    if not final.parent.is_dir():
        return []
    return sorted(p for p in final.parent.iterdir() if pattern.fullmatch(p.name))


def remove_stale_temps(final: str | os.PathLike[str]) -> list[Path]:
    """Delete :func:`stale_temps` of ``final``; returns what was removed."""
    removed = stale_temps(final)
    for path in removed:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        log.info("removed %s, left by an interrupted write of %s", path, Path(final).name)
    return removed


def write_failure(path: str | os.PathLike[str], err: BaseException) -> str:
    """One sentence saying why writing ``path`` failed: a full disk (ENOSPC, EDQUOT or under 1 MiB left
    on its file system) or else the error itself, with the free space either way."""
    where = Path(path).parent
    try:
        free: int | None = shutil.disk_usage(where).free
    except OSError:
        free = None
    left = "unknown space" if free is None else f"{free / 2**20:.1f} MiB"
    code = getattr(err, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or (free is not None and free < FULL_BELOW_BYTES):
        what = "your disk quota is used up" if code == errno.EDQUOT else "the disk is full"
        return (f"could not write {path}: {what} ({left} left on the file system holding {where}); "
                f"free space there (or move the run to a larger disk) and re-run")
    return (f"could not write {path}: the write failed ({type(err).__name__}: {err}; {left} left on the "
            f"file system holding {where}); check that the directory is writable and the disk healthy")


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it onto ``final`` if the block succeeds.

    The temporary file keeps ``final``'s suffix (or ``suffix``) so libraries that sniff
    extensions (pyarrow, h5py, OpenCV) behave. On error the temporary file is removed; temporary
    files of earlier, interrupted writes of ``final`` are removed first.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".tmp-{final.name}-", suffix=suffix if suffix is not None else final.suffix,
        dir=final.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``final``; swap it into place on success.

    An existing ``final`` is replaced only once the new tree is complete. Leftovers of earlier,
    interrupted writes of ``final`` are removed first.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            old = final.with_name(f".old-{final.name}-{os.getpid()}")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
