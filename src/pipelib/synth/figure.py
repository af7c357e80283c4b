"""Articulator vector + appearance -> 2D positions of every drawn part of the cartoon signer.

Image convention: x to the right, y down, pixels of the output frame (210x260 by default), pixel
centres at integer coordinates. The signer faces the camera, so the signer's RIGHT side (right
shoulder, right hand, right eye) appears on the image's LEFT. Keypoint names always use the
signer's own side, as MediaPipe's pose names do for an unmirrored frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelib.synth.appearance import Appearance
from pipelib.synth.articulators import FINGERS, HANDS, INDEX

HAND_POINTS: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    *(f"{f}_{j}" for f in FINGERS[1:] for j in ("mcp", "pip", "dip", "tip")),
)
"""The 21 hand points in MediaPipe's hand-landmark order."""

BODY_POINTS: tuple[str, ...] = (
    "nose", "right_eye", "left_eye", "right_brow", "left_brow", "mouth_right", "mouth_left",
    "upper_lip", "lower_lip", "chin", "neck",
    "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
)

KEYPOINT_NAMES: tuple[str, ...] = (
    *BODY_POINTS, *(f"{h}_hand_{p}" for h in HANDS for p in HAND_POINTS),
)
"""Names of the ground-truth keypoints, in the order of the (K, 2) arrays."""

_SIDE = {"right": -1.0, "left": 1.0}  # image-x direction of each hand's own side
_FINGER_LEN = {"index": 0.95, "middle": 1.0, "ring": 0.93, "pinky": 0.76}
_FINGER_BASE = {"index": 0.36, "middle": 0.12, "ring": -0.12, "pinky": -0.35}  # along v, x palm_w
_FINGER_FAN = {"index": 1.5, "middle": 0.5, "ring": -0.5, "pinky": -1.5}
_SEGMENTS = (0.45, 0.30, 0.25)
_JOINT_BEND = (1.35, 1.7, 1.0)  # radians at curl 1 (MCP, PIP, DIP)


@dataclass
class HandShape:
    """One drawn hand: palm outline (N, 2) and the points of each finger chain (4, 2)."""

    palm: np.ndarray
    fingers: dict[str, np.ndarray]


@dataclass
class Figure:
    """Every position needed to draw one frame and to write its ground-truth keypoints."""

    points: dict[str, np.ndarray]  # name -> (2,) pixels
    head_centre: np.ndarray  # (2,)
    head_axes: tuple[float, float]
    head_roll: float  # radians
    mouth_half: tuple[float, float]  # half width, half opening height (pixels)
    brow_ends: dict[str, np.ndarray]  # "right"/"left" -> (2, 2) inner, outer
    hands: dict[str, HandShape]

    def keypoints(self) -> np.ndarray:
        """Ground-truth keypoints (K, 2) float32 pixels in :data:`KEYPOINT_NAMES` order."""
        return np.stack([self.points[n] for n in KEYPOINT_NAMES]).astype(np.float32)


def _rot(vec: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * vec[0] - s * vec[1], s * vec[0] + c * vec[1]])


