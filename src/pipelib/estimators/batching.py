"""Run a model on a batch of frames, and check at load time that batching leaves its outputs unchanged.

A *batch function* maps a float32 input (B, ...) to named outputs, each with the batch axis first:
``run(x) -> {name: (B, ...)}``. ONNX sessions and TorchScript / torch.export programs are wrapped
as batch functions by their backends.

Exports can fix the batch axis to 1 (a static ONNX input, a ``torch.export`` without a dynamic batch
dimension) or bake it into reshapes so that a larger batch mixes frames. :func:`settle_batch_size`
therefore runs two different inputs once as a batch of 2 and once frame by frame: the batch size asked
for is kept only when the outputs agree, otherwise the model runs one frame per call (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

log = logging.getLogger("pipelib.estimators")

Outputs = dict[str, np.ndarray]
BatchFn = Callable[[np.ndarray], Outputs]

#: agreement tolerance between batched and one-frame outputs, relative to the output's largest value;
#: loose enough for fp16 rounding, far below what mixing two frames produces.
PROBE_RTOL = 2e-2


def probe_input(frame_shape: tuple[int, ...], n: int = 2, seed: int = 0) -> np.ndarray:
    """``n`` different deterministic inputs (n, *frame_shape) float32, standard normal."""
    return np.random.default_rng(seed).standard_normal((n, *frame_shape)).astype(np.float32)


def batch_problem(run: BatchFn, sample: np.ndarray) -> str | None:
    """Why ``run`` on ``sample`` (2, ...) as one batch differs from two one-frame calls; None if equal."""
    try:
        together = run(sample)
    except Exception as exc:  # runtimes raise their own error types for a refused batch
        return f"it refuses a batch of {len(sample)} ({type(exc).__name__}: {first_line(exc)})"
    singles = [run(sample[i:i + 1]) for i in range(len(sample))]
    for name, value in together.items():
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 0 or value.shape[0] != len(sample):
            return f"its output {name!r} has shape {value.shape} for a batch of {len(sample)}"
        ref = np.concatenate([np.asarray(s[name], dtype=np.float64) for s in singles])
        if ref.shape != value.shape:
            return f"its output {name!r} has shape {value.shape} batched but {ref.shape} frame by frame"
        finite = np.isfinite(ref)
        if not np.array_equal(finite, np.isfinite(value)):
            return f"its output {name!r} has non-finite values batched that it lacks frame by frame"
        scale = float(np.abs(ref[finite]).max(initial=0.0))
        diff = float(np.abs(value[finite] - ref[finite]).max(initial=0.0))
        if diff > PROBE_RTOL * scale + 1e-6:
            return (f"its output {name!r} for a batch of {len(sample)} differs from frame-by-frame runs "
                    f"(max difference {diff:.3g}, largest value {scale:.3g})")
    return None


def settle_batch_size(requested: int, run: BatchFn, frame_shape: tuple[int, ...], what: str,
                      fixed: int | None = None) -> int:
    """The batch size to run ``run`` with: ``requested`` when batching is safe, else 1.

    ``fixed`` is the model's static batch axis (None when dynamic); a fixed batch above 1 is taken
    as is. ``what`` names the model file in the warning.
    """
    if requested <= 1:
        return 1
    if fixed is not None:
        if fixed == 1:
            log.warning("%s has a fixed batch size of 1: running it one frame per call; re-export it with "
                        "a dynamic batch axis to batch", what)
        return fixed
    problem = batch_problem(run, probe_input(frame_shape))
    if problem:
        log.warning("%s cannot be batched: %s; running it one frame per call (re-export it with a dynamic "
                    "batch axis to batch)", what, problem)
        return 1
    return requested


def run_chunked(run: BatchFn, x: np.ndarray, batch_size: int) -> Outputs:
    """``run`` over ``x`` (B, ...) in chunks of at most ``batch_size``; outputs concatenated in order."""
    parts = [run(x[i:i + batch_size]) for i in range(0, len(x), max(batch_size, 1))]
    if not parts:
        raise ValueError("run_chunked needs at least one input")
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (runtimes often start theirs with a newline)."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), "(no message)")[:300]
