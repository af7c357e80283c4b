"""``sapiens_from_holistic``: a 24 x 24 grid of Sapiens body-part ids from Holistic landmarks.

An approximation, not Sapiens. Person cells (segmentation probability > 0.5) get the part whose shape
lies nearest, measured as (distance from the cell centre to the shape) - (shape radius), in pixels;
radii are fractions of the shoulder width s:

* Face_Neck (2): the FaceMesh oval polygon (when detected) and ear-ear / eyes-mouth segments
  (radius 0.22 s); the neck segment mouth -> mid-shoulder (0.12 s).
* Hair (3): Face_Neck cells whose centre lies above the hairline (FaceMesh point 10 when the face
  was detected, else one eye-to-mouth height above the eyes).
* Left / Right_Upper_Arm (10 / 19): shoulder -> elbow (0.16 s).
* Left / Right_Lower_Arm (6 / 15): elbow -> wrist (0.12 s).
* Left / Right_Hand (5 / 14): the hand's bones when the hand was detected (0.06 s), else the pose
  wrist -> pinky / index / thumb (0.10 s).
* Upper_Clothing (22): the torso polygon shoulders -> hips, i.e. the signer's shirt (radius 0).

"Left" is the person's left, as in Sapiens and MediaPipe. Other cells are Background (0). Features
are the ids as float32, row-major; mask = pose detected and at least one person cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelib.estimators.derived import FromHolistic, HolisticArrays, cell_centres, holistic_arrays
from pipelib.estimators.grids import GRID
from pipelib.estimators.landmarks import FACE_OVAL_LOOP, FINGER_CHAINS, POSE

#: Sapiens class ids used here (the full list is pipelib.estimators.sapiens.SAPIENS_CLASSES).
BACKGROUND, FACE_NECK, HAIR = 0, 2, 3
LEFT_HAND, LEFT_LOWER_ARM, LEFT_UPPER_ARM = 5, 6, 10
RIGHT_HAND, RIGHT_LOWER_ARM, RIGHT_UPPER_ARM = 14, 15, 19
UPPER_CLOTHING = 22

PERSON_THRESHOLD = 0.5
RADIUS = {"head": 0.22, "neck": 0.12, "upper_arm": 0.16, "lower_arm": 0.12, "hand": 0.06, "pose_hand": 0.10}

_HAND_BONES: tuple[tuple[int, int], ...] = tuple(
    (a, b) for chain in FINGER_CHAINS.values() for a, b in zip((0, *chain[:-1]), chain, strict=True)
) + ((5, 17),)


def segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points (N, 2) to each segment a[m] -> b[m] (M, 2): (N, M) float64."""
    ab = b - a                                                             # (M, 2)
    ap = points[:, None, :] - a[None]                                      # (N, M, 2)
    len2 = np.sum(ab * ab, axis=-1)                                        # (M,)
    u = np.clip(np.sum(ap * ab[None], axis=-1) / np.maximum(len2, 1e-12), 0.0, 1.0)
    return np.linalg.norm(ap - u[..., None] * ab[None], axis=-1)


