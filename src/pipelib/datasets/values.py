"""Value checks at stage boundaries: non-finite and implausibly large numbers, and empty splits.

A *unit* is what a mask marks valid: a frame of a slot (fusion) or a joint (skeletons). A valid unit
holding a NaN/Inf value, or a finite value whose magnitude exceeds the configured bound, is masked
(made invalid) and counted, so the numbers never reach statistics or training and the stage can
report how many it masked, per video.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelib.errors import DataError


class InputValueError(DataError):
    """Input arrays are unusable as they are (wrong width, or values out of range under ``refuse``)."""


class EmptySplitError(DataError):
    """A split that a stage needs has no usable video or frame (after masking)."""


@dataclass(frozen=True)
class ValueCheck:
    """The outcome of :func:`mask_bad_values`.

    values: the input with every non-finite value replaced by 0 (same shape); valid: the mask after
    masking; nonfinite / out_of_range: units that were valid and are now masked for holding a
    NaN/Inf value / a finite value beyond the bound (a unit with both counts as non-finite);
    nonfinite_values: how many NaN/Inf numbers those units held; max_abs: the largest finite
    magnitude over the units that were valid (0.0 if none).
    """

    values: np.ndarray
    valid: np.ndarray
    nonfinite: int
    nonfinite_values: int
    out_of_range: int
    max_abs: float

    @property
    def masked(self) -> int:
        """Units masked by this check."""
        return self.nonfinite + self.out_of_range

    def as_dict(self) -> dict[str, int | float]:
        """The counts (no arrays), for logs, reports and file attributes."""
        return {"nonfinite": self.nonfinite, "nonfinite_values": self.nonfinite_values,
                "out_of_range": self.out_of_range, "max_abs": self.max_abs}


def mask_bad_values(values: np.ndarray, valid: np.ndarray, max_abs: float) -> ValueCheck:
    """Mask the valid units of ``values`` that hold a NaN/Inf or a value with ``|v| > max_abs``.

    ``values`` has shape ``(*U, ...)`` and ``valid`` the unit shape ``U`` (bool): e.g. features
    (T, D) with a frame mask (T,), or poses (T, 178, 3) with a joint mask (T, 178). Units already
    invalid are left masked and not counted; their non-finite values are zeroed all the same.
    """
    valid = np.asarray(valid, dtype=bool)
    x = np.asarray(values)
    if x.shape[:valid.ndim] != valid.shape:
        raise ValueError(f"values of shape {x.shape} do not start with the mask's shape {valid.shape}")
    flat = x.reshape(*valid.shape, -1)                                       # (*U, K)
    finite = np.isfinite(flat)                                               # (*U, K)
    bad_finite = ~finite.all(axis=-1) & valid                                # (*U,)
    magnitude = np.where(finite, np.abs(flat), 0.0)                          # (*U, K)
    unit_max = magnitude.max(axis=-1) if flat.shape[-1] else np.zeros(valid.shape)
    too_big = (unit_max > max_abs) & valid & ~bad_finite                     # (*U,)
    checked = unit_max[valid]
    clean = np.where(finite, flat, 0).astype(x.dtype, copy=False).reshape(x.shape)
    return ValueCheck(
        values=clean, valid=valid & ~bad_finite & ~too_big,
        nonfinite=int(bad_finite.sum()), nonfinite_values=int((~finite[bad_finite]).sum()),
        out_of_range=int(too_big.sum()), max_abs=float(checked.max()) if checked.size else 0.0,
    )


def dataset_of(path: str | os.PathLike[str]) -> str:
    """The dataset a pipeline file belongs to: ``<ds>`` of the last ``results/<ds>/`` in its path.

    Every output of the workflow lives under ``results/<ds>/``; for a path outside that layout the
    file's own path is returned, so a message still names where the data came from.
    """
    parts = Path(path).parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "results":
            return parts[i + 1]
    return str(path)


def require_split(n_usable: int, path: str | os.PathLike[str], split: str, what: str,
                  detail: str = "") -> None:
    """Raise :class:`EmptySplitError` when ``n_usable`` (videos or frames of ``split``) is 0.

    ``what`` names what is counted (e.g. "frame with a valid joint"), ``detail`` says what was
    found instead (e.g. "4 videos, every joint masked").
    """
    if n_usable > 0:
        return
    found = f" ({detail})" if detail else ""
    raise EmptySplitError(
        f"dataset {dataset_of(path)!r}, split {split!r}: {path} has no {what}{found}, so there is "
        f"nothing to train or evaluate on; check that split's input data (masked values are counted "
        f"in the skeletons and fusion logs)"
    )
