"""Where and how a real backend runs: device, precision, batch size, and the missing-GPU policy.

Keys of a slot's section (``estimators.<slot>``) read here, shared by every real backend:

* ``device``: ``auto`` (CUDA when the runtime has it, else CPU), ``cuda`` or ``cpu``;
* ``precision``: ``auto`` (the weight file's own), ``fp32``, ``fp16`` or ``bf16`` (TorchScript /
  torch.export only); result-changing, recorded in provenance;
* ``batch_size``: frames per inference call; ``null`` takes :data:`DEFAULT_BATCH_SIZE` for the device
  actually used; cannot change results beyond float rounding (checked at load time);
* ``on_missing_gpu``: ``fail`` or ``warn`` when the job asked for a GPU but the backend runs on CPU.

A job *asked for a GPU* when the slot's ``device`` is ``cuda``, or when it is ``auto`` and the
extraction rule booked a GPU (``resources.poses_extract_gpu.gpu`` > 0, passed as ``gpu_booked``).
``device: cpu`` never asks. What a backend actually got is a :class:`Placement`, recorded in the
estimator's provenance under ``device``, ``provider``, ``precision`` and ``batch_size``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelib.errors import DataError

log = logging.getLogger("pipelib.estimators")

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16")
#: what ONNX backends support: fp16 converts a float32 file in memory; bf16 is TorchScript only.
ONNX_PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16")
GPU_POLICIES: tuple[str, ...] = ("fail", "warn")
#: frames per inference call when ``batch_size`` is null, by the device actually used.
DEFAULT_BATCH_SIZE: dict[str, int] = {"cpu": 4, "cuda": 16}
GPU_INSTALL_HINT = "see 'GPU install' in docs/estimators.md"


class MissingGpuError(DataError, RuntimeError):
    """A job asked for a GPU (config ``device`` or the rule's booking) but its backend runs on CPU."""


@dataclass(frozen=True)
class RunSettings:
    """The run keys of one slot section, validated; ``section`` (e.g. ``estimators.sapiens``) names them."""

    section: str
    device: str = "auto"
    precision: str = "auto"
    batch_size: int | None = None
    on_missing_gpu: str = "fail"

    def batch_for(self, device: str) -> int:
        """Configured batch size, or the default for ``device`` ("cpu" / "cuda")."""
        return self.batch_size if self.batch_size is not None else DEFAULT_BATCH_SIZE[device]


def run_settings(cfg: Mapping[str, Any], section: str,
                 precisions: tuple[str, ...] = PRECISIONS) -> RunSettings:
    """Read and check ``device``, ``precision``, ``batch_size``, ``on_missing_gpu`` of ``cfg``.

    ``precisions`` narrows the precisions a backend supports; errors name ``section.<key>``.
    """
    device = str(cfg.get("device") or "auto").lower()
    precision = str(cfg.get("precision") or "auto").lower()
    policy = str(cfg.get("on_missing_gpu") or "fail").lower()
    for key, value, choices in (("device", device, DEVICES), ("precision", precision, precisions),
                                ("on_missing_gpu", policy, GPU_POLICIES)):
        if value not in choices:
            raise ValueError(f"config key {section}.{key} = {value!r}; choose one of {', '.join(choices)}")
    batch = cfg.get("batch_size")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise ValueError(f"config key {section}.batch_size = {batch!r}; use a positive integer or null "
                         f"(null: {DEFAULT_BATCH_SIZE['cuda']} on a GPU, {DEFAULT_BATCH_SIZE['cpu']} on CPU)")
    return RunSettings(section, device, precision, batch, policy)


@dataclass
class Placement:
    """What a backend actually runs on.

    ``device`` "cuda" or "cpu"; ``provider`` the runtime that executes (an ONNX Runtime execution
    provider, or ``torch-cuda`` / ``torch-cpu``); ``precision`` the float type computed in;
    ``batch_size`` frames per inference call; ``model_batch_sizes`` the batch each model accepted;
    ``why_cpu`` why a GPU was not used (empty when on a GPU or when none was wanted).
    """

    device: str
    provider: str
    precision: str
    batch_size: int
    model_batch_sizes: dict[str, int] = field(default_factory=dict)
    why_cpu: str = ""
    device_name: str = ""

    def provenance(self) -> dict[str, Any]:
        """The keys recorded in the estimator's provenance."""
        return {"device": self.device, "provider": self.provider, "precision": self.precision,
                "batch_size": self.batch_size,
                "model_batch_sizes": dict(sorted(self.model_batch_sizes.items()))}

    def describe(self) -> str:
        """One log line: device (and its name), provider, precision, batch sizes."""
        name = f" ({self.device_name})" if self.device_name else ""
        models = ", ".join(f"{k} {v}" for k, v in sorted(self.model_batch_sizes.items()))
        return (f"device {self.device}{name}, provider {self.provider}, precision {self.precision}, "
                f"batch {self.batch_size}" + (f" (models: {models})" if models else ""))


def asked_for_gpu(settings: RunSettings, gpu_booked: bool) -> str:
    """Why the job wants a GPU ("" when it does not): ``device: cuda``, or ``auto`` with a booked GPU."""
    if settings.device == "cuda":
        return f"{settings.section}.device is 'cuda'"
    if settings.device == "auto" and gpu_booked:
        return f"{settings.section}.device is 'auto' and the extraction rule booked a GPU"
    return ""


def check_gpu(backend: str, settings: RunSettings, device: str, why_cpu: str,
              gpu_booked: bool = False) -> None:
    """Apply ``on_missing_gpu`` when the job asked for a GPU but ``device`` (the one got) is the CPU.

    ``why_cpu`` says why no GPU was used. ``fail`` raises :class:`MissingGpuError`; ``warn`` logs a
    warning. Both say what to change.
    """
    reason = asked_for_gpu(settings, gpu_booked)
    if not reason or device == "cuda":
        return
    message = (
        f"{backend} was asked to run on a GPU ({reason}) but runs on the CPU: {why_cpu or 'no GPU'}. "
        f"Install the GPU runtime ({GPU_INSTALL_HINT}) and run on a node with a GPU; or, to run on CPU on "
        f"purpose, set {settings.section}.device: cpu (and resources.poses_extract_gpu.gpu: 0 so no GPU "
        f"is booked), or {settings.section}.on_missing_gpu: warn"
    )
    if settings.on_missing_gpu == "fail":
        raise MissingGpuError(message)
    log.warning("GPU REQUESTED BUT NOT USED: %s", message)
