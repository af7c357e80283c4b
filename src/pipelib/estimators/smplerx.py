"""SMPL-X pose regressors (the SMPLer-X slot) from exported models -> 55 joints x axis-angle (165,).

SMPLer-X has no official export; a user wraps the regressor (see docs/depth_sapiens_smplerx.md) into
this contract, in TorchScript / ``torch.export`` (``smplerx_torchscript``) or ONNX (``smplerx_onnx``):

* input ``image`` (B, 3, h, w) float32: RGB person crops / 255 (no mean / std), default 512 x 384;
* outputs, named: either one ``pose`` tensor holding all 55 joints, or the seven SMPL-X parameters
  ``global_orient`` (1), ``body_pose`` (21), ``left_hand_pose`` (15), ``right_hand_pose`` (15),
  ``jaw_pose`` (1), ``leye_pose`` (1), ``reye_pose`` (1) joints. Each holds axis-angle ((B, n, 3) or
  (B, 3n)) or 6D rotations ((B, n, 6) or (B, 6n)); ``rotation: auto`` tells them apart by the values
  per joint, ``axis_angle`` / ``rot6d`` insist on one. 6D is converted by Gram-Schmidt in
  ``rot6d_layout`` (``interleaved``, SMPLer-X's own; see :mod:`pipelib.estimators.rotations`).
  TorchScript programs return a tensor (the ``pose``), a tuple (its first item) or a dict of them.

Features: global_orient 3, body 63, left hand 45, right hand 45, jaw 3, left eye 3, right eye 3.

The crop: ``box_source: full_frame`` takes the whole frame; ``box_source: landmarks`` takes the
bounding box of the landmarks passed to :meth:`SmplerxBackend.prepare` (``(N, >=2)``, x / y in
[0, 1] of the frame as MediaPipe gives them; NaN rows skipped), clipped to the frame. The box is
widened or heightened about its centre to the crop's aspect ratio (never cut), a landmark box is
then enlarged by ``box_scale`` (1.25, as SMPLer-X does with detector boxes), and the box is
resampled bilinearly to the crop, black outside the frame. Without landmarks (fewer than two finite
points) a ``landmarks`` frame is invalid and gets zeros, as when no person is detected.

Config (``estimators.smplerx``)::

    backend: smplerx_torchscript       # or smplerx_onnx
    weights: /path/smplerx_regressor.pt2
    device: auto                       # auto | cpu | cuda
    input_size: [512, 384]             # (h, w) of the crop
    box_source: full_frame             # full_frame | landmarks
    box_scale: 1.25                    # landmark boxes only
    rotation: auto                     # auto | axis_angle | rot6d
    rot6d_layout: interleaved          # interleaved | columns | rows
    threads: null                      # ONNX Runtime intra-op threads (smplerx_onnx only)
    batch_size: null                   # crops per call (null: 16 on a GPU, 4 on CPU)
    precision: auto                    # auto | fp32 | fp16 (| bf16 for smplerx_torchscript)
    on_missing_gpu: fail               # fail | warn (see pipelib.estimators.placement)

Extras: ``crop_box`` (4,) float32, the crop's x0, y0, x1, y1 in frame pixels (NaN when invalid).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import torch

from pipelib.estimators.base import BatchedEstimator, FrameOutput, require_weights
from pipelib.estimators.batching import BatchFn, run_chunked
from pipelib.estimators.imaging import channels_first
from pipelib.estimators.placement import ONNX_PRECISIONS
from pipelib.estimators.rotations import ROT6D_LAYOUTS, rot6d_to_axis_angle
from pipelib.estimators.torch_program import config_size, device_name, load_program, resolve_device

#: SMPL-X pose parameters in feature order, with their joint counts (55 in all).
SMPLX_PARTS: tuple[tuple[str, int], ...] = (
    ("global_orient", 1), ("body_pose", 21), ("left_hand_pose", 15), ("right_hand_pose", 15),
    ("jaw_pose", 1), ("leye_pose", 1), ("reye_pose", 1),
)
N_JOINTS: int = 55
POSE_NAME, INPUT_NAME = "pose", "image"
DEFAULT_INPUT_SIZE: tuple[int, int] = (512, 384)  # (h, w)
BOX_SOURCES: tuple[str, ...] = ("full_frame", "landmarks")
ROTATIONS: tuple[str, ...] = ("auto", "axis_angle", "rot6d")
#: one prepared frame: crop box (4,) xyxy frame px and model input (3, h, w), or (None, None)
Crop = tuple[np.ndarray | None, np.ndarray | None]
_SECTION = "estimators.smplerx"
_WHAT = (
    "an SMPL-X regressor: input 'image' (1, 3, H, W) RGB/255 crop, output 'pose' (55 joints) or the "
    "seven SMPL-X pose outputs, axis-angle or 6D"
)


def aspect_box(box_xyxy: np.ndarray, aspect: float, scale: float = 1.0) -> np.ndarray:
    """Grow a box about its centre to width / height == ``aspect``, then scale both sides -> (4,) xyxy."""
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    if w > aspect * h:
        h = w / aspect
    else:
        w = h * aspect
    w, h = w * scale, h * scale
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=np.float32)


def crop(frame_bgr: np.ndarray, box_xyxy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample ``box_xyxy`` of the frame to (h, w, 3) uint8 BGR (bilinear, black outside the frame)."""
    h, w = size
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    sx, sy = w / (x1 - x0), h / (y1 - y0)
    # pixel i spans [i, i + 1): the box edge x0 maps to 0 and x1 to w (pixel centres at i + 0.5)
    m = np.array([[sx, 0.0, (0.5 - x0) * sx - 0.5], [0.0, sy, (0.5 - y0) * sy - 0.5]], dtype=np.float64)
    return cv2.warpAffine(frame_bgr, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


def to_input(crop_bgr: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 BGR crop -> (1, 3, h, w) float32 RGB in [0, 1]."""
    return channels_first(crop_bgr, divide=255.0, reverse=True)


def landmark_box(landmarks: np.ndarray | None, width: int, height: int) -> np.ndarray | None:
    """Pixel xyxy box of the finite landmarks (x, y in [0, 1]), clipped to the frame, as SMPLer-X
    clips detector boxes; None with fewer than two points."""
    if landmarks is None:
        return None
    xy = np.asarray(landmarks, dtype=np.float64).reshape(-1, np.shape(landmarks)[-1])[:, :2]
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if len(xy) < 2:
        return None
    px = np.clip(xy * np.array([width, height]), 0, [width, height])   # clipped to the frame
    return np.array([*px.min(axis=0), *px.max(axis=0)], dtype=np.float32)


def _per_joint(arr: np.ndarray, n: int, name: str, source: Any) -> np.ndarray:
    """(1, ...) output holding ``n`` joints -> (n, 3) or (n, 6)."""
    arr = np.asarray(arr, dtype=np.float64)
    if arr.shape[0] != 1 or arr.size not in (3 * n, 6 * n):
        raise ValueError(
            f"{source}: output {name!r} has shape {arr.shape}; expected (1, {n}, 3), (1, {3 * n}), "
            f"(1, {n}, 6) or (1, {6 * n})"
        )
    return arr.reshape(n, -1)


def assemble_pose(outputs: Mapping[str, np.ndarray], rotation: str = "auto",
                  rot6d_layout: str = "interleaved", source: Any = "model") -> np.ndarray:
    """Named model outputs -> (165,) float32 axis-angle in SMPL-X feature order (see module doc)."""
    if POSE_NAME in outputs:
        parts = [_per_joint(outputs[POSE_NAME], N_JOINTS, POSE_NAME, source)]
    elif all(name in outputs for name, _ in SMPLX_PARTS):
        parts = [_per_joint(outputs[name], n, name, source) for name, n in SMPLX_PARTS]
    else:
        raise ValueError(
            f"{source} returned outputs {sorted(outputs)}; expected {POSE_NAME!r} or all of "
            f"{[name for name, _ in SMPLX_PARTS]}"
        )
    result = []
    for rots in parts:
        kind = "axis_angle" if rots.shape[1] == 3 else "rot6d"
        if rotation not in ("auto", kind):
            raise ValueError(
                f"config key {_SECTION}.rotation = {rotation!r} but {source} gives {rots.shape[1]} "
                f"values per joint ({kind}); set it to auto or {kind}"
            )
        result.append(rots if kind == "axis_angle" else rot6d_to_axis_angle(rots, rot6d_layout))
    return np.concatenate(result, axis=0).reshape(-1).astype(np.float32)


def _choice(cfg: Mapping[str, Any], key: str, default: str, choices: tuple[str, ...]) -> str:
    value = str(cfg.get(key) or default)
    if value not in choices:
        raise ValueError(f"config key {_SECTION}.{key} = {value!r}; choose one of {', '.join(choices)}")
    return value


class SmplerxBackend(BatchedEstimator):
    """Shared cropping and pose assembly; subclasses set :attr:`run`, a batch function
    (B, 3, h, w) float32 -> {output name: (B, ...) float32}."""

    slot = "smplerx"
    _format = ""
    run: BatchFn

    def __init__(self, cfg: Mapping[str, Any], *, gpu_booked: bool = False) -> None:
        super().__init__(cfg, gpu_booked=gpu_booked)
        self.path = require_weights(self.cfg, "weights", f"{_SECTION}.weights", f"{_WHAT}, as {self._format}")
        self.size = config_size(self.cfg, "input_size", f"{_SECTION}.input_size", DEFAULT_INPUT_SIZE)
        self.box_source = _choice(self.cfg, "box_source", "full_frame", BOX_SOURCES)
        self.box_scale = float(self.cfg.get("box_scale") or 1.25)
        if self.box_scale <= 0:
            raise ValueError(f"config key {_SECTION}.box_scale = {self.box_scale} must be positive")
        self.rotation = _choice(self.cfg, "rotation", "auto", ROTATIONS)
        self.rot6d_layout = _choice(self.cfg, "rot6d_layout", "interleaved", ROT6D_LAYOUTS)

    def crop_box(self, frame_shape: tuple[int, ...], landmarks: np.ndarray | None) -> np.ndarray | None:
        """The (4,) xyxy crop box in frame pixels for this frame, or None (no person)."""
        height, width = frame_shape[:2]
        aspect = self.size[1] / self.size[0]
        if self.box_source == "full_frame":
            return aspect_box(np.array([0, 0, width, height]), aspect)
        box = landmark_box(landmarks, width, height)
        return None if box is None else aspect_box(box, aspect, self.box_scale)

    def prepare(self, frame_bgr: np.ndarray, landmarks: np.ndarray | None = None) -> Crop:
        """The crop box (4,) and model input (3, h, w) float32 of one frame; (None, None) without a person.

        ``landmarks`` (N, >=2) normalised x, y place the crop when ``box_source`` is ``landmarks``.
        """
        box = self.crop_box(frame_bgr.shape, landmarks)
        if box is None:
            return None, None
        return box, to_input(crop(frame_bgr, box, self.size))[0]

    def infer(self, prepared: Sequence[Crop]) -> list[tuple[np.ndarray, dict[str, np.ndarray]] | None]:
        """Per frame: (crop box, the model's outputs for it, each (1, ...)), or None without a crop."""
        raws: list[tuple[np.ndarray, dict[str, np.ndarray]] | None] = [None] * len(prepared)
        rows = [i for i, (box, _) in enumerate(prepared) if box is not None]
        if rows:
            x = np.stack([prepared[i][1] for i in rows])                     # (b, 3, h, w)
            named = run_chunked(self.run, x, self.model_batch.get("smplerx", 1))
            for j, i in enumerate(rows):
                raws[i] = (prepared[i][0], {k: v[j:j + 1] for k, v in named.items()})
        return raws

    def finish(self, raw: tuple[np.ndarray, dict[str, np.ndarray]] | None) -> FrameOutput:
        """(165,) axis-angle of one frame; a frame without a crop box is invalid zeros."""
        if raw is None:
            return FrameOutput(features=np.zeros(3 * N_JOINTS, np.float32), valid=False,
                               extras={"crop_box": np.full(4, np.nan, np.float32)})
        box, outputs = raw
        pose = assemble_pose(outputs, self.rotation, self.rot6d_layout, self.path)
        return FrameOutput(features=pose, valid=bool(np.all(np.isfinite(pose))), extras={"crop_box": box})

    def process(self, frame_bgr: np.ndarray, landmarks: np.ndarray | None = None) -> FrameOutput:
        """(165,) axis-angle for one frame; ``landmarks`` (N, >=2) normalised x, y place the crop."""
        return self.process_batch([self.prepare(frame_bgr, landmarks)])[0]


class SmplerxTorchScript(SmplerxBackend):
    """SMPL-X regressor from a TorchScript or ``torch.export`` program."""

    backend = "smplerx_torchscript"
    _format = "a TorchScript or torch.export .pt2"

    def __init__(self, cfg: Mapping[str, Any], *, gpu_booked: bool = False) -> None:
        super().__init__(cfg, gpu_booked=gpu_booked)
        device, why_cpu = resolve_device(self.settings.device, f"{_SECTION}.device")
        self.program = load_program(self.path, device, self.settings.precision, f"{_SECTION}.weights")
        self.register_weights("smplerx", self.path)
        self.place(device.type, f"torch-{device.type}", self.program.precision, why_cpu, device_name(device))
        self.settle_batches({"smplerx": (self.run, (3, *self.size), None, str(self.path))})

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Batch function: a tensor is the ``pose``, a tuple its first item, a dict its named outputs."""
        out = self.program(torch.from_numpy(x))
        if isinstance(out, (tuple, list)):
            out = out[0]
        if isinstance(out, torch.Tensor):
            out = {POSE_NAME: out}
        if not isinstance(out, dict):
            raise TypeError(f"{self.path} returned {type(out).__name__}; expected a tensor or a dict")
        return {str(k): v.detach().to(device="cpu", dtype=torch.float32).numpy() for k, v in out.items()}

    def close(self) -> None:
        self.program = None


class SmplerxOnnx(SmplerxBackend):
    """SMPL-X regressor from an ONNX file run by ONNX Runtime."""

    backend = "smplerx_onnx"
    _format = "an ONNX file"
    precisions = ONNX_PRECISIONS

    def __init__(self, cfg: Mapping[str, Any], *, gpu_booked: bool = False) -> None:
        super().__init__(cfg, gpu_booked=gpu_booked)
        from pipelib.estimators.onnx_runtime import (
            CUDA,
            OnnxContractError,
            OnnxModel,
            TensorSpec,
            onnx_precision,
            open_session,
            session_provider,
        )

        key = f"{_SECTION}.weights"
        self.session = open_session(
            self.path, inputs=[TensorSpec(INPUT_NAME, 4, (None, 3, *self.size))], outputs=[],
            what=_WHAT, config_key=key, device=self.settings.device, threads=self.cfg.get("threads"),
            precision=self.settings.precision,
        )
        names = [o.name for o in self.session.get_outputs()]
        wanted = [POSE_NAME] if POSE_NAME in names else [name for name, _ in SMPLX_PARTS]
        if not set(wanted) <= set(names):
            raise OnnxContractError(
                f"{self.path} (config key {key}) is not {_WHAT}: its outputs are {names}; name the "
                f"output {POSE_NAME!r} or the seven SMPL-X parameters {[n for n, _ in SMPLX_PARTS]}"
            )
        self.outputs = wanted
        self.register_weights("smplerx", self.path)
        provider, why_cpu = session_provider(self.session)
        self.place("cuda" if provider == CUDA else "cpu", provider,
                   onnx_precision(self.session, self.settings.precision), why_cpu)
        self.run = OnnxModel(self.session, self.outputs)
        self.settle_batches({"smplerx": (self.run, (3, *self.size), self.run.fixed_batch, str(self.path))})

    def close(self) -> None:
        self.session = None
