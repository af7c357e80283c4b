"""Logging for pipeline jobs: one log file per job (Snakemake's `log:`) plus stderr."""

from __future__ import annotations

import logging
import os
import sys


def setup(log_path: str | os.PathLike[str] | None, name: str = "pipelib") -> logging.Logger:
    """Send pipelib's log records to ``log_path`` (if given) and stderr; return the named logger."""
    root = logging.getLogger("pipelib")
    root.setLevel(logging.INFO)
    root.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    for h in handlers:
        h.setFormatter(fmt)
        root.addHandler(h)
    root.propagate = False
    return logging.getLogger(name)
