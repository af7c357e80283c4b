"""MLflow tracker: one MLflow run per training job, through ``MlflowClient`` (no global active run).

Several jobs may start at once on one store. For a SQLite store (``sqlite:///<file>``) the start of a
run (creating the database, the experiment and the run) happens under an exclusive ``fcntl`` lock on
``<file>.lock``, so MLflow's schema migrations never run twice on one file. A new database is not
migrated in place either (~15 s of DDL): it is a copy of an empty, fully migrated database made once
per MLflow version in the cache directory (``$PIPELIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/pipelib``,
else ``~/.cache/pipelib``), under a lock of its own. Where that directory cannot be written the store is
created in place, still under the lock. Experiment creation also races on tracking servers (one process
creates the experiment between another's lookup and insert); that conflict, and SQLite's transient
"database is locked", are retried with a short back-off.

MLflow 3 sends usage telemetry to its developers' servers from every process that imports it (outside CI),
and keeps an installation id in ``~/.config/mlflow``. Training jobs run on clusters whose data policies
the pipeline cannot know, so importing this module turns it off (``MLFLOW_DISABLE_TELEMETRY=true``)
unless the environment already sets ``MLFLOW_DISABLE_TELEMETRY``: set it to ``false`` to send it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pipelib.io.atomic import atomic_path

log = logging.getLogger("pipelib.training")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # before any import of mlflow (module docstring)
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


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///<path>`` URI; None for other stores and in-memory SQLite."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl.flock`` on ``path`` (created if needed) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cache_dir() -> Path:
    """``$PIPELIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/pipelib``, else ``~/.cache/pipelib``."""
    if os.environ.get("PIPELIB_CACHE_DIR"):
        return Path(os.environ["PIPELIB_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipelib"


def create_store(db: Path) -> None:
    """Create and fully migrate an MLflow SQLite database at ``db`` (MLflow's own initialisation)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{db}", str(db.parent / "mlartifacts"))
    store.engine.dispose()


def template_store() -> Path | None:
    """An empty, migrated MLflow database for this MLflow version, made once per cache directory; None
    (logged) when the cache directory cannot be written."""
    import mlflow

    template = cache_dir() / f"mlflow-{mlflow.__version__}" / "empty.db"
    if template.is_file():
        return template
    try:
        with file_lock(template.with_name("empty.db.lock")):
            if not template.is_file():
                started = time.monotonic()
                with atomic_path(template) as tmp:
                    create_store(tmp)
                log.info("mlflow: made the empty-store template %s in %.1f s", template,
                         time.monotonic() - started)
    except OSError as err:
        log.info("mlflow: no empty-store template in %s (%s); creating stores in place", template.parent, err)
        return None
    return template


def prepare_sqlite_store(db: Path, use_template: bool = True) -> None:
    """Make ``db`` a ready MLflow database if it is missing or empty; call under the store's lock.

    A copy of :func:`template_store` when ``use_template`` and the template exists, else MLflow's
    own initialisation in place."""
    if db.is_file() and db.stat().st_size > 0:
        return
    template = template_store() if use_template else None
    if template is None:
        create_store(db)
        return
    with atomic_path(db) as tmp:
        shutil.copyfile(template, tmp)
    log.debug("mlflow: new store %s copied from %s", db, template)


class MlflowTracker:
    """Logs params, per-epoch metrics, tags and artifacts of one run to ``uri``/``experiment``."""

    def __init__(self, uri: str, experiment: str, artifact_location: str | None = None) -> None:
        self.uri = uri
        self.experiment = experiment
        self.artifact_location = artifact_location
        self.run_id: str | None = None
        self._client: Any = None

    def start(self, run_name: str, resume_id: str | None = None) -> str | None:
        """Reopen run ``resume_id`` if the store still has it, else create a new run; on a SQLite store
        under its lock, creating the database first if needed."""
        db = sqlite_file(self.uri)
        if db is None:
            return self._start(run_name, resume_id)
        with file_lock(db.with_name(db.name + ".lock")):
            prepare_sqlite_store(db)
            return self._start(run_name, resume_id)

    def _start(self, run_name: str, resume_id: str | None) -> str | None:
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
