"""Load a local TorchScript or ``torch.export`` (.pt2) program and run it in inference mode.

Both formats are zip archives; the member names tell them apart (TorchScript archives hold
``constants.pkl``, ``torch.export`` archives ``archive_format``). An archive with neither marker is
tried with both loaders. Anything else raises :class:`ProgramLoadError` naming the file (and config
key), what each loader said, and what to do.

``precision`` ``fp16`` / ``bf16`` / ``fp32`` casts the program's parameters and buffers (and so its
inputs) to that type; ``auto`` keeps the file's own.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.export.passes import move_to_device_pass

from pipelib.errors import DataError
from pipelib.estimators.batching import first_line
from pipelib.estimators.placement import DEVICES

DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
PRECISION_NAMES: dict[torch.dtype, str] = {v: k for k, v in DTYPES.items()}


class ProgramLoadError(DataError, RuntimeError):
    """A weight file is neither a TorchScript archive nor a ``torch.export`` program."""


def resolve_device(value: str | None, config_path: str) -> tuple[torch.device, str]:
    """The torch device for ``value`` and, when it is the CPU although a GPU was possible, why.

    ``auto`` and ``cuda`` take CUDA when torch sees a device, else the CPU (whether that is acceptable
    is decided by :func:`pipelib.estimators.placement.check_gpu`); ``config_path`` (e.g.
    ``estimators.sapiens.device``) is named in errors.
    """
    value = (value or "auto").lower()
    if value not in DEVICES:
        raise ValueError(f"config key {config_path} = {value!r}; choose one of {', '.join(DEVICES)}")
    if value == "cpu":
        return torch.device("cpu"), ""
    if torch.cuda.is_available():
        return torch.device("cuda"), ""
    build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
    return torch.device("cpu"), f"torch {torch.__version__} ({build}) sees no CUDA device"


def config_size(cfg: Mapping[str, Any], key: str, config_path: str, default: tuple[int, int],
                multiple: int = 1) -> tuple[int, int]:
    """``cfg[key]`` (default ``default``) as a (height, width) pair of positive ints.

    Both sides must be multiples of ``multiple``; errors name ``config_path``.
    """
    value = cfg.get(key) or default
    try:
        h, w = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"config key {config_path} = {value!r} must be [height, width]") from None
    if h <= 0 or w <= 0 or h % multiple or w % multiple:
        rule = "positive" if multiple == 1 else f"positive multiples of {multiple}"
        raise ValueError(f"config key {config_path} = {value!r}: both sides must be {rule}")
    return h, w


_LOADERS = {"torchscript": "torch.jit.load", "export": "torch.export.load"}


def _archive_kind(path: Path, where: str) -> str:
    """``"torchscript"``, ``"export"`` or ``"unknown"`` (a zip without either marker)."""
    if not zipfile.is_zipfile(path):
        raise ProgramLoadError(
            f"{where} could not be loaded as a TorchScript or torch.export program: it is not a zip "
            f"archive (truncated download, or not a model file); copy it again or export the model "
            f"with torch.jit.save or torch.export.save"
        )
    with zipfile.ZipFile(path) as zf:
        leaves = {name.rsplit("/", 1)[-1] for name in zf.namelist()}
    if "archive_format" in leaves or "serialized_exported_program.json" in leaves:
        return "export"
    if "constants.pkl" in leaves:
        return "torchscript"
    return "unknown"


class ProgramRunError(RuntimeError):
    """A loaded program failed on the input it was given."""


class TorchProgram:
    """A loaded program: ``program(x)`` runs it under ``torch.inference_mode`` on :attr:`device`.

    Attributes: ``path``, ``kind`` (``"torchscript"`` or ``"export"``), ``device`` and ``dtype`` (the
    dtype of the program's first floating-point parameter; inputs are cast to it).
    """

    def __init__(self, path: str | Path, device: torch.device, precision: str = "auto",
                 config_key: str | None = None) -> None:
        self.path = Path(path)
        self.device = device
        where = f"{self.path} (config key {config_key})" if config_key else str(self.path)
        kind = _archive_kind(self.path, where)
        errors: list[str] = []
        order = {"torchscript": ["torchscript"], "export": ["export"]}.get(kind, ["torchscript", "export"])
        self.module: Any = None
        for attempt in order:
            try:
                self.module = self._load(attempt)
                self.kind = attempt
                break
            except Exception as exc:  # both loaders raise assorted error types
                errors.append(f"{_LOADERS[attempt]} said {type(exc).__name__}: {first_line(exc)}")
        if self.module is None:
            raise ProgramLoadError(
                f"{where} could not be loaded as a TorchScript or torch.export program with torch "
                f"{torch.__version__}: {'; '.join(errors)}. Check that the file is complete (compare its "
                f"sha256 with the source's), that it was saved with torch.jit.save or torch.export.save "
                f"(not torch.save of a state dict), and that it needs no custom operators or newer torch; "
                f"else re-export the model with this torch version (docs/depth_sapiens_smplerx.md)"
            )
        if precision not in ("auto", *DTYPES):
            raise ValueError(f"precision {precision!r} for {where}; choose auto, {', '.join(DTYPES)}")
        if precision != "auto":
            self.module = self.module.to(DTYPES[precision])
        self.dtype = next(
            (p.dtype for p in self.module.parameters() if p.is_floating_point()),
            next((b.dtype for b in self.module.buffers() if b.is_floating_point()),
                 DTYPES.get(precision, torch.float32)),
        )

    @property
    def precision(self) -> str:
        """The float type the program computes in: "fp32", "fp16" or "bf16"."""
        return PRECISION_NAMES.get(self.dtype, str(self.dtype).removeprefix("torch."))

    def _load(self, kind: str) -> Any:
        if kind == "torchscript":
            with warnings.catch_warnings():  # recent torch warns TorchScript is deprecated; it still loads
                warnings.filterwarnings("ignore", message=".*torch.jit.load.*deprecated",
                                        category=DeprecationWarning)
                module = torch.jit.load(str(self.path), map_location=self.device)
            return module.eval()
        program = torch.export.load(str(self.path))
        program = move_to_device_pass(program, self.device)
        return program.module()

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> Any:
        """Run the program on ``x`` (moved to the device and cast to :attr:`dtype`).

        A program that rejects the input (e.g. an export with a fixed input size) raises
        :class:`ProgramRunError` naming the file and the input shape.
        """
        try:
            return self.module(x.to(device=self.device, dtype=self.dtype))
        except Exception as exc:
            raise ProgramRunError(
                f"{self.path} failed on an input of shape {tuple(x.shape)} ({type(exc).__name__}: "
                f"{_last_line(exc)}); check that the configured input size matches the size the "
                f"program was exported for"
            ) from exc

    def run_arrays(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """A batch function: ``x`` (B, ...) float32 -> every output tensor as float32 numpy by name.

        Names: ``output`` for a single tensor, the keys of a dict, ``"0"``, ``"1"``, ... of a tuple.
        """
        return {k: v.detach().to(device="cpu", dtype=torch.float32).numpy()
                for k, v in named_tensors(self(torch.from_numpy(x))).items()}


def named_tensors(output: Any) -> dict[str, torch.Tensor]:
    """A program's output as ``{name: tensor}`` (see :meth:`TorchProgram.run_arrays`)."""
    if isinstance(output, torch.Tensor):
        return {"output": output}
    if isinstance(output, dict):
        items = output.items()
    elif isinstance(output, (tuple, list)):
        items = ((str(i), v) for i, v in enumerate(output))
    else:
        raise TypeError(f"program returned {type(output).__name__}, expected tensors")
    return {str(k): v for k, v in items if isinstance(v, torch.Tensor)}


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no message)"


def load_program(path: str | Path, device: torch.device, precision: str = "auto",
                 config_key: str | None = None) -> TorchProgram:
    """Load ``path`` (TorchScript or torch.export archive) onto ``device`` in ``precision``."""
    return TorchProgram(path, device, precision, config_key)


def device_name(device: torch.device) -> str:
    """The GPU's name for a CUDA device ("" for the CPU), for the job log."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else ""


def first_tensor_on_device(output: Any, name: str | None = None) -> torch.Tensor:
    """The tensor a program returned, where it is: ``output`` itself, ``output[name]`` of a dict, or
    the first item."""
    if isinstance(output, dict):
        output = output[name] if name in output else next(iter(output.values()))
    while isinstance(output, (tuple, list)):
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"program returned {type(output).__name__}, expected a tensor")
    return output.detach()


def first_tensor(output: Any, name: str | None = None) -> torch.Tensor:
    """:func:`first_tensor_on_device` as float32 on the CPU."""
    return first_tensor_on_device(output, name).to(device="cpu", dtype=torch.float32)