def _hand(wrist: np.ndarray, u: np.ndarray, v: np.ndarray, curls: np.ndarray, spread: float,
          look: Appearance) -> tuple[HandShape, dict[str, np.ndarray]]:
    """Palm and finger geometry for a wrist position, finger direction u and thumb side v."""
    pw, pl, fl = look.palm_w, look.palm_l, look.finger_len
    palm = np.stack([
        wrist + 0.36 * pw * v, wrist + 0.52 * pw * v + 0.5 * pl * u, wrist + 0.46 * pw * v + pl * u,
        wrist + 0.12 * pw * v + 1.04 * pl * u, wrist - 0.2 * pw * v + 1.0 * pl * u,
        wrist - 0.46 * pw * v + 0.9 * pl * u, wrist - 0.5 * pw * v + 0.45 * pl * u,
        wrist - 0.36 * pw * v,
    ])
    pts: dict[str, np.ndarray] = {"wrist": wrist}
    fingers: dict[str, np.ndarray] = {}
    for fi, name in enumerate(FINGERS[1:], start=1):
        base = wrist + _FINGER_BASE[name] * pw * v + (1.0 - 0.1 * (name == "pinky")) * pl * u
        direction = _rot(u, _side_angle(u, v) * _FINGER_FAN[name] * (0.05 + 0.14 * spread))
        length = _FINGER_LEN[name] * fl
        chain = [base]
        angle = 0.0
        for seg, bend in zip(_SEGMENTS, _JOINT_BEND, strict=True):
            angle += bend * float(curls[fi])
            chain.append(chain[-1] + direction * (seg * length * np.cos(angle)))
        fingers[name] = np.stack(chain)
        for j, joint in enumerate(("mcp", "pip", "dip", "tip")):
            pts[f"{name}_{joint}"] = chain[j]
    c = float(curls[0])
    cmc = wrist + 0.3 * pw * v + 0.12 * pl * u
    angle = 0.8 + 0.3 * spread - 1.9 * c  # from u towards v
    tl = 0.8 * fl * (1.0 - 0.3 * c)
    chain = [cmc]
    for i, seg in enumerate((0.4, 0.33, 0.27)):
        a = angle - i * (0.15 + 0.35 * c)
        d = np.cos(a) * u + np.sin(a) * v
        chain.append(chain[-1] + d * seg * tl)
    fingers["thumb"] = np.stack(chain)
    for j, joint in enumerate(("cmc", "mcp", "ip", "tip")):
        pts[f"thumb_{joint}"] = chain[j]
    return HandShape(palm=palm, fingers=fingers), pts


def _side_angle(u: np.ndarray, v: np.ndarray) -> float:
    """+1 when v is u turned clockwise on screen (y down), else -1: fixes the fan direction."""
    return 1.0 if u[0] * v[1] - u[1] * v[0] > 0 else -1.0


def _elbow(shoulder: np.ndarray, wrist: np.ndarray, side: float, look: Appearance) -> np.ndarray:
    """Elbow by 3D two-link IK with the wrist pushed forward (towards the camera), projected."""
    a, b = look.upper_arm, look.forearm
    d = wrist - shoulder
    d2 = float(np.hypot(*d))
    reach = a + b
    if d2 >= 0.995 * reach:
        return shoulder + d * (a / reach)
    d3 = max(d2, 0.72 * reach)
    w3 = np.array([d[0], d[1], np.sqrt(max(d3 * d3 - d2 * d2, 0.0))])
    w_hat = w3 / d3
    cos_a = np.clip((a * a + d3 * d3 - b * b) / (2 * a * d3), -1.0, 1.0)
    alpha = float(np.arccos(cos_a))
    pref = np.array([0.45 * side, 1.0, -0.25])
    perp = pref - pref.dot(w_hat) * w_hat
    perp /= max(float(np.linalg.norm(perp)), 1e-9)
    e3 = a * np.cos(alpha) * w_hat + a * np.sin(alpha) * perp
    return shoulder + e3[:2]


