"""Compare a recorded output file (or directory) with its re-executed twin, by file type.

Provenance-only content is ignored: HDF5 ``provenance`` attributes, parquet schema metadata,
checkpoint ``meta.provenance`` / tracker run ids, per-epoch ``seconds``, ``*.prov.json`` sidecars
and MLflow stores. Everything else is compared bitwise, or within a :class:`Tolerance`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelib.audit.values import BITWISE, PROVENANCE_KEYS, Diff, Tolerance, compare_arrays, compare_values
from pipelib.provenance import file_sha256, sidecar_path

MATCH, MISMATCH, MISSING, SKIPPED = "match", "mismatch", "missing", "skipped"

# Files that record a run rather than its results; never compared.
SKIPPED_NAMES = {"mlflow.db": "MLflow store: run ids and wall-clock times",
                 "fingerprint.json": "resume fingerprint: checksums of inputs whose bytes hold provenance",
                 "provenance.json": "provenance record of an output folder (host, times, runtime)"}
SKIPPED_DIRS = {"mlartifacts": "MLflow artifact copies under run-id folders",
                "mlruns": "MLflow artifact copies under run-id folders"}
SKIPPED_SUFFIXES = {".prov.json": "provenance sidecar", ".log": "job log"}


@dataclass(frozen=True)
class FileResult:
    """One compared output. ``max_abs_diff`` is None where no numbers were compared."""

    output: str
    kind: str
    status: str
    max_abs_diff: float | None
    tolerance: str
    detail: str

    def row(self, **extra: Any) -> dict[str, Any]:
        return {**extra, **asdict(self)}


def skip_reason(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is never compared (provenance or tracker files), or None."""
    p = Path(path)
    if p.name in SKIPPED_NAMES:
        return SKIPPED_NAMES[p.name]
    for part in p.parts[:-1]:
        if part in SKIPPED_DIRS:
            return SKIPPED_DIRS[part]
    if p.name.startswith(".tmp-"):
        return "temporary file of an atomic write"
    return next((why for suf, why in SKIPPED_SUFFIXES.items() if p.name.endswith(suf)), None)


def measurement_reason(path: str | os.PathLike[str]) -> str | None:
    """A reason to skip an output whose provenance sidecar says it is a measurement (timings)."""
    sidecar = sidecar_path(path)
    try:
        prov = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    except (OSError, ValueError):
        return None
    if isinstance(prov, dict) and prov.get("deterministic") is False:
        return "a measurement: its provenance says deterministic: false"
    return None


def file_kind(path: str | os.PathLike[str]) -> str:
    """The comparator used for ``path``: hdf5, checkpoint, parquet, csv, json, directory or bytes."""
    p = Path(path)
    if p.is_dir():
        return "directory"
    return {".h5": "hdf5", ".hdf5": "hdf5", ".pt": "checkpoint", ".parquet": "parquet", ".csv": "csv",
            ".tsv": "csv", ".json": "json"}.get(p.suffix.lower(), "bytes")


def compare_paths(recorded: str | os.PathLike[str], rerun: str | os.PathLike[str], *,
                  tolerance: Tolerance = BITWISE, name: str | None = None,
                  ignore: Iterable[str] = PROVENANCE_KEYS,
                  roots: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None) -> FileResult:
    """Compare ``rerun`` against ``recorded``; ``name`` labels the row (default: ``recorded``).

    ``roots``: the two working directories; their absolute paths inside strings compare equal.
    """
    recorded, rerun = Path(recorded), Path(rerun)
    label = name or str(recorded)
    reason = skip_reason(label) or measurement_reason(recorded)
    kind = file_kind(recorded if recorded.exists() else rerun)
    if reason:
        return FileResult(label, kind, SKIPPED, None, tolerance.label(), reason)
    gone = [w for w, p in (("recorded", recorded), ("re-run", rerun)) if not p.exists()]
    if gone:
        return FileResult(label, kind, MISSING, None, tolerance.label(), f"no {' and no '.join(gone)} file")
    aliases = None if roots is None else (str(Path(roots[0]).resolve()), str(Path(roots[1]).resolve()))
    diff = Diff(aliases=aliases)
    try:
        _COMPARATORS[kind](recorded, rerun, tolerance, diff, frozenset(ignore))
    except Exception as err:  # an unreadable file is a mismatch with the reason, not a crash
        diff.add("", f"could not compare ({type(err).__name__}: {err})")
    numeric = kind not in ("bytes", "directory") or diff.max_abs_diff > 0
    return FileResult(label, kind, MATCH if diff.equal else MISMATCH,
                      diff.max_abs_diff if numeric else None, tolerance.label(), diff.summary())


# ---- per-format comparators: (recorded, rerun, tolerance, diff, ignored keys) -> None -------------

def _bytes(a: Path, b: Path, tol: Tolerance, diff: Diff, ignore: frozenset[str]) -> None:
    if a.stat().st_size != b.stat().st_size or file_sha256(a) != file_sha256(b):
        diff.add("", "bytes differ")


def _json(a: Path, b: Path, tol: Tolerance, diff: Diff, ignore: frozenset[str]) -> None:
    compare_values(json.loads(a.read_text()), json.loads(b.read_text()), tol, diff, "", ignore)


