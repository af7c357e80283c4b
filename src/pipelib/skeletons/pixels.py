"""One MediaPipe-shard video as a 178-slot skeleton in pixels, with a validity flag per part and frame.

x, y are MediaPipe's normalised coordinates times the frame width / height, so the aspect ratio is
right. z is multiplied by the width (MediaPipe puts z on roughly the x scale) and made coherent
across parts: pose z is relative to the mid-hip depth; hand z is relative to the hand's own wrist, so
each hand is shifted to put its wrist at the pose wrist's z; face z is relative to the face centre,
so the mesh is shifted to put its nose tip (FaceMesh 1) at the pose nose's z (pose 0). The frame's
world landmarks (``pose_world``) are not used: they exist for the body only.
"""

from __future__ import annotations

import numpy as np

from pipelib.estimators.landmarks import N_FACE, N_HAND, N_POSE, POSE
from pipelib.io import shards
from pipelib.io.shards import VideoArrays
from pipelib.skeletons.layout import (
    BODY,
    BODY_FROM_POSE,
    FACE,
    FACE_FROM_MESH,
    LEFT_HAND,
    N_JOINTS,
    RIGHT_HAND,
)

FACE_ANCHOR = 1  # FaceMesh nose tip, placed at the depth of pose landmark 0 (nose)
_SHAPES: dict[str, tuple[int, ...]] = {
    "pose": (N_POSE, 4), "face": (N_FACE, 3), "left_hand": (N_HAND, 3), "right_hand": (N_HAND, 3),
    "part_mask": (4,),
}
# Holistic part_mask columns: pose, face, left_hand, right_hand.
_PM_POSE, _PM_FACE, _PM_LEFT, _PM_RIGHT = 0, 1, 2, 3


def _checked(video: VideoArrays) -> tuple[dict[str, np.ndarray], tuple[int, int]]:
    vid = video.video_id
    arrays = shards.checked_extras(video, _SHAPES, "skeletons need a MediaPipe shard written by the "
                                   "mediapipe slot with backend mediapipe_holistic")
    size = video.attrs.get("image_size")
    if size is None or len(size) != 2 or int(size[0]) <= 0 or int(size[1]) <= 0:
        raise ValueError(
            f"video {vid}: attrs image_size = {size!r} is not a positive [W, H]; re-extract the mediapipe "
            f"slot with pipelib.poses.extract, which stores it with every video"
        )
    return arrays, (int(size[0]), int(size[1]))


def holistic_pixels(video: VideoArrays) -> tuple[np.ndarray, np.ndarray]:
    """``(joints (T, 178, 3) float64 pixels, part_valid (T, 4) bool)`` of one MediaPipe-shard video.

    part_valid columns follow the skeleton parts: body, right hand, left hand, face. A part is valid
    where MediaPipe detected it and the pose; joints of invalid parts are 0.
    """
    arrays, (w, h) = _checked(video)
    scale = np.array([w, h, w], dtype=np.float64)                            # (3,)
    pose = arrays["pose"][..., :3].astype(np.float64) * scale                # (T, 33, 3)
    joints = np.zeros((video.n_frames, N_JOINTS, 3), dtype=np.float64)      # (T, 178, 3)
    joints[:, BODY] = pose[:, list(BODY_FROM_POSE)]
    for part, sl, wrist in (("right_hand", RIGHT_HAND, POSE["right_wrist"]),
                            ("left_hand", LEFT_HAND, POSE["left_wrist"])):
        hand = arrays[part].astype(np.float64) * scale                       # (T, 21, 3)
        hand[..., 2] += (pose[:, wrist, 2] - hand[:, 0, 2])[:, None]
        joints[:, sl] = hand
    face = arrays["face"].astype(np.float64) * scale                         # (T, 468, 3)
    face[..., 2] += (pose[:, POSE["nose"], 2] - face[:, FACE_ANCHOR, 2])[:, None]
    joints[:, FACE] = face[:, list(FACE_FROM_MESH)]

    pm = arrays["part_mask"].astype(bool)                                    # (T, 4)
    has_pose = pm[:, _PM_POSE]
    part_valid = np.stack([has_pose, pm[:, _PM_RIGHT] & has_pose, pm[:, _PM_LEFT] & has_pose,
                           pm[:, _PM_FACE] & has_pose], axis=1)              # (T, 4)
    return joints, part_valid
