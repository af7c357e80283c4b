"""Relative inverse depth (the PrimeDepth slot) from an exported model -> 24 x 24 normalised grid.

PrimeDepth itself needs Stable Diffusion weights and cannot run offline; any model with the same
meaning (scale/shift-invariant inverse depth) fills the slot through one contract, in ONNX
(``depth_onnx``, e.g. a Depth-Anything V2 export) or TorchScript / ``torch.export``
(``depth_torchscript``, e.g. a wrapped PrimeDepth):

* input ``image`` (B, 3, h, w) float32: RGB / 255 normalised with the ImageNet mean / std, each frame
  resized (bicubic, no padding) to ``input_size`` (default 518 x 518; sides multiples of
  ``input_multiple``, default 14, the ViT patch size);
* output ``depth`` (B, h', w') relative inverse depth (disparity: larger is nearer); TorchScript
  programs may also return (B, 1, h', w').

Frames are run ``batch_size`` at a time when the export has a dynamic batch axis (see
:mod:`pipelib.estimators.batching`), else one per call.

Config (``estimators.primedepth``)::

    backend: depth_onnx          # or depth_torchscript
    weights: /path/depth_anything_v2_vits.onnx
    device: auto                 # auto | cpu | cuda
    input_size: [518, 518]       # (h, w)
    input_multiple: 14           # 1 disables the check
    threads: null                # ONNX Runtime intra-op threads (depth_onnx only; null = all cores)
    batch_size: null             # frames per call (null: 16 on a GPU, 4 on CPU)
    precision: auto              # auto | fp32 | fp16 (| bf16 for depth_torchscript)
    on_missing_gpu: fail         # fail | warn (see pipelib.estimators.placement)

Grid: the depth map covers the whole (stretched) frame; it is block-averaged to 24 x 24
(:func:`pipelib.estimators.grids.mean_grid`) and then min-max normalised per frame,
``(g - min g) / (max g - min g)``, so 1 is the nearest cell and 0 the farthest. This removes the
unknown scale and shift of relative depth. A frame is invalid (features all 0) when the map has
non-finite values or no contrast (``max - min <= 1e-6 * max(|min|, |max|)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import torch

from pipelib.estimators.base import BatchedEstimator, FrameOutput, require_weights
from pipelib.estimators.batching import BatchFn, run_chunked
from pipelib.estimators.grids import mean_grid
from pipelib.estimators.imaging import channels_first
from pipelib.estimators.placement import ONNX_PRECISIONS
from pipelib.estimators.torch_program import (
    config_size,
    device_name,
    first_tensor,
    load_program,
    resolve_device,
)

DEFAULT_INPUT_SIZE: tuple[int, int] = (518, 518)  # (h, w)
DEFAULT_MULTIPLE: int = 14
MEAN_RGB: tuple[float, float, float] = (0.485, 0.456, 0.406)
STD_RGB: tuple[float, float, float] = (0.229, 0.224, 0.225)
INPUT_NAME, OUTPUT_NAME = "image", "depth"
_WHAT = "a relative inverse-depth model: input 'image' (B, 3, H, W), output 'depth' (B, H, W)"


def preprocess(frame_bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (1, 3, h, w) float32: RGB / 255 with ImageNet mean / std."""
    h, w = size
    resized = cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_CUBIC)          # (h, w, 3) BGR
    return channels_first(resized, MEAN_RGB, STD_RGB, divide=255.0, reverse=True)


def depth_to_features(depth: np.ndarray) -> FrameOutput:
    """(h', w') relative inverse depth -> per-frame min-max normalised 24 x 24 grid (576,) in [0, 1]."""
    depth = np.asarray(depth, dtype=np.float64)
    zeros = np.zeros(576, np.float32)
    if not np.all(np.isfinite(depth)):
        return FrameOutput(features=zeros, valid=False)
    grid = mean_grid(depth).astype(np.float64)                   # (24, 24)
    lo, hi = float(grid.min()), float(grid.max())
    if hi - lo <= 1e-6 * max(abs(lo), abs(hi)):
        return FrameOutput(features=zeros, valid=False)
    norm = (grid - lo) / (hi - lo)
    return FrameOutput(features=norm.reshape(-1).astype(np.float32), valid=True)


