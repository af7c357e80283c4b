"""Load a local TorchScript or ``torch.export`` (.pt2) program and run it in inference mode.

Both formats are zip archives; the member names tell them apart (TorchScript archives hold
``constants.pkl``, ``torch.export`` archives ``archive_format``). An archive with neither marker is
tried with both loaders. Anything else raises :class:`ProgramLoadError` naming the file.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch.export.passes import move_to_device_pass

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


class ProgramLoadError(RuntimeError):
    """A weight file is neither a TorchScript archive nor a ``torch.export`` program."""


def resolve_device(value: str | None, config_path: str) -> torch.device:
    """``auto`` -> CUDA when available else CPU; ``cpu``/``cuda`` as asked (``cuda`` must exist).

    ``config_path`` (e.g. ``estimators.sapiens.device``) is named in errors.
    """
    value = (value or "auto").lower()
    if value not in DEVICES:
        raise ValueError(f"config key {config_path} = {value!r}; choose one of {', '.join(DEVICES)}")
    if value == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if value == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"config key {config_path} = 'cuda' but torch sees no CUDA device; set it to auto or cpu"
        )
    return torch.device(value)


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


def _archive_kind(path: Path) -> str:
    """``"torchscript"``, ``"export"`` or ``"unknown"`` (a zip without either marker)."""
    if not zipfile.is_zipfile(path):
        raise ProgramLoadError(
            f"{path} is not a TorchScript or torch.export archive (not a zip file); export the model "
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

    def __init__(self, path: str | Path, device: torch.device) -> None:
        self.path = Path(path)
        self.device = device
        kind = _archive_kind(self.path)
        errors: list[str] = []
        order = {"torchscript": ["torchscript"], "export": ["export"]}.get(kind, ["torchscript", "export"])
        self.module: Any = None
        for attempt in order:
            try:
                self.module = self._load(attempt)
                self.kind = attempt
                break
            except Exception as exc:  # both loaders raise assorted error types
                errors.append(f"{attempt}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        if self.module is None:
            raise ProgramLoadError(
                f"{self.path} could not be loaded as a TorchScript (torch.jit.load) or torch.export "
                f"(torch.export.load) program ({'; '.join(errors)}); re-export the model with "
                f"torch.jit.save or torch.export.save"
            )
        self.dtype = next(
            (p.dtype for p in self.module.parameters() if p.is_floating_point()), torch.float32
        )

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
                f"{str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else ''}); check that "
                f"the configured input size matches the size the program was exported for"
            ) from exc


def load_program(path: str | Path, device: torch.device) -> TorchProgram:
    """Load ``path`` (TorchScript or torch.export archive) onto ``device``, ready for inference."""
    return TorchProgram(path, device)


def first_tensor(output: Any, name: str | None = None) -> torch.Tensor:
    """The tensor a program returned: ``output`` itself, ``output[name]`` of a dict, or the first item.

    Returned as float32 on the CPU.
    """
    if isinstance(output, dict):
        output = output[name] if name in output else next(iter(output.values()))
    while isinstance(output, (tuple, list)):
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"program returned {type(output).__name__}, expected a tensor")
    return output.detach().to(device="cpu", dtype=torch.float32)
