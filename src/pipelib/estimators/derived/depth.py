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
FACE_ANCHOR = 1                                  # FaceMesh nose tip, tied to pose landmark 0 (nose)


def frame_landmarks(h: HolisticArrays, t: int) -> np.ndarray:
    """(N, 3) pixel x, y and z of frame t's landmarks with a usable depth (see module doc)."""
    scale = h.pixel_scale()
    pose = h.pose[t, :, :3] * scale                                         # (33, 3)
    parts = [pose[BODY_POINTS]]
    for hand, present, wrist in ((h.left_hand, h.has_left, POSE["left_wrist"]),
                                 (h.right_hand, h.has_right, POSE["right_wrist"])):
        if present[t]:
            pts = hand[t] * scale                                           # (21, 3)
            pts[:, 2] += pose[wrist, 2] - pts[0, 2]
            parts.append(pts)
    if h.has_face[t]:
        face = h.face[t] * scale                                            # (468, 3)
        face[:, 2] += pose[POSE["nose"], 2] - face[FACE_ANCHOR, 2]
        parts.append(face[list(FACEMESH_CONTOUR_INDICES)])
    return np.concatenate(parts, axis=0)


def interpolate_depth(cells: np.ndarray, points: np.ndarray, k: int = 4) -> np.ndarray:
    """IDW (1/d^2) of the z of the k nearest points (N, 3) at cell centres (M, 2) -> (M,) float64."""
    d2 = np.sum((cells[:, None, :] - points[None, :, :2]) ** 2, axis=-1)     # (M, N)
    k = min(k, points.shape[0])
    near = np.argpartition(d2, k - 1, axis=1)[:, :k]                         # (M, k)
    w = 1.0 / (np.take_along_axis(d2, near, axis=1) + 1e-6)                  # (M, k)
    return np.sum(w * points[near, 2], axis=1) / np.sum(w, axis=1)


def normalise_inverse(z: np.ndarray, person: np.ndarray) -> np.ndarray:
    """z (M,) with person mask (M,) -> [0, 1]: 1 = nearest person cell, 0 = background (see doc)."""
    out = np.zeros_like(z)
    if not person.any():
        return out
    near, far = z[person].min(), z[person].max()
    span = far - near
    if span <= 1e-9:
        out[person] = 1.0
        return out
    out[person] = 1.0 - 0.5 * (z[person] - near) / span
    return out


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
        feats = np.zeros((h.n_frames, GRID * GRID), np.float32)
        mask = np.zeros(h.n_frames, bool)
        for t in np.flatnonzero(h.has_pose):
            person = h.segmentation[t].ravel() > PERSON_THRESHOLD            # (576,)
            if not person.any():
                continue
            z = interpolate_depth(cells, frame_landmarks(h, t), k)
            feats[t] = normalise_inverse(z, person)
            mask[t] = True
        return feats, mask
