"""MediaPipe Holistic landmark indices and the remapping tables built on them.

Conventions (MediaPipe's): "left"/"right" are the *person's* sides, so for a signer facing the
camera the left-side landmarks appear on the image's right. The same holds for OpenPose/DWPose,
COCO-WholeBody, SMPL-X and Sapiens, so no table below swaps sides.
"""

from __future__ import annotations

#: The 33 BlazePose landmarks, in MediaPipe's index order.
POSE_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
POSE: dict[str, int] = {name: i for i, name in enumerate(POSE_NAMES)}

#: The 21 hand landmarks: wrist, then thumb, index, middle, ring, pinky, each from base to tip.
HAND_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)
HAND: dict[str, int] = {name: i for i, name in enumerate(HAND_NAMES)}

#: Hand landmark chains base -> tip per finger (4 landmarks each), thumb first.
FINGER_CHAINS: dict[str, tuple[int, int, int, int]] = {
    "thumb": (1, 2, 3, 4),
    "index": (5, 6, 7, 8),
    "middle": (9, 10, 11, 12),
    "ring": (13, 14, 15, 16),
    "pinky": (17, 18, 19, 20),
}

N_POSE, N_HAND, N_FACE = 33, 21, 468

#: The 128 unique FaceMesh indices of MediaPipe's ``FACEMESH_CONTOURS`` (lips 40, both eyes 2 x 16,
#: both brows 2 x 10, face oval 36), ascending: the face points of the 178-keypoint SLRTP skeleton.
FACEMESH_CONTOUR_INDICES: tuple[int, ...] = (
    0, 7, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78,
    80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148,
    149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 172, 173, 176, 178, 181, 185,
    191, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296,
    297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362,
    365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398,
    400, 402, 405, 409, 415, 454, 466,
)

#: The face oval as a closed loop, starting at the top of the forehead (10) and running over the
#: person's left side (image right for a frontal face) down to the chin (152) and back up.
FACE_OVAL_LOOP: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)

#: FaceMesh-468 index of each of the 68 iBUG-300W / dlib face points, in iBUG order. The 68-point
#: scheme numbers from the image's left for a frontal face, i.e. from the person's *right* side.
#: Points were chosen along MediaPipe's own contours (FACEMESH_FACE_OVAL, _RIGHT/_LEFT_EYEBROW,
#: _RIGHT/_LEFT_EYE, _NOSE, _LIPS) by even arc length between the iBUG anchor points, checked on a
#: frontal mesh; every right-side point's mirror partner is the matching left-side mesh index.
FACEMESH_TO_68: tuple[int, ...] = (
    # 0-16 jaw line: person's right temple at eye height (127) down the oval to the chin (152),
    # then up the left side to the left temple (356).
    127, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 356,
    # 17-21 right brow, outer -> inner, along its upper edge.
    70, 63, 105, 66, 107,
    # 22-26 left brow, inner -> outer, along its upper edge.
    336, 296, 334, 293, 300,
    # 27-30 nose bridge, root between the brows (168) -> tip (1).
    168, 197, 5, 1,
    # 31-35 lower nose, right alar base -> subnasale (2) -> left alar base.
    98, 97, 2, 326, 327,
    # 36-41 right eye: outer corner (33), two upper-lid points, inner corner (133), two lower-lid.
    33, 160, 158, 133, 153, 144,
    # 42-47 left eye: inner corner (362), two upper-lid points, outer corner (263), two lower-lid.
    362, 385, 387, 263, 373, 380,
    # 48-59 outer lips: right corner (61), upper lip to the left corner (291), lower lip back.
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,
    # 60-67 inner lips: right inner corner (78), upper inner lip, left inner corner (308), lower.
    78, 80, 13, 310, 308, 318, 14, 88,
)

#: MediaPipe pose index of each OpenPose-18 body point (DWPose's body order); the neck (1) has no
#: landmark of its own and is the mid-point of the shoulders (11, 12), marked -1 here.
OPENPOSE18_FROM_POSE: tuple[int, ...] = (
    0,    # 0 nose
    -1,   # 1 neck = mean(left_shoulder, right_shoulder)
    12,   # 2 right shoulder
    14,   # 3 right elbow
    16,   # 4 right wrist
    11,   # 5 left shoulder
    13,   # 6 left elbow
    15,   # 7 left wrist
    24,   # 8 right hip
    26,   # 9 right knee
    28,   # 10 right ankle
    23,   # 11 left hip
    25,   # 12 left knee
    27,   # 13 left ankle
    5,    # 14 right eye
    2,    # 15 left eye
    8,    # 16 right ear
    7,    # 17 left ear
)
