"""Dynamic time warping between two frame sequences, as either build of ``fastdtw`` 0.3.4 does it, or exact.

Frames are compared with the Euclidean distance between their flattened vectors. Every method returns
``(distance, path)``: the summed frame distance along the warping path and the path as a list of
``(i, j)`` index pairs (``i`` into ``x``, ``j`` into ``y``) from ``(0, 0)`` to ``(len(x)-1, len(y)-1)``.
The distance does not depend on how ties are broken; the path, and so DTW-MJE, does.

``METHODS`` (config ``evaluation.dtw``):

- ``fastdtw``: FastDTW (Salvador & Chan) as the pure-Python module of the ``fastdtw`` 0.3.4 package
  computes it, which is what ``pip install fastdtw`` gives where its C extension does not build (the
  usual case on Python 3.11). The package's own module runs it, imported as ``fastdtw.fastdtw`` so that
  a compiled extension, if present, is not picked up instead.
- ``fastdtw_c``: FastDTW as that package's C extension computes it (what pip builds on the SLRTP
  evaluator's Python 3.8 in most set-ups). Our implementation of the rules below.
- ``exact``: the full O(N M) dynamic programme with the pure-Python tie rule.

FastDTW (both builds): halve both sequences by averaging frame pairs (an odd last frame is dropped),
recurse until either is shorter than ``radius + 2`` frames and solve that level exactly, then widen the
coarse path by ``radius`` cells in every direction, double it to the finer grid and solve the finer
level inside that window. The builds differ in three ways:

1. Ties. Pure Python: each cell takes the first minimum of ``D[pred] + d(i, j)`` over its predecessors
   in the order ``(i-1, j)`` (up), ``(i, j-1)`` (left), ``(i-1, j-1)`` (diagonal), so equal costs
   advance ``x`` alone, then ``y`` alone, then both. C: it compares ``D[pred]``: up only when strictly
   below both others, else left when strictly below the diagonal, else the diagonal; the diagonal wins
   every tie it is part of, and left beats up. Two identical constant 2-frame sequences align as
   ``[(0, 0), (0, 1), (1, 1)]`` in pure Python and ``[(0, 0), (1, 1)]`` in C.
2. The windowed step. C keeps one column range ``[low_i, high_i]`` per fine row and never moves
   diagonally into the cell ``(i, high_{i-1} + 1)`` just past the previous row's upper bound (it is
   reached from its left only), although the diagonal predecessor lies inside the window.
3. The window's rows past the coarse path's last row (the last fine row of an odd-length ``x``): C
   copies the column range of the coarse path's last row; pure Python widens only the cells of that
   last row, which can start further right.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

_CHUNK = 1 << 22  # float64 elements per block of frame differences (32 MiB)

# The package's pure-Python module by name: ``import fastdtw`` would give the C build where one exists.
_PURE = importlib.import_module("fastdtw.fastdtw")

Path = list[tuple[int, int]]


def _as_frames(seq: np.ndarray, name: str) -> np.ndarray:
    """(T, ...) -> (T, D) float64 with every frame flattened."""
    a = np.asarray(seq, dtype=np.float64)
    if a.ndim == 0 or len(a) == 0:
        raise ValueError(f"{name}: need a non-empty (T, ...) sequence, got shape {a.shape}")
    a = a.reshape(len(a), -1)
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or inf; fill or drop those frames before DTW")
    return a


def _frames_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_frames(x, "x"), _as_frames(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"DTW: frame sizes differ ({a.shape[1]} vs {b.shape[1]})")
    return a, b


def _check_radius(radius: int) -> int:
    if int(radius) != radius or radius < 1:
        raise ValueError(f"fastdtw: radius must be an integer >= 1, got {radius!r}")
    return int(radius)


def euclidean(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two flattened frames (D,) -> float."""
    d = a - b
    return float(np.sqrt(np.sum(d * d)))


