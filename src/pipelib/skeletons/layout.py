"""The 178-keypoint SLRTP skeleton: slot ranges and the MediaPipe Holistic landmark behind each slot."""

from __future__ import annotations

from pipelib.estimators.landmarks import FACEMESH_CONTOUR_INDICES, HAND_NAMES, POSE

N_JOINTS = 178
N_VALUES = N_JOINTS * 3  # 534 values per frame, the layout the SLRTP evaluator flattens

BODY = slice(0, 8)
RIGHT_HAND = slice(8, 29)
LEFT_HAND = slice(29, 50)
FACE = slice(50, 178)

#: Skeleton parts in slot order; ``PART_SLICES[i]`` are the slots of part ``PARTS[i]``.
PARTS: tuple[str, ...] = ("body", "right_hand", "left_hand", "face")
PART_SLICES: tuple[slice, ...] = (BODY, RIGHT_HAND, LEFT_HAND, FACE)

#: Slots 0-7: RShoulder, RElbow, RWrist, LShoulder, LElbow, LWrist, RHip, LHip (the person's sides).
BODY_NAMES: tuple[str, ...] = (
    "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "left_hip",
)
#: MediaPipe pose index of each body slot: (12, 14, 16, 11, 13, 15, 24, 23).
BODY_FROM_POSE: tuple[int, ...] = tuple(POSE[name] for name in BODY_NAMES)

R_SHOULDER, L_SHOULDER = 0, 3  # body slots the normalisation uses

#: FaceMesh index of each face slot 50-177: the 128 ``FACEMESH_CONTOURS`` indices in ascending order.
#: SLRTP does not publish its own face slot order, so this order is ours.
FACE_FROM_MESH: tuple[int, ...] = FACEMESH_CONTOUR_INDICES

#: One name per slot, e.g. ``right_shoulder``, ``right_hand.thumb_tip``, ``face.0`` (FaceMesh index).
JOINT_NAMES: tuple[str, ...] = (
    BODY_NAMES
    + tuple(f"right_hand.{n}" for n in HAND_NAMES)
    + tuple(f"left_hand.{n}" for n in HAND_NAMES)
    + tuple(f"face.{i}" for i in FACE_FROM_MESH)
)

assert len(BODY_FROM_POSE) == BODY.stop and len(FACE_FROM_MESH) == FACE.stop - FACE.start
assert len(JOINT_NAMES) == N_JOINTS