def _checkpoint(a: Path, b: Path, tol: Tolerance, diff: Diff, ignore: frozenset[str]) -> None:
    import torch

    load = lambda p: torch.load(p, map_location="cpu", weights_only=True)  # noqa: E731
    compare_values(load(a), load(b), tol, diff, "", ignore)


def _h5_attrs(obj: Any) -> dict[str, Any]:
    out = {}
    for k, v in obj.attrs.items():
        if isinstance(v, bytes):
            v = v.decode()
        if isinstance(v, str) and v.startswith("json:"):
            v = json.loads(v[len("json:"):])
        out[k] = v
    return out


def _hdf5(a: Path, b: Path, tol: Tolerance, diff: Diff, ignore: frozenset[str]) -> None:
    import h5py

    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names_a, names_b = [], []
        fa.visit(names_a.append)
        fb.visit(names_b.append)
        if set(names_a) != set(names_b):
            diff.add("", f"objects differ: only recorded {sorted(set(names_a) - set(names_b))[:5]}, "
                         f"only re-run {sorted(set(names_b) - set(names_a))[:5]}")
        compare_values(_h5_attrs(fa), _h5_attrs(fb), tol, diff, "/@", ignore)
        for name in sorted(set(names_a) & set(names_b)):
            oa, ob = fa[name], fb[name]
            compare_values(_h5_attrs(oa), _h5_attrs(ob), tol, diff, f"/{name}@", ignore)
            if isinstance(oa, h5py.Dataset) != isinstance(ob, h5py.Dataset):
                diff.add(f"/{name}", "dataset vs group")
            elif isinstance(oa, h5py.Dataset):
                compare_arrays(np.asarray(oa[()]), np.asarray(ob[()]), tol, f"/{name}", diff)


def _read_table(p: Path, kind: str):
    import pandas as pd

    if kind == "parquet":
        return pd.read_parquet(p)  # schema metadata (provenance) is not part of the frame
    sep = "\t" if p.suffix.lower() == ".tsv" else ","
    return pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False)


def _table(kind: str):
    def compare(a: Path, b: Path, tol: Tolerance, diff: Diff, ignore: frozenset[str]) -> None:
        ta, tb = _read_table(a, kind), _read_table(b, kind)
        cols_a = [c for c in ta.columns if str(c) not in ignore]
        cols_b = [c for c in tb.columns if str(c) not in ignore]
        if cols_a != cols_b or len(ta) != len(tb):
            diff.add("", f"columns/rows differ: {cols_a} x {len(ta)} vs {cols_b} x {len(tb)}")
            return
        for c in cols_a:
            _column(ta[c].to_numpy(), tb[c].to_numpy(), tol, f"column {c}", diff)
    return compare


def _column(a: np.ndarray, b: np.ndarray, tol: Tolerance, where: str, diff: Diff) -> None:
    """A table column: numeric dtypes as arrays; text (all CSV cells) exact unless both parse as numbers."""
    if a.dtype != object or b.dtype != object:
        compare_values(a, b, tol, diff, where)
        return
    if all(diff.same_text(str(x), str(y)) for x, y in zip(a.tolist(), b.tolist(), strict=True)):
        return
    try:
        fa, fb = a.astype(np.float64), b.astype(np.float64)
    except (TypeError, ValueError):
        diff.add(where, "text differs")
        return
    compare_arrays(fa, fb, tol, where, diff)
    if tol.bitwise and diff.equal:  # same numbers, different spelling (e.g. '1.0' vs '1.00')
        diff.add(where, "text differs")


def _directory(a: Path, b: Path, tol: Tolerance, diff: Diff, ignore: frozenset[str]) -> None:
    for result in compare_trees(a, b, tolerance=tol, ignore=ignore, roots=diff.aliases):
        if result.max_abs_diff is not None:
            diff.observe(result.max_abs_diff)
        if result.status in (MISMATCH, MISSING):
            diff.add(result.output, result.detail or result.status)


_COMPARATORS = {"bytes": _bytes, "json": _json, "checkpoint": _checkpoint, "hdf5": _hdf5,
                "parquet": _table("parquet"), "csv": _table("csv"), "directory": _directory}


def compare_trees(recorded: str | os.PathLike[str], rerun: str | os.PathLike[str], *,
                  tolerance: Tolerance = BITWISE, training_tolerance: Tolerance | None = None,
                  ignore: Iterable[str] = PROVENANCE_KEYS,
                  roots: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None
                  ) -> list[FileResult]:
    """Compare every file under two folders, paired by relative path, sorted by that path.

    ``training_tolerance`` (if given) replaces ``tolerance`` for files in a folder that holds a
    ``.pt`` checkpoint (a training run directory). ``roots`` as in :func:`compare_paths`.
    """
    recorded, rerun = Path(recorded), Path(rerun)
    rels = sorted({p.relative_to(root).as_posix() for root in (recorded, rerun)
                   for p in root.rglob("*") if p.is_file() or (p.is_symlink() and not p.is_dir())})
    results = []
    for rel in rels:
        tol = tolerance
        if training_tolerance is not None and _in_run_dir(recorded / rel):
            tol = training_tolerance
        results.append(compare_paths(recorded / rel, rerun / rel, tolerance=tol, name=rel, ignore=ignore,
                                     roots=roots))
    return results


def _in_run_dir(path: Path) -> bool:
    folder = path.parent
    return folder.is_dir() and any(folder.glob("*.pt"))
