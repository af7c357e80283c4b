"""Seeds and random-number-generator state: seeding, capture/restore for checkpoints, DataLoader seeds.

RNG states are stored as tensors and plain numbers so that ``torch.load(weights_only=True)`` reads them.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed derived from ``seed`` and integer ``keys`` (e.g. the epoch), well mixed."""
    words = np.random.SeedSequence([seed, *keys]).generate_state(2, np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])


def loader_generator(seed: int, epoch: int) -> torch.Generator:
    """A CPU ``torch.Generator`` for a DataLoader's shuffling and worker base seeds in ``epoch``.

    Pass it as ``DataLoader(..., generator=loader_generator(cfg.seed, epoch), worker_init_fn=seed_worker)``
    so each epoch's order depends only on (seed, epoch), not on how the run was interrupted.
    """
    return torch.Generator().manual_seed(derive_seed(seed, epoch))


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed ``random`` and NumPy from the worker's torch seed."""
    del worker_id  # torch already gives each worker base_seed + worker_id
    worker_seed = torch.initial_seed() % 2**32
    random.seed(worker_seed)
    np.random.seed(worker_seed)


def capture_rng() -> dict[str, Any]:
    """State of Python, NumPy and torch (CPU and CUDA) generators as tensors and plain numbers."""
    version, mt, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python_version": int(version),
        "python_mt": torch.tensor(mt, dtype=torch.int64),  # (625,) Mersenne Twister words + index
        "python_gauss": gauss,
        "numpy_key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),  # (624,)
        "numpy_pos": int(np_state["state"]["pos"]),
        "numpy_has_gauss": int(np_state["has_gauss"]),
        "numpy_gauss": float(np_state["gauss"]),
        "torch": torch.get_rng_state(),  # uint8 tensor
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put back a state from :func:`capture_rng` (CUDA states only when the same devices exist)."""
    mt = tuple(int(x) for x in state["python_mt"].tolist())
    random.setstate((state["python_version"], mt, state["python_gauss"]))
    np.random.set_state({
        "bit_generator": "MT19937",
        "state": {"key": state["numpy_key"].numpy().astype(np.uint32), "pos": state["numpy_pos"]},
        "has_gauss": state["numpy_has_gauss"],
        "gauss": state["numpy_gauss"],
    })
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def set_deterministic_algorithms(mode: bool, warn_only: bool = False) -> None:
    """``torch.use_deterministic_algorithms(mode, warn_only=...)`` without importing TorchInductor.

    The public call imports ``torch._inductor`` (and with it TorchDynamo: about 2 s of CPU per process
    in torch 2.13) only to set ``torch._inductor.config.deterministic``, which matters to
    ``torch.compile`` alone; this library never compiles. Once something has imported that config,
    the public call is used, so both settings stay in step.
    """
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)
    else:
        torch._C._set_deterministic_algorithms(mode, warn_only=warn_only)


@contextlib.contextmanager
def deterministic_algorithms(enabled: bool) -> Iterator[None]:
    """Within the block, make torch use deterministic kernels (``enabled``); restore settings after.

    On CUDA this also needs ``CUBLAS_WORKSPACE_CONFIG``, set here if absent (before cuBLAS starts).
    """
    if not enabled:
        yield
        return
    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled(),
                torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    set_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        set_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.backends.cudnn.deterministic = previous[2]
        torch.backends.cudnn.benchmark = previous[3]
