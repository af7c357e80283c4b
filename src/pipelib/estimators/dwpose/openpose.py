"""COCO-WholeBody 133 keypoints -> the DWPose slot: 18 OpenPose body + 68 face + 21 + 21 hands (384).

COCO-WholeBody order: 0-16 body (COCO-17), 17-22 feet, 23-90 face (68), 91-111 left hand,
112-132 right hand. OpenPose-18: 0 nose, 1 neck, 2-4 right shoulder/elbow/wrist, 5-7 left
shoulder/elbow/wrist, 8-10 right hip/knee/ankle, 11-13 left hip/knee/ankle, 14 right eye, 15 left eye,
16 right ear, 17 left ear. The neck is the mean of the two shoulders (COCO 5, 6). Feet are dropped.
"""

from __future__ import annotations

import numpy as np

N_WHOLEBODY = 133
NECK = -1  # marker in OPENPOSE18_FROM_COCO: the neck is computed, not read
#: OpenPose-18 index -> COCO-17 index (NECK for the computed neck).
OPENPOSE18_FROM_COCO = (0, NECK, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
FACE = slice(23, 91)
LEFT_HAND = slice(91, 112)
RIGHT_HAND = slice(112, 133)
N_SLOT_KEYPOINTS = 18 + 68 + 21 + 21  # 128
SLOT_PARTS = {"body": slice(0, 18), "face": slice(18, 86), "left_hand": slice(86, 107),
              "right_hand": slice(107, 128)}
NECK_SCORE_MODES = ("min", "binary")


def openpose18(
    keypoints: np.ndarray, scores: np.ndarray, neck_score: str = "min", threshold: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """OpenPose-18 body from COCO-WholeBody: (..., 133, 2), (..., 133) -> (..., 18, 2), (..., 18).

    Neck position = mean of the shoulders; neck score = ``min`` of the shoulder scores (rtmlib) or
    ``binary``: 1 when both exceed ``threshold``, else 0 (DWPose's ControlNet annotator).
    """
    if neck_score not in NECK_SCORE_MODES:
        raise ValueError(f"neck_score {neck_score!r}: choose one of {NECK_SCORE_MODES}")
    kp, sc = np.asarray(keypoints, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    src = np.array([0 if i == NECK else i for i in OPENPOSE18_FROM_COCO])
    body_kp, body_sc = kp[..., src, :].copy(), sc[..., src].copy()
    body_kp[..., 1, :] = (kp[..., 5, :] + kp[..., 6, :]) / 2
    if neck_score == "min":
        body_sc[..., 1] = np.minimum(sc[..., 5], sc[..., 6])
    else:
        body_sc[..., 1] = ((sc[..., 5] > threshold) & (sc[..., 6] > threshold)).astype(np.float64)
    return body_kp, body_sc


def slot_keypoints(
    keypoints: np.ndarray, scores: np.ndarray, neck_score: str = "min"
) -> tuple[np.ndarray, np.ndarray]:
    """The slot's 128 keypoints from one person's COCO-WholeBody (133, 2), (133,) -> (128, 2), (128,).

    Order: OpenPose-18 body, face 68, left hand 21, right hand 21.
    """
    kp, sc = np.asarray(keypoints, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    if kp.shape != (N_WHOLEBODY, 2) or sc.shape != (N_WHOLEBODY,):
        raise ValueError(f"expected (133, 2) and (133,) COCO-WholeBody arrays, got {kp.shape}, {sc.shape}")
    body_kp, body_sc = openpose18(kp, sc, neck_score)
    parts = (FACE, LEFT_HAND, RIGHT_HAND)
    out_kp = np.concatenate([body_kp] + [kp[p] for p in parts])
    out_sc = np.concatenate([body_sc] + [sc[p] for p in parts])
    return out_kp, out_sc


def pack(keypoints: np.ndarray, scores: np.ndarray, width: int, height: int) -> np.ndarray:
    """(128, 2) frame px, (128,) scores -> (384,) float32 [x0/W, y0/H, c0, x1/W, ...]; c clipped to [0, 1]."""
    xy = np.asarray(keypoints, dtype=np.float64) / np.array([width, height], dtype=np.float64)
    conf = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)[:, None]
    return np.concatenate([xy, conf], axis=1).astype(np.float32).reshape(-1)


def unpack(features: np.ndarray) -> np.ndarray:
    """(384,) or (T, 384) slot features -> (..., 128, 3) (x, y normalised; conf)."""
    f = np.asarray(features)
    return f.reshape(*f.shape[:-1], N_SLOT_KEYPOINTS, 3)