def _pair_distances(x: np.ndarray, y: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Euclidean distances ||x[rows[k]] - y[cols[k]]|| for every k; x (N, D), y (M, D) -> (K,)."""
    out = np.empty(len(rows))
    step = max(1, _CHUNK // max(1, x.shape[1]))
    for s in range(0, len(rows), step):
        diff = x[rows[s:s + step]] - y[cols[s:s + step]]  # (k, D)
        out[s:s + step] = np.sqrt(np.sum(diff * diff, axis=1))
    return out


def _cost_matrix(x: np.ndarray, y: np.ndarray, window: np.ndarray | None) -> np.ndarray:
    """(N, M) frame distances; +inf outside ``window`` (bool (N, M)) when one is given."""
    n, m = len(x), len(y)
    if window is None:
        cost = np.empty((n, m))
        step = max(1, _CHUNK // max(1, m * x.shape[1]))
        for s in range(0, n, step):
            diff = x[s:s + step, None, :] - y[None, :, :]  # (rows, M, D)
            cost[s:s + step] = np.sqrt(np.sum(diff * diff, axis=2))
        return cost
    cost = np.full((n, m), np.inf)
    rows, cols = np.nonzero(window)
    cost[rows, cols] = _pair_distances(x, y, rows, cols)
    return cost


def _dtw_on_cost(cost: np.ndarray, ties: str = "python",
                 no_diagonal: np.ndarray | None = None) -> tuple[float, Path]:
    """DTW over a (N, M) cost matrix (+inf = outside the window), vectorised along anti-diagonals.

    ``ties``: "python" (first minimum of D[pred] + d over up, left, diagonal) or "c" (compare D[pred];
    diagonal on any tie it is part of, left over up). ``no_diagonal``: bool (N, M), cells that may not
    be entered diagonally. Each cell makes the same comparisons in the same order as a cell-by-cell
    loop, so results (ties included) do not depend on the vectorisation.
    """
    n, m = cost.shape
    w = m + 1  # row stride of the padded accumulated-cost array
    acc = np.full((n + 1) * w, np.inf)  # (N+1)*(M+1): acc[(i+1)*w + (j+1)] = D(i, j)
    acc[0] = 0.0
    choice = np.zeros(n * m, dtype=np.int8)  # 0: from (i-1, j), 1: from (i, j-1), 2: from (i-1, j-1)
    flat = cost.ravel()
    blocked = None if no_diagonal is None else no_diagonal.ravel()
    for d in range(n + m - 1):
        i0, i1 = max(0, d - m + 1), min(n - 1, d)
        k = i1 - i0 + 1  # cells on this anti-diagonal
        j0 = d - i0
        p0 = (i0 + 1) * w + (j0 + 1)  # padded index of the first cell; next cell is +m
        c0 = i0 * m + j0  # cost index of the first cell; next cell is +(m-1)
        cstep = max(m - 1, 1)
        cells = slice(c0, c0 + (k - 1) * cstep + 1, cstep)
        dt = flat[cells]
        here = slice(p0, p0 + (k - 1) * m + 1, m)
        up = acc[p0 - w:p0 - w + (k - 1) * m + 1:m]
        left = acc[p0 - 1:p0 - 1 + (k - 1) * m + 1:m]
        diag = acc[p0 - w - 1:p0 - w - 1 + (k - 1) * m + 1:m]
        if blocked is not None:
            diag = np.where(blocked[cells], np.inf, diag)
        if ties == "python":
            up, left, diag = up + dt, left + dt, diag + dt
            take_up = (up <= left) & (up <= diag)
            take_left = ~take_up & (left <= diag)
            acc[here] = np.where(take_up, up, np.where(take_left, left, diag))
        else:
            take_up = (up < left) & (up < diag)
            take_left = ~take_up & (left < diag)
            acc[here] = np.where(take_up, up, np.where(take_left, left, diag)) + dt
        choice[cells] = np.where(take_up, 0, np.where(take_left, 1, 2))
    total = float(acc[n * w + m])
    if not np.isfinite(total):
        raise ValueError("DTW: no finite warping path inside the window")
    path = []
    i, j = n, m
    while i or j:
        path.append((i - 1, j - 1))
        c = choice[(i - 1) * m + (j - 1)]
        if c == 0:
            i -= 1
        elif c == 1:
            j -= 1
        else:
            i, j = i - 1, j - 1
    path.reverse()
    return total, path


# --- exact ------------------------------------------------------------------------------------------

def dtw_exact(x: np.ndarray, y: np.ndarray) -> tuple[float, Path]:
    """Exact DTW, full O(N M) dynamic programme, pure-Python tie rule. x: (N, ...), y: (M, ...)."""
    a, b = _frames_pair(x, y)
    return _dtw_on_cost(_cost_matrix(a, b, None))


# --- FastDTW, pure-Python build ---------------------------------------------------------------------

def fastdtw(x: np.ndarray, y: np.ndarray, radius: int = 1) -> tuple[float, Path]:
    """FastDTW as the ``fastdtw`` package's pure-Python module computes it (it runs it); radius 1 is
    SLRTP's setting. x: (N, ...), y: (M, ...) with the same frame size.

    The distance is that of the returned path, so it is never below the exact DTW distance; with a
    radius large enough for the window to cover the whole grid it equals exact DTW.
    """
    r = _check_radius(radius)
    a, b = _frames_pair(x, y)
    dist, path = _PURE.fastdtw(a, b, radius=r, dist=euclidean)
    return float(dist), [(int(i), int(j)) for i, j in path]


# --- FastDTW, C build -------------------------------------------------------------------------------

def _coarsen(a: np.ndarray) -> np.ndarray:
    """(T, D) -> (T // 2, D): mean of frames (0, 1), (2, 3), ...; an odd last frame is dropped."""
    half = len(a) - len(a) % 2
    return (a[0:half:2] + a[1:half:2]) / 2


def c_window(path: Path, n: int, m: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive column bounds ``(low, high)``, each (n,) int, of every fine row of the C build's window.

    Per coarse row ``r`` of the path: its lowest and highest columns; the widened range of row ``r``
    runs from the lowest column of row ``r - radius`` minus ``radius`` (at least 0) to the highest
    column of row ``r + radius`` plus ``radius`` (rows clipped to the path, at most the path's last
    column plus ``radius``); the ``radius`` rows past the path repeat its last row's range. Fine rows
    ``2r`` and ``2r + 1`` take columns ``2 low .. 2 high + 1``, clipped to ``m - 1``.
    """
    p = np.asarray(path)  # (L, 2) coarse cells, monotone
    last_row, last_col = int(p[-1, 0]), int(p[-1, 1])
    lo1 = np.full(last_row + 1, np.iinfo(np.int64).max)
    hi1 = np.full(last_row + 1, -1)
    np.minimum.at(lo1, p[:, 0], p[:, 1])
    np.maximum.at(hi1, p[:, 0], p[:, 1])
    rows = np.arange(last_row + 1)
    lo2 = np.maximum(0, lo1[np.maximum(0, rows - radius)] - radius)
    hi2 = np.minimum(last_col + radius, hi1[np.minimum(last_row, rows + radius)] + radius)
    lo2 = np.concatenate([lo2, np.repeat(lo2[-1:], radius)])
    hi2 = np.concatenate([hi2, np.repeat(hi2[-1:], radius)])
    fine = np.arange(n) // 2
    if fine[-1] >= len(lo2):
        raise ValueError(f"fastdtw_c: coarse path of {last_row + 1} rows cannot cover {n} fine rows")
    return 2 * lo2[fine], np.minimum(m - 1, 2 * hi2[fine] + 1)


def dtw_c_window(x: np.ndarray, y: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[float, Path]:
    """DTW as the C build runs it inside a window: x (N, ...), y (M, ...), per-row inclusive column
    bounds ``low``, ``high`` (N,) as :func:`c_window` gives; C tie rule, and no diagonal step into
    ``(i, high[i-1] + 1)``."""
    a, b = _frames_pair(x, y)
    n, m = len(a), len(b)
    low, high = np.asarray(low, dtype=np.int64), np.asarray(high, dtype=np.int64)
    if low.shape != (n,) or high.shape != (n,):
        raise ValueError(f"dtw_c_window: need one (low, high) per row of x ({n}), "
                         f"got {low.shape}, {high.shape}")
    cols = np.arange(m)
    window = (cols >= low[:, None]) & (cols <= high[:, None])  # (N, M)
    no_diag = np.zeros((n, m), dtype=bool)
    past = high[:-1] + 1  # the cell just past the previous row's upper bound, in rows 1..n-1
    inside = past <= high[1:]
    no_diag[np.arange(1, n)[inside], past[inside]] = True
    return _dtw_on_cost(_cost_matrix(a, b, window), ties="c", no_diagonal=no_diag)


def _fastdtw_c(a: np.ndarray, b: np.ndarray, radius: int) -> tuple[float, Path]:
    if len(a) < radius + 2 or len(b) < radius + 2:
        return _dtw_on_cost(_cost_matrix(a, b, None), ties="c")
    _, coarse = _fastdtw_c(_coarsen(a), _coarsen(b), radius)
    low, high = c_window(coarse, len(a), len(b), radius)
    return dtw_c_window(a, b, low, high)


def fastdtw_c(x: np.ndarray, y: np.ndarray, radius: int = 1) -> tuple[float, Path]:
    """FastDTW as the ``fastdtw`` package's C extension computes it (tie rule, windowed diagonal step
    and window of the module docstring). x: (N, ...), y: (M, ...) with the same frame size."""
    r = _check_radius(radius)
    a, b = _frames_pair(x, y)
    return _fastdtw_c(a, b, r)


# --- choice by name ---------------------------------------------------------------------------------

METHODS: dict[str, str] = {
    "fastdtw": "FastDTW, fastdtw 0.3.4 pure-Python build",
    "fastdtw_c": "FastDTW, fastdtw 0.3.4 C-extension semantics",
    "exact": "exact DTW",
}


def aligner(method: str, radius: int = 1) -> Callable[[np.ndarray, np.ndarray], tuple[float, Path]]:
    """The DTW function ``(x, y) -> (distance, path)`` of a method in ``METHODS``."""
    if method == "fastdtw":
        return lambda x, y: fastdtw(x, y, radius)
    if method == "fastdtw_c":
        return lambda x, y: fastdtw_c(x, y, radius)
    if method == "exact":
        return dtw_exact
    raise ValueError(f"dtw method {method!r} unknown; use one of {sorted(METHODS)} (config evaluation.dtw)")


def describe(method: str, radius: int = 1) -> str:
    """Which DTW produced a score, for tables: ``fastdtw:`` then e.g. ``FastDTW, fastdtw 0.3.4 pure-Python
    build, radius 1``."""
    if method not in METHODS:
        aligner(method)  # raises with the list of methods
    return f"{method}: " + METHODS[method] + ("" if method == "exact" else f", radius {radius}")
