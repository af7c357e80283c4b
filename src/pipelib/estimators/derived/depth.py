"""``primedepth_from_holistic``: a 24 x 24 relative inverse-depth grid from Holistic landmark depth.

An approximation, not PrimeDepth. Per frame:

1. Landmarks with a depth: pose 0-24 (head, arms, hips; legs left out), both hands when detected
   (hand z is relative to its wrist, so it is offset by the pose wrist's z) and the 128 face contour
   points when detected (offset so the mesh nose tip sits at the pose nose's z). All in pixels, z on
   the x scale; smaller z = closer to the camera, as MediaPipe gives it.
2. Person cells are grid cells whose segmentation probability exceeds 0.5; each gets the inverse
   distance weighted z (weights 1 / d^2) of its ``k`` nearest landmarks in the image plane.
3. The background is placed one person-depth span behind the farthest person cell; z is then mapped
   linearly to [0, 1] with 1 = the nearest person cell and 0 = background, so person cells lie in
   [0.5, 1] (1 everywhere if the person is flat). Larger = closer, like inverse depth.

mask = pose detected and at least one person cell; other frames are all zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelib.estimators.derived import FromHolistic, HolisticArrays, cell_centres, holistic_arrays
from pipelib.estimators.grids import GRID
from pipelib.estimators.landmarks import FACEMESH_CONTOUR_INDICES, POSE

PERSON_THRESHOLD = 0.5
BODY_POINTS = slice(0, POSE["right_hip"] + 1)   # pose landmarks 0-24
N_CONTOUR = len(FACEMESH_CONTOUR_INDICES)        # 128 face points, the last in video_landmarks' order
FACE_ANCHOR = 1                                  # FaceMesh nose tip, tied to pose landmark 0 (nose)


def video_landmarks(h: HolisticArrays) -> tuple[np.ndarray, np.ndarray]:
    """Pixel x, y and z of every frame's candidate landmarks (see module doc), (T, 195, 3) float64, in the
    order pose 0-24, left hand, right hand, face contours, and (T, 195) bool: usable in that frame (pose
    points always; hands and face when detected)."""
    scale = h.pixel_scale()
    n = h.n_frames
    pose = h.pose[:, :, :3] * scale                                         # (T, 33, 3)
    parts, usable = [pose[:, BODY_POINTS]], [np.ones((n, BODY_POINTS.stop), bool)]
    for hand, present, wrist in ((h.left_hand, h.has_left, POSE["left_wrist"]),
                                 (h.right_hand, h.has_right, POSE["right_wrist"])):
        pts = hand * scale                                                  # (T, 21, 3)
        pts[:, :, 2] += (pose[:, wrist, 2] - pts[:, 0, 2])[:, None]
        parts.append(pts)
        usable.append(np.repeat(present[:, None], pts.shape[1], axis=1))
    face = h.face * scale                                                   # (T, 468, 3)
    face[:, :, 2] += (pose[:, POSE["nose"], 2] - face[:, FACE_ANCHOR, 2])[:, None]
    contour = face[:, list(FACEMESH_CONTOUR_INDICES)]                       # (T, 128, 3)
    parts.append(contour)
    usable.append(np.repeat(h.has_face[:, None], contour.shape[1], axis=1))
    return np.concatenate(parts, axis=1), np.concatenate(usable, axis=1)


def nearest(d2: np.ndarray, k: int) -> np.ndarray:
    """Column indices (M, k) of the k smallest entries of each row of d2 (M, N), nearest first (ties: the
    lower index). k passes of argmin: for k << N much cheaper than a partition. Overwrites d2's picks."""
    rows = np.arange(d2.shape[0])
    out = np.empty((d2.shape[0], k), np.intp)
    for i in range(k):
        out[:, i] = j = d2.argmin(axis=1)
        d2[rows, j] = np.inf
    return out


