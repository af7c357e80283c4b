"""Training configuration: one dataclass (`TrainConfig`) with nested sections, built from a dict.

Every number the trainer uses comes from here. ``TrainConfig.from_dict`` rejects unknown keys,
naming the dotted key (``training.optimizer.lrr``) and the keys that are known.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from pipelib.sections import coerce_fields

MODES = ("min", "max")
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("adam", "adamw")
SCHEDULERS = ("none", "plateau", "cosine", "noam")
PER_STEP = ("cosine", "noam")
_PLATEAU_KEYS = frozenset({"factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr"})
SCHEDULER_KEYS = {  # keys each schedule reads (besides name); ``none`` accepts any, reads none
    "plateau": _PLATEAU_KEYS,
    "cosine": frozenset({"warmup_steps", "total_steps", "min_lr"}),
    "noam": frozenset({"d_model", "warmup_steps", "factor"}),
}
SCHEDULER_REQUIRED = {"cosine": ("total_steps",), "noam": ("d_model", "warmup_steps")}


def _err(where: str, key: str, msg: str) -> ValueError:
    return ValueError(f"{where}.{key}: {msg}")


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam or AdamW: learning rate, betas, eps and weight decay (decoupled for AdamW)."""

    name: str = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0

    def validate(self, where: str) -> None:
        """Raise ValueError naming the key when a value cannot work."""
        if self.name not in OPTIMIZERS:
            raise _err(where, "name", f"must be one of {list(OPTIMIZERS)}, got {self.name!r}")
        if not self.lr > 0:
            raise _err(where, "lr", f"must be > 0, got {self.lr}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise _err(where, "betas", f"must be two numbers in [0, 1), got {list(self.betas)}")
        if not self.eps > 0:
            raise _err(where, "eps", f"must be > 0, got {self.eps}")
        if self.weight_decay < 0:
            raise _err(where, "weight_decay", f"must be >= 0, got {self.weight_decay}")


@dataclass(frozen=True)
class SchedulerConfig:
    """Learning-rate schedule (``name``): ``none`` (constant lr), ``plateau``, ``cosine`` or ``noam``.

    - ``plateau``: ReduceLROnPlateau on the monitored dev metric, stepped once per epoch; after
      ``patience`` epochs without improvement (beyond ``threshold``, ``threshold_mode`` rel/abs) and
      ``cooldown``, lr *= ``factor`` (in (0, 1)), never below ``min_lr``.
    - ``cosine``: stepped after every optimizer step; linear warm-up from 0 to ``optimizer.lr`` over
      ``warmup_steps`` steps (0: none), then cosine decay to ``min_lr`` (< optimizer.lr) reached at
      ``total_steps`` (required, > warmup_steps; optimizer steps, i.e. batches x epochs), constant after.
    - ``noam``: stepped after every optimizer step; lr = ``factor`` * ``d_model``^-0.5 *
      min(step^-0.5, step * ``warmup_steps``^-1.5) (step = 1, 2, ...), replacing optimizer.lr;
      ``d_model`` and ``warmup_steps`` (>= 1) are required; ``factor`` (> 0) defaults to 1.0 when
      built with ``TrainConfig.from_dict`` (the 0.5 field default is plateau's).

    Keys that the chosen schedule does not use are refused unless they hold the field default
    (any key goes with ``none``). See
    :mod:`pipelib.training.schedules`.
    """

    name: str = "none"
    factor: float = 0.5
    patience: int = 5
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    warmup_steps: int = 0
    total_steps: int | None = None
    d_model: int | None = None

    @property
    def per_step(self) -> bool:
        """True for schedules stepped after every optimizer step (cosine, noam), not per epoch."""
        return self.name in PER_STEP

    @staticmethod
    def fill_and_check(d: dict[str, Any], where: str) -> dict[str, Any]:
        """``d`` with the named schedule's own defaults (noam: ``factor`` 1.0); refuses a key the
        schedule does not use unless it holds the field default (so ``to_dict`` output reads back),
        and a key the schedule requires but cannot default."""
        d = dict(d)
        name = d.get("name", "none")
        if name not in SCHEDULER_KEYS:
            return d  # validate() names a bad schedule; ``none`` reads no key
        defaults = {f.name: f.default for f in fields(SchedulerConfig)}
        for key, value in d.items():
            if key != "name" and key not in SCHEDULER_KEYS[name] and value != defaults[key]:
                raise _err(where, key, f"is not used by the {name!r} schedule; remove it (it uses "
                                       f"{sorted(SCHEDULER_KEYS[name])})")
        if name == "noam":
            d.setdefault("factor", 1.0)
        for key in SCHEDULER_REQUIRED.get(name, ()):
            if d.get(key) is None:
                raise _err(where, key, f"is required by the {name!r} schedule; set it")
        return d

    def validate(self, where: str) -> None:
        """Raise ValueError naming the key when a value cannot work."""
        if self.name not in SCHEDULERS:
            raise _err(where, "name", f"must be one of {list(SCHEDULERS)}, got {self.name!r}")
        if self.min_lr < 0:
            raise _err(where, "min_lr", f"must be >= 0, got {self.min_lr}")
        if self.name == "cosine":
            if int(self.warmup_steps) < 0:
                raise _err(where, "warmup_steps", f"must be >= 0, got {self.warmup_steps}")
            if self.total_steps is None or int(self.total_steps) <= int(self.warmup_steps):
                raise _err(where, "total_steps", f"must be an integer > warmup_steps ({self.warmup_steps}) "
                                                 f"for the cosine schedule, got {self.total_steps}")
            return
        if self.name == "noam":
            if self.d_model is None or int(self.d_model) < 1:
                raise _err(where, "d_model", f"must be an integer >= 1 for noam, got {self.d_model}")
            if int(self.warmup_steps) < 1:
                raise _err(where, "warmup_steps", f"must be >= 1 for noam, got {self.warmup_steps}")
            if not (self.factor > 0 and math.isfinite(self.factor)):
                raise _err(where, "factor", f"must be > 0 for the noam schedule, got {self.factor}")
            return
        if not 0 < self.factor < 1:
            raise _err(where, "factor", f"must be in (0, 1), got {self.factor}")
        for key in ("patience", "cooldown"):
            if int(getattr(self, key)) < 0:
                raise _err(where, key, f"must be >= 0, got {getattr(self, key)}")
        if self.threshold < 0:
            raise _err(where, "threshold", f"must be >= 0, got {self.threshold}")
        if self.threshold_mode not in ("rel", "abs"):
            raise _err(where, "threshold_mode", f"must be 'rel' or 'abs', got {self.threshold_mode!r}")


@dataclass(frozen=True)
class EarlyStoppingConfig:
    """Stop after ``patience`` epochs whose dev metric did not beat the best by more than ``min_delta``.

    ``patience: null`` disables early stopping.
    """

    patience: int | None = None
    min_delta: float = 0.0

    def validate(self, where: str) -> None:
        """Raise ValueError naming the key when a value cannot work."""
        if self.patience is not None and int(self.patience) < 1:
            raise _err(where, "patience", f"must be >= 1 or null (off), got {self.patience}")
        if self.min_delta < 0:
            raise _err(where, "min_delta", f"must be >= 0, got {self.min_delta}")


@dataclass(frozen=True)
class TrackingConfig:
    """MLflow tracking. ``uri: null`` -> ``$MLFLOW_TRACKING_URI`` if set, else a per-run SQLite file
    ``sqlite:///<run_dir>/mlflow.db`` (safe with many jobs at once); ``uri: none`` disables tracking.

    ``artifact_location`` defaults to ``<run_dir>/mlartifacts`` with the per-run SQLite store and to
    the server's default otherwise. ``log_checkpoint`` uploads best.pt as an artifact (large).
    """

    enabled: bool = True
    uri: str | None = None
    experiment: str = "pipelib"
    run_name: str | None = None
    artifact_location: str | None = None
    log_checkpoint: bool = False

    def validate(self, where: str) -> None:
        """Raise ValueError naming the key when a value cannot work."""
        if not self.experiment:
            raise _err(where, "experiment", "must be a non-empty name")

    @property
    def active(self) -> bool:
        """True unless tracking is disabled (``enabled: false`` or ``uri: none``)."""
        return bool(self.enabled) and (self.uri or "").lower() != "none"


@dataclass(frozen=True)
class TrainConfig:
    """Everything the trainer needs besides the model, the loss and the data.

    ``monitor`` names a key of the dict that ``eval_fn`` returns (the dev metric); ``mode`` says
    whether lower (``min``) or higher (``max``) is better; best.pt, early stopping and the plateau
    scheduler all follow it. ``grad_clip`` is a maximum global L2 gradient norm (null: no clipping).
    ``init_from`` is a checkpoint whose model weights initialise a fresh run (phase 2 from phase 1);
    it is ignored when the run resumes from its own last.pt.
    ``keep_top_k`` (>= 0; 0 = off) keeps ``epochNNN.pt`` checkpoints of the ``k`` epochs with the best
    monitored dev metric (ties: the earlier epoch wins) for checkpoint averaging
    (:func:`pipelib.training.averaging.average_checkpoints` over ``FitResult.top_k_paths``); they hold
    the model weights, config and history but no optimizer or scheduler state.
    ``scheduler`` picks ``none``, ``plateau`` (per epoch), ``cosine`` or ``noam`` (per optimizer step);
    see :class:`SchedulerConfig`.
    """

    seed: int = 0
    epochs: int = 10
    device: str = "auto"
    deterministic: bool = False
    grad_clip: float | None = None
    monitor: str = "loss"
    mode: str = "min"
    init_from: str | None = None
    keep_top_k: int = 0
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, where: str = "training") -> TrainConfig:
        """Build from a config section (``where`` names it in errors); unknown keys raise ValueError."""
        d = dict(d or {})
        sections = {"optimizer": OptimizerConfig, "scheduler": SchedulerConfig,
                    "early_stopping": EarlyStoppingConfig, "tracking": TrackingConfig}
        subs = {key: d.pop(key) for key in sections if key in d}
        d = coerce_fields(cls, d, where)
        for key, sub in subs.items():
            if sub is None:
                continue
            if not isinstance(sub, dict):
                raise _err(where, key, f"must be a mapping, got {type(sub).__name__}")
            sub = coerce_fields(sections[key], sub, f"{where}.{key}")
            if key == "scheduler":
                sub = SchedulerConfig.fill_and_check(sub, f"{where}.{key}")
            d[key] = sections[key](**sub)
        cfg = cls(**d)
        cfg.validate(where)
        return cfg

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples as lists), key-sorted at every level."""
        return _plain(asdict(self))

    def validate(self, where: str = "training") -> None:
        """Raise ValueError naming the key when a value cannot work."""
        if int(self.epochs) < 1:
            raise _err(where, "epochs", f"must be >= 1, got {self.epochs}")
        if self.device not in DEVICES:
            raise _err(where, "device", f"must be one of {list(DEVICES)}, got {self.device!r}")
        if self.mode not in MODES:
            raise _err(where, "mode", f"must be 'min' or 'max', got {self.mode!r}")
        if not self.monitor:
            raise _err(where, "monitor", "must name a key returned by the evaluation function")
        if self.grad_clip is not None and not (self.grad_clip > 0 and math.isfinite(self.grad_clip)):
            raise _err(where, "grad_clip", f"must be a positive number or null, got {self.grad_clip}")
        if int(self.keep_top_k) < 0:
            raise _err(where, "keep_top_k", f"must be >= 0 (0 = off), got {self.keep_top_k}")
        self.optimizer.validate(f"{where}.optimizer")
        self.scheduler.validate(f"{where}.scheduler")
        if self.scheduler.name == "cosine" and not self.scheduler.min_lr < self.optimizer.lr:
            raise _err(f"{where}.scheduler", "min_lr", f"must be below optimizer.lr ({self.optimizer.lr}) "
                                                       f"for cosine, got {self.scheduler.min_lr}")
        self.early_stopping.validate(f"{where}.early_stopping")
        self.tracking.validate(f"{where}.tracking")


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in sorted(obj.items())}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj
