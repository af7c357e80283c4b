"""Which backends can fill which slot, and how to build one from its config section.

Backend modules are imported only when chosen, so a CPU-only demo never imports onnxruntime
and a real-model run never imports what it does not use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from pipelib.estimators.base import SLOT_ORDER, BatchedEstimator, DerivedEstimator, FrameEstimator

#: (slot, backend) -> "module:Class"
BACKENDS: dict[tuple[str, str], str] = {
    ("mediapipe", "mediapipe_holistic"): "pipelib.estimators.mediapipe_holistic:HolisticEstimator",
    ("dwpose", "dwpose_onnx"): "pipelib.estimators.dwpose.backend:DWPoseOnnx",
    ("dwpose", "dwpose_from_holistic"): "pipelib.estimators.derived.dwpose:DWPoseFromHolistic",
    ("smplerx", "smplerx_torchscript"): "pipelib.estimators.smplerx:SmplerxTorchScript",
    ("smplerx", "smplerx_onnx"): "pipelib.estimators.smplerx:SmplerxOnnx",
    ("smplerx", "smplerx_from_holistic"): "pipelib.estimators.derived.smplx_ik:SmplxFromHolistic",
    ("primedepth", "depth_onnx"): "pipelib.estimators.depth:DepthOnnx",
    ("primedepth", "depth_torchscript"): "pipelib.estimators.depth:DepthTorchScript",
    ("primedepth", "primedepth_from_holistic"): "pipelib.estimators.derived.depth:DepthFromHolistic",
    ("sapiens", "sapiens_torchscript"): "pipelib.estimators.sapiens:SapiensTorchScript",
    ("sapiens", "sapiens_from_holistic"): "pipelib.estimators.derived.parts:PartsFromHolistic",
}


def backends_for(slot: str) -> list[str]:
    """Backend names that can fill ``slot``."""
    return sorted(b for s, b in BACKENDS if s == slot)


def is_derived(backend: str) -> bool:
    """True for ``*_from_holistic`` backends, which read the MediaPipe shard instead of video."""
    return backend.endswith("_from_holistic")


def uses_gpu(backend: str) -> bool:
    """True for backends that run a neural network best placed on a GPU (all real ones but MediaPipe)."""
    return not is_derived(backend) and backend != "mediapipe_holistic"


def weight_keys(backend: str, cfg: Mapping[str, Any]) -> tuple[str, ...]:
    """Config keys of ``backend`` that must name local weight files (empty for bundled/derived)."""
    if is_derived(backend) or backend == "mediapipe_holistic":
        return ()
    if backend == "dwpose_onnx":
        return ("pose_weights",) + (() if cfg.get("detector", "yolox") == "none" else ("detector_weights",))
    return ("weights",)


def _class(slot: str, backend: str) -> type:
    if slot not in SLOT_ORDER:
        raise KeyError(f"unknown slot {slot!r}; slots are {', '.join(SLOT_ORDER)}")
    try:
        target = BACKENDS[(slot, backend)]
    except KeyError:
        raise KeyError(
            f"config key estimators.{slot}.backend = {backend!r} is not a backend of slot {slot}; "
            f"choose one of: {', '.join(backends_for(slot))}"
        ) from None
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def build(slot: str, cfg: Mapping[str, Any], *,
          gpu_booked: bool = False) -> FrameEstimator | DerivedEstimator:
    """Instantiate the backend named by ``cfg["backend"]`` for ``slot`` with its config section.

    ``gpu_booked``: the job booked a GPU, so a model backend with ``device: auto`` that ends up on the
    CPU is handled by its ``on_missing_gpu`` policy (see :mod:`pipelib.estimators.placement`).
    """
    cls = _class(slot, cfg["backend"])
    if issubclass(cls, BatchedEstimator):
        return cls(cfg, gpu_booked=gpu_booked)
    return cls(cfg)
