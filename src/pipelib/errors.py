"""The one exception base class for problems a user is expected to fix in their data or config."""

from __future__ import annotations


class DataError(Exception):
    """An expected, user-fixable problem: a rejected input, a refused file, a limit exceeded.

    The message is one sentence that names the file or config key and says what to change. A job
    that fails with a DataError prints only that sentence on the console (its log keeps the
    traceback, see :func:`pipelib.runlog.job`); any other exception is a bug and shows its traceback.
    """
