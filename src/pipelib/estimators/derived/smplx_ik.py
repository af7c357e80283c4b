"""``smplerx_from_holistic``: SMPL-X axis-angle pose by simple inverse kinematics on Holistic landmarks.

An approximation, not SMPLer-X. Layout (165 = 55 joints x axis-angle, radians): global_orient 3,
body 63 (SMPL-X joints 1-21 in SMPL-X order), left hand 45, right hand 45 (index, middle, pinky, ring,
thumb; 3 joints each), jaw 3, left eye 3, right eye 3.

Frame: SMPL-X's canonical frame (x = the person's left, y = up, z = forward), obtained from
MediaPipe's camera-aligned axes (x right, y down, z away) by flipping y and z. So an upright signer
facing the camera has global_orient ~ 0 (SMPLer-X expresses it in the camera frame instead, a fixed
180 degree turn about x away; we avoid that to keep the vector far from the +-pi wrap).

Rest pose: the T-pose with axis-aligned bones (arms along +-x, spine and neck along +y, palms down,
fingers straight along the forearm, each thumb pointing 45 degrees forward between the finger axis and
+z). Each joint's local rotation is the shortest-arc *swing* turning its rest bone direction into the
observed one, expressed in the parent's frame (parents composed down the chain), except:

* global_orient: the torso frame (x = mean of the shoulder and hip lines, y = mid-hip -> mid-shoulder);
  spine1-3 are zero (the torso bend is in global_orient).
* collars: swing from +-x to the neck -> shoulder direction (non-zero when the shoulders tilt against
  the hips).
* neck and head: the head frame (ear line, eyes forward) relative to spine3, split evenly in two.
* wrists: the full hand frame (wrist -> middle MCP, pinky MCP -> index MCP) relative to the forearm,
  so forearm roll lands on the wrist. Hand joints and the wrist are zero when the hand is absent.
* jaw: rotation about +x by 0.5 x (inner-lip gap / mouth width) rad, capped at 0.5; zero without face.
* legs, hips, eyes: zero (not observed).

Bones come from ``pose_world`` (metres) for the body and from the 2D hand / face landmarks with
MediaPipe's relative z, scaled to pixels (x W, y H, z W) for the hands. mask = pose detected.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelib.estimators.derived import FromHolistic, HolisticArrays, holistic_arrays
from pipelib.estimators.landmarks import FINGER_CHAINS, HAND, POSE
from pipelib.estimators.rotations import axis_angle_to_matrix, matrix_to_axis_angle

N_JOINTS = 55
#: SMPL-X joint index by name (pelvis = 0 is global_orient).
SMPLX_JOINTS: dict[str, int] = {
    "pelvis": 0, "left_hip": 1, "right_hip": 2, "spine1": 3, "left_knee": 4, "right_knee": 5,
    "spine2": 6, "left_ankle": 7, "right_ankle": 8, "spine3": 9, "left_foot": 10, "right_foot": 11,
    "neck": 12, "left_collar": 13, "right_collar": 14, "head": 15, "left_shoulder": 16,
    "right_shoulder": 17, "left_elbow": 18, "right_elbow": 19, "left_wrist": 20, "right_wrist": 21,
    "jaw": 22, "left_eye": 23, "right_eye": 24,
}
#: SMPL-X finger order within each hand block of 15 joints.
SMPLX_FINGERS: tuple[str, ...] = ("index", "middle", "pinky", "ring", "thumb")
LEFT_HAND_START, RIGHT_HAND_START = 25, 40
#: SMPL-X joint ids in the order of the slot's 55 x 3 features: pelvis and body 0-21, left hand
#: 25-39, right hand 40-54, then jaw 22, left eye 23, right eye 24.
FEATURE_ORDER: tuple[int, ...] = (*range(22), *range(25, 55), 22, 23, 24)

_FLIP = np.array([1.0, -1.0, -1.0])  # MediaPipe camera axes -> SMPL-X canonical axes
_X, _Y, _Z = np.eye(3)
JAW_GAIN, JAW_MAX = 0.5, 0.5          # rad per unit (lip gap / mouth width); cap in rad
_EPS = 1e-9


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > _EPS, v / np.maximum(n, _EPS), 0.0)


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc rotations (..., 3, 3) turning directions a into b, both (..., 3).

    Identity where either vector is (near) zero; a half turn about an axis normal to a when b = -a.
    """
    a, b = _unit(np.asarray(a, np.float64)), _unit(np.asarray(b, np.float64))
    a, b = np.broadcast_arrays(a, b)
    ok = (np.linalg.norm(a, axis=-1) > 0.5) & (np.linalg.norm(b, axis=-1) > 0.5)
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1)
    cos = np.sum(a * b, axis=-1)
    # antiparallel: any axis normal to a (cross with the least-aligned basis vector)
    helper = np.eye(3)[np.argmin(np.abs(a), axis=-1)]
    normal = _unit(np.cross(a, helper))
    axis = np.where((sin < 1e-9)[..., None], normal, axis / np.maximum(sin, _EPS)[..., None])
    angle = np.where(ok, np.arctan2(sin, cos), 0.0)
    return axis_angle_to_matrix(axis * angle[..., None])


