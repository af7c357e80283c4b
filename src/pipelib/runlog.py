"""Logging for pipeline jobs: everything in one log file per job (Snakemake's `log:`), little on the console.

Every thin workflow script runs its work inside :func:`job`, so that a failing job's log ends with
its error (a one-sentence summary, then the traceback) and the console shows one sentence for an
expected :class:`~pipelib.errors.DataError` instead of a traceback.

What goes where while a job runs with a log file:

- the job's log: every pipelib record (INFO and up) and everything written to the process's standard
  output and error, by Python or by native code (MediaPipe's glog/absl and TF Lite lines, MLflow's and
  alembic's log handlers, warnings, progress bars): file descriptors 1 and 2 point into the log;
- the console (the job's original standard error, which Snakemake shows): pipelib's warnings and
  errors, and the failure summary of :func:`report_failure`.

So the console shows Snakemake's progress, warnings and one-sentence data errors; a job's log keeps
everything. Without a log file (a script run by hand) pipelib's INFO records go to stderr as well.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TextIO

from pipelib.errors import DataError

_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")


def setup(log_path: str | os.PathLike[str] | None, name: str = "pipelib",
          console: TextIO | None = None) -> logging.Logger:
    """Send pipelib's log records to ``log_path`` (if given; appended to) and to ``console`` (default
    stderr): there only warnings and errors when a log file takes the rest, else everything from INFO
    up. Returns the named logger."""
    root = logging.getLogger("pipelib")
    root.setLevel(logging.INFO)
    for h in root.handlers:
        h.close()
    root.handlers.clear()
    shown = logging.StreamHandler(sys.stderr if console is None else console)
    shown.setLevel(logging.WARNING if log_path else logging.INFO)
    handlers: list[logging.Handler] = [shown]
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="a", encoding="utf-8"))
    for h in handlers:
        h.setFormatter(_FORMAT)
        root.addHandler(h)
    root.propagate = False
    return logging.getLogger(name)


def _real_stderr() -> bool:
    """Whether ``sys.stderr`` writes to file descriptor 2 (not when a test harness replaced it)."""
    try:
        return sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


@contextmanager
def output_into(log_path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """Point file descriptors 1 and 2 at ``log_path`` (appending) while the block runs, so that native
    libraries' output lands in the log; yield a text stream on the original stderr (the console).
    Where ``sys.stderr`` is not file descriptor 2 (a harness captures it), nothing is redirected and
    the stream is ``sys.stderr`` itself."""
    if not _real_stderr():
        yield sys.stderr
        return
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    target = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    console = os.fdopen(os.dup(saved[2]), "w", encoding="utf-8", errors="replace", buffering=1)
    try:
        for fd in (1, 2):
            os.dup2(target, fd)
        yield console
    finally:
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):
                stream.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(target)
        console.close()


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
    """Run a job's work: everything into ``log_path`` (see the module docstring), warnings and errors
    also on the console; on an exception, record it with :func:`report_failure` and exit with status 1
    (the console traceback only for unexpected errors).

    Use in every workflow script::

        with runlog.job(snakemake.log[0]):
            run(...)
    """
    if not log_path:
        with _work(None, name, sys.stderr) as logger:
            yield logger
        return
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    open(log_path, "w").close()  # a fresh log per run; every writer below appends
    with output_into(log_path) as console, _work(log_path, name, console) as logger:
        yield logger


@contextmanager
def _work(log_path: str | os.PathLike[str] | None, name: str, console: TextIO) -> Iterator[logging.Logger]:
    logger = setup(log_path, name, console)
    try:
        yield logger
    except Exception as exc:
        report_failure(exc, log_path, console)
        raise SystemExit(1) from None
    except KeyboardInterrupt as exc:
        report_failure(exc, log_path, console)
        raise
    finally:
        for h in logging.getLogger("pipelib").handlers:
            h.flush()
