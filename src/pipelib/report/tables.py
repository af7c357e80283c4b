"""A CSV result as an HTML table page, cell for cell as the file writes it.

Cells are shown as the CSV's text (no re-rounding, no ``nan``): the view cannot disagree with the file.
Columns whose every non-empty cell is a number are right-aligned. The page also carries the CSV itself
as a download link, so the raw table travels with the report.
"""

from __future__ import annotations

import csv
import html
import math
import os
from collections.abc import Sequence
from pathlib import Path

from pipelib.report.page import data_uri, write_page

#: Rows shown at most; a larger table shows its first rows and says how many were left out.
#: characters beyond which a text column is given room for prose rather than squeezed
LONG_TEXT = 40
MAX_ROWS = 5000


def read_csv_cells(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a CSV file as text; ragged rows are padded with empty cells or refused."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"{path} is empty: a table needs at least a header line")
    header, body = rows[0], rows[1:]
    for i, row in enumerate(body, start=2):
        if len(row) > len(header):
            raise ValueError(f"{path} line {i} has {len(row)} cells but the header names {len(header)}")
    return header, [row + [""] * (len(header) - len(row)) for row in body]


def _is_number(cell: str) -> bool:
    try:
        return not math.isnan(float(cell))
    except ValueError:
        return False


def numeric_columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[bool]:
    """Per column: True when it has a non-empty cell and every non-empty cell parses as a number."""
    out = []
    for j in range(len(header)):
        cells = [r[j] for r in rows if r[j].strip()]
        out.append(bool(cells) and all(_is_number(c) for c in cells))
    return out


def long_text_columns(header: Sequence[str], rows: Sequence[Sequence[str]],
                      chars: int = LONG_TEXT) -> list[bool]:
    """Per column: True when a cell holds more than ``chars`` characters (prose, kept readable wide)."""
    return [any(len(r[j]) > chars for r in rows) for j in range(len(header))]


def table_html(header: Sequence[str], rows: Sequence[Sequence[str]], max_rows: int = MAX_ROWS) -> str:
    """An HTML ``<table>`` (escaped cells, numeric columns right-aligned) in a horizontally scrolling
    box, with a note when more than ``max_rows`` rows were left out."""
    numeric = numeric_columns(header, rows)
    kinds = [' class="num"' if num else ' class="long"' if long else ""
             for num, long in zip(numeric, long_text_columns(header, rows), strict=True)]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows[:max_rows]:
        cells = "".join(f"<td{kind}>{html.escape(c)}</td>" for c, kind in zip(row, kinds, strict=True))
        body.append(f"<tr>{cells}</tr>")
    note = (f'<p class="meta">The first {max_rows} of {len(rows)} rows; the CSV holds them all.</p>\n'
            if len(rows) > max_rows else "")
    return (f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(body)
            + "\n</tbody>\n</table></div>\n" + note)


def write_table_page(csv_path: str | os.PathLike[str], out_path: str | os.PathLike[str],
                     title: str | None = None) -> None:
    """``out_path``: the CSV at ``csv_path`` as a table page titled ``title`` (default: the path),
    with its row and column counts and a link that downloads the CSV itself."""
    csv_path = Path(csv_path)
    header, rows = read_csv_cells(csv_path)
    link = (f'<p><a download="{html.escape(csv_path.name)}" '
            f'href="{data_uri(csv_path.read_bytes(), "text/csv")}">Download {html.escape(csv_path.name)}</a>'
            f"</p>\n")
    meta = f"{len(rows)} rows x {len(header)} columns, from {csv_path}"
    write_page(out_path, title or str(csv_path), table_html(header, rows) + link, meta)
