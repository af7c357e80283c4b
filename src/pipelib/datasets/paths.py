"""Paths read from a corpus file stay under the corpus folder."""

from __future__ import annotations

import os
from pathlib import Path

from pipelib.datasets.errors import DatasetError


def inside(base: str | os.PathLike[str], value: str, table: str | os.PathLike[str], column: str,
           entry: str) -> Path:
    """``base / value`` with ``.`` and ``..`` resolved lexically (symlinks are kept, so a corpus of
    links works); raises :class:`DatasetError` naming ``table``, the entry and the column when the
    path would leave ``base`` (an absolute path elsewhere, or ``..`` parts climbing out)."""
    root = Path(os.path.normpath(os.path.abspath(base)))
    target = Path(os.path.normpath(os.path.join(root, value)))
    if target != root and root not in target.parents:
        raise DatasetError(
            f"{table}: entry {entry!r} has {column} {value!r}, which leads outside {root}; paths in a "
            f"corpus file must stay under the corpus folder, so fix or remove that row."
        )
    return target
