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
CHUNK_FRAMES = 64   # frames labelled together (bounds the temporary arrays to a few tens of MB)
RADIUS = {"head": 0.22, "neck": 0.12, "upper_arm": 0.16, "lower_arm": 0.12, "hand": 0.06, "pose_hand": 0.10}

_HAND_BONES: tuple[tuple[int, int], ...] = tuple(
    (a, b) for chain in FINGER_CHAINS.values() for a, b in zip((0, *chain[:-1]), chain, strict=True)
) + ((5, 17),)


def segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points (..., N, 2) to each segment a[..., m] -> b[..., m] (..., M, 2): (..., N, M)
    float64. Leading dimensions broadcast, e.g. points (N, 2) with segments (M, 2), or one frame's
    segments per leading index."""
    abx, aby = (b - a)[..., None, :, 0], (b - a)[..., None, :, 1]          # (..., 1, M)
    apx = points[..., :, None, 0] - a[..., None, :, 0]                     # (..., N, M)
    apy = points[..., :, None, 1] - a[..., None, :, 1]                     # (..., N, M)
    len2 = np.maximum(abx * abx + aby * aby, 1e-12)                        # (..., 1, M)
    u = np.clip((apx * abx + apy * aby) / len2, 0.0, 1.0)                  # (..., N, M)
    dx, dy = apx - u * abx, apy - u * aby
    return np.sqrt(dx * dx + dy * dy)


def polygon_distance(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance from points (..., N, 2) to a closed polygon (..., K, 2), 0 inside: (..., N) float64."""
    a, b = poly, np.roll(poly, -1, axis=-2)                                # (..., K, 2)
    edge = segment_distance(points, a, b).min(axis=-1)                     # (..., N)
    # even-odd rule: count edges crossed by a ray towards +x
    px, py = points[..., :, None, 0], points[..., :, None, 1]              # (..., N, 1)
    ax, ay = a[..., None, :, 0], a[..., None, :, 1]                        # (..., 1, K)
    bx, by = b[..., None, :, 0], b[..., None, :, 1]
    straddle = (ay > py) != (by > py)                                      # (..., N, K)
    dy = np.where(by - ay == 0, 1e-12, by - ay)
    x_cross = ax + (py - ay) * (bx - ax) / dy                              # (..., N, K)
    inside = np.sum(straddle & (px < x_cross), axis=-1) % 2 == 1           # (..., N)
    return np.where(inside, 0.0, edge)


