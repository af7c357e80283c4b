"""Top-down crop for the DWPose SimCC pose model and decoding of its two 1-D classification outputs.

The person box is padded by 1.25, widened or heightened to the model's aspect ratio (288 x 384 -> 3:4)
and warped (no rotation) so that its centre lands at the crop centre. The model returns, per keypoint,
``simcc_x`` (N, K, 2 * 288) and ``simcc_y`` (N, K, 2 * 384): bin ``i`` is crop pixel ``i / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipelib.estimators.imaging import channels_first

INPUT_SIZE = (288, 384)  # (w, h)
BOX_PADDING = 1.25
SPLIT_RATIO = 2.0
MEAN_RGB = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD_RGB = np.array([58.395, 57.12, 57.375], dtype=np.float32)
SCORE_MODES = ("min", "mean")


@dataclass(frozen=True)
class CropTransform:
    """Axis-aligned map between frame pixels and crop pixels.

    ``centre`` (2,) frame px; ``size`` (2,) = (w, h) frame px covered by the crop, already at the crop's
    aspect ratio; ``input_size`` = (w, h) crop px. crop = (frame - centre) * scale + input_size / 2.
    """

    centre: np.ndarray
    size: np.ndarray
    input_size: tuple[int, int] = INPUT_SIZE

    @property
    def scale(self) -> float:
        """Crop px per frame px (the same on both axes)."""
        return float(self.input_size[0] / self.size[0])

    def matrix(self) -> np.ndarray:
        """(2, 3) float64 affine matrix frame -> crop, as ``cv2.warpAffine`` takes it."""
        s = self.scale
        half = np.asarray(self.input_size, dtype=np.float64) / 2
        return np.array([[s, 0.0, half[0] - s * self.centre[0]],
                         [0.0, s, half[1] - s * self.centre[1]]])

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) crop px -> frame px."""
        half = np.asarray(self.input_size, dtype=np.float64) / 2
        return (np.asarray(points, dtype=np.float64) - half) / self.scale + self.centre

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) frame px -> crop px."""
        half = np.asarray(self.input_size, dtype=np.float64) / 2
        return (np.asarray(points, dtype=np.float64) - self.centre) * self.scale + half


def crop_transform(
    box_xyxy: np.ndarray, input_size: tuple[int, int] = INPUT_SIZE, padding: float = BOX_PADDING
) -> CropTransform:
    """The crop of a (4,) xyxy frame-px box: centred on it, ``padding`` x its size, at the input aspect."""
    x1, y1, x2, y2 = np.asarray(box_xyxy, dtype=np.float64)
    centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    w, h = (x2 - x1) * padding, (y2 - y1) * padding
    aspect = input_size[0] / input_size[1]
    size = np.array([w, w / aspect]) if w > h * aspect else np.array([h * aspect, h])
    if not np.all(size > 0):
        raise ValueError(f"degenerate person box {box_xyxy}")
    return CropTransform(centre=centre, size=size, input_size=input_size)


def crop(image: np.ndarray, transform: CropTransform) -> np.ndarray:
    """Warp (H, W, 3) into the (h, w, 3) crop, bilinear, black outside the frame."""
    return cv2.warpAffine(image, transform.matrix(), transform.input_size, flags=cv2.INTER_LINEAR)


def normalise(crop_rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) RGB crop -> (1, 3, h, w) float32 with the ImageNet mean/std of the pose model."""
    return channels_first(crop_rgb, MEAN_RGB, STD_RGB)


def decode(
    simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float = SPLIT_RATIO, score_mode: str = "min"
) -> tuple[np.ndarray, np.ndarray]:
    """Argmax decoding: (N, K, Wx), (N, K, Wy) -> locations (N, K, 2) crop px, scores (N, K).

    Location = argmax bin / ``split_ratio``. Score = ``min`` (DWPose) or ``mean`` (newer rtmlib) of the
    two maxima; raw model values, not clipped.
    """
    if score_mode not in SCORE_MODES:
        raise ValueError(f"score_mode {score_mode!r}: choose one of {SCORE_MODES}")
    sx, sy = np.asarray(simcc_x), np.asarray(simcc_y)
    locs = np.stack([sx.argmax(axis=-1), sy.argmax(axis=-1)], axis=-1) / split_ratio  # (N, K, 2)
    mx, my = sx.max(axis=-1), sy.max(axis=-1)  # (N, K)
    scores = np.minimum(mx, my) if score_mode == "min" else (mx + my) / 2
    return locs.astype(np.float64), scores.astype(np.float64)