def pose_figure(params: np.ndarray, look: Appearance, width: int = 210, height: int = 260) -> Figure:
    """Positions of every part for one articulator vector ``params`` (P,) and appearance ``look``."""
    cx = width / 2.0
    sy, hu, sh = look.shoulder_y, look.head_unit, look.shoulder_half
    rx, ry = look.head_rx, look.head_ry
    pts: dict[str, np.ndarray] = {}

    # Face, built upright around the neck pivot, then rolled.
    nod = params[INDEX["head_nod"]] * ry * 0.1
    roll = float(params[INDEX["head_roll"]])
    pivot = np.array([cx, sy - look.neck_len])
    head_c = np.array([cx, sy - look.neck_len - ry + nod])
    eye_y = head_c[1] - 0.05 * ry
    brows = float(params[INDEX["brows"]])
    brow_y = eye_y - 0.3 * ry - max(brows, 0.0) * 0.1 * ry
    furrow = max(-brows, 0.0) * 0.1 * ry
    m_open, m_round, m_spread = (float(params[INDEX[k]]) for k in ("mouth_open", "mouth_round",
                                                                    "mouth_spread"))
    mouth_c = np.array([cx, head_c[1] + 0.55 * ry])
    half_w = 0.3 * rx * (1.0 + 0.35 * m_spread - 0.35 * m_round)
    half_h = 0.02 * ry + 0.15 * ry * m_open + 0.05 * ry * m_round
    lip = 0.05 * ry
    face = {
        "nose": np.array([cx, head_c[1] + 0.27 * ry]),
        "right_eye": np.array([cx - 0.38 * rx, eye_y]),
        "left_eye": np.array([cx + 0.38 * rx, eye_y]),
        "right_brow": np.array([cx - 0.38 * rx, brow_y + 0.5 * furrow]),
        "left_brow": np.array([cx + 0.38 * rx, brow_y + 0.5 * furrow]),
        "mouth_right": mouth_c - [half_w, 0.0],
        "mouth_left": mouth_c + [half_w, 0.0],
        "upper_lip": mouth_c - [0.0, half_h + lip],
        "lower_lip": mouth_c + [0.0, half_h + lip],
        "chin": np.array([cx, head_c[1] + ry]),
    }
    brow_ends = {
        "right": np.array([[cx - 0.14 * rx, brow_y + furrow], [cx - 0.62 * rx, brow_y + 0.04 * ry]]),
        "left": np.array([[cx + 0.14 * rx, brow_y + furrow], [cx + 0.62 * rx, brow_y + 0.04 * ry]]),
    }
    for k, p in face.items():
        pts[k] = pivot + _rot(p - pivot, roll)
    for k, ends in brow_ends.items():
        brow_ends[k] = np.stack([pivot + _rot(p - pivot, roll) for p in ends])
    head_centre = pivot + _rot(head_c - pivot, roll)
    pts["neck"] = np.array([cx, sy])

    hands: dict[str, HandShape] = {}
    margin = 3.0
    for hand in HANDS:
        side = _SIDE[hand]
        o = INDEX[f"{hand}_x"]
        x, y, rot = params[o], params[o + 1], params[o + 2]
        curls = params[o + 3:o + 8]
        spread = float(params[o + 8])
        wrist = np.array([cx + side * x * sh, sy + y * hu])
        u = np.array([side * np.sin(rot), -np.cos(rot)])
        v = side * np.array([u[1], -u[0]])
        shape, hp = _hand(wrist, u, v, curls, spread, look)
        allp = np.concatenate([shape.palm, *shape.fingers.values()])
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        limit = np.array([width - 1.0, height - 1.0])
        shift = np.maximum(margin - lo, 0.0) - np.maximum(hi - (limit - margin), 0.0)
        if np.any(shift != 0.0):
            shape = HandShape(palm=shape.palm + shift,
                              fingers={k: c + shift for k, c in shape.fingers.items()})
            hp = {k: p + shift for k, p in hp.items()}
        hands[hand] = shape
        shoulder = np.array([cx + side * sh, sy])
        pts[f"{hand}_shoulder"] = shoulder
        pts[f"{hand}_wrist"] = hp["wrist"]
        pts[f"{hand}_elbow"] = _elbow(shoulder, hp["wrist"], side, look)
        for k, p in hp.items():
            pts[f"{hand}_hand_{k}"] = p
    return Figure(points=pts, head_centre=head_centre, head_axes=(rx, ry), head_roll=roll,
                  mouth_half=(half_w, half_h), brow_ends=brow_ends, hands=hands)
