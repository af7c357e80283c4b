"""Logging for pipeline jobs: one log file per job (Snakemake's `log:`) plus stderr.

Every thin workflow script runs its work inside :func:`job`, so that a failing job's log ends with
its error (a one-sentence summary, then the traceback) and the console shows one sentence for an
expected :class:`~pipelib.errors.DataError` instead of a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from pipelib.errors import DataError

_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")


def setup(log_path: str | os.PathLike[str] | None, name: str = "pipelib") -> logging.Logger:
    """Send pipelib's log records to ``log_path`` (if given) and stderr; return the named logger."""
    root = logging.getLogger("pipelib")
    root.setLevel(logging.INFO)
    root.handlers.clear()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    for h in handlers:
        h.setFormatter(_FORMAT)
        root.addHandler(h)
    root.propagate = False
    return logging.getLogger(name)


def summary(exc: BaseException) -> str:
    """One line that says what went wrong: a DataError's own sentence, else the type and first line."""
    text = str(exc).strip()
    if isinstance(exc, DataError):
        return " ".join(text.split()) or type(exc).__name__
    first = text.splitlines()[0] if text else "(no message)"
    return f"{type(exc).__name__}: {first}"


def report_failure(exc: BaseException, log_path: str | os.PathLike[str] | None,
                   stream=None) -> None:
    """Append the summary and the traceback of ``exc`` to ``log_path``; print to ``stream`` (stderr)
    the summary alone for a :class:`DataError`, the summary and the traceback otherwise."""
    stream = sys.stderr if stream is None else stream
    line = summary(exc)
    trace = "".join(traceback.format_exception(exc))
    for handler in logging.getLogger("pipelib").handlers:
        handler.flush()
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(f"ERROR: {line}\n{trace}")
    stream.write(f"ERROR: {line}\n" if isinstance(exc, DataError) else f"ERROR: {line}\n{trace}")
    stream.flush()


@contextmanager
def job(log_path: str | os.PathLike[str] | None, name: str = "pipelib") -> Iterator[logging.Logger]:
    """Run a job's work: log to ``log_path`` and stderr; on an exception, record it with
    :func:`report_failure` and exit with status 1 (the console traceback only for unexpected errors).

    Use in every workflow script::

        with runlog.job(snakemake.log[0]):
            run(...)
    """
    logger = setup(log_path, name)
    try:
        yield logger
    except Exception as exc:
        report_failure(exc, log_path)
        raise SystemExit(1) from None
    except KeyboardInterrupt as exc:
        report_failure(exc, log_path)
        raise
