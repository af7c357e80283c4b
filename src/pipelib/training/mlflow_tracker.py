"""MLflow tracker: one MLflow run per training job, through ``MlflowClient`` (no global active run).

Experiment creation races when several jobs start at once (one process creates the experiment
between another's lookup and insert); that conflict, and SQLite's transient "database is locked",
are retried with a short back-off.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger("pipelib.training")
T = TypeVar("T")
ATTEMPTS = 8
RACE = ("resource_already_exists", "already exists", "unique constraint", "integrityerror")


def is_locked(err: BaseException) -> bool:
    """True for SQLite's transient "database is locked" (another writer holds the file)."""
    return "database is locked" in str(err).lower()


def is_name_race(err: BaseException) -> bool:
    """True when creating an experiment failed because another process just created that name."""
    text = f"{getattr(err, 'error_code', '')} {err}".lower()
    return is_locked(err) or any(t in text for t in RACE)


def retry(fn: Callable[..., T], *args: Any, attempts: int = ATTEMPTS, base_delay: float = 0.05,
          **kwargs: Any) -> T:
    """Call ``fn``, retrying "database is locked" with exponential back-off (pid-based jitter)."""
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            if attempt == attempts - 1 or not is_locked(err):
                raise
            delay = base_delay * 2**attempt * (1 + (os.getpid() % 7) / 7)
            log.debug("mlflow: %s; retrying in %.2f s", err, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def get_or_create_experiment(client: Any, name: str, artifact_location: str | None = None,
                             attempts: int = ATTEMPTS, base_delay: float = 0.05) -> str:
    """Id of experiment ``name``, creating it if needed; safe when other processes do the same.

    A deleted experiment of that name is restored (MLflow keeps the name reserved).
    """
    for attempt in range(attempts):
        exp = retry(client.get_experiment_by_name, name, attempts=attempts, base_delay=base_delay)
        if exp is not None:
            if getattr(exp, "lifecycle_stage", "active") == "deleted":
                log.warning("mlflow experiment %r was deleted; restoring it", name)
                client.restore_experiment(exp.experiment_id)
            return str(exp.experiment_id)
        try:
            return str(client.create_experiment(name, artifact_location=artifact_location))
        except Exception as err:  # another job created it since our lookup: look it up again
            if attempt == attempts - 1 or not is_name_race(err):
                raise
            log.info("mlflow: experiment %r was created concurrently (%s); looking it up again",
                     name, type(err).__name__)
            time.sleep(base_delay * (1 + (os.getpid() % 7) / 7))
    raise AssertionError("unreachable")


class MlflowTracker:
    """Logs params, per-epoch metrics, tags and artifacts of one run to ``uri``/``experiment``."""

    def __init__(self, uri: str, experiment: str, artifact_location: str | None = None) -> None:
        self.uri = uri
        self.experiment = experiment
        self.artifact_location = artifact_location
        self.run_id: str | None = None
        self._client: Any = None

    def start(self, run_name: str, resume_id: str | None = None) -> str | None:
        """Reopen run ``resume_id`` if the store still has it, else create a new run."""
        from mlflow.tracking import MlflowClient

        self._client = MlflowClient(tracking_uri=self.uri)
        if resume_id is not None:
            try:
                retry(self._client.get_run, resume_id)
            except Exception as err:
                log.warning("mlflow run %s not found in %s (%s); starting a new run",
                            resume_id, self.uri, err)
            else:
                retry(self._client.update_run, resume_id, status="RUNNING")
                self.run_id = resume_id
                log.info("mlflow: resumed run %s in %s", resume_id, self.uri)
                return resume_id
        exp_id = get_or_create_experiment(self._client, self.experiment, self.artifact_location)
        run = retry(self._client.create_run, exp_id, run_name=run_name)
        self.run_id = run.info.run_id
        log.info("mlflow: run %s (experiment %r) in %s", self.run_id, self.experiment, self.uri)
        return self.run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow's batch limit
            retry(self._client.log_batch, self.run_id, params=items[i:i + 100])

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, int(step)) for k, v in metrics.items()]
        retry(self._client.log_batch, self.run_id, metrics=items)

    def log_dict(self, data: Mapping[str, Any], name: str) -> None:
        retry(self._client.log_dict, self.run_id, dict(data), name)

    def log_artifact(self, path: Path) -> None:
        retry(self._client.log_artifact, self.run_id, str(path))

    def set_tags(self, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        retry(self._client.log_batch, self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def finish(self, status: str = "FINISHED") -> None:
        if self._client is not None and self.run_id is not None:
            retry(self._client.set_terminated, self.run_id, status)
