"""The audit for readers: a one-paragraph summary and a Markdown section for ``report.md``."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from pipelib.audit.device import OTHER_DEVICE
from pipelib.audit.stage import FAILURES, SKIPPED
from pipelib.io.atomic import write_text_atomic

_SHOWN = ["job", "output", "status", "max_abs_diff", "tolerance", "rerun_on", "detail"]


def summary_paragraph(table: pd.DataFrame) -> str:
    """What the audit re-executed, how its outputs compared, and whether it passed, in one paragraph."""
    jobs = list(dict.fromkeys(table["job"]))
    rules = list(dict.fromkeys(table["rule"]))
    status = table["status"]
    bitwise = int(((status == "match") & (table["tolerance"] == "bitwise")).sum())
    tolerant = int(((status == "match") & (table["tolerance"] != "bitwise")).sum())
    failed = table[status.isin(FAILURES)]
    parts = [f"{bitwise} matched bitwise"]
    if tolerant:
        parts.append(f"{tolerant} matched within the tolerance where the recorded setting promises no "
                     f"bitwise equality")
    other = table[status == OTHER_DEVICE]
    if len(other):
        devices = sorted(set(other["rerun_on"]) | set(other["recorded_on"]))
        parts.append(f"{len(other)} were re-executed on another device class ({', '.join(devices)}) and are "
                     f"reported, not failed")
    skipped = int((status == SKIPPED).sum())
    if skipped:
        parts.append(f"{skipped} were skipped (provenance-only files or measurements)")
    verdict = ("The audit passed." if failed.empty else
               f"The audit FAILED: {len(failed)} output(s) were not reproduced: "
               + "; ".join(f"{r.output} ({r.status})" for r in failed.itertuples()) + ".")
    return (f"The reproducibility audit re-executed a seeded sample of {len(jobs)} recorded job(s) of "
            f"{len(rules)} rule(s) ({', '.join(rules)}), each as its own job with the resources of the rule "
            f"it repeats, and compared their {len(table)} output(s) with the recorded ones: "
            + ", ".join(parts) + ". " + verdict)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3g}"
    return str(value).replace("|", "\\|")


def markdown_section(table: pd.DataFrame, title: str = "Reproducibility audit") -> str:
    """``## <title>``, the summary paragraph and the audit's table (Markdown)."""
    lines = [f"## {title}", "", summary_paragraph(table), "",
             "| " + " | ".join(_SHOWN) + " |", "|" + "---|" * len(_SHOWN)]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(_cell(row[c]) for c in _SHOWN) + " |")
    return "\n".join(lines) + "\n"


def append_section(report_md: str | os.PathLike[str], audit_csv: str | os.PathLike[str]) -> None:
    """Add :func:`markdown_section` of the table ``audit_csv`` to the end of ``report_md``."""
    text = Path(report_md).read_text(encoding="utf-8").rstrip("\n")
    write_text_atomic(report_md, text + "\n\n" + markdown_section(pd.read_csv(audit_csv)))
