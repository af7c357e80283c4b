"""Where training runs: ``auto`` picks CUDA when present, else CPU; batches follow the model."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch


def resolve_device(name: str, key: str = "training.device") -> torch.device:
    """``auto`` -> cuda if available else cpu; ``cpu``; ``cuda`` (error naming ``key`` if absent)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"{key} is 'cuda' but torch sees no CUDA device on this machine; "
                               f"set {key}: auto (or cpu), or run the job on a GPU node")
        return torch.device("cuda")
    raise ValueError(f"{key} must be auto, cpu or cuda, got {name!r}")


def device_of(model: torch.nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (cpu for a model with neither)."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor inside nested dicts, lists, tuples and dataclasses to ``device``.

    Mappings come back as plain dicts; values that are not tensors are kept as they are.
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        moved = {f.name: to_device(getattr(batch, f.name), device)
                 for f in dataclasses.fields(batch) if f.init}
        return dataclasses.replace(batch, **moved)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device) for v in batch)
    return batch
