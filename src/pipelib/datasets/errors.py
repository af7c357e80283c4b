"""Errors raised while reading a corpus or building its manifest."""

from __future__ import annotations

from pipelib.errors import DataError


class DatasetError(DataError):
    """A corpus cannot be read as configured (missing or malformed annotation file, unsafe file).

    The message names the file and, where one applies, the config key to change.
    """


class ManifestError(DataError):
    """The manifest cannot be accepted (no entries, or too many rejected entries)."""
