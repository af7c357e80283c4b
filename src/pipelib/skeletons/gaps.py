"""Short tracking gaps filled by linear interpolation; long, leading and trailing gaps stay masked."""

from __future__ import annotations

import numpy as np


def short_gaps(valid: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Runs ``[start, stop)`` of invalid frames in ``valid`` (T,) bool that have a valid frame on both
    sides and at most ``max_gap`` frames; leading and trailing runs are never returned."""
    v = np.concatenate([[True], np.asarray(valid, dtype=bool), [True]]).astype(np.int8)   # (T + 2,)
    step = np.diff(v)                                                                     # (T + 1,)
    starts = np.flatnonzero(step == -1)    # first invalid frame of each run
    stops = np.flatnonzero(step == 1)      # first valid frame after it (T for a trailing run)
    n = len(valid)
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)
            if a > 0 and b < n and b - a <= max_gap]


def fill_short_gaps(
    values: np.ndarray, valid: np.ndarray, max_gap: int, allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate ``values`` (T, ...) linearly across the short gaps of ``valid`` (T,) bool.

    Every frame t of a gap [a, b) gets ``v[a-1] + (t - a + 1) / (b - a + 1) * (v[b] - v[a-1])``,
    element-wise, unless ``allowed[t]`` is False (it then stays invalid). Returns the filled copy
    and the new validity (T,) bool; values of frames still invalid are left as they were.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    ok = np.array(valid, dtype=bool, copy=True)
    may = np.ones(len(ok), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    for a, b in short_gaps(ok, max_gap):
        lo, hi = out[a - 1], out[b]
        t = np.arange(a, b)
        t = t[may[t]]
        w = ((t - a + 1) / (b - a + 1)).reshape(-1, *([1] * (out.ndim - 1)))              # (n, 1, ...)
        out[t] = lo + w * (hi - lo)
        ok[t] = True
    return out, ok