def _depth_maps(out: np.ndarray, n: int, source: Any) -> np.ndarray:
    """(n, h', w') or (n, 1, h', w') -> (n, h', w'); errors name ``source``."""
    if out.ndim == 4 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 3 or out.shape[0] != n:
        raise ValueError(f"{source} returned depth of shape {tuple(out.shape)} for {n} frames; "
                         f"expected ({n}, H, W)")
    return out


class _DepthBackend(BatchedEstimator):
    """Shared preprocessing and grid reduction; subclasses set :attr:`run`, a batch function
    (B, 3, h, w) float32 -> {"depth": (B, h', w') or (B, 1, h', w')}."""

    slot = "primedepth"
    _format = ""
    run: BatchFn

    def __init__(self, cfg: Mapping[str, Any], *, gpu_booked: bool = False) -> None:
        super().__init__(cfg, gpu_booked=gpu_booked)
        self.path = require_weights(
            self.cfg, "weights", "estimators.primedepth.weights",
            f"{_WHAT} (e.g. Depth-Anything V2 exported to {self._format}); see docs/depth_sapiens_smplerx.md",
        )
        multiple = int(self.cfg.get("input_multiple", DEFAULT_MULTIPLE))
        self.size = config_size(self.cfg, "input_size", "estimators.primedepth.input_size",
                                DEFAULT_INPUT_SIZE, multiple=max(multiple, 1))

    def prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 BGR -> the model input (3, h, w) float32."""
        return preprocess(frame_bgr, self.size)[0]

    def infer(self, prepared: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Prepared frames -> one depth map (h', w') float32 per frame."""
        x = np.stack(prepared)                                               # (B, 3, h, w)
        depth = run_chunked(self.run, x, self.model_batch.get("depth", 1))[OUTPUT_NAME]
        return list(_depth_maps(depth, len(x), self.path))

    def finish(self, raw: np.ndarray) -> FrameOutput:
        """(h', w') depth map -> the normalised 24 x 24 grid."""
        return depth_to_features(raw)


class DepthOnnx(_DepthBackend):
    """Relative depth from an ONNX file (``image`` -> ``depth``) run by ONNX Runtime."""

    backend = "depth_onnx"
    _format = "ONNX"
    precisions = ONNX_PRECISIONS

    def __init__(self, cfg: Mapping[str, Any], *, gpu_booked: bool = False) -> None:
        super().__init__(cfg, gpu_booked=gpu_booked)
        from pipelib.estimators.onnx_runtime import (
            CUDA,
            OnnxModel,
            TensorSpec,
            onnx_precision,
            open_session,
            session_provider,
        )

        self.session = open_session(
            self.path,
            inputs=[TensorSpec(INPUT_NAME, 4, (None, 3, None, None))],
            outputs=[TensorSpec(OUTPUT_NAME, 3)],
            what=_WHAT, config_key="estimators.primedepth.weights", device=self.settings.device,
            threads=self.cfg.get("threads"), precision=self.settings.precision,
        )
        self.register_weights("depth", self.path)
        provider, why_cpu = session_provider(self.session)
        self.place("cuda" if provider == CUDA else "cpu", provider,
                   onnx_precision(self.session, self.settings.precision), why_cpu)
        self.run = OnnxModel(self.session, [OUTPUT_NAME])
        self.settle_batches({"depth": (self.run, (3, *self.size), self.run.fixed_batch, str(self.path))})

    def close(self) -> None:
        self.session = None


class DepthTorchScript(_DepthBackend):
    """Relative depth from a TorchScript or ``torch.export`` program (``image`` -> ``depth``)."""

    backend = "depth_torchscript"
    _format = "TorchScript or torch.export .pt2"

    def __init__(self, cfg: Mapping[str, Any], *, gpu_booked: bool = False) -> None:
        super().__init__(cfg, gpu_booked=gpu_booked)
        device, why_cpu = resolve_device(self.settings.device, "estimators.primedepth.device")
        self.program = load_program(self.path, device, self.settings.precision,
                                    "estimators.primedepth.weights")
        self.register_weights("depth", self.path)
        self.place(device.type, f"torch-{device.type}", self.program.precision, why_cpu, device_name(device))
        self.settle_batches({"depth": (self.run, (3, *self.size), None, str(self.path))})

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Batch function: (B, 3, h, w) -> {"depth": float32 numpy}."""
        return {OUTPUT_NAME: first_tensor(self.program(torch.from_numpy(x)), OUTPUT_NAME).numpy()}

    def close(self) -> None:
        self.program = None