def frame_from(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Right-handed frames (..., 3, 3) with columns (p, s', p x s'): p along ``primary``, s' the part of
    ``secondary`` normal to it. Identity where either is degenerate."""
    p = _unit(primary)
    s = _unit(secondary - np.sum(secondary * p, axis=-1, keepdims=True) * p)
    r = np.stack([p, s, np.cross(p, s)], axis=-1)
    ok = (np.linalg.norm(p, axis=-1) > 0.5) & (np.linalg.norm(s, axis=-1) > 0.5)
    return np.where(ok[..., None, None], r, np.eye(3))


def _tr(r: np.ndarray) -> np.ndarray:
    return np.swapaxes(r, -1, -2)


def solve_hand(points: np.ndarray, parent: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Wrist and finger rotations of one hand.

    points (T, 21, 3) in the SMPL-X frame (any consistent unit); parent (T, 3, 3) global rotation of the
    elbow; side "left" or "right". Returns the wrist local rotation (T, 3, 3) and the 15 finger joints'
    local rotations (T, 15, 3, 3) in SMPL-X finger order.
    """
    along = _X if side == "left" else -_X                          # rest finger direction
    rest_frame = frame_from(along, _Z)                              # (3, 3) palm down, thumb forward
    wrist = points[:, HAND["wrist"]]
    hand_frame = frame_from(points[:, HAND["middle_mcp"]] - wrist,
                            points[:, HAND["index_mcp"]] - points[:, HAND["pinky_mcp"]])  # (T, 3, 3)
    hand_global = hand_frame @ _tr(rest_frame)
    wrist_local = _tr(parent) @ hand_global
    fingers = np.zeros((points.shape[0], 15, 3, 3))
    for k, name in enumerate(SMPLX_FINGERS):
        chain = FINGER_CHAINS[name]
        rest = _unit(along + _Z) if name == "thumb" else along
        glob = hand_global
        for j in range(3):
            bone = points[:, chain[j + 1]] - points[:, chain[j]]       # (T, 3)
            local = swing(rest, np.einsum("tji,tj->ti", glob, bone))   # rest -> bone in parent frame
            fingers[:, 3 * k + j] = local
            glob = glob @ local
    return wrist_local, fingers


def solve_body(world: np.ndarray) -> dict[str, np.ndarray]:
    """Upper-body rotations from pose_world (T, 33, 3) already in the SMPL-X frame.

    Returns {joint name: (T, 3, 3)} global_orient as "pelvis", local rotations otherwise, plus
    "left_elbow_global" / "right_elbow_global" for the hands.
    """
    p = {name: world[:, POSE[name]] for name in (
        "left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_ear", "right_ear", "left_eye", "right_eye")}
    neck = 0.5 * (p["left_shoulder"] + p["right_shoulder"])
    mid_hip = 0.5 * (p["left_hip"] + p["right_hip"])
    across = _unit(p["left_shoulder"] - p["right_shoulder"]) + _unit(p["left_hip"] - p["right_hip"])
    root = frame_from(across, neck - mid_hip)       # columns x, y, z; the rest frame is the identity
    out: dict[str, np.ndarray] = {"pelvis": root}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        rest = sign * _X
        parent = root                                                # spine1-3 are identity
        for joint, bone in (
            ("collar", p[f"{side}_shoulder"] - neck),
            ("shoulder", p[f"{side}_elbow"] - p[f"{side}_shoulder"]),
            ("elbow", p[f"{side}_wrist"] - p[f"{side}_elbow"]),
        ):
            local = swing(rest, np.einsum("tji,tj->ti", parent, bone))
            out[f"{side}_{joint}"] = local
            parent = parent @ local
        out[f"{side}_elbow_global"] = parent
    mid_ear = 0.5 * (p["left_ear"] + p["right_ear"])
    ear_line = p["left_ear"] - p["right_ear"]
    forward = 0.5 * (p["left_eye"] + p["right_eye"]) - mid_ear
    head = frame_from(ear_line, np.cross(forward, ear_line))        # columns: left, up, forward
    half = 0.5 * matrix_to_axis_angle(_tr(root) @ head)             # (T, 3)
    out["neck"] = out["head"] = axis_angle_to_matrix(half)
    return out


def jaw_angle(face_px: np.ndarray) -> np.ndarray:
    """Jaw opening (T,) rad from FaceMesh pixels (T, 468, 3): JAW_GAIN * inner-lip gap / mouth width."""
    gap = np.linalg.norm(face_px[:, 13, :2] - face_px[:, 14, :2], axis=-1)
    width = np.linalg.norm(face_px[:, 78, :2] - face_px[:, 308, :2], axis=-1)
    return np.clip(JAW_GAIN * gap / np.maximum(width, _EPS), 0.0, JAW_MAX)


def solve(h: HolisticArrays) -> np.ndarray:
    """SMPL-X axis-angle (T, 55, 3) float64 in SMPL-X joint order (zeros on frames without a pose)."""
    t = h.n_frames
    rots = np.broadcast_to(np.eye(3), (t, N_JOINTS, 3, 3)).copy()
    body = solve_body(h.pose_world * _FLIP)
    for name, r in body.items():
        if name in SMPLX_JOINTS:
            rots[:, SMPLX_JOINTS[name]] = r
    scale = h.pixel_scale() * _FLIP
    for side, start, pts, present in (("left", LEFT_HAND_START, h.left_hand, h.has_left),
                                      ("right", RIGHT_HAND_START, h.right_hand, h.has_right)):
        wrist, fingers = solve_hand(pts * scale, body[f"{side}_elbow_global"], side)
        rots[present, SMPLX_JOINTS[f"{side}_wrist"]] = wrist[present]
        rots[present, start:start + 15] = fingers[present]
    aa = matrix_to_axis_angle(rots)                                 # (T, 55, 3)
    aa[:, SMPLX_JOINTS["jaw"]] = np.where(h.has_face, jaw_angle(h.face * h.pixel_scale()), 0.0)[:, None] * _X
    aa[~h.has_pose] = 0.0
    return aa


class SmplxFromHolistic(FromHolistic):
    """SMPLer-X slot (165) from Holistic landmarks by swing inverse kinematics; mask = pose detected."""

    slot = "smplerx"
    backend = "smplerx_from_holistic"
    method = ("SMPL-X axis-angle by shortest-arc inverse kinematics on MediaPipe pose_world (upper body), "
              "hand landmarks (wrist frame, 15 finger joints each) and lip gap (jaw); legs and eyes zero")

    def process_video(self, holistic: Any) -> tuple[np.ndarray, np.ndarray]:
        """Features (T, 165) float32 and mask (T,) bool from a MediaPipe-shard ``VideoArrays``."""
        h = holistic_arrays(holistic, need_image_size=True)
        aa = solve(h)[:, list(FEATURE_ORDER)]                          # (T, 55, 3) in slot order
        return aa.reshape(h.n_frames, -1).astype(np.float32), h.has_pose.copy()
