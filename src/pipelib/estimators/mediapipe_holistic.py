"""MediaPipe Holistic (mediapipe 0.10.21, legacy ``solutions`` API) as the ``mediapipe`` slot backend.

Runs in video mode (tracking between frames; :meth:`HolisticEstimator.start_video` resets the graph
between videos). The models ship inside the mediapipe wheel, so this backend runs offline.

Per frame it returns the 258-d slot features (pose 33 x (x, y, z, visibility), left hand 21 x
(x, y, z), right hand 21 x (x, y, z); MediaPipe normalised image coordinates: x / W, y / H, z on
roughly the x scale, smaller z = closer to the camera) and these extras, which the ``*_from_holistic``
backends read back from the MediaPipe shard:

* ``pose`` (33, 4) float32: x, y normalised, z, visibility (all 0 when absent)
* ``pose_world`` (33, 3) float32: metres, origin between the hips, camera-aligned axes (x right,
  y down, z away from the camera)
* ``face`` (468, 3) float32: normalised x, y, z of FaceMesh (zeros when absent)
* ``left_hand`` / ``right_hand`` (21, 3) float32: normalised x, y, z of the person's left / right
  hand (MediaPipe's naming; zeros when absent)
* ``part_mask`` (4,) bool: pose, face, left_hand, right_hand detected
* ``segmentation`` (24, 24) float32: person probability, block mean of MediaPipe's segmentation
  mask (zeros when absent or disabled)

``valid`` is True when the pose was detected. The frame size (W, H) of the current video is given by
:meth:`HolisticEstimator.video_attrs` as ``{"image_size": [W, H]}``, to be stored in the video's attrs:
the derived backends need it to turn normalised coordinates into pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pipelib.estimators.base import FrameEstimator, FrameOutput
from pipelib.estimators.grids import GRID, mean_grid
from pipelib.estimators.landmarks import N_FACE, N_HAND, N_POSE
from pipelib.estimators.placement import Placement

PART_NAMES: tuple[str, ...] = ("pose", "face", "left_hand", "right_hand")
FEATURE_DIM = N_POSE * 4 + 2 * N_HAND * 3  # 258

DEFAULTS: dict[str, Any] = {
    "model_complexity": 1,
    "min_detection_confidence": 0.5,
    "min_tracking_confidence": 0.5,
    "refine_face_landmarks": False,
    "enable_segmentation": True,
}
_POSE_MODELS = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite",
                2: "pose_landmark_heavy.tflite"}


def _module_dir() -> Path:
    import mediapipe

    return Path(mediapipe.__file__).resolve().parent / "modules"


class HolisticEstimator(FrameEstimator):
    """MediaPipe Holistic in video mode; config section ``estimators.mediapipe`` (see ``DEFAULTS``)."""

    slot = "mediapipe"
    backend = "mediapipe_holistic"

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__(cfg)
        self.options = {k: self.cfg.get(k, v) for k, v in DEFAULTS.items()}
        self._check_options()
        self._register_models()
        import mediapipe as mp

        self._holistic = mp.solutions.holistic.Holistic(
            static_image_mode=False,
            model_complexity=int(self.options["model_complexity"]),
            enable_segmentation=bool(self.options["enable_segmentation"]),
            refine_face_landmarks=bool(self.options["refine_face_landmarks"]),
            min_detection_confidence=float(self.options["min_detection_confidence"]),
            min_tracking_confidence=float(self.options["min_tracking_confidence"]),
        )
        self._image_size: tuple[int, int] | None = None
        self._fresh = True
        # the legacy solution runs its TFLite graphs on the CPU, one frame at a time (it tracks)
        self.placement = Placement(device="cpu", provider="mediapipe-tflite-cpu", precision="fp32",
                                   batch_size=1)

    def _check_options(self) -> None:
        mc = self.options["model_complexity"]
        if mc not in _POSE_MODELS:
            raise ValueError(f"config key estimators.mediapipe.model_complexity = {mc!r}: use 0, 1 or 2")
        pose_model = _module_dir() / "pose_landmark" / _POSE_MODELS[mc]
        if not pose_model.is_file():
            raise FileNotFoundError(
                f"config key estimators.mediapipe.model_complexity = {mc} needs {pose_model}, which the "
                f"mediapipe wheel does not ship (only complexity 1 is offline); set it to 1 or copy the "
                f"model file there"
            )
        for key in ("min_detection_confidence", "min_tracking_confidence"):
            v = self.options[key]
            if not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"config key estimators.mediapipe.{key} = {v!r}: use a number in [0, 1]")

    def _register_models(self) -> None:
        """Record the wheel's model files this graph loads, so provenance carries their sha256."""
        mc = self.options["model_complexity"]
        mods = _module_dir()
        face = "face_landmark_with_attention" if self.options["refine_face_landmarks"] else "face_landmark"
        for name, rel in (
            ("pose_detection", "pose_detection/pose_detection.tflite"),
            ("pose_landmark", f"pose_landmark/{_POSE_MODELS[mc]}"),
            ("hand_recrop", "holistic_landmark/hand_recrop.tflite"),
            ("hand_landmark", "hand_landmark/hand_landmark_full.tflite"),
            ("face_landmark", f"face_landmark/{face}.tflite"),
        ):
            if (mods / rel).is_file():
                self.register_weights(name, mods / rel)

    def start_video(self) -> None:
        """Forget tracking state and the frame size: the next frame starts a new video."""
        if not self._fresh:
            self._holistic.reset()
        self._fresh = True
        self._image_size = None

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(W, H) of the current video's frames, None before its first frame."""
        return self._image_size

    def video_attrs(self) -> dict[str, Any]:
        """Per-video attributes to store with the video's arrays: ``{"image_size": [W, H]}``."""
        if self._image_size is None:
            raise RuntimeError("video_attrs() called before any frame of the video was processed")
        return {"image_size": list(self._image_size)}

    def process(self, frame_bgr: np.ndarray) -> FrameOutput:
        """Landmarks of one BGR uint8 frame (H, W, 3) -> 258-d features, valid = pose detected."""
        import cv2

        frame = np.asarray(frame_bgr)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected a BGR uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
        h, w = frame.shape[:2]
        if self._image_size is None:
            self._image_size = (w, h)
        elif self._image_size != (w, h):
            raise ValueError(
                f"frame size {w}x{h} differs from this video's first frame {self._image_size[0]}x"
                f"{self._image_size[1]}; call start_video() between videos"
            )
        self._fresh = False
        res = self._holistic.process(np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
        return self._to_output(res)

    @staticmethod
    def _to_output(res: Any) -> FrameOutput:
        pose = _landmarks(res.pose_landmarks, N_POSE, visibility=True)            # (33, 4)
        pose_world = _landmarks(res.pose_world_landmarks, N_POSE)                 # (33, 3)
        face = _landmarks(res.face_landmarks, N_FACE)                             # (468, 3)
        left = _landmarks(res.left_hand_landmarks, N_HAND)                        # (21, 3)
        right = _landmarks(res.right_hand_landmarks, N_HAND)                      # (21, 3)
        part_mask = np.array([
            res.pose_landmarks is not None, res.face_landmarks is not None,
            res.left_hand_landmarks is not None, res.right_hand_landmarks is not None,
        ])
        seg = getattr(res, "segmentation_mask", None)
        seg_grid = (mean_grid(seg) if seg is not None and part_mask[0]
                    else np.zeros((GRID, GRID), np.float32))                      # (24, 24)
        features = np.concatenate([pose.ravel(), left.ravel(), right.ravel()])    # (258,)
        return FrameOutput(
            features=features.astype(np.float32),
            valid=bool(part_mask[0]),
            extras={
                "pose": pose, "pose_world": pose_world, "face": face,
                "left_hand": left, "right_hand": right,
                "part_mask": part_mask, "segmentation": seg_grid,
            },
        )

    def close(self) -> None:
        """Release the MediaPipe graph."""
        if self._holistic is not None:
            self._holistic.close()
            self._holistic = None


def _landmarks(lms: Any, n: int, visibility: bool = False) -> np.ndarray:
    """A MediaPipe landmark list -> (n, 3 or 4) float32; zeros when the part was not detected."""
    out = np.zeros((n, 4 if visibility else 3), np.float32)
    if lms is None:
        return out
    pts = lms.landmark
    if len(pts) < n:
        raise RuntimeError(f"MediaPipe returned {len(pts)} landmarks where {n} were expected")
    for i in range(n):
        p = pts[i]
        out[i, :3] = (p.x, p.y, p.z)
        if visibility:
            out[i, 3] = p.visibility
    return out
