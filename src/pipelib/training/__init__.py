"""Training infrastructure shared by every model: one trainer, one checkpoint format, tracking.

Model code supplies a loss (``train_step``), dev metrics (``eval_fn``) and data (``train_batches``);
:func:`fit` does the rest. MLflow is imported only when a run is tracked.

The names below load their module when first used (``from pipelib.training import fit`` works as
always), so that importing :mod:`pipelib.training.config`, which the workflow does whenever it starts,
does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelib.lazy_exports import lazy_exports

#: public name -> the module that defines it
_SOURCES = {
    **dict.fromkeys(("CheckpointError", "CheckpointMismatchError", "ModelCheckpoint", "init_from_checkpoint",
                     "load_for_inference", "load_model_weights", "read_checkpoint", "save_checkpoint"),
                    "checkpoint"),
    **dict.fromkeys(("EarlyStoppingConfig", "OptimizerConfig", "SchedulerConfig", "TrackingConfig",
                     "TrainConfig"), "config"),
    **dict.fromkeys(("device_of", "resolve_device", "to_device"), "device"),
    **dict.fromkeys(("derive_seed", "loader_generator", "seed_everything", "seed_worker"), "seeding"),
    **dict.fromkeys(("NullTracker", "Tracker", "make_tracker"), "tracking"),
    **dict.fromkeys(("FitResult", "fit"), "trainer"),
}

__all__ = [
    "CheckpointError", "CheckpointMismatchError", "EarlyStoppingConfig", "FitResult", "ModelCheckpoint",
    "NullTracker", "OptimizerConfig", "SchedulerConfig", "TrackingConfig", "TrainConfig", "Tracker",
    "derive_seed", "device_of", "fit", "init_from_checkpoint", "load_for_inference", "load_model_weights",
    "loader_generator", "make_tracker", "read_checkpoint", "resolve_device", "save_checkpoint",
    "seed_everything", "seed_worker", "to_device",
]


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES, __all__, globals())


if TYPE_CHECKING:
    from pipelib.training.checkpoint import (
        CheckpointError,
        CheckpointMismatchError,
        ModelCheckpoint,
        init_from_checkpoint,
        load_for_inference,
        load_model_weights,
        read_checkpoint,
        save_checkpoint,
    )
    from pipelib.training.config import (
        EarlyStoppingConfig,
        OptimizerConfig,
        SchedulerConfig,
        TrackingConfig,
        TrainConfig,
    )
    from pipelib.training.device import device_of, resolve_device, to_device
    from pipelib.training.seeding import derive_seed, loader_generator, seed_everything, seed_worker
    from pipelib.training.tracking import NullTracker, Tracker, make_tracker
    from pipelib.training.trainer import FitResult, fit
