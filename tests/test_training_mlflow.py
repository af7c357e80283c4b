"""MLflow tracking: params and metrics readable with MlflowClient, resume into the same run, two jobs at
once with the default per-run store, the experiment-creation race, and the lazy import."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

from pipelib.training import NullTracker, TrainConfig, fit, make_tracker
from pipelib.training.mlflow_tracker import get_or_create_experiment
from pipelib.training.tracking import default_tracking_uri, flatten_params, resolve_tracking_uri

X = torch.linspace(-1, 1, 16).reshape(8, 2)
Y = X.sum(dim=1, keepdim=True)


def step(model, batch):
    return {"loss": torch.nn.functional.mse_loss(model(batch[0]), batch[1])}


def dev(model):
    return {"loss": float(torch.nn.functional.mse_loss(model(X), Y))}


def batches(epoch):
    return [(X[:4], Y[:4]), (X[4:], Y[4:])]


def cfg(tracking: dict, epochs: int = 3) -> TrainConfig:
    return TrainConfig.from_dict({"epochs": epochs, "device": "cpu", "optimizer": {"lr": 0.05},
                                  "tracking": tracking})


def train(run_dir: str, tracking: dict, epochs: int = 3, fail_at: int | None = None):
    torch.manual_seed(0)

    def maybe_failing(epoch):
        if epoch == fail_at:
            raise RuntimeError("killed")
        return batches(epoch)

    return fit(torch.nn.Linear(2, 1), step, dev, maybe_failing, cfg(tracking, epochs), Path(run_dir),
               model_config={"in": 2, "out": 1})


def test_run_logs_params_metrics_artifacts_and_resumes_same_run(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)  # anything written relative to the cwd lands in tmp
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    tracking = {"uri": uri, "experiment": "unit", "artifact_location": str(tmp_path / "art")}
    with pytest.raises(RuntimeError, match="killed"):
        train(str(tmp_path / "run"), tracking, fail_at=3)
    result = train(str(tmp_path / "run"), tracking)

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("unit").experiment_id])
    assert len(runs) == 1  # the restarted job continued the same MLflow run
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.params["train.optimizer.lr"] == "0.05" and run.data.params["model.in"] == "2"
    assert run.data.params["train.tracking.experiment"] == "unit"
    history = client.get_metric_history(run.info.run_id, "dev/loss")
    assert sorted(m.step for m in history) == [1, 2, 3]
    by_step = {m.step: m.value for m in history}
    assert by_step[3] == pytest.approx(result.history[2]["dev/loss"])
    assert {"train/loss", "lr", "seconds"} <= set(run.data.metrics)
    assert run.data.tags["best_checkpoint"] == str(result.best_path.resolve())
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"config.json", "history.csv"}


def _job(run_dir: str) -> None:
    torch.set_num_threads(1)  # a forked child must not reuse the parent's OpenMP pool
    train(run_dir, {"experiment": "shared-name"}, epochs=2)


def test_two_jobs_at_once_with_default_uri(tmp_path, monkeypatch):
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  (imported once here, shared by fork)
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    torch.optim.Adam(torch.nn.Linear(1, 1).parameters())  # pay torch's lazy optimizer imports before forking
    ctx = mp.get_context("fork")  # two real processes; fork spares each child re-importing torch and mlflow
    procs = [ctx.Process(target=_job, args=(str(tmp_path / f"job{i}"),)) for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    for i in range(2):
        run_dir = tmp_path / f"job{i}"
        client = MlflowClient(tracking_uri=default_tracking_uri(run_dir))
        runs = client.search_runs([client.get_experiment_by_name("shared-name").experiment_id])
        assert len(runs) == 1 and runs[0].info.status == "FINISHED"
        assert len(client.get_metric_history(runs[0].info.run_id, "dev/loss")) == 2
        assert (run_dir / "mlflow.db").exists() and (run_dir / "mlartifacts").is_dir()
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def _shared_store_job(run_dir: str, uri: str) -> None:
    torch.set_num_threads(1)
    train(run_dir, {"uri": uri, "experiment": "crowd"}, epochs=2)


def test_eight_jobs_starting_together_on_one_fresh_sqlite_store_all_log(tmp_path, monkeypatch):
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  (imported once here, shared by fork)
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("PIPELIB_CACHE_DIR", str(tmp_path / "cache"))  # no template yet: they race for it too
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    torch.optim.Adam(torch.nn.Linear(1, 1).parameters())
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_shared_store_job, args=(str(tmp_path / f"job{i}"), uri)) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * 8

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("crowd").experiment_id])
    assert sorted(r.info.run_name for r in runs) == [f"job{i}" for i in range(8)]
    for run in runs:
        assert run.info.status == "FINISHED"
        for key in ("dev/loss", "train/loss", "train/data_wait_fraction", "lr", "seconds"):
            assert sorted(m.step for m in client.get_metric_history(run.info.run_id, key)) == [1, 2], key
    assert (tmp_path / "cache").is_dir()


def test_new_stores_are_copies_of_one_migrated_template(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from pipelib.training import mlflow_tracker

    monkeypatch.setenv("PIPELIB_CACHE_DIR", str(tmp_path / "cache"))
    made = []
    real = mlflow_tracker.create_store
    monkeypatch.setattr(mlflow_tracker, "create_store", lambda db: (made.append(db), real(db)))
    for name in ("a", "b"):
        uri = f"sqlite:///{tmp_path / name / 'mlflow.db'}"
        tracker = mlflow_tracker.MlflowTracker(uri, "e")
        run_id = tracker.start(name)
        tracker.log_metrics({"x": 1.0}, step=1)
        tracker.finish()
        assert MlflowClient(tracking_uri=uri).get_run(run_id).data.metrics == {"x": 1.0}
    assert len(made) == 1 and made[0].parent == tmp_path / "cache" / f"mlflow-{_mlflow_version()}"


def _mlflow_version() -> str:
    import mlflow

    return mlflow.__version__


class FailingTracker(NullTracker):
    """A tracker whose ``fail_in`` call raises (as a dead tracking server or a broken store would)."""

    def __init__(self, fail_in: str) -> None:
        self.fail_in = fail_in
        self.calls: list[str] = []

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name in ("start", "log_params", "log_metrics", "log_dict", "log_artifact", "set_tags", "finish"):
            def call(*args, **kwargs):
                self.calls.append(name)
                if name == self.fail_in:
                    raise ConnectionError(f"tracking server unreachable during {name}")
                return "run-1" if name == "start" else attr(*args, **kwargs)
            return call
        return attr


@pytest.mark.parametrize("fail_in", ["start", "log_metrics", "finish"])
def test_tracking_failure_is_one_warning_and_training_completes(tmp_path, caplog, fail_in):
    caplog.set_level("WARNING", logger="pipelib.training")
    tracker = FailingTracker(fail_in)
    torch.manual_seed(0)
    result = fit(torch.nn.Linear(2, 1), step, dev, batches, cfg({"experiment": "e"}, epochs=3), tmp_path,
                 tracker)
    assert len(result.history) == 3 and result.best_path.is_file() and result.last_path.is_file()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and f"failed in {fail_in}" in warnings[0]
    assert "tracking server unreachable" in warnings[0] and "training goes on untracked" in warnings[0]
    if fail_in == "start":
        assert tracker.calls == ["start"]  # nothing more is sent to a tracker that failed
    elif fail_in == "log_metrics":
        assert tracker.calls.count("log_metrics") == 1 and tracker.calls[-1] == "finish"


class RacingClient:
    """Another process creates the experiment between our lookup and our create."""

    def __init__(self) -> None:
        self.created = False
        self.lookups = 0

    def get_experiment_by_name(self, name):
        self.lookups += 1
        return types.SimpleNamespace(experiment_id="7", lifecycle_stage="active") if self.created else None

    def create_experiment(self, name, artifact_location=None):
        self.created = True  # the other process won
        err = RuntimeError(f"Experiment(name={name}) already exists. (sqlite3.IntegrityError) UNIQUE "
                           f"constraint failed: experiments.name")
        err.error_code = "RESOURCE_ALREADY_EXISTS"
        raise err


def test_experiment_creation_race_is_retried():
    client = RacingClient()
    assert get_or_create_experiment(client, "e", base_delay=0.0) == "7" and client.lookups == 2

    class Broken(RacingClient):
        def create_experiment(self, name, artifact_location=None):
            raise PermissionError("read-only store")

    with pytest.raises(PermissionError):
        get_or_create_experiment(Broken(), "e", base_delay=0.0)


def test_uri_choice(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    plain = TrainConfig().tracking
    assert resolve_tracking_uri(plain, tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    assert resolve_tracking_uri(plain, tmp_path) == "http://tracking:5000"
    with pytest.raises(ValueError, match=r"training\.tracking\.uri: './mlruns' is an MLflow file store"):
        resolve_tracking_uri(TrainConfig.from_dict({"tracking": {"uri": "./mlruns"}}).tracking, tmp_path)
    for off in ({"uri": "none"}, {"enabled": False}):
        assert isinstance(make_tracker(TrainConfig.from_dict({"tracking": off}).tracking, tmp_path),
                          NullTracker)
    flat = flatten_params({"model": {"dims": [1, 2]}, "train": {"init_from": None, "lr": 0.1}})
    assert flat == {"model.dims": "[1, 2]", "train.init_from": "null", "train.lr": "0.1"}


def test_training_without_tracking_never_imports_mlflow(tmp_path):
    code = (
        "import sys, torch\n"
        "from pipelib.training import TrainConfig, fit\n"
        "m = torch.nn.Linear(1, 1)\n"
        "cfg = TrainConfig.from_dict({'epochs': 1, 'device': 'cpu', 'tracking': {'uri': 'none'}})\n"
        "fit(m, lambda m, b: {'loss': m(b).pow(2).mean()}, lambda m: {'loss': 0.0},\n"
        "    lambda e: [torch.ones(2, 1)], cfg, sys.argv[1])\n"
        "assert 'mlflow' not in sys.modules, 'mlflow was imported'\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_tracking_sends_no_mlflow_telemetry_unless_the_environment_asks(tmp_path):
    """MLflow 3 reports usage to its developers from every process that imports it; a training job's
    run must not (no telemetry client, no installation id under $HOME), unless the user sets
    MLFLOW_DISABLE_TELEMETRY=false."""
    code = (
        "import os, sys\n"
        "from pipelib.training.mlflow_tracker import MlflowTracker\n"
        "if sys.argv[2] == 'opt-in':\n"
        "    assert os.environ['MLFLOW_DISABLE_TELEMETRY'] == 'false'\n"
        "    sys.exit(0)\n"
        "tracker = MlflowTracker(f'sqlite:///{sys.argv[1]}/mlflow.db', 'telemetry')\n"
        "tracker.start('run')\n"
        "tracker.log_metrics({'loss': 1.0}, 1)\n"
        "tracker.finish()\n"
        "from mlflow.telemetry.client import get_telemetry_client\n"
        "assert get_telemetry_client() is None, 'MLflow telemetry is on'\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    # A user's environment: no CI or pytest variables (MLflow turns telemetry off by itself under CI).
    env = {"PYTHONPATH": src, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"),
           "PIPELIB_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path), "default"], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (tmp_path / "home/.config/mlflow").exists()  # where MLflow keeps its installation id
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path), "opt-in"], capture_output=True,
                          text=True, timeout=120, env={**env, "MLFLOW_DISABLE_TELEMETRY": "false"})
    assert proc.returncode == 0, proc.stderr[-2000:]
