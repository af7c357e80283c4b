"""Offline stand-ins for the DWPose, SMPLer-X, PrimeDepth and Sapiens slots, computed from MediaPipe.

These ``*_from_holistic`` backends are APPROXIMATIONS derived from MediaPipe Holistic landmarks and
its person segmentation, not the real models: they let the offline demo fill all five slots with
arrays of the right layout and a related meaning (remapped keypoints, inverse-kinematics rotations,
landmark depth, nearest-limb part labels). They read one video's arrays from the MediaPipe shard
(extras ``pose``, ``pose_world``, ``face``, ``left_hand``, ``right_hand``, ``part_mask``,
``segmentation``; attrs ``image_size`` = [W, H]) and never decode video or load weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelib.estimators.base import DerivedEstimator
from pipelib.estimators.grids import GRID
from pipelib.estimators.landmarks import N_FACE, N_HAND, N_POSE
from pipelib.io import shards

_EXTRA_SHAPES: dict[str, tuple[int, ...]] = {
    "pose": (N_POSE, 4),
    "pose_world": (N_POSE, 3),
    "face": (N_FACE, 3),
    "left_hand": (N_HAND, 3),
    "right_hand": (N_HAND, 3),
    "part_mask": (4,),
    "segmentation": (GRID, GRID),
}


@dataclass
class HolisticArrays:
    """One video's Holistic landmarks, checked. T frames; coordinates as MediaPipe gives them.

    pose (T, 33, 4) normalised x, y, z, visibility; pose_world (T, 33, 3) metres; face (T, 468, 3),
    left_hand / right_hand (T, 21, 3) normalised x, y, z; has_pose, has_face, has_left, has_right
    (T,) bool; segmentation (T, 24, 24) person probability; image_size (W, H) pixels or None.
    """

    pose: np.ndarray
    pose_world: np.ndarray
    face: np.ndarray
    left_hand: np.ndarray
    right_hand: np.ndarray
    has_pose: np.ndarray
    has_face: np.ndarray
    has_left: np.ndarray
    has_right: np.ndarray
    segmentation: np.ndarray
    image_size: tuple[int, int] | None

    @property
    def n_frames(self) -> int:
        return int(self.pose.shape[0])

    def pixel_scale(self) -> np.ndarray:
        """(3,) multipliers turning normalised (x, y, z) into pixels: (W, H, W) (z is on the x scale)."""
        if self.image_size is None:
            raise ValueError("image size unknown")
        w, h = self.image_size
        return np.array([w, h, w], dtype=np.float64)


def holistic_arrays(video: Any, need_image_size: bool = True,
                    need_segmentation: bool = False) -> HolisticArrays:
    """Check and unpack a MediaPipe-shard ``VideoArrays`` into :class:`HolisticArrays`.

    Raises ValueError naming the video and the missing or malformed array, with the fix; with
    ``need_segmentation`` also when poses were found but the segmentation is zero in every frame
    (extraction ran with segmentation disabled).
    """
    vid = video.video_id
    arrays = shards.checked_extras(video, _EXTRA_SHAPES, "re-extract the mediapipe slot with backend "
                                   "mediapipe_holistic (enable_segmentation true) before derived backends")
    size = video.attrs.get("image_size") if getattr(video, "attrs", None) else None
    if size is not None:
        size = (int(size[0]), int(size[1]))
        if size[0] <= 0 or size[1] <= 0:
            raise ValueError(f"video {vid}: attrs image_size {size} is not a positive (W, H)")
    elif need_image_size:
        raise ValueError(
            f"video {vid}: the MediaPipe shard has no attrs['image_size'] = [W, H]; store "
            f"HolisticEstimator.video_attrs() with each video when extracting the mediapipe slot"
        )
    pm = arrays["part_mask"].astype(bool)
    if need_segmentation and pm[:, 0].any() and not np.any(arrays["segmentation"]):
        raise ValueError(
            f"video {vid}: the MediaPipe shard has poses but an all-zero segmentation; set "
            f"estimators.mediapipe.enable_segmentation to true and re-extract the mediapipe slot"
        )
    return HolisticArrays(
        pose=arrays["pose"].astype(np.float64),
        pose_world=arrays["pose_world"].astype(np.float64),
        face=arrays["face"].astype(np.float64),
        left_hand=arrays["left_hand"].astype(np.float64),
        right_hand=arrays["right_hand"].astype(np.float64),
        has_pose=pm[:, 0], has_face=pm[:, 1], has_left=pm[:, 2], has_right=pm[:, 3],
        segmentation=arrays["segmentation"].astype(np.float64),
        image_size=size,
    )


def cell_centres(image_size: tuple[int, int], size: int = GRID) -> np.ndarray:
    """Pixel (x, y) centres of the size x size grid cells, row-major: (size * size, 2) float64."""
    w, h = image_size
    ys, xs = np.meshgrid((np.arange(size) + 0.5) * h / size, (np.arange(size) + 0.5) * w / size,
                         indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


class FromHolistic(DerivedEstimator):
    """Base of the ``*_from_holistic`` backends: no weights; provenance names the MediaPipe source."""

    #: one line saying what is approximated and how (recorded in provenance).
    method: str = ""

    def provenance(self) -> dict[str, Any]:
        record = super().provenance()
        record["derived_from"] = {"slot": "mediapipe", "backend": "mediapipe_holistic"}
        record["approximation"] = self.method
        return record
