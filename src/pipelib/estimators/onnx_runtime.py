"""Open a local ONNX model with ONNX Runtime and check it against the contract its backend expects.

Shared by every ONNX backend: the CUDA provider is used when this onnxruntime build has it (the
``onnxruntime-gpu`` package; the pinned ``onnxruntime`` is CPU-only) and the device allows it, else
the CPU. Which provider a session really got is read back from the session (ONNX Runtime falls back
to the CPU when the CUDA libraries cannot be loaded) and reported by :func:`session_provider`.
``precision: fp16`` converts the model's float weights and compute to float16 in memory (inputs and
outputs stay float32). A model whose inputs or outputs do not have the expected names and ranks fails
at load time with a message naming the file (and config key) and what was expected versus found.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from pipelib.estimators.placement import ONNX_PRECISIONS

log = logging.getLogger("pipelib.estimators")

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}
_PRECISION_OF = {"tensor(float)": "fp32", "tensor(float16)": "fp16", "tensor(double)": "fp64"}
_preloaded = False


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
    """Execution providers to ask for on ``device`` ("auto", "cuda" or "cpu").

    ``auto`` and ``cuda`` take CUDA when this onnxruntime build offers it, else the CPU alone: whether
    that is acceptable is the caller's decision (:func:`pipelib.estimators.placement.check_gpu`).
    """
    if device not in ("auto", "cuda", "cpu"):
        raise ValueError(f"unknown device {device!r}; use auto, cuda or cpu")
    if device == "cpu" or CUDA not in ort.get_available_providers():
        return [CPU]
    _preload_cuda_libraries()
    return [CUDA, CPU]


def session_provider(session: ort.InferenceSession) -> tuple[str, str]:
    """The provider a session really runs on and why it is not CUDA: ("CUDAExecutionProvider", "")
    or ("CPUExecutionProvider", reason)."""
    providers = session.get_providers()
    if CUDA in providers:
        return CUDA, ""
    available = ort.get_available_providers()
    if CUDA not in available:
        why = (f"this onnxruntime {ort.__version__} build offers only {', '.join(available)} (the "
               f"CPU-only 'onnxruntime' package is installed, not 'onnxruntime-gpu')")
    else:
        why = (f"onnxruntime {ort.__version__} offers CUDAExecutionProvider but the session could not "
               f"start it (CUDA/cuDNN libraries missing or no GPU visible; onnxruntime's own message is "
               f"in the log above)")
    return providers[0] if providers else CPU, why


def onnx_precision(session: ort.InferenceSession, setting: str) -> str:
    """The float type a session computes in: "fp16" when converted (``setting`` fp16), else the
    type of the file's first input ("fp32", "fp16", ...)."""
    if setting == "fp16":
        return "fp16"
    return _PRECISION_OF.get(session.get_inputs()[0].type, "fp32")


def _preload_cuda_libraries() -> None:
    """Let onnxruntime-gpu find CUDA/cuDNN installed from PyPI (its ``[cuda,cudnn]`` extras), once."""
    global _preloaded
    if _preloaded or not hasattr(ort, "preload_dlls"):
        return
    _preloaded = True
    try:
        ort.preload_dlls()
    except Exception as exc:  # a missing library shows up as the session's CPU fallback
        log.warning("onnxruntime.preload_dlls() failed (%s); relying on the system's CUDA libraries", exc)


def open_session(
    path: str | os.PathLike[str],
    *,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    what: str,
    config_key: str | None = None,
    device: str = "auto",
    threads: int | None = None,
    precision: str = "auto",
) -> ort.InferenceSession:
    """An InferenceSession for the local file ``path``, checked with :func:`check_contract`.

    ``what`` says which model this should be (e.g. "the DWPose SimCC pose model"); ``threads`` sets
    intra-op threads (None: onnxruntime's default, all cores); ``precision`` ``fp16`` converts a
    float32 model to float16 in memory (``auto`` / ``fp32``: the file as it is).
    """
    path = Path(path)
    where = _where(path, config_key)
    if not path.is_file():
        raise FileNotFoundError(f"{where} does not exist: expected {what} as a local .onnx file")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    if precision not in ONNX_PRECISIONS:
        raise ValueError(f"precision {precision!r} for {where}; ONNX backends run in "
                         f"{', '.join(ONNX_PRECISIONS)}")
    try:
        model: str | bytes = str(path) if precision != "fp16" else _float16_bytes(path)
        session = ort.InferenceSession(model, sess_options=options, providers=providers_for(device))
    except Exception as err:  # onnxruntime raises its own exception types for malformed files
        raise OnnxContractError(
            f"{where} could not be loaded by onnxruntime as {what}: {err}"
        ) from err
    check_contract(session, path, inputs=inputs, outputs=outputs, what=what, config_key=config_key)
    return session


def _float16_bytes(path: Path) -> bytes:
    """The model at ``path`` with float weights and compute in float16, inputs/outputs kept float32."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
    return model.SerializeToString()


class OnnxModel:
    """A session as a batch function: ``model(x)`` with x (B, ...) -> {output name: (B, ...) float32}.

    Inputs are cast to the session's input type (float16 exports take float16). A model whose batch
    axis is fixed (``fixed_batch``, e.g. 1) is run in pieces of that size, the last one padded.
    """

    def __init__(self, session: ort.InferenceSession, outputs: Sequence[str] | None = None) -> None:
        self.session = session
        arg = session.get_inputs()[0]
        self.input_name = arg.name
        self.input_dtype = _NUMPY_TYPES.get(arg.type, np.float32)
        self.fixed_batch: int | None = static_dims(arg)[0] if static_dims(arg) else None
        self.outputs = list(outputs) if outputs else [o.name for o in session.get_outputs()]

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        n = self.fixed_batch
        if n is None or len(x) == n:
            values = self.session.run(self.outputs, {self.input_name: x.astype(self.input_dtype, copy=False)})
            return {k: np.asarray(v, dtype=np.float32) for k, v in zip(self.outputs, values, strict=True)}
        parts = []
        for i in range(0, len(x), n):
            piece = x[i:i + n]
            short = n - len(piece)
            if short:
                piece = np.concatenate([piece, np.repeat(piece[-1:], short, axis=0)])
            out = self(piece)
            parts.append({k: v[:n - short] for k, v in out.items()})
        return {k: np.concatenate([p[k] for p in parts]) for k in self.outputs}


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