def _idw(d2: np.ndarray, z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """IDW of z (N,) at the k nearest of d2 (M, N) squared distances -> (values (M,), k-th d2 (M,))."""
    near = nearest(d2.copy(), k)                                             # (M, k)
    d2k = np.take_along_axis(d2, near, axis=1)                               # (M, k) ascending
    w = 1.0 / (d2k + 1e-6)
    return np.sum(w * z[near], axis=1) / np.sum(w, axis=1), d2k[:, -1]


def interpolate_depth(cells: np.ndarray, points: np.ndarray, k: int = 4, n_cluster: int = 0) -> np.ndarray:
    """IDW (1/d^2) of the z of the k nearest points (N, 3) at cell centres (M, 2) -> (M,) float64.

    The caller passes the person cells only: this is the slot's hot loop. The last ``n_cluster`` points
    (a compact cluster: the 128 face points) are measured only at cells nearer to the cluster's bounding
    box than to their k-th nearest other point; elsewhere no cluster point can be among the k nearest
    (ties go to the lower index, as in :func:`nearest`), so the result is unchanged."""
    k = min(k, points.shape[0])
    split = points.shape[0] - n_cluster
    if n_cluster == 0 or split < k:
        return _idw(_squared_distances(cells, points), points[:, 2], k)[0]
    out, d2k = _idw(_squared_distances(cells, points[:split]), points[:split, 2], k)
    lo, hi = points[split:, :2].min(axis=0), points[split:, :2].max(axis=0)
    gap = np.maximum(np.maximum(lo - cells, cells - hi), 0.0)                # (M, 2)
    idx = np.flatnonzero(gap[:, 0] * gap[:, 0] + gap[:, 1] * gap[:, 1] < d2k)
    out[idx] = _idw(_squared_distances(cells[idx], points), points[:, 2], k)[0]
    return out


def _squared_distances(cells: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(M, N) squared image-plane distances; x and y apart (no reduction over a length-2 axis)."""
    dx = cells[:, 0, None] - points[None, :, 0]                              # (M, N)
    dy = cells[:, 1, None] - points[None, :, 1]                              # (M, N)
    return dx * dx + dy * dy


def normalise_inverse(z: np.ndarray) -> np.ndarray:
    """z (P,) of a frame's person cells -> [0.5, 1]: 1 = nearest, 0.5 = farthest (1 everywhere if the
    person is flat); the background, one person-depth span behind, is 0 (see module doc)."""
    near, far = z.min(), z.max()
    span = far - near
    if span <= 1e-9:
        return np.ones_like(z)
    return 1.0 - 0.5 * (z - near) / span


class DepthFromHolistic(FromHolistic):
    """PrimeDepth slot (576) from Holistic landmark z inside the person mask; config key ``k`` (4)."""

    slot = "primedepth"
    backend = "primedepth_from_holistic"
    method = ("24x24 inverse depth: MediaPipe landmark z (pose, hands, face contours) interpolated onto "
              "person cells of the segmentation grid, background farthest; 1 = nearest")

    def process_video(self, holistic: Any) -> tuple[np.ndarray, np.ndarray]:
        """Features (T, 576) float32 and mask (T,) bool from a MediaPipe-shard ``VideoArrays``."""
        h = holistic_arrays(holistic, need_image_size=True, need_segmentation=True)
        k = int(self.cfg.get("k", 4))
        if k < 1:
            raise ValueError(f"config key estimators.primedepth.k = {k}: use a positive integer")
        cells = cell_centres(h.image_size)                                   # (576, 2)
        points, usable = video_landmarks(h)                                  # (T, 195, 3), (T, 195)
        person = h.segmentation.reshape(h.n_frames, -1) > PERSON_THRESHOLD   # (T, 576)
        mask = h.has_pose & person.any(axis=1)                               # (T,)
        feats = np.zeros((h.n_frames, GRID * GRID), np.float32)
        for t in np.flatnonzero(mask):
            n_face = N_CONTOUR if h.has_face[t] else 0                       # the face points come last
            z = interpolate_depth(cells[person[t]], points[t, usable[t]], k, n_face)  # (P_t,) person cells
            feats[t, person[t]] = normalise_inverse(z)
        return feats, mask
