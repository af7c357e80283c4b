"""The one checkpoint format of the project: a dict of state dicts, config and plain values.

Layout (``FORMAT``)::

    format, model_class ("module.Class"), config (JSON-ready dict), model (state dict),
    optimizer, scheduler, early_stopping (state dicts or None), epoch (completed epochs),
    best_metric, best_epoch, rng (tensors and numbers), history (list of per-epoch dicts),
    meta (plain dict: provenance, tracker run id, init_from record, stopped_early)

:func:`pipelib.training.loading.load_model` rebuilds any project model from its checkpoint alone.
Files are written atomically and read with ``torch.load(weights_only=True)`` only, so a checkpoint
that holds arbitrary pickled objects is refused rather than executed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pipelib.io.atomic import atomic_path, write_failure
from pipelib.provenance import file_sha256

FORMAT = "pipelib.training.checkpoint/1"
log = logging.getLogger("pipelib.training")


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used; the message names the file and the fix."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint whose model weights do not fit the model (missing, unexpected or resized keys)."""


def model_class_name(model: torch.nn.Module) -> str:
    """``module.QualName`` of the model's class, as recorded in checkpoints."""
    return f"{type(model).__module__}.{type(model).__qualname__}"


def save_checkpoint(path: str | os.PathLike[str], model: torch.nn.Module, config: Mapping[str, Any], *,
                    epoch: int, optimizer: torch.optim.Optimizer | None = None, scheduler: Any = None,
                    early_stopping: Any = None, best_metric: float | None = None,
                    best_epoch: int | None = None, rng: Mapping[str, Any] | None = None,
                    history: list[dict[str, float]] | None = None,
                    meta: Mapping[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically to ``path``; ``config`` must be JSON-serialisable.

    ``scheduler`` and ``early_stopping`` are any objects with ``state_dict()``. A failed write (full
    disk, I/O error) raises CheckpointError naming ``path`` and saying what happened.
    """
    path = Path(path)
    try:
        json.dumps(config, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(f"checkpoint {path}: config is not JSON-serialisable ({err}); pass plain "
                        f"dicts, lists, strings and numbers") from None
    state = {
        "format": FORMAT,
        "model_class": model_class_name(model),
        "config": json.loads(json.dumps(config)),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "early_stopping": early_stopping.state_dict() if early_stopping is not None else None,
        "epoch": int(epoch),
        "best_metric": None if best_metric is None else float(best_metric),
        "best_epoch": None if best_epoch is None else int(best_epoch),
        "rng": dict(rng) if rng is not None else None,
        "history": list(history or []),
        "meta": dict(meta or {}),
    }
    with atomic_path(path) as tmp:
        try:
            torch.save(state, tmp)
        except (OSError, RuntimeError) as err:  # torch's C++ writer says only "basic_ios::clear"
            raise CheckpointError(write_failure(path, err)) from err
    return path


def read_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint dict with ``weights_only=True``; CheckpointError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; check the path in the config "
                                f"(e.g. training.init_from) or train the model that writes it first")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"checkpoint {path} was refused by torch.load(weights_only=True): it contains pickled "
            f"Python objects other than tensors and plain containers ({first}). Only checkpoints "
            f"written by pipelib.training.save_checkpoint are loaded; re-create it with the trainer"
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise CheckpointError(f"checkpoint {path} is unreadable ({err}); it may be truncated or not a "
                              f"torch file. Delete it and re-run the job that writes it") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"checkpoint {path} is not a {FORMAT} checkpoint (format: {found!r}); "
                              f"write it with pipelib.training.save_checkpoint")
    return state


def weights_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 over a checkpoint's model weights (names, dtypes, shapes, values) in key order.

    Unlike the file's own hash it ignores what changes between identical runs (creation time,
    per-epoch seconds, provenance), so it names the model, not the file.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(read_checkpoint(path)["model"].items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelCheckpoint:
    """What inference needs from a checkpoint: the weights and the config that built the model."""

    path: Path
    model_state: dict[str, torch.Tensor]
    config: dict[str, Any]
    model_class: str
    epoch: int
    best_metric: float | None


def load_for_inference(path: str | os.PathLike[str],
                       map_location: str | torch.device = "cpu") -> ModelCheckpoint:
    """Model weights, config and model class name of a checkpoint (optimizer state is dropped)."""
    state = read_checkpoint(path, map_location)
    return ModelCheckpoint(path=Path(path), model_state=state["model"], config=state["config"],
                           model_class=state["model_class"], epoch=state["epoch"],
                           best_metric=state["best_metric"])


def load_model_weights(model: torch.nn.Module, source: str | os.PathLike[str] | ModelCheckpoint
                       ) -> ModelCheckpoint:
    """Copy a checkpoint's weights into ``model`` with strict key and shape checking.

    Raises CheckpointMismatchError naming the file and the missing, unexpected and resized keys.
    """
    ckpt = source if isinstance(source, ModelCheckpoint) else load_for_inference(source)
    check_state_matches(model, ckpt.model_state, ckpt.path)
    if ckpt.model_class != model_class_name(model):
        log.warning("checkpoint %s was saved from %s; loading its weights into %s (keys match)",
                    ckpt.path, ckpt.model_class, model_class_name(model))
    model.load_state_dict(ckpt.model_state, strict=True)
    return ckpt


def init_from_checkpoint(model: torch.nn.Module, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Initialise ``model`` from another run's checkpoint (e.g. phase 2 from phase 1), strictly.

    Returns a provenance record: path, sha256, epoch, best_metric and model class of the source.
    """
    ckpt = load_model_weights(model, path)
    log.info("initialised %s from %s (epoch %d)", model_class_name(model), path, ckpt.epoch)
    return {"path": str(Path(path).resolve()), "sha256": file_sha256(path), "epoch": ckpt.epoch,
            "best_metric": ckpt.best_metric, "model_class": ckpt.model_class}


def check_state_matches(model: torch.nn.Module, state: Mapping[str, torch.Tensor],
                        path: str | os.PathLike[str]) -> None:
    """Raise CheckpointMismatchError unless ``state`` has exactly the model's keys and shapes."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    resized = sorted(f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                     for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or resized:
        parts = [f"{name} ({len(keys)}): {', '.join(keys[:8])}{' ...' if len(keys) > 8 else ''}"
                 for name, keys in (("missing", missing), ("unexpected", unexpected),
                                    ("shape mismatch", resized)) if keys]
        raise CheckpointMismatchError(
            f"checkpoint {path} does not fit {model_class_name(model)}: " + "; ".join(parts)
            + ". Build the model with the config stored in the checkpoint, or point the config at "
              "a checkpoint of the same architecture"
        )
