"""Reading the ``|``-separated annotation tables the corpora ship (PHOENIX, CSL-Daily, our video layout)."""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from pathlib import Path

from pipelib.datasets.errors import DatasetError

log = logging.getLogger(__name__)


def read_table(path: Path, header: Sequence[str], config_key: str, context: str = "") -> list[dict[str, str]]:
    """Rows of a ``|``-separated file whose first line must be exactly ``header``.

    Fields are stripped of surrounding whitespace; blank lines are skipped; quotes are literal.
    A header-only file gives ``[]`` and a logged warning (``context`` says what is left empty).
    Raises :class:`DatasetError` naming the file for a missing file (and ``config_key``), a 0-byte
    file, a different header, or a row with the wrong number of fields.
    """
    path = Path(path)
    expected = "|".join(header)
    if not path.is_file():
        raise DatasetError(
            f"annotation file {path} does not exist; check the config key {config_key} "
            f"(it must point at the corpus root that holds this file)"
        )
    if path.stat().st_size == 0:
        raise DatasetError(
            f"annotation file {path} is empty (0 bytes); expected a '|'-separated table whose first "
            f"line is the header '{expected}'"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DatasetError(f"annotation file {path} is not UTF-8 text ({err}); re-save it as UTF-8") from err
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    parsed = csv.reader((line for _, line in numbered), delimiter="|", quoting=csv.QUOTE_NONE)
    got = next(parsed, None)
    if got is None or [f.strip() for f in got] != list(header):
        first = "|".join(got) if got else ""
        raise DatasetError(
            f"annotation file {path} starts with '{first}' but the expected header is '{expected}'"
        )
    rows: list[dict[str, str]] = []
    for (line_no, _), fields in zip(numbered[1:], parsed, strict=True):
        if len(fields) != len(header):
            raise DatasetError(
                f"annotation file {path}, line {line_no}: {len(fields)} '|'-separated fields, "
                f"expected {len(header)} ('{expected}')"
            )
        rows.append({k: v.strip() for k, v in zip(header, fields, strict=True)})
    if not rows:
        where = f": {context} has 0 entries" if context else ""
        log.warning("annotation file %s has a header but no rows%s", path, where)
    return rows
