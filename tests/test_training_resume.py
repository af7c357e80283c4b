"""Resume after a kill that came after the best epoch: Snakemake deletes the declared best.pt of a failed
job, so the trainer keeps the best epoch's checkpoint itself and writes best.pt whenever fit returns."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from test_training_trainer import (
    Killed,
    assert_same_weights,
    batches_using_global_rngs,
    config,
    mse_step,
    new_model,
    weights,
)

from pipelib.training import CheckpointError, NullTracker, fit, read_checkpoint
from pipelib.training.history import read_history
from pipelib.training.trainer import TIMING_KEYS

# Dev loss by epoch, whatever the weights: epoch 2 is the best, nothing after it improves.
DEV = [1.0, 0.5, 0.7, 0.8, 0.6, 0.9]


def scripted(die_in: int | None = None):
    """``(train_batches, eval_fn)``: real training on the tiny MLP, dev loss read from DEV by epoch,
    and a kill (an exception, as when the job is killed) part-way through epoch ``die_in``."""
    seen = {}

    def batches(epoch: int):
        seen["epoch"] = epoch
        for i, batch in enumerate(batches_using_global_rngs(epoch)):
            if epoch == die_in and i == 2:
                raise Killed(f"killed in epoch {epoch}")
            yield batch

    return batches, lambda model: {"loss": DEV[seen["epoch"] - 1]}


def train(run_dir: Path, die_in: int | None = None, model_seed: int = 0):
    batches, eval_fn = scripted(die_in)
    return fit(new_model(model_seed), mse_step, eval_fn, batches, config(epochs=len(DEV)), run_dir,
               NullTracker())


def no_timing(history):
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in history]


def kill_after_best(run_dir: Path, die_in: int = 5) -> None:
    """A job killed in epoch ``die_in`` (after best epoch 2), then Snakemake deleting its best.pt."""
    with pytest.raises(Killed):
        train(run_dir, die_in=die_in)
    assert read_checkpoint(run_dir / "last.pt")["epoch"] == die_in - 1
    assert read_checkpoint(run_dir / "last.pt")["best_epoch"] == 2
    (run_dir / "best.pt").unlink(missing_ok=True)  # what Snakemake does to a failed job's outputs


def test_kill_after_the_best_epoch_resumes_to_the_straight_runs_outputs(tmp_path):
    straight = train(tmp_path / "straight")
    assert straight.best_epoch == 2 and read_checkpoint(straight.best_path)["epoch"] == 2

    run_dir = tmp_path / "killed"
    kill_after_best(run_dir)
    assert not (run_dir / "best.pt").exists()
    resumed = train(run_dir, model_seed=99)  # the restarted job builds its model from another seed

    assert resumed.resumed_from_epoch == 4 and resumed.best_epoch == 2
    assert resumed.best_path == run_dir / "best.pt" and resumed.best_path.is_file()
    assert_same_weights(weights(straight.best_path), weights(resumed.best_path))
    assert_same_weights(weights(straight.last_path), weights(resumed.last_path))
    best = read_checkpoint(resumed.best_path)
    assert best["epoch"] == 2 and no_timing(best["history"]) == no_timing(straight.history[:2])
    assert no_timing(resumed.history) == no_timing(straight.history)
    assert sorted(p.name for p in run_dir.glob("best*.pt")) == ["best-epoch002.pt", "best.pt"]


def test_a_complete_run_whose_best_pt_was_deleted_writes_it_again(tmp_path):
    done = train(tmp_path)
    before = done.best_path.read_bytes()
    done.best_path.unlink()  # Snakemake re-running the job (e.g. after a killed driver) deletes it first
    again = train(tmp_path, model_seed=99)
    assert again.resumed_from_epoch == len(DEV) and again.best_path.read_bytes() == before


def test_a_best_checkpoint_that_last_pt_never_committed_is_dropped(tmp_path):
    # A kill between saving best-epochNNN.pt and last.pt, on hardware where the re-run epoch then came
    # out differently and did not improve: the uncommitted file must not become best.pt.
    kill_after_best(tmp_path)
    shutil.copyfile(tmp_path / "last.pt", tmp_path / "best-epoch005.pt")
    resumed = train(tmp_path)
    assert read_checkpoint(resumed.best_path)["epoch"] == 2
    assert not (tmp_path / "best-epoch005.pt").exists()


def test_run_directory_from_before_kept_best_checkpoints(tmp_path):
    kill_after_best(tmp_path)
    (tmp_path / "best-epoch002.pt").rename(tmp_path / "best.pt")  # the old layout: best.pt only
    resumed = train(tmp_path)
    assert read_checkpoint(resumed.best_path)["epoch"] == 2 and (tmp_path / "best-epoch002.pt").is_file()


def test_missing_best_checkpoint_names_the_file_and_the_fix(tmp_path):
    kill_after_best(tmp_path)
    (tmp_path / "best-epoch002.pt").unlink()
    with pytest.raises(CheckpointError, match=r"lacks best-epoch002\.pt.*delete .*last\.pt to start over"):
        train(tmp_path)


def test_temporary_files_of_a_killed_job_are_removed(tmp_path):
    kill_after_best(tmp_path)
    leftovers = [tmp_path / ".tmp-last.pt-ab12cd34.pt", tmp_path / ".tmp-history.csv-ab12cd34.csv",
                 tmp_path / ".tmp-best-epoch005.pt-0a1b2c3d.pt"]
    for path in leftovers:
        path.write_bytes(b"half written")
    (tmp_path / ".tmp-averaged.pt-0a1b2c3d").mkdir()
    train(tmp_path)
    assert not list(tmp_path.glob(".tmp-*"))
    assert [r["epoch"] for r in read_history(tmp_path / "history.csv")] == list(range(1, len(DEV) + 1))


def test_data_wait_fraction_is_recorded_per_epoch(tmp_path, caplog):
    def slow_batches(epoch: int):  # the data takes 30 ms per batch, a step about 1 ms
        for batch in batches_using_global_rngs(epoch):
            time.sleep(0.03)
            yield batch

    def slow_step(model, batch):  # the step takes 30 ms, the data next to nothing
        time.sleep(0.03)
        return mse_step(model, batch)

    def dev(model):
        return {"loss": 1.0}

    caplog.set_level("INFO", logger="pipelib.training")
    waiting = fit(new_model(), mse_step, dev, slow_batches, config(epochs=2), tmp_path / "a", NullTracker())
    working = fit(new_model(), slow_step, dev, batches_using_global_rngs, config(epochs=2), tmp_path / "b",
                  NullTracker())
    for row in waiting.history:
        assert 0.6 < row["train/data_wait_fraction"] <= 1.0
    for row in working.history:
        assert 0.0 <= row["train/data_wait_fraction"] < 0.4
    on_disk = read_history(tmp_path / "a" / "history.csv")
    assert [r["train/data_wait_fraction"] for r in on_disk] == pytest.approx(
        [r["train/data_wait_fraction"] for r in waiting.history])
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert len(lines) == 4 and all("train/data_wait_fraction=" in line for line in lines)
