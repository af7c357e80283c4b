"""The estimator interface and the five fixed feature slots of SignX (1959 dims per frame).

Two kinds of backend fill a slot:

* :class:`FrameEstimator` sees decoded frames, one at a time, in video order (real models:
  MediaPipe Holistic, DWPose ONNX, Sapiens TorchScript, depth ONNX/TorchScript, SMPL-X regressors).
* :class:`DerivedEstimator` sees the MediaPipe Holistic arrays of a whole video (the
  ``*_from_holistic`` backends used by the offline demo) and never decodes video.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pipelib.provenance import file_sha256

#: slot name -> per-frame feature width, in the fixed fusion order.
SLOT_DIMS: dict[str, int] = {
    "dwpose": 384,      # 128 keypoints x (x, y, conf): 18 OpenPose body, 68 face, 21 left, 21 right hand
    "mediapipe": 258,   # pose 33 x (x, y, z, visibility) + 2 hands x 21 x (x, y, z)
    "smplerx": 165,     # 55 SMPL-X joints x axis-angle (3)
    "primedepth": 576,  # 24 x 24 grid of normalised relative inverse depth
    "sapiens": 576,     # 24 x 24 grid of Sapiens body-part class ids (28 classes)
}
SLOT_ORDER: tuple[str, ...] = tuple(SLOT_DIMS)
FUSED_DIM: int = sum(SLOT_DIMS.values())  # 1959


class MissingWeightsError(FileNotFoundError):
    """A backend that needs a local weight file was configured without one, or the file is absent."""


@dataclass
class FrameOutput:
    """One frame's result: features (D,) float32, whether they are valid, per-frame extras."""

    features: np.ndarray
    valid: bool
    extras: dict[str, np.ndarray] = field(default_factory=dict)


def require_weights(cfg: Mapping[str, Any], key: str, config_path: str, expected: str) -> Path:
    """Return the existing local weight file named by ``cfg[key]``.

    Raises :class:`MissingWeightsError` naming the config key (``config_path``) and the file the
    backend expects (``expected``, e.g. ``"a DWPose SimCC .onnx exported from dw-ll_ucoco_384"``).
    """
    value = cfg.get(key)
    if not value:
        raise MissingWeightsError(
            f"config key {config_path} is not set: this backend needs {expected}; set it to a local "
            f"file path or choose a *_from_holistic backend for this slot"
        )
    path = Path(os.path.expandvars(os.path.expanduser(str(value))))
    if not path.is_file():
        raise MissingWeightsError(
            f"config key {config_path} points to {path}, which does not exist: this backend needs "
            f"{expected}; copy the file there or correct the path"
        )
    return path


class _Provenanced:
    slot: ClassVar[str]
    backend: ClassVar[str]

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.cfg = dict(cfg)
        self._weight_files: dict[str, Path] = {}

    def register_weights(self, name: str, path: Path) -> None:
        """Remember a loaded weight file so that outputs can record its sha256."""
        self._weight_files[name] = path

    def provenance(self) -> dict[str, Any]:
        """Backend name and the path and sha256 of every weight file it loaded."""
        return {
            "slot": self.slot,
            "backend": self.backend,
            "weights": {
                name: {"path": str(p), "sha256": file_sha256(p)}
                for name, p in sorted(self._weight_files.items())
            },
        }


class FrameEstimator(_Provenanced, ABC):
    """A backend that turns decoded BGR frames (H, W, 3) uint8 into slot features."""

    def start_video(self) -> None:
        """Reset any tracking state before the first frame of a new video."""

    @abstractmethod
    def process(self, frame_bgr: np.ndarray) -> FrameOutput:
        """Features for one frame; ``valid=False`` when nothing usable was detected."""

    def close(self) -> None:
        """Release model resources."""


class DerivedEstimator(_Provenanced, ABC):
    """A backend that computes a slot from one video's MediaPipe Holistic arrays."""

    @abstractmethod
    def process_video(self, holistic: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return features (T, D) float32 and mask (T,) bool from a Holistic ``VideoArrays``."""
