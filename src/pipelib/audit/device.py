"""Device-aware expectations: how two runs of one job may differ, judged from their provenance.

A result depends on more than its config and inputs: the device class (cpu, cuda) and model it ran
on, the CUDA/cuDNN versions, torch's deterministic flags and thread count (provenance ``runtime``),
and, for the pose estimators, the execution provider, float precision and batch size (provenance
``estimator``). :class:`Setting` holds these as one output records them; :func:`expect` turns the
recorded and the re-executed setting into what a comparison may demand (:class:`Expectation`):

* ``bitwise``: the same setting, on the CPU (a training job only with deterministic algorithms on)
  or on an accelerator with deterministic algorithms on in both runs;
* ``tolerance``: the same device class, but something that changes float rounding differs (threads,
  CPU/GPU model, the instruction set of torch's CPU kernels, CUDA/cuDNN, provider, batch size), or the
  accelerator ran without deterministic algorithms;
* ``other-device``: the device class differs (recorded on cuda, re-run on cpu): compared within the
  tolerance and reported as such, never as a mismatch;
* ``precision``: the float precision differs (fp16 vs fp32): a different computation, reported as
  such, never explained away as a device effect.

Outputs without a runtime record (written before it existed) keep the former rule: bitwise, except
training outputs within the tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelib.audit.values import BITWISE, Tolerance

BITWISE_CASE, TOLERANCE_CASE, OTHER_DEVICE, PRECISION = "bitwise", "tolerance", "other-device", "precision"

# Setting fields that change float rounding within one device class, with how a row names them.
_ROUNDING_FIELDS = (("device_model", "device model"), ("cpu_capability", "CPU kernels"), ("cuda", "CUDA"),
                    ("cudnn", "cuDNN"), ("threads", "threads"), ("provider", "provider"),
                    ("batch_size", "batch size"))


@dataclass(frozen=True)
class Setting:
    """Where and how one output was computed; None fields were not recorded.

    ``device`` is the device class (``cpu``, ``cuda``, ...); ``deterministic`` says torch ran with
    deterministic algorithms (on CUDA also cuDNN deterministic, no cuDNN benchmark); ``threads`` is
    torch's intra-op thread count; ``cpu_capability`` the instruction set of torch's CPU kernels (CPU
    only); ``provider``, ``precision``, ``batch_size`` come from an estimator's record.
    """

    device: str
    device_model: str | None = None
    cpu_capability: str | None = None
    cuda: str | None = None
    cudnn: str | None = None
    deterministic: bool | None = None
    threads: int | None = None
    provider: str | None = None
    precision: str | None = None
    batch_size: int | None = None

    @classmethod
    def from_provenance(cls, prov: Mapping[str, Any] | None) -> Setting | None:
        """The setting a provenance record holds, or None when it records no device at all."""
        if not isinstance(prov, Mapping):
            return None
        runtime = prov.get("runtime") if isinstance(prov.get("runtime"), Mapping) else {}
        estimator = prov.get("estimator") if isinstance(prov.get("estimator"), Mapping) else {}
        device = estimator.get("device") or runtime.get("device")
        if not device:
            return None
        device = str(device).split(":")[0]
        same_process = str(runtime.get("device") or "").split(":")[0] == device  # torch ran there too
        deterministic = runtime.get("deterministic")
        if deterministic is not None and device != "cpu":
            deterministic = (bool(deterministic) and runtime.get("cudnn_deterministic") is not False
                             and not runtime.get("cudnn_benchmark"))
        accelerated = device != "cpu"
        return cls(
            device=device,
            device_model=_text(runtime.get("device_model")) if same_process else None,
            cpu_capability=(_text(runtime.get("cpu_capability")) if same_process and not accelerated
                            else None),
            cuda=_text(runtime.get("cuda")) if accelerated else None,
            cudnn=_text(runtime.get("cudnn")) if accelerated else None,
            deterministic=None if deterministic is None else bool(deterministic),
            threads=_int(runtime.get("threads")),
            provider=_text(estimator.get("provider")),
            precision=_text(estimator.get("precision")),
            batch_size=_int(estimator.get("batch_size")),
        )

    def describe(self) -> str:
        """``cuda (NVIDIA H200)``, ``cpu (AMD EPYC 7B13)``; the precision when recorded."""
        text = self.device + (f" ({self.device_model})" if self.device_model else "")
        return text + (f" {self.precision}" if self.precision else "")

    def rounding_differences(self, other: Setting) -> list[str]:
        """What differs between two settings of one device class, e.g. ``threads 2 vs 4``."""
        out = []
        for name, label in _ROUNDING_FIELDS:
            a, b = getattr(self, name), getattr(other, name)
            if a is not None and b is not None and a != b:
                out.append(f"{label} {a} vs {b}")
        return out


def _text(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


def _int(v: Any) -> int | None:
    try:
        return None if v is None or isinstance(v, bool) else int(v)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Expectation:
    """How a re-executed output is compared: ``case`` (module doc), the tolerance, and why."""

    case: str
    tolerance: Tolerance
    reason: str


def expect(recorded: Setting | None, rerun: Setting | None, *, training: bool,
           tolerance: Tolerance) -> Expectation:
    """What the comparison of a recorded output and its re-execution may demand (module doc).

    ``training``: the job trains a model (its outputs are bitwise on the CPU only with deterministic
    algorithms on). ``tolerance``: the configured one, for every case that is not bitwise.
    """
    if recorded is None or rerun is None:
        which = "recorded output" if recorded is None else "re-executed output"
        if training:
            return Expectation(TOLERANCE_CASE, tolerance, f"no runtime record in the {which}; a training job")
        return Expectation(BITWISE_CASE, BITWISE, f"no runtime record in the {which}")
    if recorded.precision and rerun.precision and recorded.precision != rerun.precision:
        return Expectation(PRECISION, tolerance, f"precision {recorded.precision} recorded, "
                                                 f"{rerun.precision} re-executed")
    if recorded.device != rerun.device:
        return Expectation(OTHER_DEVICE, tolerance, f"recorded on {recorded.describe()}, "
                                                    f"re-executed on {rerun.describe()}")
    why = recorded.rounding_differences(rerun)
    if recorded.device == "cpu":
        if training and not (recorded.deterministic and rerun.deterministic):
            why.append("training without deterministic algorithms")
    elif not (recorded.deterministic and rerun.deterministic):
        why.append(f"{recorded.device} without deterministic algorithms")
    if why:
        return Expectation(TOLERANCE_CASE, tolerance, "; ".join(why))
    return Expectation(BITWISE_CASE, BITWISE, f"same setting: {recorded.describe()}"
                                              + (f", {recorded.threads} threads" if recorded.threads else ""))
