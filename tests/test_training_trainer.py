"""The trainer on tiny MLPs: resume equals a straight run, phase 2 from phase 1, early stopping,
ReduceLROnPlateau, best checkpoint by mode, config changes refused on resume."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelib.training import (
    CheckpointError,
    CheckpointMismatchError,
    NullTracker,
    TrainConfig,
    fit,
    read_checkpoint,
    seed_everything,
)
from pipelib.training.history import read_history
from pipelib.training.seeding import deterministic_algorithms
from pipelib.training.trainer import TIMING_KEYS

N, D, BATCH = 48, 4, 12


class TinyMLP(torch.nn.Module):
    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(D, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                       torch.nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, 1)
        return self.net(x)


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    x = torch.randn(N, D, generator=g)
    return x, x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(N, 1, generator=g)


def batches_using_global_rngs(epoch: int):
    """Shuffle with torch's global RNG and add noise from numpy's and Python's: a resume that did
    not restore all three generators would see different batches."""
    x, y = data()
    order = torch.randperm(N)
    for i in range(0, N, BATCH):
        idx = order[i:i + BATCH]
        noise = torch.from_numpy(np.random.normal(0, 0.01, (len(idx), D)).astype(np.float32))
        yield {"x": x[idx] + noise * random.uniform(0.5, 1.5), "y": y[idx]}


def mse_step(model: torch.nn.Module, batch: dict) -> dict[str, torch.Tensor]:
    pred = model(batch["x"])
    return {"loss": torch.nn.functional.mse_loss(pred, batch["y"]), "mae": (pred - batch["y"]).abs().mean()}


def dev_loss(model: torch.nn.Module) -> dict[str, float]:
    x, y = data()
    return {"loss": float(torch.nn.functional.mse_loss(model(x), y))}


def config(**over) -> TrainConfig:
    base = {"seed": 3, "epochs": 5, "device": "cpu", "grad_clip": 1.0,
            "optimizer": {"name": "adamw", "lr": 0.01, "weight_decay": 0.01},
            "scheduler": {"name": "plateau", "patience": 1, "factor": 0.5},
            "tracking": {"enabled": False}}
    base.update(over)
    return TrainConfig.from_dict(base)


def new_model(seed: int = 0) -> TinyMLP:
    seed_everything(seed)
    return TinyMLP()


def run(run_dir: Path, cfg: TrainConfig, batches=batches_using_global_rngs, model_seed: int = 0, **kw):
    return fit(new_model(model_seed), mse_step, dev_loss, batches, cfg, run_dir, NullTracker(), **kw)


class Killed(RuntimeError):
    pass


def dying_at(epoch_to_die: int, after_batches: int = 2):
    """Batches that raise part-way through ``epoch_to_die`` (a job killed mid-epoch)."""
    def batches(epoch: int):
        for i, batch in enumerate(batches_using_global_rngs(epoch)):
            if epoch == epoch_to_die and i == after_batches:
                raise Killed(f"killed in epoch {epoch}")
            yield batch
    return batches


def weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)["model"]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_after_kill_equals_straight_run(tmp_path):
    # Scheduler and early stopping are set so that their saved state matters after the restart:
    # lr halves unless dev loss improves by 30%, and (min_delta 10) only epoch 1 counts as an
    # improvement, so the 4th bad epoch (epoch 5) raises the stop flag.
    cfg = config(scheduler={"name": "plateau", "patience": 0, "factor": 0.5, "threshold": 0.3},
                 early_stopping={"patience": 4, "min_delta": 10.0})
    straight = run(tmp_path / "straight", cfg)
    assert len(straight.history) == 5 and straight.stopped_early
    lrs = [r["lr"] for r in straight.history]
    assert lrs[3] < lrs[2]  # a reduction after the restart point

    with pytest.raises(Killed):
        run(tmp_path / "resumed", cfg, batches=dying_at(3))
    assert read_checkpoint(tmp_path / "resumed" / "last.pt")["epoch"] == 2
    partial = tmp_path / "resumed" / ".tmp-last.pt-x1y2.pt"  # as left by a kill during a save
    partial.write_bytes(b"half a checkpoint")
    # The restarted job builds its model from another seed: the resume must overwrite it entirely.
    resumed = run(tmp_path / "resumed", cfg, model_seed=99)

    assert resumed.resumed_from_epoch == 2 and resumed.stopped_early and not partial.exists()
    assert_same_weights(weights(straight.last_path), weights(resumed.last_path))
    assert_same_weights(weights(straight.best_path), weights(resumed.best_path))
    strip = [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in resumed.history]
    assert strip == [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in straight.history]
    on_disk = read_history(tmp_path / "resumed" / "history.csv")
    assert [r["epoch"] for r in on_disk] == [1, 2, 3, 4, 5]
    assert on_disk[-1]["dev/loss"] == pytest.approx(straight.history[-1]["dev/loss"])
    # the run did learn something (sum of inputs from noisy samples)
    assert straight.history[-1]["dev/loss"] < straight.history[0]["dev/loss"]


def _train_and_sigkill(run_dir: str) -> None:
    def batches(epoch: int):
        for i, batch in enumerate(batches_using_global_rngs(epoch)):
            if epoch == 2 and i == 1:
                os.kill(os.getpid(), signal.SIGKILL)
            yield batch
    run(Path(run_dir), config(epochs=3), batches=batches)


def test_resume_after_sigkill_of_the_process(tmp_path):
    proc = mp.get_context("spawn").Process(target=_train_and_sigkill, args=(str(tmp_path / "killed"),))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    assert read_checkpoint(tmp_path / "killed" / "last.pt")["epoch"] == 1
    assert not list((tmp_path / "killed").glob(".tmp-*"))

    resumed = run(tmp_path / "killed", config(epochs=3))
    straight = run(tmp_path / "straight", config(epochs=3))
    assert resumed.resumed_from_epoch == 1
    assert_same_weights(weights(straight.last_path), weights(resumed.last_path))


def test_phase2_starts_from_phase1_weights(tmp_path):
    phase1 = run(tmp_path / "p1", config(epochs=2))
    p1_weights = weights(phase1.best_path)
    fresh = new_model(seed=5).state_dict()

    seen: list[dict[str, torch.Tensor]] = []

    def recording_step(model, batch):
        if not seen:
            seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return mse_step(model, batch)

    cfg2 = config(epochs=3, init_from=str(phase1.best_path), optimizer={"lr": 0.001})
    phase2 = fit(new_model(seed=5), recording_step, dev_loss, batches_using_global_rngs, cfg2,
                 tmp_path / "p2", NullTracker())
    assert_same_weights(seen[0], p1_weights)  # the first step saw phase 1's weights
    assert not all(torch.equal(seen[0][k], fresh[k]) for k in fresh)
    record = read_checkpoint(phase2.last_path)["meta"]["init_from"]
    assert record["path"] == str(phase1.best_path.resolve()) and record["epoch"] == phase1.best_epoch

    # Killed phase 2 resumes from its own last.pt, not from phase 1 again.
    with pytest.raises(Killed):
        run(tmp_path / "p2b", cfg2, batches=dying_at(3), model_seed=5)
    resumed = run(tmp_path / "p2b", cfg2, model_seed=5)
    assert_same_weights(weights(resumed.last_path), weights(phase2.last_path))


def test_init_from_other_architecture_names_the_file(tmp_path):
    phase1 = run(tmp_path / "p1", config(epochs=1))
    with pytest.raises(CheckpointMismatchError, match=r"best\.pt.*shape mismatch.*net\.0\.weight"):
        fit(TinyMLP(hidden=8), mse_step, dev_loss, batches_using_global_rngs,
            config(init_from=str(phase1.best_path)), tmp_path / "p2", NullTracker())


def sequence_eval(values: list[float], key: str = "loss"):
    calls = iter(values)
    return lambda model: {key: next(calls)}


def test_early_stopping_stops_at_the_right_epoch(tmp_path):
    dev = [1.0, 0.8, 0.79, 0.85, 0.9, 0.1, 0.1]
    cfg = config(epochs=7, early_stopping={"patience": 2, "min_delta": 0.05}, scheduler={"name": "none"})
    res = fit(new_model(), mse_step, sequence_eval(dev), batches_using_global_rngs, cfg, tmp_path,
              NullTracker())
    # epoch 3 improves by only 0.01 (< min_delta): bad epochs 3 and 4 -> stop after epoch 4
    assert res.stopped_early and [r["epoch"] for r in res.history] == [1, 2, 3, 4]
    assert res.best_epoch == 3 and res.best_metric == pytest.approx(0.79)  # best.pt: any improvement
    assert read_checkpoint(res.best_path)["epoch"] == 3

    again = fit(new_model(), mse_step, sequence_eval([0.0]), batches_using_global_rngs, cfg, tmp_path,
                NullTracker())
    assert again.resumed_from_epoch == 4 and len(again.history) == 4  # a stopped run stays stopped

    no_delta = config(epochs=7, early_stopping={"patience": 2}, scheduler={"name": "none"})
    res = fit(new_model(), mse_step, sequence_eval(dev), batches_using_global_rngs, no_delta,
              tmp_path / "b", NullTracker())
    assert [r["epoch"] for r in res.history] == [1, 2, 3, 4, 5]


def test_plateau_scheduler_reduces_lr_on_dev_metric(tmp_path):
    cfg = config(epochs=6, scheduler={"name": "plateau", "patience": 1, "factor": 0.5})
    res = fit(new_model(), mse_step, sequence_eval([1.0] * 6), batches_using_global_rngs, cfg, tmp_path,
              NullTracker())
    assert [r["lr"] for r in res.history] == pytest.approx([0.01, 0.01, 0.01, 0.005, 0.005, 0.0025])
    assert read_checkpoint(res.last_path)["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.0025)


def test_mode_max_keeps_highest_metric(tmp_path):
    acc = [0.2, 0.5, 0.4]
    cfg = config(epochs=3, monitor="acc", mode="max")
    res = fit(new_model(), mse_step, sequence_eval(acc, "acc"), batches_using_global_rngs, cfg, tmp_path,
              NullTracker())
    assert res.best_epoch == 2 and read_checkpoint(res.best_path)["best_metric"] == pytest.approx(0.5)
    assert [r["lr"] for r in res.history] == pytest.approx([0.01, 0.01, 0.01])  # improved in max mode


def test_resume_refuses_changed_config_but_allows_more_epochs(tmp_path):
    run(tmp_path, config(epochs=1))
    with pytest.raises(CheckpointError, match=r"last\.pt.*train\.optimizer\.lr"):
        run(tmp_path, config(epochs=2, optimizer={"name": "adamw", "lr": 0.5, "weight_decay": 0.01}))
    longer = run(tmp_path, config(epochs=2))
    assert longer.resumed_from_epoch == 1 and len(longer.history) == 2


def test_bad_train_step_and_monitor_errors(tmp_path):
    with pytest.raises(TypeError, match="scalar tensor 'loss'"):
        fit(new_model(), lambda m, b: {"mse": m(b["x"]).mean()}, dev_loss, batches_using_global_rngs,
            config(), tmp_path / "a", NullTracker())
    with pytest.raises(KeyError, match="training.monitor is 'bleu'"):
        fit(new_model(), mse_step, dev_loss, batches_using_global_rngs, config(monitor="bleu"),
            tmp_path / "b", NullTracker())
    with pytest.raises(RuntimeError, match=r"train_batches\(1\) yielded no batches"):
        fit(new_model(), mse_step, dev_loss, lambda e: [], config(), tmp_path / "c", NullTracker())


def test_deterministic_switch_does_not_import_inductor_and_follows_it_once_imported():
    # torch.use_deterministic_algorithms imports TorchInductor (about 2 s of every training job) only
    # to set its own flag; the library's switch leaves it unimported, and sets its flag once it is.
    code = """
import sys
import torch
from pipelib.training.seeding import deterministic_algorithms
with deterministic_algorithms(True):
    assert torch.are_deterministic_algorithms_enabled()
    assert "torch._inductor" not in sys.modules, "the switch imported TorchInductor"
assert not torch.are_deterministic_algorithms_enabled()
import torch._inductor.config as inductor_config
with deterministic_algorithms(True):
    assert torch.are_deterministic_algorithms_enabled() and inductor_config.deterministic
assert not torch.are_deterministic_algorithms_enabled() and not inductor_config.deterministic
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_deterministic_option_is_scoped_to_fit(tmp_path):
    assert not torch.are_deterministic_algorithms_enabled()
    seen = []

    def step(model, batch):
        seen.append(torch.are_deterministic_algorithms_enabled())
        return mse_step(model, batch)

    fit(new_model(), step, dev_loss, batches_using_global_rngs, config(epochs=1, deterministic=True),
        tmp_path, NullTracker())
    assert seen and all(seen)
    assert not torch.are_deterministic_algorithms_enabled()
    with deterministic_algorithms(False):
        assert not torch.are_deterministic_algorithms_enabled()
