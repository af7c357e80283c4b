"""Open a local ONNX model with ONNX Runtime and check it against the contract its backend expects.

Shared by every ONNX backend: the CUDA provider is used when this onnxruntime build has it, else the
CPU; a model whose inputs or outputs do not have the expected names and ranks fails at load time with
a message naming the file (and config key) and what was expected versus found.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnxruntime as ort

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class OnnxContractError(ValueError):
    """An ONNX file could not be loaded, or its inputs/outputs differ from what the backend expects."""


@dataclass(frozen=True)
class TensorSpec:
    """One expected model input or output.

    ``name`` None accepts any name (the tensor is then matched by position); ``dims`` (optional, one
    entry per axis) pins axes to sizes, None entries and dynamic model axes match anything.
    """

    name: str | None
    rank: int
    dims: tuple[int | None, ...] | None = None

    def describe(self) -> str:
        shape = "" if self.dims is None else " " + _shape_text(self.dims)
        return f"{self.name or '<any name>'}: rank {self.rank}{shape}"


def providers_for(device: str = "auto") -> list[str]:
    """Execution providers for ``device`` ("auto", "cuda" or "cpu"); auto takes CUDA when available."""
    available = ort.get_available_providers()
    if device == "cpu":
        return [CPU]
    if device == "cuda":
        if CUDA not in available:
            raise RuntimeError(
                f"device 'cuda' was requested but this onnxruntime ({ort.__version__}) offers only "
                f"{available}; install onnxruntime-gpu matching your CUDA, or set the device to auto/cpu"
            )
        return [CUDA, CPU]
    if device != "auto":
        raise ValueError(f"unknown device {device!r}; use auto, cuda or cpu")
    return [CUDA, CPU] if CUDA in available else [CPU]


def open_session(
    path: str | os.PathLike[str],
    *,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    what: str,
    config_key: str | None = None,
    device: str = "auto",
    threads: int | None = None,
) -> ort.InferenceSession:
    """An InferenceSession for the local file ``path``, checked with :func:`check_contract`.

    ``what`` says which model this should be (e.g. "the DWPose SimCC pose model"); ``threads`` sets
    intra-op threads (None: onnxruntime's default, all cores).
    """
    path = Path(path)
    where = _where(path, config_key)
    if not path.is_file():
        raise FileNotFoundError(f"{where} does not exist: expected {what} as a local .onnx file")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers_for(device))
    except Exception as err:  # onnxruntime raises its own exception types for malformed files
        raise OnnxContractError(
            f"{where} could not be loaded by onnxruntime as {what}: {err}"
        ) from err
    check_contract(session, path, inputs=inputs, outputs=outputs, what=what, config_key=config_key)
    return session


def check_contract(
    session: ort.InferenceSession,
    path: str | os.PathLike[str],
    *,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    what: str,
    config_key: str | None = None,
) -> None:
    """Raise :class:`OnnxContractError` unless the session's tensors match the specs.

    The model must have exactly ``len(inputs)`` inputs; it may have more outputs than specified.
    Named specs are matched by name, unnamed ones by position.
    """
    found_in = session.get_inputs()
    found_out = session.get_outputs()
    problems: list[str] = []
    if len(found_in) != len(inputs):
        problems.append(f"{len(found_in)} inputs where {len(inputs)} were expected")
    problems += _match("input", inputs, found_in)
    problems += _match("output", outputs, found_out)
    if problems:
        raise OnnxContractError(
            f"{_where(Path(path), config_key)} is not {what}: {'; '.join(problems)}.\n"
            f"  expected inputs:  {', '.join(s.describe() for s in inputs)}\n"
            f"  found inputs:     {_describe_args(found_in)}\n"
            f"  expected outputs: {', '.join(s.describe() for s in outputs)}\n"
            f"  found outputs:    {_describe_args(found_out)}\n"
            f"  point the config key at the right export of this model"
        )


def static_dims(arg: Any) -> tuple[int | None, ...]:
    """Axis sizes of a session input/output (``session.get_inputs()[i]``); None for dynamic axes."""
    return tuple(d if isinstance(d, int) and d > 0 else None for d in arg.shape)


def _match(kind: str, specs: Sequence[TensorSpec], found: Sequence[Any]) -> list[str]:
    by_name = {a.name: a for a in found}
    problems = []
    for i, spec in enumerate(specs):
        if spec.name is not None:
            arg = by_name.get(spec.name)
            if arg is None:
                problems.append(f"no {kind} named {spec.name!r}")
                continue
        elif i < len(found):
            arg = found[i]
        else:
            problems.append(f"no {kind} at position {i}")
            continue
        dims = static_dims(arg)
        if len(dims) != spec.rank:
            problems.append(f"{kind} {arg.name!r} has rank {len(dims)}, expected {spec.rank}")
        elif spec.dims is not None:
            bad = [(a, want, got) for a, (want, got) in enumerate(zip(spec.dims, dims, strict=True))
                   if want is not None and got is not None and want != got]
            problems += [f"{kind} {arg.name!r} axis {a} is {got}, expected {want}" for a, want, got in bad]
    return problems


def _describe_args(args: Sequence[Any]) -> str:
    return ", ".join(f"{a.name}: rank {len(a.shape)} {_shape_text(static_dims(a))}" for a in args) or "none"


def _shape_text(dims: Sequence[int | None]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ")"


def _where(path: Path, config_key: str | None) -> str:
    return f"{path} (config key {config_key})" if config_key else str(path)
