"""How close video-made features (and stage-1 latents) are to estimator-made ones.

For features, per slot over the frames where that slot is valid (``slot_mask`` and the frame mask):

- ``mse_<slot>``: mean squared error over the slot's entries (z-normalised units);
- ``cos_<slot>``: mean over those frames of the cosine similarity of the slot's two vectors;
- ``frames_<slot>``: how many frames counted;

and overall: ``mse`` over every valid entry, ``cos`` the mean over frames with any valid slot of the
cosine between the two fused vectors restricted to that frame's valid slots, ``frames``. Latents give
``latent_mse``, ``latent_cos``, ``latent_frames`` over real frames. Cosine of two zero vectors is 1, of a
zero and a non-zero vector 0. Metrics with no frame to count are NaN.

Sums are accumulated in float64 over any number of videos (:class:`FeatureCloseness`,
:class:`LatentCloseness`), so a corpus mean weights every frame equally, not every video.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelib.estimators.base import FUSED_DIM, SLOT_DIMS, SLOT_ORDER


def _array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _cosine(dot: np.ndarray, na: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """Cosine from dot products and squared norms: 1 for two zero vectors, 0 for one zero vector."""
    denom = np.sqrt(na * nb)
    both_zero = (na == 0) & (nb == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(denom > 0, dot / np.where(denom > 0, denom, 1.0), 0.0)
    return np.where(both_zero, 1.0, np.clip(cos, -1.0, 1.0))


class _Groups:
    """Running sums of squared error, entry counts, cosine sums and frame counts for column groups."""

    def __init__(self, widths: dict[str, int]) -> None:
        self.widths = widths
        self.sq = dict.fromkeys(widths, 0.0)
        self.entries = dict.fromkeys(widths, 0)
        self.cos = dict.fromkeys(widths, 0.0)
        self.frames = dict.fromkeys(widths, 0)
        self.all_cos = 0.0
        self.all_frames = 0

    def add(self, pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> None:
        """pred, target (N, D) float; mask (N, G) bool, one column per group in ``widths`` order."""
        dot_all = np.zeros(len(pred))
        na_all = np.zeros(len(pred))
        nb_all = np.zeros(len(pred))
        start = 0
        for g, name in enumerate(self.widths):
            part = slice(start, start + self.widths[name])
            start = part.stop
            rows = mask[:, g]                                                  # (N,)
            a = pred[rows, part].astype(np.float64)                            # (n, w)
            b = target[rows, part].astype(np.float64)                          # (n, w)
            dot, na, nb = (a * b).sum(1), (a * a).sum(1), (b * b).sum(1)       # (n,)
            self.sq[name] += float(((a - b) ** 2).sum())
            self.entries[name] += a.size
            self.cos[name] += float(_cosine(dot, na, nb).sum())
            self.frames[name] += int(rows.sum())
            dot_all[rows] += dot
            na_all[rows] += na
            nb_all[rows] += nb
        any_valid = mask.any(axis=1)                                           # (N,)
        self.all_cos += float(_cosine(dot_all[any_valid], na_all[any_valid], nb_all[any_valid]).sum())
        self.all_frames += int(any_valid.sum())

    @staticmethod
    def _ratio(num: float, den: int) -> float:
        return num / den if den else float("nan")

    def group(self, name: str) -> tuple[float, float, int]:
        """(mse, mean cosine, frames) of one group."""
        mse = self._ratio(self.sq[name], self.entries[name])
        return mse, self._ratio(self.cos[name], self.frames[name]), self.frames[name]

    def overall(self) -> tuple[float, float, int]:
        """(mse over every valid entry, mean cosine over frames with any valid group, those frames)."""
        sq, entries = sum(self.sq.values()), sum(self.entries.values())
        return self._ratio(sq, entries), self._ratio(self.all_cos, self.all_frames), self.all_frames


def _frames_2d(pred: Any, target: Any, width: int) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    p, t = _array(pred), _array(target)
    if p.shape != t.shape or p.ndim < 2 or p.shape[-1] != width:
        raise ValueError(f"predicted and reference arrays must both be (..., {width}), got {p.shape} and "
                         f"{t.shape}")
    return p.reshape(-1, width), t.reshape(-1, width), p.shape[:-1]


def _frame_mask(frame_mask: Any, lead: tuple[int, ...]) -> np.ndarray:
    if frame_mask is None:
        return np.ones(int(np.prod(lead)), dtype=bool)
    m = _array(frame_mask).astype(bool)
    if m.shape != lead:
        raise ValueError(f"frame mask must have shape {lead} (True = real frame), got {m.shape}")
    return m.reshape(-1)


class FeatureCloseness:
    """Accumulates feature closeness over videos; :meth:`result` gives the module's metric dict."""

    def __init__(self) -> None:
        self._groups = _Groups(dict(SLOT_DIMS))

    def add(self, pred: Any, target: Any, slot_mask: Any, frame_mask: Any = None) -> None:
        """pred, target (..., 1959) fused features; slot_mask (..., 5) bool; frame_mask (...) bool, True =
        real frame (None: all frames real). Any leading shape, e.g. (T,) or (B, T)."""
        p, t, lead = _frames_2d(pred, target, FUSED_DIM)
        sm = _array(slot_mask).astype(bool)
        if sm.shape != (*lead, len(SLOT_ORDER)):
            raise ValueError(f"slot_mask must have shape {(*lead, len(SLOT_ORDER))}, got {sm.shape}")
        mask = sm.reshape(-1, len(SLOT_ORDER)) & _frame_mask(frame_mask, lead)[:, None]  # (N, 5)
        self._groups.add(p, t, mask)

    def result(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in SLOT_ORDER:
            out[f"mse_{s}"], out[f"cos_{s}"], out[f"frames_{s}"] = self._groups.group(s)
        out["mse"], out["cos"], out["frames"] = self._groups.overall()
        return out


class LatentCloseness:
    """Accumulates latent closeness over videos: ``latent_mse``, ``latent_cos``, ``latent_frames``."""

    def __init__(self) -> None:
        self._groups: _Groups | None = None

    def add(self, pred: Any, target: Any, frame_mask: Any = None) -> None:
        """pred, target (..., d_latent); frame_mask (...) bool, True = real frame (None: all real)."""
        width = _array(pred).shape[-1]
        p, t, lead = _frames_2d(pred, target, width)
        if self._groups is None:
            self._groups = _Groups({"latent": width})
        elif self._groups.widths["latent"] != width:
            raise ValueError(f"latent width changed from {self._groups.widths['latent']} to {width}")
        self._groups.add(p, t, _frame_mask(frame_mask, lead)[:, None])

    def result(self) -> dict[str, float]:
        if self._groups is None:
            return {"latent_mse": float("nan"), "latent_cos": float("nan"), "latent_frames": 0}
        mse, cos, frames = self._groups.group("latent")
        return {"latent_mse": mse, "latent_cos": cos, "latent_frames": frames}


def feature_closeness(pred: Any, target: Any, slot_mask: Any, frame_mask: Any = None) -> dict[str, float]:
    """Closeness of one batch or video of fused features (see :meth:`FeatureCloseness.add`)."""
    acc = FeatureCloseness()
    acc.add(pred, target, slot_mask, frame_mask)
    return acc.result()


def latent_closeness(pred: Any, target: Any, frame_mask: Any = None) -> dict[str, float]:
    """Closeness of one batch or video of latents (see :meth:`LatentCloseness.add`)."""
    acc = LatentCloseness()
    acc.add(pred, target, frame_mask)
    return acc.result()


def closeness_row(*results: dict[str, float], **labels: Any) -> pd.DataFrame:
    """One-row DataFrame: the ``labels`` (e.g. ``dataset=``, ``split=``) first, then the merged results."""
    row: dict[str, Any] = dict(labels)
    for r in results:
        row.update(r)
    return pd.DataFrame([row])
