"""Neck-centred, shoulder-width-scaled skeletons (DARSLP's normalisation), with a per-sequence scale."""

from __future__ import annotations

import numpy as np

from pipelib.skeletons.layout import L_SHOULDER, R_SHOULDER


def neck(joints: np.ndarray) -> np.ndarray:
    """Mid-point of the shoulders: joints (T, 178, 3) -> (T, 3)."""
    return 0.5 * (joints[:, R_SHOULDER] + joints[:, L_SHOULDER])


def shoulder_width(joints: np.ndarray, valid: np.ndarray) -> float:
    """Median over the ``valid`` (T,) frames of the image-plane (x, y) shoulder distance.

    The median over the sequence, not each frame's width, so scale does not jitter with the
    shoulder tracking; x, y only, since MediaPipe's z is the noisiest axis. NaN if no frame is valid.
    """
    d = joints[valid][:, R_SHOULDER, :2] - joints[valid][:, L_SHOULDER, :2]  # (n, 2)
    if d.shape[0] == 0:
        return float("nan")
    return float(np.median(np.linalg.norm(d, axis=1)))


def normalise(joints: np.ndarray, valid: np.ndarray, scale: str, video_id: str = "?") -> np.ndarray:
    """Centre each frame on its neck and, for ``scale == "shoulder_width"``, divide by the
    sequence's :func:`shoulder_width`. joints (T, 178, 3), valid (T,) bool -> (T, 178, 3) float64
    (invalid frames are centred on their own, meaningless, neck: mask them afterwards).
    """
    out = joints - neck(joints)[:, None, :]                                  # (T, 178, 3)
    if scale == "none" or not np.any(valid):
        return out
    width = shoulder_width(joints, valid)
    if not width > 1e-6:
        raise ValueError(
            f"video {video_id}: the median shoulder width is {width:g} pixels, so it cannot be scaled by "
            f"it; check its pose landmarks, or set skeletons.scale to none"
        )
    return out / width
