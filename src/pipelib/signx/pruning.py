"""SignX adaptive feature pruning (paper section 4.1, eqs. 7-8): drop latent dimensions of low variance.

The variance of every latent dimension is taken over all valid frames of all training videos (population
variance, float64, merged batch by batch with Chan et al.'s update so large means do not cost precision).
A dimension is kept when its variance reaches the threshold: ``keep_d = Var(z_d) >= threshold`` (eq. 8).
With ``keep_fraction`` instead, exactly ``round(keep_fraction * D)`` dimensions of largest variance are
kept (ties go to the lower index) and ``threshold`` records the smallest kept variance; ``keep`` is the
authority either way. The paper prunes 2048 dims to about 1024, i.e. ``keep_fraction: 0.5``.

``apply`` selects the kept dims (``latents[..., keep]``); ``mask`` zeroes the pruned ones instead, the
paper's shape-preserving form ``z * M``. Masks are saved as JSON, atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from pipelib.io.atomic import write_text_atomic
from pipelib.signx.pruning_config import CONFIG_KEY, PruningConfig, check_choice

FORMAT = "pipelib.signx.pruning"
VERSION = 1

A = TypeVar("A", np.ndarray, torch.Tensor)


@dataclass(frozen=True)
class PruningMask:
    """keep (D,) bool, variances (D,) float64, the threshold, and the frame count behind the variances."""

    keep: np.ndarray
    variances: np.ndarray
    threshold: float
    n_frames: int

    @property
    def dim(self) -> int:
        """Latent width before pruning."""
        return int(self.keep.size)

    @property
    def kept_width(self) -> int:
        """Latent width after pruning."""
        return int(self.keep.sum())

    @property
    def kept_indices(self) -> np.ndarray:
        """(kept_width,) int64 indices of the kept dims, ascending."""
        return np.flatnonzero(self.keep)

    def _check(self, latents: A) -> None:
        if latents.shape[-1] != self.dim:
            raise ValueError(f"latents have {latents.shape[-1]} dims but the pruning mask was fitted on "
                             f"{self.dim}; refit it on this model's latents")

    def apply(self, latents: A) -> A:
        """(..., D) -> (..., kept_width): the kept dims, in order (numpy array or torch tensor)."""
        self._check(latents)
        if isinstance(latents, torch.Tensor):
            return latents[..., torch.as_tensor(self.kept_indices, device=latents.device)]
        return latents[..., self.keep]

    def mask(self, latents: A) -> A:
        """(..., D) -> (..., D) with the pruned dims set to 0 (eq. 8, z * M)."""
        self._check(latents)
        if isinstance(latents, torch.Tensor):
            return latents * torch.as_tensor(self.keep, device=latents.device).to(latents.dtype)
        return latents * self.keep.astype(latents.dtype)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "dim": self.dim, "kept_width": self.kept_width,
                "threshold": float(self.threshold), "n_frames": int(self.n_frames),
                "kept_indices": self.kept_indices.tolist(), "variances": self.variances.tolist()}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the mask as JSON, atomically (floats written exactly, so a load gives equal arrays)."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PruningMask:
        """Read a mask written by :meth:`save`; a file of another format or version raises ValueError."""
        path = Path(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ValueError(f"{path}: not a {FORMAT} v{VERSION} file; write it with PruningMask.save")
        keep = np.zeros(int(data["dim"]), dtype=bool)
        keep[np.asarray(data["kept_indices"], dtype=np.int64)] = True
        if int(keep.sum()) != int(data["kept_width"]):
            raise ValueError(f"{path}: kept_width {data['kept_width']} disagrees with kept_indices "
                             f"({int(keep.sum())}); the file is corrupt, refit the mask")
        return cls(keep=keep, variances=np.asarray(data["variances"], dtype=np.float64),
                   threshold=float(data["threshold"]), n_frames=int(data["n_frames"]))


def dimension_variances(latents_iter: Iterable[Any]) -> tuple[np.ndarray, int]:
    """Population variance per dim (D,) float64 over all frames, and the frame count.

    Items: (T, D) arrays/tensors of valid frames, or ``(latents (T, D), valid (T,) bool)`` pairs.
    """
    n, mean, m2 = 0, None, None
    for item in latents_iter:
        if isinstance(item, tuple):
            x, valid = (np.asarray(_numpy(a)) for a in item)
            x = x[valid.astype(bool)]
        else:
            x = np.asarray(_numpy(item))
        x = x.reshape(-1, x.shape[-1]).astype(np.float64)  # (T, D)
        if mean is not None and x.shape[1] != mean.size:
            raise ValueError(f"latent widths differ between videos ({mean.size} and {x.shape[1]})")
        if x.shape[0] == 0:
            continue
        bn, bmean = x.shape[0], x.mean(0)
        bm2 = ((x - bmean) ** 2).sum(0)
        if mean is None:
            n, mean, m2 = bn, bmean, bm2
            continue
        delta = bmean - mean
        total = n + bn
        mean = mean + delta * (bn / total)
        m2 = m2 + bm2 + delta**2 * (n * bn / total)
        n = total
    if mean is None or m2 is None:
        raise ValueError("no valid latent frames to fit the pruning mask on; check the training latents")
    return m2 / n, n


def _numpy(a: Any) -> Any:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a


def fit_pruning(latents_iter: Iterable[Any], threshold: float | None = None,
                keep_fraction: float | None = None) -> PruningMask:
    """Fit the mask from per-frame latents of every training video (see :func:`dimension_variances`);
    exactly one of ``threshold`` (keep dims with variance >= threshold) and ``keep_fraction``."""
    check_choice(threshold, keep_fraction, CONFIG_KEY)
    variances, n = dimension_variances(latents_iter)
    if threshold is not None:
        keep = variances >= threshold
        return PruningMask(keep=keep, variances=variances, threshold=float(threshold), n_frames=n)
    assert keep_fraction is not None
    k = max(1, int(round(keep_fraction * variances.size)))
    order = np.argsort(-variances, kind="stable")  # largest first, ties by lower index
    keep = np.zeros(variances.size, dtype=bool)
    keep[order[:k]] = True
    return PruningMask(keep=keep, variances=variances, threshold=float(variances[order[k - 1]]), n_frames=n)


def fit_from_config(latents_iter: Iterable[Any], cfg: PruningConfig) -> PruningMask:
    """:func:`fit_pruning` with the choice made in a :class:`PruningConfig`."""
    return fit_pruning(latents_iter, threshold=cfg.threshold, keep_fraction=cfg.keep_fraction)
