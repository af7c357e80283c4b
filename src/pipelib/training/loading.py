"""One way from a checkpoint file to a model: :func:`load_model`.

A checkpoint (``pipelib.training.checkpoint.FORMAT``) records the model's class as ``module.Class`` and,
under ``config["model"]``, what the trainer stored to rebuild it (model config, vocabularies as JSON,
the config section). Each model class declares how it is rebuilt with a classmethod::

    @classmethod
    def from_checkpoint_config(cls, stored: Mapping[str, Any]) -> tuple[Self, dict[str, Vocab]]

returning the untrained model and its vocabularies by role (``"gloss"``, ``"text"``). :func:`load_model`
imports the recorded module (only ``pipelib.*`` modules), calls that classmethod, copies the weights in
with strict key/shape checks and returns the model in eval mode. No model module is imported here by
name, so this low layer knows no model package; :data:`KINDS` lists the project's kinds for messages.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

import torch

from pipelib.text.vocab import Vocab
from pipelib.training.checkpoint import (
    CheckpointError,
    ModelCheckpoint,
    load_for_inference,
    load_model_weights,
)

#: The model kinds of this project: short name -> the class recorded in their checkpoints.
KINDS: dict[str, str] = {
    "autoencoder": "pipelib.production.autoencoder.PoseAutoencoder",
    "generator": "pipelib.production.generator.TextToLatent",
    "pose2gloss": "pipelib.signx.pose2gloss.Pose2Gloss",
    "video2pose": "pipelib.signx.video2pose.Video2Pose",
    "recognizer": "pipelib.signx.recognizer.LatentRecognizer",
    "back-translator": "pipelib.models.back_translation.SignLanguageTransformer",
}
REBUILD = "from_checkpoint_config"


@dataclass(frozen=True)
class LoadedModel:
    """A model rebuilt from its checkpoint: ``model`` (eval mode, on the requested device), the stored
    model ``config`` (``checkpoint.config["model"]``), ``vocabs`` by role and the checkpoint itself."""

    model: torch.nn.Module
    config: dict[str, Any]
    vocabs: dict[str, Vocab]
    checkpoint: ModelCheckpoint

    @property
    def kind(self) -> str:
        """The short kind name (``KINDS``), or the class path for a class outside the list."""
        name = self.checkpoint.model_class
        return next((k for k, v in KINDS.items() if v == name), name)


def _known() -> str:
    return ", ".join(f"{k} ({v})" for k, v in KINDS.items())


def model_class(name: str, path: str | os.PathLike[str]) -> type[torch.nn.Module]:
    """The class a checkpoint at ``path`` records as ``name``; CheckpointError when it cannot be rebuilt."""
    module_name, _, class_name = name.rpartition(".")
    hint = f"known kinds: {_known()}"
    if not module_name.startswith("pipelib.") or not class_name:
        raise CheckpointError(f"checkpoint {path} holds a {name!r}, not a pipelib model; {hint}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise CheckpointError(f"checkpoint {path} holds a {name}, but module {module_name} cannot be "
                              f"imported ({err}); was it written by another pipelib version? {hint}"
                              ) from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, torch.nn.Module):
        raise CheckpointError(f"checkpoint {path} holds a {name}, but {module_name} defines no model class "
                              f"{class_name}; {hint}")
    if not callable(getattr(cls, REBUILD, None)):
        raise CheckpointError(f"checkpoint {path} holds a {name}, which does not declare how it is rebuilt "
                              f"(classmethod {REBUILD}); {hint}")
    return cls


def load_model(path: str | os.PathLike[str], map_location: str | torch.device = "cpu", *,
               expect: type[torch.nn.Module] | None = None) -> LoadedModel:
    """The model of a checkpoint rebuilt from the config and vocabularies stored in it, in eval mode on
    ``map_location``. ``expect``: the class the caller needs (CheckpointError naming the file if not)."""
    ckpt = load_for_inference(path, map_location)
    cls = model_class(ckpt.model_class, path)
    if expect is not None and not issubclass(cls, expect):
        raise CheckpointError(f"checkpoint {path} holds a {ckpt.model_class}, not a {expect.__name__}; "
                              f"point the config at a {expect.__name__} checkpoint")
    stored = dict(ckpt.config.get("model") or {})
    try:
        model, vocabs = getattr(cls, REBUILD)(stored)
    except KeyError as err:
        raise CheckpointError(f"checkpoint {path} ({ckpt.model_class}) lacks {err} in its stored model "
                              f"config (its keys: {sorted(stored)}); re-train it with the current trainer"
                              ) from None
    load_model_weights(model, ckpt)
    return LoadedModel(model.to(map_location).eval(), stored, dict(vocabs), ckpt)


def stored_model_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What a checkpoint's trainer stored to rebuild its model (``config["model"]``), without building it."""
    return dict(load_for_inference(path).config.get("model") or {})

