"""Draw a :class:`~pipelib.synth.figure.Figure` with OpenCV: one (H, W, 3) uint8 BGR frame.

Drawing happens at ``scale`` times the output size with anti-aliased primitives and is reduced
with INTER_AREA, so thin parts (fingers, brows) keep sub-pixel placement in the 210x260 frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipelib.synth.appearance import Appearance, Colour
from pipelib.synth.figure import Figure

_SHIFT = 4  # fixed-point bits for OpenCV's sub-pixel drawing
_AA = cv2.LINE_AA


class _Canvas:
    """A high-resolution canvas addressed in output-pixel coordinates."""

    def __init__(self, width: int, height: int, scale: int, background: Colour) -> None:
        self.scale = scale
        self.img = np.empty((height * scale, width * scale, 3), dtype=np.uint8)
        row = np.empty((width * scale, 3), dtype=np.uint8)
        row[:] = np.asarray(background, dtype=np.uint8)
        np.copyto(self.img, row[None])  # ~100x faster than broadcasting a colour over the image

    def p(self, xy: np.ndarray) -> tuple[int, int]:
        """Output-pixel coordinate -> fixed-point canvas coordinate (pixel centres kept aligned)."""
        q = ((np.asarray(xy, dtype=np.float64) + 0.5) * self.scale - 0.5) * (1 << _SHIFT)
        return int(round(q[0])), int(round(q[1]))

    def pts(self, xy: np.ndarray) -> np.ndarray:
        q = ((np.asarray(xy, dtype=np.float64) + 0.5) * self.scale - 0.5) * (1 << _SHIFT)
        return np.round(q).astype(np.int32).reshape(-1, 1, 2)

    def r(self, length: float) -> int:
        return int(round(length * self.scale * (1 << _SHIFT)))

    def t(self, thickness: float) -> int:
        return max(1, int(round(thickness * self.scale)))

    def line(self, a: np.ndarray, b: np.ndarray, colour: Colour, thickness: float) -> None:
        cv2.line(self.img, self.p(a), self.p(b), colour, self.t(thickness), _AA, _SHIFT)

    def polyline(self, xy: np.ndarray, colour: Colour, thickness: float, closed: bool = False) -> None:
        cv2.polylines(self.img, [self.pts(xy)], closed, colour, self.t(thickness), _AA, _SHIFT)

    def poly(self, xy: np.ndarray, colour: Colour) -> None:
        cv2.fillPoly(self.img, [self.pts(xy)], colour, _AA, _SHIFT)

    def ellipse(self, centre: np.ndarray, axes: tuple[float, float], angle_deg: float,
                colour: Colour, thickness: float = -1.0) -> None:
        th = -1 if thickness < 0 else self.t(thickness)
        cv2.ellipse(self.img, self.p(centre), (self.r(axes[0]), self.r(axes[1])), angle_deg, 0, 360,
                    colour, th, _AA, _SHIFT)

    def disc(self, centre: np.ndarray, radius: float, colour: Colour) -> None:
        cv2.circle(self.img, self.p(centre), self.r(radius), colour, -1, _AA, _SHIFT)


def _shade(colour: Colour, f: float) -> Colour:
    return tuple(int(np.clip(c * f, 0, 255)) for c in colour)  # type: ignore[return-value]


def _lips(skin: Colour) -> Colour:
    b, g, r = skin
    return (int(b * 0.55), int(g * 0.5), int(min(255, r * 0.85)))


def _draw_head(cv: _Canvas, fig: Figure, look: Appearance) -> None:
    rx, ry = fig.head_axes
    c = fig.head_centre
    roll = fig.head_roll
    deg = float(np.degrees(roll))
    up = np.array([np.sin(roll), -np.cos(roll)])  # head's up direction on screen
    right = np.array([np.cos(roll), np.sin(roll)])
    if look.hair_style == 2:  # fuller hair: wider behind the top half of the head
        cv.ellipse(c + 0.3 * ry * up, (rx * 1.12, ry * 0.8), deg, look.hair)
    for s in (-1.0, 1.0):
        cv.ellipse(c + s * rx * 0.97 * right + 0.05 * ry * (-up), (rx * 0.16, ry * 0.22), deg,
                   _shade(look.skin, 0.85))
    cv.ellipse(c, (rx, ry), deg, look.skin)
    # Hair: a cap over the top of the head.
    cap_c = c + up * (0.42 * ry)
    cv.ellipse(cap_c, (rx * 1.03, ry * 0.62), deg, look.hair)
    cv.ellipse(c + up * 0.02 * ry, (rx * 0.95, ry * 0.78), deg, look.skin)
    if look.hair_style == 1:  # a fringe swept to one side, above the brows
        cv.ellipse(c + up * 0.6 * ry - right * 0.3 * rx, (rx * 0.55, ry * 0.17), deg + 12, look.hair)
    ink = (30, 30, 35)
    for side in ("right", "left"):
        eye = fig.points[f"{side}_eye"]
        cv.ellipse(eye, (rx * 0.2, ry * 0.1), deg, (245, 245, 245))
        cv.ellipse(eye, (rx * 0.2, ry * 0.1), deg, ink, 0.6)
        cv.disc(eye, rx * 0.075, ink)
        brow = fig.brow_ends[side]
        cv.line(brow[0], brow[1], look.hair, ry * 0.07)
    nose = fig.points["nose"]
    shade = _shade(look.skin, 0.7)
    cv.line(nose - up * 0.25 * ry, nose, shade, 0.9)
    cv.line(nose - right * 0.1 * rx, nose + right * 0.1 * rx, shade, 1.0)
    mouth = 0.5 * (fig.points["mouth_right"] + fig.points["mouth_left"])
    hw, hh = fig.mouth_half
    lip = 0.05 * ry
    cv.ellipse(mouth, (hw + lip * 0.6, hh + lip), deg, _lips(look.skin))
    cv.ellipse(mouth, (hw * 0.85, max(hh, 0.25)), deg, (40, 30, 70))


def _draw_arm(cv: _Canvas, fig: Figure, hand: str, look: Appearance) -> None:
    s, e, w = (fig.points[f"{hand}_{j}"] for j in ("shoulder", "elbow", "wrist"))
    sleeve_w = look.shoulder_half * 0.3
    cv.line(s, e, look.sleeve, sleeve_w)
    cv.disc(e, sleeve_w * 0.5, look.sleeve)
    arm_w = look.palm_w * 0.55
    outline = _shade(look.skin, 0.62)
    cv.line(e, w, outline, arm_w + 1.2)
    cv.line(e, w, look.skin, arm_w)
    shape = fig.hands[hand]
    cv.poly(shape.palm, look.skin)
    cv.polyline(shape.palm, outline, 0.7, closed=True)
    fw = look.palm_w * 0.2
    for name in ("pinky", "ring", "middle", "index", "thumb"):
        chain = shape.fingers[name]
        width = fw * (1.15 if name == "thumb" else 1.0)
        cv.polyline(chain, outline, width + 1.0)
        cv.polyline(chain, look.skin, width)
        cv.disc(chain[-1], width * 0.5, look.skin)


def draw(fig: Figure, look: Appearance, width: int = 210, height: int = 260, scale: int = 3) -> np.ndarray:
    """Render ``fig`` in ``look`` to a (height, width, 3) uint8 BGR frame."""
    cv = _Canvas(width, height, scale, look.background)
    cx = width / 2.0
    sy, sh = look.shoulder_y, look.shoulder_half
    neck_w = look.head_rx * 0.45
    chin_y = sy - look.neck_len
    # A high collar covers the neck: only face and hands show skin, as in PHOENIX's dark clothing.
    cv.poly(np.array([[cx - neck_w, chin_y - 6], [cx + neck_w, chin_y - 6],
                      [cx + neck_w * 1.2, sy + 4], [cx - neck_w * 1.2, sy + 4]]), _shade(look.shirt, 0.8))
    torso = np.array([
        [cx - 0.5 * sh, sy - 0.16 * sh], [cx - 0.95 * sh, sy - 0.1 * sh], [cx - 1.16 * sh, sy + 0.25 * sh],
        [cx - 1.1 * sh, height + 6.0], [cx + 1.1 * sh, height + 6.0], [cx + 1.16 * sh, sy + 0.25 * sh],
        [cx + 0.95 * sh, sy - 0.1 * sh], [cx + 0.5 * sh, sy - 0.16 * sh],
    ])
    cv.poly(torso, look.shirt)
    _draw_head(cv, fig, look)
    _draw_arm(cv, fig, "left", look)
    _draw_arm(cv, fig, "right", look)
    return cv2.resize(cv.img, (width, height), interpolation=cv2.INTER_AREA)
