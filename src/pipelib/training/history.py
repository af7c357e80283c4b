"""Per-epoch training history as a small CSV in the run directory (rewritten atomically each epoch)."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence

from pipelib.io.atomic import atomic_path


def write_history(path: str | os.PathLike[str], rows: Sequence[dict[str, float]]) -> None:
    """Write ``rows`` (one dict per epoch) as CSV; columns in order of first appearance."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def read_history(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """Read a history CSV back: numbers as float (``epoch`` as int), missing cells as NaN."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [{k: (int(v) if k == "epoch" else float(v) if v != "" else float("nan"))
             for k, v in row.items()} for row in rows]
