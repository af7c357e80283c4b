"""Rotation conversions for SMPL-X poses: 6D <-> matrix <-> axis-angle, in NumPy (float64 inside).

The 6D representation (Zhou et al., "On the Continuity of Rotation Representations in Neural
Networks", CVPR 2019) holds two 3-vectors; Gram-Schmidt turns them into the first two columns (or
rows) of a rotation matrix and their cross product gives the third. Models lay the six numbers out
differently, so :func:`rot6d_to_matrix` takes a ``layout``:

* ``"interleaved"``: the six numbers are a (3, 2) matrix whose columns are the two vectors, i.e.
  ``a1 = x[0::2]``, ``a2 = x[1::2]``; the vectors become matrix columns. SMPLer-X / Hand4Whole.
* ``"columns"``: ``a1 = x[:3]``, ``a2 = x[3:]`` become the first two matrix columns (the paper's form).
* ``"rows"``: ``a1 = x[:3]``, ``a2 = x[3:]`` become the first two matrix rows (PyTorch3D).

Axis-angle vectors are ``axis * angle`` with the angle in radians, in [0, pi].
"""

from __future__ import annotations

import numpy as np

ROT6D_LAYOUTS: tuple[str, ...] = ("interleaved", "columns", "rows")

_SMALL = 1e-6      # below this angle (rad) series expansions replace sin/cos ratios
_NEAR_PI = -0.99   # cos(angle) below this: the axis comes from the symmetric part of R


def _normalize(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def rot6d_to_matrix(x: np.ndarray, layout: str = "interleaved") -> np.ndarray:
    """(..., 6) 6D rotations -> (..., 3, 3) rotation matrices by Gram-Schmidt (see module doc)."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] != 6:
        raise ValueError(f"6D rotations need a last axis of 6, got shape {x.shape}")
    if layout == "interleaved":
        a1, a2 = x[..., 0::2], x[..., 1::2]
    elif layout in ("columns", "rows"):
        a1, a2 = x[..., :3], x[..., 3:]
    else:
        raise ValueError(f"unknown 6D layout {layout!r}; choose one of {', '.join(ROT6D_LAYOUTS)}")
    b1 = _normalize(a1)
    b2 = _normalize(a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1)
    b3 = np.cross(b1, b2)
    axis = -2 if layout == "rows" else -1
    return np.stack([b1, b2, b3], axis=axis)


def matrix_to_rot6d(r: np.ndarray, layout: str = "interleaved") -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 6) in the given 6D ``layout`` (inverse of the above)."""
    r = np.asarray(r, dtype=np.float64)
    if layout == "interleaved":
        return r[..., :, :2].reshape(*r.shape[:-2], 6)
    if layout == "columns":
        return np.concatenate([r[..., :, 0], r[..., :, 1]], axis=-1)
    if layout == "rows":
        return np.concatenate([r[..., 0, :], r[..., 1, :]], axis=-1)
    raise ValueError(f"unknown 6D layout {layout!r}; choose one of {', '.join(ROT6D_LAYOUTS)}")


def _skew(v: np.ndarray) -> np.ndarray:
    """(..., 3) -> (..., 3, 3) cross-product matrices."""
    z = np.zeros(v.shape[:-1])
    x, y, w = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([
        np.stack([z, -w, y], axis=-1),
        np.stack([w, z, -x], axis=-1),
        np.stack([-y, x, z], axis=-1),
    ], axis=-2)


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle (radians) -> (..., 3, 3) rotation matrices (Rodrigues).

    ``R = I + a K + b K^2`` with ``K = skew(aa)``, ``a = sin(t)/t``, ``b = (1 - cos t)/t^2``; both
    coefficients switch to their Taylor series for ``t < 1e-6`` so tiny rotations stay exact.
    """
    aa = np.asarray(aa, dtype=np.float64)
    if aa.shape[-1] != 3:
        raise ValueError(f"axis-angle needs a last axis of 3, got shape {aa.shape}")
    t = np.linalg.norm(aa, axis=-1)
    small = t < _SMALL
    ts = np.where(small, 1.0, t)
    a = np.where(small, 1.0 - t**2 / 6.0, np.sin(ts) / ts)
    b = np.where(small, 0.5 - t**2 / 24.0, (1.0 - np.cos(ts)) / ts**2)
    k = _skew(aa)
    eye = np.broadcast_to(np.eye(3), k.shape)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


def matrix_to_axis_angle(r: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 3) axis-angle with the angle in [0, pi].

    The angle is ``atan2(sin, cos)`` from the antisymmetric part (``2 sin(t) axis``) and the trace
    (``1 + 2 cos t``), which stays accurate at both ends. Near 0 the result is the antisymmetric part
    scaled by ``t / (2 sin t)`` (series below 1e-6 rad). Near pi (cos t < -0.99) the antisymmetric
    part vanishes, so the axis comes from the largest column of ``(R + R^T)/2 - cos(t) I``
    ``= (1 - cos t) axis axis^T``, its sign taken from the antisymmetric part.
    """
    r = np.asarray(r, dtype=np.float64)
    if r.shape[-2:] != (3, 3):
        raise ValueError(f"rotation matrices need trailing shape (3, 3), got {r.shape}")
    v = np.stack([r[..., 2, 1] - r[..., 1, 2],
                  r[..., 0, 2] - r[..., 2, 0],
                  r[..., 1, 0] - r[..., 0, 1]], axis=-1)        # (..., 3) = 2 sin(t) axis
    sin2 = np.linalg.norm(v, axis=-1)                            # 2 sin(t)
    cos2 = np.trace(r, axis1=-2, axis2=-1) - 1.0                 # 2 cos(t)
    t = np.arctan2(sin2, cos2)                                   # (...,) in [0, pi]

    small = sin2 < 2 * _SMALL
    scale = np.where(small, 0.5 + t**2 / 12.0, t / np.where(small, 1.0, sin2))
    out = v * scale[..., None]

    near_pi = cos2 < 2 * _NEAR_PI
    if np.any(near_pi):
        c = (cos2 / 2.0)[near_pi]                                 # (n,)
        rp = r[near_pi]                                           # (n, 3, 3)
        outer = 0.5 * (rp + np.swapaxes(rp, -1, -2)) - c[:, None, None] * np.eye(3)
        col = np.argmax(np.diagonal(outer, axis1=-2, axis2=-1), axis=-1)
        axis = _normalize(np.take_along_axis(outer, col[:, None, None], axis=-1)[..., 0])
        sign = np.where(np.sum(axis * v[near_pi], axis=-1) < 0, -1.0, 1.0)
        out[near_pi] = axis * (sign * t[near_pi])[:, None]
    return out


def rot6d_to_axis_angle(x: np.ndarray, layout: str = "interleaved") -> np.ndarray:
    """(..., 6) 6D rotations -> (..., 3) axis-angle (radians)."""
    return matrix_to_axis_angle(rot6d_to_matrix(x, layout))
