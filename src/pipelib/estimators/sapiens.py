"""Sapiens body-part segmentation (facebookresearch/sapiens ``lite``) -> 24 x 24 grid of part ids.

Config (``estimators.sapiens``)::

    backend: sapiens_torchscript
    weights: /path/sapiens_1b_goliath_best_goliath_mIoU_7994_epoch_151_torchscript.pt2
    device: auto             # auto | cpu | cuda
    input_size: [1024, 768]  # (h, w) the program was exported for
    batch_size: null         # frames per call (null: 16 on a GPU, 4 on CPU)
    precision: auto          # auto (the file's) | fp32 | fp16 | bf16
    on_missing_gpu: fail     # fail | warn (see pipelib.estimators.placement)

Per frame: the BGR frame is resized to ``input_size`` (bilinear, no padding, as the lite demo does),
turned to RGB, normalised with mean (123.5, 116.5, 103.5) / std (58.5, 57.0, 57.5) on 0-255 values,
and run in batches of ``batch_size`` frames; the logits (B, 28, h', w') (512 x 384 for the official
programs) are argmaxed over classes on the model's device.
The label map covers the whole (stretched) frame; :func:`pipelib.estimators.grids.mode_grid` reduces
it to 24 x 24 by taking the most frequent class in each block (ties to the lower id). Features are
those ids as float32 (576,), row-major; the frame is valid when any pixel is not Background.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import torch

from pipelib.estimators.base import BatchedEstimator, FrameOutput, require_weights
from pipelib.estimators.grids import mode_grid
from pipelib.estimators.imaging import channels_first
from pipelib.estimators.torch_program import (
    config_size,
    device_name,
    first_tensor_on_device,
    load_program,
    resolve_device,
)

#: Sapiens body-part classes in the order of the model's logit channels (id = index).
SAPIENS_CLASSES: tuple[str, ...] = (
    "Background", "Apparel", "Face_Neck", "Hair", "Left_Foot", "Left_Hand", "Left_Lower_Arm",
    "Left_Lower_Leg", "Left_Shoe", "Left_Sock", "Left_Upper_Arm", "Left_Upper_Leg", "Lower_Clothing",
    "Right_Foot", "Right_Hand", "Right_Lower_Arm", "Right_Lower_Leg", "Right_Shoe", "Right_Sock",
    "Right_Upper_Arm", "Right_Upper_Leg", "Torso", "Upper_Clothing", "Lower_Lip", "Upper_Lip",
    "Lower_Teeth", "Upper_Teeth", "Tongue",
)
N_CLASSES: int = len(SAPIENS_CLASSES)  # 28
BACKGROUND: int = 0

DEFAULT_INPUT_SIZE: tuple[int, int] = (1024, 768)  # (h, w)
MEAN_RGB: tuple[float, float, float] = (123.5, 116.5, 103.5)
STD_RGB: tuple[float, float, float] = (58.5, 57.0, 57.5)


def preprocess(frame_bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (1, 3, h, w) float32 RGB normalised with the Sapiens mean/std."""
    h, w = size
    resized = cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_LINEAR)         # (h, w, 3) BGR
    return channels_first(resized, MEAN_RGB, STD_RGB, reverse=True)


def labels_to_features(labels: np.ndarray) -> FrameOutput:
    """(h', w') class-id map -> 24 x 24 mode grid as features (576,) and validity."""
    grid = mode_grid(labels, N_CLASSES)  # (24, 24) float32
    return FrameOutput(features=grid.reshape(-1), valid=bool(np.any(labels != BACKGROUND)))


class SapiensTorchScript(BatchedEstimator):
    """Sapiens segmentation from a TorchScript or ``torch.export`` .pt2 file -> (576,) class ids."""

    slot = "sapiens"
    backend = "sapiens_torchscript"

    def __init__(self, cfg: Mapping[str, Any], *, gpu_booked: bool = False) -> None:
        super().__init__(cfg, gpu_booked=gpu_booked)
        path = require_weights(
            self.cfg, "weights", "estimators.sapiens.weights",
            "a Sapiens body-part segmentation program (28 classes) from facebookresearch/sapiens lite: "
            "a *_torchscript.pt2 or a torch.export .pt2",
        )
        self.size = config_size(self.cfg, "input_size", "estimators.sapiens.input_size", DEFAULT_INPUT_SIZE)
        device, why_cpu = resolve_device(self.settings.device, "estimators.sapiens.device")
        self.program = load_program(path, device, self.settings.precision, "estimators.sapiens.weights")
        self.register_weights("sapiens", path)
        self.place(device.type, f"torch-{device.type}", self.program.precision, why_cpu, device_name(device))
        self.settle_batches({"sapiens": (self.program.run_arrays, (3, *self.size), None, str(path))})

    def prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 BGR -> the model input (3, h, w) float32."""
        return preprocess(frame_bgr, self.size)[0]

    def infer(self, prepared: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Prepared frames -> one label map (h', w') int64 per frame."""
        x = np.stack(prepared)                                              # (B, 3, h, w)
        step = self.model_batch.get("sapiens", 1)
        return [labels for i in range(0, len(x), step) for labels in self._labels(x[i:i + step])]

    def finish(self, raw: np.ndarray) -> FrameOutput:
        """(h', w') label map -> the 24 x 24 mode grid."""
        return labels_to_features(raw)

    def _labels(self, x: np.ndarray) -> np.ndarray:
        """(b, 3, h, w) -> (b, h', w') int64 class ids, the argmax taken on the model's device."""
        logits = first_tensor_on_device(self.program(torch.from_numpy(x)))  # (b, 28, h', w')
        if logits.ndim != 4 or logits.shape[0] != len(x) or logits.shape[1] != N_CLASSES:
            raise ValueError(
                f"{self.program.path} returned logits of shape {tuple(logits.shape)} for {len(x)} frames; "
                f"expected ({len(x)}, {N_CLASSES}, h, w) body-part logits"
            )
        return logits.argmax(dim=1).cpu().numpy()

    def close(self) -> None:
        self.program = None
