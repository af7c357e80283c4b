"""Experiment tracking interface used by the trainer, a no-op tracker, and the factory from config.

MLflow is imported only when an MLflow tracker actually starts (see ``mlflow_tracker``), so tests and
stages that do not track never pay for the import.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from pipelib.training.config import TrackingConfig

log = logging.getLogger("pipelib.training")
MAX_PARAM_CHARS = 6000  # MLflow's limit on a parameter value


class Tracker(Protocol):
    """What the trainer logs: one run per training job, resumable by id after a restart."""

    def start(self, run_name: str, resume_id: str | None = None) -> str | None:
        """Open (or, given ``resume_id``, reopen) a run; return its id (None if not tracked)."""

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log flat ``name -> value`` parameters."""

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log one epoch's metrics at ``step`` (the epoch number)."""

    def log_dict(self, data: Mapping[str, Any], name: str) -> None:
        """Store ``data`` as a JSON artifact called ``name``."""

    def log_artifact(self, path: Path) -> None:
        """Store a local file as an artifact."""

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Attach string tags to the run."""

    def finish(self, status: str = "FINISHED") -> None:
        """Close the run with status FINISHED, FAILED or KILLED."""


class NullTracker:
    """Tracks nothing (``tracking.enabled: false`` or ``tracking.uri: none``)."""

    def start(self, run_name: str, resume_id: str | None = None) -> str | None:
        return None

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        pass

    def log_dict(self, data: Mapping[str, Any], name: str) -> None:
        pass

    def log_artifact(self, path: Path) -> None:
        pass

    def set_tags(self, tags: Mapping[str, str]) -> None:
        pass

    def finish(self, status: str = "FINISHED") -> None:
        pass


class GuardedTracker:
    """Wraps a tracker so that tracking never stops training: the first exception from any call
    (start, logging, finish) is logged as one warning and every later call does nothing."""

    def __init__(self, inner: Tracker) -> None:
        self.inner = inner
        self.failure: str | None = None  # "<call>: <error>" once a call failed
        self.started = False  # start() returned a run

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.failure is not None:
            return None
        try:
            return getattr(self.inner, name)(*args, **kwargs)
        except Exception as err:
            text = str(err).strip().splitlines()[0] if str(err).strip() else ""
            self.failure = f"{name}: {type(err).__name__}: {text}"
            where = getattr(self.inner, "uri", type(self.inner).__name__)
            log.warning("tracking to %s failed in %s (%s: %s); training goes on untracked, checkpoints "
                        "and history.csv are written as usual", where, name, type(err).__name__, text)
            return None

    def start(self, run_name: str, resume_id: str | None = None) -> str | None:
        run_id = self._call("start", run_name, resume_id=resume_id)
        self.started = run_id is not None
        return run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._call("log_params", params)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self._call("log_metrics", metrics, step=step)

    def log_dict(self, data: Mapping[str, Any], name: str) -> None:
        self._call("log_dict", data, name)

    def log_artifact(self, path: Path) -> None:
        self._call("log_artifact", path)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self._call("set_tags", tags)

    def finish(self, status: str = "FINISHED") -> None:
        """Close the run; after a failure, still try once to close a started run (quietly)."""
        if self.failure is None:
            self._call("finish", status)
        elif self.started:
            try:
                self.inner.finish(status)
            except Exception as err:
                log.debug("tracking: could not close the run after an earlier failure: %s", err)


def flatten_params(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config -> ``{"train.optimizer.lr": "0.0002", ...}``; lists and None as JSON text."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten_params(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            out[name] = text[:MAX_PARAM_CHARS]
    return out


def default_tracking_uri(run_dir: str | os.PathLike[str]) -> str:
    """The per-run SQLite store ``sqlite:///<run_dir>/mlflow.db`` (one writer per file)."""
    return f"sqlite:///{Path(run_dir).resolve() / 'mlflow.db'}"


def resolve_tracking_uri(cfg: TrackingConfig, run_dir: str | os.PathLike[str],
                         key: str = "training.tracking.uri") -> str:
    """``cfg.uri``, else ``$MLFLOW_TRACKING_URI``, else the per-run SQLite store.

    A plain path or ``file:`` URI (MLflow file store) is refused unless MLFLOW_ALLOW_FILE_STORE=true,
    because MLflow >= 3.13 errors on it later, mid-run.
    """
    uri = cfg.uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(run_dir)
    is_file_store = "://" not in uri or uri.startswith("file:")
    if is_file_store and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() != "true":
        raise ValueError(
            f"{key}: {uri!r} is an MLflow file store, which mlflow >= 3.13 refuses unless "
            f"MLFLOW_ALLOW_FILE_STORE=true; use null (a per-run SQLite file in the run directory), "
            f"a sqlite:/// URI, an http(s):// tracking server, or 'none' to disable tracking"
        )
    return uri


def make_tracker(cfg: TrackingConfig, run_dir: str | os.PathLike[str]) -> Tracker:
    """The tracker the config asks for: NullTracker when disabled, else an MLflow tracker (lazy import)."""
    if not cfg.active:
        return NullTracker()
    from pipelib.training.mlflow_tracker import MlflowTracker

    uri = resolve_tracking_uri(cfg, run_dir)
    artifacts = cfg.artifact_location
    if artifacts is None and uri == default_tracking_uri(run_dir):
        artifacts = str(Path(run_dir).resolve() / "mlartifacts")
    return MlflowTracker(uri, cfg.experiment, artifact_location=artifacts)