def _segments_score(points: np.ndarray, a: np.ndarray, b: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Per point (P,): distance to the nearest of its frame's segments a -> b (P, S, 2) minus ``radius``
    (P,) pixels. points (P, 2)."""
    return segment_distance(points[:, None], a, b)[:, 0].min(axis=-1) - radius


def box_distance(points: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance from points (P, 2) to axis-aligned boxes [lo, hi] (P, 2), 0 inside: (P,) float64. A lower
    bound of the distance to anything inside the box."""
    gap = np.maximum(np.maximum(lo - points, points - hi), 0.0)            # (P, 2)
    return np.sqrt(gap[:, 0] * gap[:, 0] + gap[:, 1] * gap[:, 1])


def label_cells(h: HolisticArrays, frames: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Sapiens ids (F, M) of the cell centres (M, 2) in each of ``frames`` (F,) (frame indices whose pose
    was detected); Background outside the person mask.

    Only person cells are scored. The costly shapes (the 36-edge face oval, the 21 bones of a detected
    hand) are measured only at cells where they can win: where the distance to their bounding box
    (minus the radius) is not above the best score of the cheap shapes. Elsewhere a shape farther than
    its box cannot beat that best score, so the labels equal those of measuring every shape everywhere.
    """
    wh = h.pixel_scale()[:2]
    p = h.pose[frames, :, :2] * wh                                          # (F, 33, 2) pixels
    j = {name: p[:, i] for name, i in POSE.items()}                         # each (F, 2)
    s = np.maximum(np.linalg.norm(j["left_shoulder"] - j["right_shoulder"], axis=-1), 1.0)  # (F,)
    neck = 0.5 * (j["left_shoulder"] + j["right_shoulder"])
    eyes = 0.5 * (j["left_eye"] + j["right_eye"])
    mouth = 0.5 * (j["mouth_left"] + j["mouth_right"])
    has_face = h.has_face[frames]                                           # (F,)

    person = h.segmentation[frames].reshape(len(frames), -1) > PERSON_THRESHOLD  # (F, M)
    fi, ci = np.nonzero(person)                                             # person (frame, cell) pairs
    pts = cells[ci]                                                         # (P, 2)
    rad = s[fi]                                                             # (P,) shoulder width

    def seg(a: list[np.ndarray], b: list[np.ndarray], radius: float) -> np.ndarray:
        """Score (P,) of the segments a[i] -> b[i], each endpoint list entry (F, 2) per frame."""
        sa, sb = np.stack(a, axis=1), np.stack(b, axis=1)                   # (F, S, 2)
        return _segments_score(pts, sa[fi], sb[fi], radius * rad)

    # 1. the cheap shapes, exact at every cell; a detected hand's score waits (inf) for step 3
    head = seg([j["left_ear"], eyes], [j["right_ear"], mouth], RADIUS["head"])
    torso = np.stack([j["left_shoulder"], j["right_shoulder"], j["right_hip"], j["left_hip"]], axis=1)
    scores = [head, seg([mouth], [neck], RADIUS["neck"]), polygon_distance(pts[:, None], torso[fi])[:, 0]]
    labels = [FACE_NECK, FACE_NECK, UPPER_CLOTHING]
    hands = []
    for side, upper, lower, hand_id, hand, present in (
        ("left", LEFT_UPPER_ARM, LEFT_LOWER_ARM, LEFT_HAND, h.left_hand, h.has_left),
        ("right", RIGHT_UPPER_ARM, RIGHT_LOWER_ARM, RIGHT_HAND, h.right_hand, h.has_right),
    ):
        sh, el, wr = j[f"{side}_shoulder"], j[f"{side}_elbow"], j[f"{side}_wrist"]
        tips = [j[f"{side}_{n}"] for n in ("pinky", "index", "thumb")]
        shown = present[frames][fi]                                         # (P,) hand detected
        score = np.where(shown, np.inf, seg([wr] * 3, tips, RADIUS["pose_hand"]))
        scores += [seg([sh], [el], RADIUS["upper_arm"]), seg([el], [wr], RADIUS["lower_arm"]), score]
        labels += [upper, lower, hand_id]
        hands.append((score, hand[frames][:, :, :2] * wh, shown))           # hand (F, 21, 2) pixels
    best = np.min(np.stack(scores), axis=0)                                 # (P,) best cheap score

    # 2. the face oval lowers the head score where it is nearer than the cheap shapes
    if has_face.any():
        oval = h.face[frames][:, list(FACE_OVAL_LOOP), :2] * wh              # (F, 36, 2)
        near = box_distance(pts, oval.min(axis=1)[fi], oval.max(axis=1)[fi])
        idx = np.flatnonzero(has_face[fi] & (near < head) & (near <= best))
        head[idx] = np.minimum(head[idx], polygon_distance(pts[idx][:, None], oval[fi[idx]])[:, 0])

    # 3. detected hands' bones
    bones = np.array(_HAND_BONES)                                           # (21, 2)
    for score, q, shown in hands:
        lower_bound = box_distance(pts, q.min(axis=1)[fi], q.max(axis=1)[fi]) - RADIUS["hand"] * rad
        idx = np.flatnonzero(shown & (lower_bound <= best))
        qa, qb = q[fi[idx]][:, bones[:, 0]], q[fi[idx]][:, bones[:, 1]]     # (n, 21, 2)
        score[idx] = _segments_score(pts[idx], qa, qb, RADIUS["hand"] * rad[idx])

    ids = np.array(labels)[np.argmin(np.stack(scores), axis=0)]             # (P,)
    hairline = np.where(has_face, h.face[frames, 10, 1] * wh[1], eyes[:, 1] - (mouth[:, 1] - eyes[:, 1]))
    ids = np.where((ids == FACE_NECK) & (pts[:, 1] < hairline[fi]), HAIR, ids)
    out = np.full(person.shape, BACKGROUND, dtype=np.int64)                 # (F, M)
    out[fi, ci] = ids
    return out


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
        posed = np.flatnonzero(h.has_pose)
        for start in range(0, len(posed), CHUNK_FRAMES):
            frames = posed[start:start + CHUNK_FRAMES]
            ids = label_cells(h, frames, cells)                               # (F, 576)
            feats[frames] = ids
            mask[frames] = np.any(ids != BACKGROUND, axis=1)
        return feats, mask
