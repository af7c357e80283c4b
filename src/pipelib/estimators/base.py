"""The estimator interface and the five fixed feature slots of SignX (1959 dims per frame).

Two kinds of backend fill a slot:

* :class:`FrameEstimator` sees decoded frames in video order. The extraction runner calls
  :meth:`~FrameEstimator.prepare` on each frame ahead of time on worker threads and
  :meth:`~FrameEstimator.process_batch` on ``batch_size`` consecutive prepared frames on one thread.
  Per-frame backends (MediaPipe Holistic, which tracks between frames) implement only
  :meth:`~FrameEstimator.process`. :class:`BatchedEstimator` backends (DWPose ONNX, Sapiens
  TorchScript, depth ONNX/TorchScript, SMPL-X regressors) split the work into ``prepare`` (worker
  threads), ``infer`` (the models, on whole batches) and ``finish`` (per-frame reductions, worker
  threads again, overlapping the next batch's inference).
* :class:`DerivedEstimator` sees the MediaPipe Holistic arrays of a whole video (the
  ``*_from_holistic`` backends used by the offline demo) and never decodes video.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pipelib.errors import DataError
from pipelib.estimators.batching import BatchFn, settle_batch_size
from pipelib.estimators.placement import PRECISIONS, Placement, check_gpu, run_settings
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


class MissingWeightsError(DataError, FileNotFoundError):
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
        """Backend name, the path and sha256 of every weight file it loaded, and, for backends that
        run a model, where: ``device``, ``provider``, ``precision``, ``batch_size`` (see
        :class:`~pipelib.estimators.placement.Placement`)."""
        record = {
            "slot": self.slot,
            "backend": self.backend,
            "weights": {
                name: {"path": str(p), "sha256": file_sha256(p)}
                for name, p in sorted(self._weight_files.items())
            },
        }
        placement = getattr(self, "placement", None)
        if placement is not None:
            record.update(placement.provenance())
        return record


class FrameEstimator(_Provenanced, ABC):
    """A backend that turns decoded BGR frames (H, W, 3) uint8 into slot features."""

    #: frames per :meth:`process_batch` call (1: the backend works frame by frame).
    batch_size: int = 1
    #: where the backend's model runs (None for backends without a device choice).
    placement: Placement | None = None

    def start_video(self) -> None:
        """Reset any tracking state before the first frame of a new video."""

    def prepare(self, frame_bgr: np.ndarray) -> Any:
        """CPU work on one frame (resize, crop, normalise) that may run ahead on a worker thread.

        Must not touch model or tracking state. Default: the frame itself.
        """
        return frame_bgr

    def process_batch(self, prepared: Sequence[Any]) -> list[FrameOutput]:
        """Outputs of consecutive frames of one video, in order, from what :meth:`prepare` returned.

        Default: :meth:`process` on each, in order (per-frame and tracking backends).
        """
        return [self.process(p) for p in prepared]

    @abstractmethod
    def process(self, frame_bgr: np.ndarray) -> FrameOutput:
        """Features for one frame; ``valid=False`` when nothing usable was detected."""

    def close(self) -> None:
        """Release model resources."""


class BatchedEstimator(FrameEstimator):
    """A backend whose models take batches of frames.

    Subclasses implement :meth:`prepare` (worker threads), :meth:`infer` (the inference thread, whole
    batches) and optionally :meth:`finish` (worker threads again); :meth:`process` is one frame through
    all three, so one-frame and batched calls share one code path. The constructor reads the
    run keys of the slot's section (:func:`~pipelib.estimators.placement.run_settings`);
    ``gpu_booked`` says whether the job booked a GPU (the missing-GPU policy then applies to
    ``device: auto`` too).
    """

    #: precisions the backend's runtime supports.
    precisions: ClassVar[tuple[str, ...]] = PRECISIONS

    def __init__(self, cfg: Mapping[str, Any], *, gpu_booked: bool = False) -> None:
        super().__init__(cfg)
        self.gpu_booked = gpu_booked
        self.section = f"estimators.{self.slot}"
        self.settings = run_settings(self.cfg, self.section, self.precisions)
        self.model_batch: dict[str, int] = {}

    @abstractmethod
    def prepare(self, frame_bgr: np.ndarray) -> Any:
        """See :meth:`FrameEstimator.prepare`."""

    @abstractmethod
    def infer(self, prepared: Sequence[Any]) -> list[Any]:
        """Run the model(s) on consecutive prepared frames, any number (in model-sized chunks).

        Runs on the inference thread; returns one raw result per frame for :meth:`finish`.
        """

    def finish(self, raw: Any) -> FrameOutput:
        """One frame's raw result -> its output (reductions to the slot's grid, pose assembly).

        May run on a worker thread while the next batch is inferred. Default: ``raw`` is the output.
        """
        return raw

    def process_batch(self, prepared: Sequence[Any]) -> list[FrameOutput]:
        """:meth:`infer` then :meth:`finish` on each frame, in order."""
        return [self.finish(raw) for raw in self.infer(prepared)]

    def process(self, frame_bgr: np.ndarray) -> FrameOutput:
        """One frame through :meth:`prepare`, :meth:`infer` and :meth:`finish`."""
        return self.process_batch([self.prepare(frame_bgr)])[0]

    def place(self, device: str, provider: str, precision: str, why_cpu: str = "",
              device_name: str = "") -> None:
        """Record where the models run, then apply ``on_missing_gpu`` (may raise ``MissingGpuError``)."""
        check_gpu(self.backend, self.settings, device, why_cpu, self.gpu_booked)
        self.placement = Placement(device, provider, precision, 1, {}, why_cpu if device == "cpu" else "",
                                   device_name)

    def settle_batches(self, models: Mapping[str, tuple[BatchFn, tuple[int, ...], int | None, str]]) -> None:
        """Choose each model's batch size (after :meth:`place`).

        ``models``: name -> (batch function, one frame's input shape, static batch axis or None,
        file name for messages). The asked-for batch (``batch_size`` or the device default) is kept
        for models that batch correctly, 1 for the others (see
        :func:`~pipelib.estimators.batching.settle_batch_size`).
        """
        assert self.placement is not None, "call place() first"
        requested = self.settings.batch_for(self.placement.device)
        self.model_batch = {name: settle_batch_size(requested, run, shape, what, fixed)
                            for name, (run, shape, fixed, what) in models.items()}
        self.batch_size = requested if any(b > 1 for b in self.model_batch.values()) else 1
        self.placement.batch_size = self.batch_size
        self.placement.model_batch_sizes = dict(self.model_batch)


class DerivedEstimator(_Provenanced, ABC):
    """A backend that computes a slot from one video's MediaPipe Holistic arrays."""

    @abstractmethod
    def process_video(self, holistic: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return features (T, D) float32 and mask (T,) bool from a Holistic ``VideoArrays``."""
