"""Compare nested values (dicts, lists, numbers, strings, numpy arrays, torch tensors) bitwise or
within a tolerance, skipping keys that only hold provenance (times, hosts, run ids)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipelib.sections import SectionError, from_section

# Keys whose values differ between two faithful runs: provenance records, wall-clock times, run ids.
PROVENANCE_KEYS = frozenset({
    "provenance", "created_utc", "host", "slurm_job_id", "seconds", "tracker_run_id", "init_from",
    "train/data_wait_fraction",  # pipelib.training.trainer.TIMING_KEYS: a share of wall-clock time
})


@dataclass(frozen=True)
class Tolerance:
    """``|a - b| <= atol + rtol * |b|`` elementwise; both zero means bitwise equality."""

    rtol: float = 0.0
    atol: float = 0.0

    @property
    def bitwise(self) -> bool:
        return self.rtol == 0.0 and self.atol == 0.0

    def label(self) -> str:
        return "bitwise" if self.bitwise else f"rtol={self.rtol:g},atol={self.atol:g}"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, key: str = "audit.tolerance") -> Tolerance:
        """From ``{rtol, atol}`` (missing: this class's defaults); unknown keys or negative values raise
        :class:`~pipelib.sections.SectionError` naming ``key``."""
        tol = from_section(cls, d, key)
        tol.validate(key)
        return tol

    def validate(self, key: str = "audit.tolerance") -> None:
        """Raise :class:`~pipelib.sections.SectionError` naming the key when a value is negative."""
        for name in ("rtol", "atol"):
            if not getattr(self, name) >= 0:
                raise SectionError(f"{key}.{name}: must be >= 0, got {getattr(self, name)}")


BITWISE = Tolerance()


@dataclass
class Diff:
    """What a comparison found: the largest numeric difference and the first few differences.

    ``aliases`` = (recorded root, re-run root): strings equal once each side's root is replaced by
    ``<run>`` compare equal (absolute paths of two working directories).
    """

    max_abs_diff: float = 0.0
    problems: list[str] = field(default_factory=list)
    aliases: tuple[str, str] | None = None

    def same_text(self, a: str, b: str) -> bool:
        if a == b:
            return True
        if self.aliases is None:
            return False
        return a.replace(self.aliases[0], "<run>") == b.replace(self.aliases[1], "<run>")

    @property
    def equal(self) -> bool:
        return not self.problems

    def add(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}" if where else what)

    def observe(self, value: float) -> None:
        if not math.isnan(value):
            self.max_abs_diff = max(self.max_abs_diff, value)

    def summary(self, limit: int = 3) -> str:
        more = len(self.problems) - limit
        text = "; ".join(self.problems[:limit])
        return text + (f"; and {more} more" if more > 0 else "")


def _as_array(x: Any) -> np.ndarray | None:
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        t = x.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    return None


def compare_arrays(a: np.ndarray, b: np.ndarray, tol: Tolerance, where: str, diff: Diff) -> None:
    """Shapes and dtypes must agree; values bitwise (``tol.bitwise``) or within ``tol``."""
    if a.shape != b.shape or a.dtype != b.dtype:
        diff.add(where, f"shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}")
        return
    numeric = a.dtype.kind in "fciub"
    if not numeric:
        la, lb = a.ravel().tolist(), b.ravel().tolist()
        if any(not (x == y or isinstance(x, str) and isinstance(y, str) and diff.same_text(x, y))
               for x, y in zip(la, lb, strict=True)):
            diff.add(where, "values differ")
        return
    if a.size:
        with np.errstate(invalid="ignore", over="ignore"):
            delta = np.abs(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
                           - b.astype(np.complex128 if b.dtype.kind == "c" else np.float64))
        finite = delta[np.isfinite(delta)]
        if finite.size:
            diff.observe(float(finite.max()))
    if tol.bitwise or a.dtype.kind not in "fc":
        if a.tobytes() != b.tobytes():
            same = a == b
            if a.dtype.kind in "fc":
                same |= np.isnan(a) & np.isnan(b)
            n = int((~same).sum())
            diff.add(where, f"{n} of {a.size} values differ" if n else "bit patterns differ (-0.0 or NaN)")
        return
    close = np.isclose(a, b, rtol=tol.rtol, atol=tol.atol, equal_nan=True)
    if not close.all():
        diff.add(where, f"{int((~close).sum())} of {a.size} values outside {tol.label()}")


def compare_values(a: Any, b: Any, tol: Tolerance, diff: Diff, where: str = "",
                   ignore: Iterable[str] = PROVENANCE_KEYS) -> Diff:
    """Walk two nested values together, recording differences in ``diff`` (returned)."""
    ignore = frozenset(ignore)
    arr_a, arr_b = _as_array(a), _as_array(b)
    if arr_a is not None or arr_b is not None:
        if arr_a is None or arr_b is None:
            diff.add(where, f"{type(a).__name__} vs {type(b).__name__}")
        else:
            compare_arrays(arr_a, arr_b, tol, where, diff)
    elif isinstance(a, Mapping) and isinstance(b, Mapping):
        keys_a = {k for k in a if str(k) not in ignore}
        keys_b = {k for k in b if str(k) not in ignore}
        if keys_a != keys_b:
            diff.add(where, f"keys differ: only recorded {sorted(map(str, keys_a - keys_b))}, "
                            f"only re-run {sorted(map(str, keys_b - keys_a))}")
        for k in sorted(keys_a & keys_b, key=str):
            compare_values(a[k], b[k], tol, diff, f"{where}/{k}", ignore)
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            diff.add(where, f"length {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            compare_values(x, y, tol, diff, f"{where}[{i}]", ignore)
    elif isinstance(a, float | np.floating) and isinstance(b, float | np.floating):
        compare_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64), tol, where, diff)
    elif type(a) is not type(b) and not (isinstance(a, int | np.integer) and isinstance(b, int | np.integer)):
        diff.add(where, f"{type(a).__name__} vs {type(b).__name__}")
    elif isinstance(a, str) and diff.same_text(a, b):
        pass
    elif a != b:
        diff.add(where, f"{_short(a)} vs {_short(b)}")
    return diff


def _short(x: Any, n: int = 40) -> str:
    s = repr(x)
    return s if len(s) <= n else s[: n - 3] + "..."
