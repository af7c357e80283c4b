"""Reduce dense per-pixel maps (depth, part labels) to the fixed 24 x 24 slot grids."""

from __future__ import annotations

import numpy as np

GRID = 24


def mean_grid(values: np.ndarray, weights: np.ndarray | None = None, size: int = GRID) -> np.ndarray:
    """Block-average a (H, W) map into (size, size) float32; ``weights`` (H, W) >= 0 weight pixels.

    Cells whose weights sum to zero get 0. Block edges are ``round(i * H / size)``, so any H, W >= size
    works.
    """
    values = np.asarray(values, dtype=np.float64)
    h, w = values.shape
    if h < size or w < size:
        raise ValueError(f"map {values.shape} is smaller than the {size}x{size} grid")
    wts = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    ys = np.round(np.arange(size + 1) * h / size).astype(int)
    xs = np.round(np.arange(size + 1) * w / size).astype(int)
    num = np.add.reduceat(np.add.reduceat(values * wts, ys[:-1], axis=0), xs[:-1], axis=1)
    den = np.add.reduceat(np.add.reduceat(wts, ys[:-1], axis=0), xs[:-1], axis=1)
    out = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return out.astype(np.float32)


def block_index(n: int, size: int = GRID) -> np.ndarray:
    """(n,) block of each of ``n`` pixels along one axis, with :func:`mean_grid`'s block edges."""
    edges = np.round(np.arange(size + 1) * n / size).astype(int)
    return np.searchsorted(edges[1:], np.arange(n), side="right")


def mode_grid(labels: np.ndarray, n_classes: int, size: int = GRID) -> np.ndarray:
    """Most frequent class id per block of a (H, W) integer label map -> (size, size) float32.

    Blocks as in :func:`mean_grid`; ties go to the lower class id.
    """
    labels = np.asarray(labels)
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= n_classes:
        raise ValueError(f"labels outside [0, {n_classes})")
    h, w = labels.shape
    if h < size or w < size:
        raise ValueError(f"map {labels.shape} is smaller than the {size}x{size} grid")
    cell = block_index(h, size)[:, None] * size + block_index(w, size)[None, :]      # (H, W)
    counts = np.bincount((cell * n_classes + labels).ravel(), minlength=size * size * n_classes)
    return counts.reshape(size, size, n_classes).argmax(axis=2).astype(np.float32)  # first max: lower id
