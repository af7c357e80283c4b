"""``dwpose_from_holistic``: the DWPose slot layout filled by remapping MediaPipe Holistic landmarks.

An approximation, not DWPose. Layout (384 = 128 keypoints x (x, y, conf), as DWPose's OpenPose-style
output): 0-17 OpenPose-18 body, 18-85 the 68 iBUG face points, 86-106 the person's left hand,
107-127 the right hand. x, y are divided by the image width and height (MediaPipe's normalised
coordinates already are). conf: the MediaPipe visibility for body points (the neck takes the smaller
of the two shoulders'), 1 for face and hand points when that part was detected, else 0 with x = y = 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelib.estimators.derived import FromHolistic, holistic_arrays
from pipelib.estimators.landmarks import FACEMESH_TO_68, OPENPOSE18_FROM_POSE, POSE

N_KEYPOINTS = 18 + 68 + 21 + 21  # 128


def remap_to_dwpose(pose: np.ndarray, face: np.ndarray, left_hand: np.ndarray, right_hand: np.ndarray,
                    has_face: np.ndarray, has_left: np.ndarray, has_right: np.ndarray) -> np.ndarray:
    """MediaPipe landmarks -> DWPose keypoints (T, 128, 3) float32 of normalised x, y and conf.

    pose (T, 33, 4) with visibility; face (T, 468, 3); hands (T, 21, 3); has_* (T,) bool.
    """
    t = pose.shape[0]
    out = np.zeros((t, N_KEYPOINTS, 3), np.float64)
    idx = np.array(OPENPOSE18_FROM_POSE)
    body = pose[:, np.maximum(idx, 0), :]                                     # (T, 18, 4)
    out[:, :18, :2] = body[..., :2]
    out[:, :18, 2] = body[..., 3]
    ls, rs = pose[:, POSE["left_shoulder"]], pose[:, POSE["right_shoulder"]]  # (T, 4)
    neck = int(np.flatnonzero(idx < 0)[0])
    out[:, neck, :2] = 0.5 * (ls[:, :2] + rs[:, :2])
    out[:, neck, 2] = np.minimum(ls[:, 3], rs[:, 3])
    for start, pts, present in (
        (18, face[:, list(FACEMESH_TO_68), :2], has_face),
        (86, left_hand[..., :2], has_left),
        (107, right_hand[..., :2], has_right),
    ):
        n = pts.shape[1]
        out[:, start:start + n, :2] = np.where(present[:, None, None], pts, 0.0)
        out[:, start:start + n, 2] = present[:, None].astype(np.float64)
    return out.astype(np.float32)


class DWPoseFromHolistic(FromHolistic):
    """DWPose slot (384) from Holistic landmarks by remapping; mask = pose detected."""

    slot = "dwpose"
    backend = "dwpose_from_holistic"
    method = ("OpenPose-18 body from MediaPipe pose (neck = mid-shoulder), 68 face points via the "
              "FaceMesh->iBUG table, hands copied; conf = visibility (body), presence (face, hands)")

    def process_video(self, holistic: Any) -> tuple[np.ndarray, np.ndarray]:
        """Features (T, 384) float32 and mask (T,) bool from a MediaPipe-shard ``VideoArrays``."""
        h = holistic_arrays(holistic, need_image_size=False)
        kp = remap_to_dwpose(h.pose, h.face, h.left_hand, h.right_hand, h.has_face, h.has_left, h.has_right)
        kp[~h.has_pose] = 0.0
        return kp.reshape(h.n_frames, -1), h.has_pose.copy()
