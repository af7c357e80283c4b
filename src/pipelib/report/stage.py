"""The report stage as the pipeline runs it: every named source file to its view page."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from pipelib.io.atomic import write_text_atomic
from pipelib.provenance import sidecar_path
from pipelib.report.markdown import write_markdown_page
from pipelib.report.renders import write_render_page
from pipelib.report.tables import write_table_page

log = logging.getLogger("pipelib.report")

#: Which view each kind of source file gets, by suffix.
VIEWS = {".csv": write_table_page, ".md": write_markdown_page, ".gif": write_render_page}


def result_name(source: str | os.PathLike[str], dataset: str) -> str:
    """``source`` relative to the dataset's results folder (``fused/report.csv``), else its file name."""
    parts = Path(source).parts
    for i in range(len(parts) - 2):
        if parts[i:i + 2] == ("results", dataset):
            return "/".join(parts[i + 2:])
    return Path(source).name


def write_view(source: str | os.PathLike[str], out_path: str | os.PathLike[str], dataset: str) -> None:
    """``out_path``: the page of ``source`` (a CSV table, Markdown report or GIF render)."""
    suffix = Path(source).suffix.lower()
    if suffix not in VIEWS:
        raise ValueError(f"{source}: no report view for {suffix or 'files without a suffix'} files; "
                         f"views exist for {', '.join(VIEWS)}")
    if suffix == ".md":
        write_markdown_page(source, out_path)
    else:
        VIEWS[suffix](source, out_path, f"{result_name(source, dataset)} - dataset {dataset}")
    mark_measurement_view(source, out_path)
    log.info("%s -> %s", source, out_path)


def mark_measurement_view(source: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> None:
    """Give the page of a measurement (a source whose provenance says ``deterministic: false``, such
    as timings) a provenance sidecar saying the same, so that an audit skips the page as it skips the
    source; pages of deterministic sources get none."""
    side = sidecar_path(source)
    try:
        prov = json.loads(side.read_text()) if side.is_file() else {}
    except (OSError, ValueError):
        return
    if isinstance(prov, dict) and prov.get("deterministic") is False:
        record = {"deterministic": False, "view_of": str(source)}
        write_text_atomic(sidecar_path(out_path), json.dumps(record, indent=2) + "\n")


def run_views(pairs: Mapping[str, tuple[str, str]], dataset: str) -> None:
    """Write every view: ``pairs`` maps a name to (source file, page to write)."""
    for source, out_path in pairs.values():
        write_view(source, out_path, dataset)
