"""YOLOX person detector: letterbox pre-processing and box decoding for the two common ONNX exports.

* Raw head (Megvii YOLOX ``yolox_l.onnx``, the file DWPose ships): one output (1, A, 5 + C) of
  per-anchor (dx, dy, log w, log h, objectness, C class scores) on strides 8/16/32; decoded here,
  person = class 0, then NMS.
* End-to-end (mmdeploy / rtmlib ``end2end.onnx``): ``dets`` (1, N, 5) = (x1, y1, x2, y2, score) with NMS
  already applied, optional ``labels`` (1, N).

Both take the frame as raw 0-255 BGR (what YOLOX was trained on), resized keeping its aspect ratio,
placed at the top-left of a ``size`` canvas padded with 114, no mean/std. Boxes come back in the
letterboxed canvas and are divided by the resize ratio to reach frame pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

INPUT_SIZE = (640, 640)  # (h, w)
PAD_VALUE = 114
STRIDES = (8, 16, 32)
PERSON_CLASS = 0


def letterbox(
    image_bgr: np.ndarray, size: tuple[int, int] = INPUT_SIZE, pad_value: int = PAD_VALUE
) -> tuple[np.ndarray, float]:
    """Resize (H, W, 3) uint8 into the top-left of a (h, w, 3) uint8 canvas filled with ``pad_value``.

    Returns the canvas and the ratio (canvas px per frame px).
    """
    h, w = size
    ratio = min(h / image_bgr.shape[0], w / image_bgr.shape[1])
    new_w, new_h = int(image_bgr.shape[1] * ratio), int(image_bgr.shape[0] * ratio)
    canvas = np.full((h, w, 3), pad_value, dtype=np.uint8)
    resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas[:new_h, :new_w] = resized
    return canvas, ratio


def to_input(canvas: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 canvas -> (1, 3, h, w) float32 in 0-255, channel order unchanged."""
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)


def boxes_to_frame(boxes_xyxy: np.ndarray, ratio: float) -> np.ndarray:
    """Undo the letterbox: (N, 4) canvas-px boxes -> frame px."""
    return np.asarray(boxes_xyxy, dtype=np.float64) / ratio


def boxes_to_canvas(boxes_xyxy: np.ndarray, ratio: float) -> np.ndarray:
    """Apply the letterbox to (N, 4) frame-px boxes -> canvas px (inverse of :func:`boxes_to_frame`)."""
    return np.asarray(boxes_xyxy, dtype=np.float64) * ratio


def anchor_grid(size: tuple[int, int] = INPUT_SIZE, strides: Sequence[int] = STRIDES) -> np.ndarray:
    """(A, 3) float64 rows (grid x, grid y, stride) in the raw head's anchor order, stride by stride."""
    rows = []
    for s in strides:
        gy, gx = np.mgrid[0:size[0] // s, 0:size[1] // s]
        rows.append(np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, s)], axis=1))
    return np.concatenate(rows).astype(np.float64)


def output_problem(dims: Sequence[int | None], size: tuple[int, int] = INPUT_SIZE) -> str | None:
    """Why a detector whose first output has ``dims`` (None = dynamic) cannot be YOLOX; None if it can."""
    last = dims[-1]
    if last is None or last == 5:
        return None
    if last < 6:
        return f"its first output ends in {last} values; expected 5 (dets) or 5 + classes (raw head)"
    anchors = len(anchor_grid(size))
    if dims[-2] is not None and dims[-2] != anchors:
        return (f"its first output has {dims[-2]} anchors, but a raw YOLOX head on a {size[1]}x{size[0]} "
                f"input has {anchors}")
    return None


def decode_raw(raw: np.ndarray, size: tuple[int, int] = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Raw head output (1, A, 5 + C) -> boxes (A, 4) xyxy canvas px and class scores (A, C).

    Centre = (offset + grid cell) * stride, size = exp(log size) * stride, score = objectness * class.
    """
    pred = np.asarray(raw, dtype=np.float64).reshape(-1, raw.shape[-1])  # (A, 5 + C)
    grid = anchor_grid(size)
    if len(grid) != len(pred):
        raise ValueError(
            f"YOLOX raw output has {len(pred)} anchors but a {size[1]}x{size[0]} input on strides "
            f"{STRIDES} gives {len(grid)}: the detector's input size and export do not match"
        )
    centre = (pred[:, :2] + grid[:, :2]) * grid[:, 2:3]
    half = np.exp(pred[:, 2:4]) * grid[:, 2:3] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    scores = pred[:, 4:5] * pred[:, 5:]
    return boxes, scores


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; indices of kept (N, 4) boxes in descending score order."""
    order = np.argsort(-scores, kind="stable")
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        lt = np.maximum(boxes[i, :2], boxes[rest, :2])
        rb = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-12)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def person_boxes(
    outputs: dict[str, np.ndarray] | Sequence[np.ndarray],
    ratio: float,
    size: tuple[int, int] = INPUT_SIZE,
    score_threshold: float = 0.3,
    nms_threshold: float = 0.45,
) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes (N, 4) xyxy frame px and scores (N,), best first, from either export's outputs.

    ``outputs``: the session outputs, by name or in order; the first is the raw head (last axis > 5)
    or ``dets`` (last axis 5), an optional ``labels`` output filters dets to class 0.
    """
    named = dict(outputs) if isinstance(outputs, dict) else {}
    ordered = list(outputs.values()) if isinstance(outputs, dict) else list(outputs)
    first = named.get("dets", ordered[0])
    if first.shape[-1] == 5:
        dets = np.asarray(first, dtype=np.float64).reshape(-1, 5)
        keep = dets[:, 4] > score_threshold
        labels = named.get("labels", ordered[1] if len(ordered) > 1 else None)
        if labels is not None:
            keep &= np.asarray(labels).reshape(-1) == PERSON_CLASS
        boxes, scores = dets[keep, :4], dets[keep, 4]
        order = np.argsort(-scores, kind="stable")
        return boxes_to_frame(boxes[order], ratio), scores[order]
    if first.shape[-1] < 6:
        raise ValueError(f"YOLOX output with last axis {first.shape[-1]}: expected 5 (dets) or 5 + classes")
    boxes, scores = decode_raw(first, size)
    person = scores[:, PERSON_CLASS]
    cand = np.flatnonzero(person > score_threshold)
    kept = cand[nms(boxes[cand], person[cand], nms_threshold)]
    return boxes_to_frame(boxes[kept], ratio), person[kept]
