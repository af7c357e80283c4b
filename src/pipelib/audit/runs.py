"""Compare two whole runs (e.g. a cluster run and a local one) file by file, and say per output
whether a difference is explained by the device or by provenance, or unexplained.

Each file is compared as :func:`pipelib.audit.device.expect` says from the two provenance records
(bitwise where the settings promise it, else within the tolerance). A file that differs is
explained, in this order, by: ``precision`` (the float precision differs), ``device`` (another
device class), ``config`` (its config section differs), ``inputs`` (an input it records differs
between the runs), ``software`` (code commit or package versions differ), ``device`` again (the same
device class with a different model, threads, CUDA, provider or batch size, or without deterministic
algorithms, and the values within the tolerance); otherwise it is ``unexplained``. Files without a
provenance record of their own borrow the record of a file in the same folder (said in the row).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from pipelib.audit.compare import MATCH, MISSING, SKIPPED, FileResult, compare_paths, skip_reason
from pipelib.audit.device import OTHER_DEVICE, PRECISION, TOLERANCE_CASE, Expectation, Setting, expect
from pipelib.audit.records import read_provenance
from pipelib.audit.values import PROVENANCE_KEYS, Tolerance

UNEXPLAINED = "unexplained"
COLUMNS = ["output", "kind", "status", "max_abs_diff", "tolerance", "explained_by", "explanation", "detail"]


class _Records:
    """Provenance of the files of one run, with the same-folder fallback, read once per file."""

    def __init__(self) -> None:
        self._cache: dict[Path, dict[str, Any] | None] = {}

    def own(self, path: Path) -> dict[str, Any] | None:
        if path not in self._cache:
            self._cache[path] = read_provenance(path) if path.exists() else None
        return self._cache[path]

    def of(self, path: Path) -> tuple[dict[str, Any] | None, str]:
        """The record of ``path``, else of a same-folder file (same stem first): (record, borrowed from)."""
        prov = self.own(path)
        if prov is not None or not path.parent.is_dir():
            return prov, ""
        siblings = sorted((p for p in path.parent.iterdir()
                           if p.is_file() and p != path and not skip_reason(p)),
                          key=lambda p: (p.stem != path.stem, p.name))
        for sibling in siblings:
            prov = self.own(sibling)
            if prov is not None:
                return prov, sibling.name
        return None, ""


def _run_dir_training(path: Path) -> bool:
    folder = path.parent
    return folder.is_dir() and any(folder.glob("*.pt"))


def _input_rel(key: str, root: Path, results: Path) -> str | None:
    """An input path as recorded (relative to the run's directory, or absolute) -> relative to results."""
    p = Path(key)
    if p.is_absolute():
        try:
            p = p.relative_to(root)
        except ValueError:
            return None
    try:
        return p.relative_to(results.name).as_posix()
    except ValueError:
        return None


def _software(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    out = []
    ca, cb = (a.get("code") or {}).get("commit"), (b.get("code") or {}).get("commit")
    if ca and cb and ca != cb:
        out.append(f"code {ca[:10]} vs {cb[:10]}")
    pa, pb = a.get("packages") or {}, b.get("packages") or {}
    out += [f"{k} {pa[k]} vs {pb[k]}" for k in sorted(set(pa) & set(pb)) if pa[k] != pb[k]]
    return ", ".join(out)


def explain(result: FileResult, plan: Expectation, recorded: Mapping[str, Any] | None,
            other: Mapping[str, Any] | None, upstream: Iterable[str]) -> tuple[str, str]:
    """(explained_by, explanation) of one compared file; ("", "") where there is nothing to explain.

    ``upstream``: the inputs this file records (relative to results/) that differ between the runs.
    """
    differs = result.status != MATCH or bool(result.max_abs_diff)
    if result.status == SKIPPED or not differs:
        return "", ""
    within = f"; {'within' if result.status == MATCH else 'outside'} {plan.tolerance.label()}"
    if plan.case == PRECISION:
        return PRECISION, plan.reason + within
    if plan.case == OTHER_DEVICE:
        return "device", plan.reason + within
    if result.status == MISSING:
        return UNEXPLAINED, "the file exists in one run only"
    if recorded is not None and other is not None:
        if recorded.get("config_sha256") != other.get("config_sha256"):
            return "config", "its config section differs (config_sha256)"
        upstream = sorted(upstream)
        if upstream:
            return "inputs", "input(s) differ between the runs: " + ", ".join(upstream[:3]) + (
                f" and {len(upstream) - 3} more" if len(upstream) > 3 else "")
        software = _software(recorded, other)
        if software:
            return "software", software
    if plan.case == TOLERANCE_CASE and result.status == MATCH:
        return "device", plan.reason + within
    if recorded is None or other is None:
        return UNEXPLAINED, "no provenance record to explain it"
    if plan.case == TOLERANCE_CASE:
        return UNEXPLAINED, f"outside {plan.tolerance.label()} although only this differs: {plan.reason}"
    return UNEXPLAINED, f"same config, inputs, code and setting ({plan.reason}), yet different"


def compare_runs(recorded: str | os.PathLike[str], other: str | os.PathLike[str], *, tolerance: Tolerance,
                 ignore: Iterable[str] = PROVENANCE_KEYS) -> pd.DataFrame:
    """Every file under two results folders, paired by relative path: one row each (``COLUMNS``)."""
    results = (Path(recorded).resolve(), Path(other).resolve())
    roots = (results[0].parent, results[1].parent)
    rels = sorted({p.relative_to(r).as_posix() for r in results for p in r.rglob("*")
                   if p.is_file() or (p.is_symlink() and not p.is_dir())})
    records = (_Records(), _Records())
    rows: list[tuple[FileResult, Expectation, tuple, str]] = []
    for rel in rels:
        paths = (results[0] / rel, results[1] / rel)
        provs = [records[i].of(paths[i]) if not skip_reason(rel) else (None, "") for i in (0, 1)]
        settings = [Setting.from_provenance(p) for p, _ in provs]
        plan = expect(settings[0], settings[1], training=_run_dir_training(paths[0]), tolerance=tolerance)
        result = compare_paths(paths[0], paths[1], tolerance=plan.tolerance, name=rel, ignore=ignore,
                               roots=roots)
        borrowed = next((b for _, b in provs if b), "")
        rows.append((result, plan, (provs[0][0], provs[1][0]), borrowed))
    differing = {r.output for r, *_ in rows if r.status not in (MATCH, SKIPPED) or r.max_abs_diff}
    table = []
    for result, plan, (prov_a, prov_b), borrowed in rows:
        inputs = (prov_a or {}).get("inputs") or {}
        upstream = {rel for rel in (_input_rel(k, roots[0], results[0]) for k in inputs)
                    if rel and rel != result.output and rel in differing}
        by, why = explain(result, plan, prov_a, prov_b, upstream)
        if by and borrowed:
            why += f" (provenance of {borrowed})"
        table.append({**result.row(), "explained_by": by, "explanation": why})
    return pd.DataFrame(table, columns=COLUMNS)


def failing(table: pd.DataFrame) -> pd.DataFrame:
    """Rows that fail a comparison of two runs: unexplained differences and precision differences."""
    return table[table.explained_by.isin([UNEXPLAINED, PRECISION])]