def polygon_distance(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance from points (N, 2) to a closed polygon (K, 2), 0 inside: (N,) float64."""
    a, b = poly, np.roll(poly, -1, axis=0)
    edge = segment_distance(points, a, b).min(axis=1)
    # even-odd rule: count edges crossed by a ray towards +x
    px, py = points[:, None, 0], points[:, None, 1]
    straddle = (a[None, :, 1] > py) != (b[None, :, 1] > py)
    dy = np.where(b[:, 1] - a[:, 1] == 0, 1e-12, b[:, 1] - a[:, 1])
    x_cross = a[None, :, 0] + (py - a[None, :, 1]) * (b[None, :, 0] - a[None, :, 0]) / dy[None]
    inside = np.sum(straddle & (px < x_cross), axis=1) % 2 == 1
    return np.where(inside, 0.0, edge)


def _segments_score(cells: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]],
                    radius: float) -> np.ndarray:
    """Per cell (M,): distance to the nearest of the segments minus ``radius``."""
    a = np.stack([p for p, _ in pairs])
    b = np.stack([q for _, q in pairs])
    return segment_distance(cells, a, b).min(axis=1) - radius


def label_frame(h: HolisticArrays, t: int, cells: np.ndarray) -> np.ndarray:
    """Sapiens ids (M,) for the cell centres (M, 2) of frame t; Background outside the person mask."""
    wh = h.pixel_scale()[:2]
    p = h.pose[t, :, :2] * wh                                               # (33, 2) pixels
    j = {name: p[i] for name, i in POSE.items()}
    s = max(float(np.linalg.norm(j["left_shoulder"] - j["right_shoulder"])), 1.0)
    neck = 0.5 * (j["left_shoulder"] + j["right_shoulder"])
    eyes = 0.5 * (j["left_eye"] + j["right_eye"])
    mouth = 0.5 * (j["mouth_left"] + j["mouth_right"])

    scores: list[np.ndarray] = []
    labels: list[int] = []

    def add(score: np.ndarray, label: int) -> None:
        scores.append(score)
        labels.append(label)

    head = _segments_score(cells, [(j["left_ear"], j["right_ear"]), (eyes, mouth)], RADIUS["head"] * s)
    if h.has_face[t]:
        oval = h.face[t, list(FACE_OVAL_LOOP), :2] * wh
        head = np.minimum(head, polygon_distance(cells, oval))
    add(head, FACE_NECK)
    add(_segments_score(cells, [(mouth, neck)], RADIUS["neck"] * s), FACE_NECK)
    torso = np.stack([j["left_shoulder"], j["right_shoulder"], j["right_hip"], j["left_hip"]])
    add(polygon_distance(cells, torso), UPPER_CLOTHING)
    for side, upper, lower, hand_id, hand, present in (
        ("left", LEFT_UPPER_ARM, LEFT_LOWER_ARM, LEFT_HAND, h.left_hand, h.has_left),
        ("right", RIGHT_UPPER_ARM, RIGHT_LOWER_ARM, RIGHT_HAND, h.right_hand, h.has_right),
    ):
        sh, el, wr = j[f"{side}_shoulder"], j[f"{side}_elbow"], j[f"{side}_wrist"]
        add(_segments_score(cells, [(sh, el)], RADIUS["upper_arm"] * s), upper)
        add(_segments_score(cells, [(el, wr)], RADIUS["lower_arm"] * s), lower)
        if present[t]:
            q = hand[t, :, :2] * wh                                         # (21, 2)
            add(_segments_score(cells, [(q[a], q[b]) for a, b in _HAND_BONES], RADIUS["hand"] * s), hand_id)
        else:
            tips = [j[f"{side}_{n}"] for n in ("pinky", "index", "thumb")]
            add(_segments_score(cells, [(wr, tip) for tip in tips], RADIUS["pose_hand"] * s), hand_id)

    ids = np.array(labels)[np.argmin(np.stack(scores), axis=0)]             # (M,)
    hairline = (h.face[t, 10, 1] * wh[1] if h.has_face[t]
                else eyes[1] - (mouth[1] - eyes[1]))
    ids = np.where((ids == FACE_NECK) & (cells[:, 1] < hairline), HAIR, ids)
    person = h.segmentation[t].ravel() > PERSON_THRESHOLD
    return np.where(person, ids, BACKGROUND)


class PartsFromHolistic(FromHolistic):
    """Sapiens slot (576) from Holistic landmarks and segmentation by nearest body-part shape."""

    slot = "sapiens"
    backend = "sapiens_from_holistic"
    method = ("24x24 Sapiens part ids: person cells of the MediaPipe segmentation grid labelled by the "
              "nearest limb/head/hand/torso shape built from the landmarks")

    def process_video(self, holistic: Any) -> tuple[np.ndarray, np.ndarray]:
        """Features (T, 576) float32 and mask (T,) bool from a MediaPipe-shard ``VideoArrays``."""
        h = holistic_arrays(holistic, need_image_size=True, need_segmentation=True)
        cells = cell_centres(h.image_size)                                   # (576, 2)
        feats = np.zeros((h.n_frames, GRID * GRID), np.float32)
        mask = np.zeros(h.n_frames, bool)
        for t in np.flatnonzero(h.has_pose):
            ids = label_frame(h, t, cells)
            feats[t] = ids
            mask[t] = bool(np.any(ids != BACKGROUND))
        return feats, mask
