"""Per-step lr schedules: cosine and Noam values at known steps, LambdaLR stepping and state, per-step
stepping inside the trainer, resume bit-identity, and config validation naming the key."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelib.training import CheckpointError, NullTracker, TrainConfig, fit, read_checkpoint, seed_everything
from pipelib.training.history import read_history
from pipelib.training.optim import build_optimizer, build_scheduler
from pipelib.training.schedules import cosine_rate, noam_rate, step_scheduler
from pipelib.training.trainer import TIMING_KEYS

N, D, BATCH = 40, 3, 8  # 5 optimizer steps per epoch


def test_cosine_rate_known_values():
    kw = dict(base_lr=1e-3, warmup_steps=10, total_steps=110, min_lr=1e-5)
    assert cosine_rate(1, **kw) == pytest.approx(1e-4)  # linear from 0
    assert cosine_rate(5, **kw) == pytest.approx(5e-4)
    assert cosine_rate(10, **kw) == pytest.approx(1e-3)  # warm-up peak = base lr
    assert cosine_rate(60, **kw) == pytest.approx((1e-3 + 1e-5) / 2)  # half way down the cosine
    assert cosine_rate(110, **kw) == pytest.approx(1e-5)  # end of the cosine
    assert cosine_rate(500, **kw) == 1e-5  # constant after total_steps
    rates = [cosine_rate(s, **kw) for s in range(1, 120)]
    assert max(range(len(rates)), key=rates.__getitem__) + 1 == 10
    assert all(a >= b for a, b in zip(rates[9:], rates[10:], strict=False))  # monotone decay
    assert cosine_rate(1, 1.0, 0, 4) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))  # no warm-up
    with pytest.raises(ValueError, match="start at 1"):
        cosine_rate(0, **kw)


def test_noam_rate_known_values():
    # SignX eq. 9: d_model 256, warm-up 4000; 256^-0.5 = 1/16
    assert noam_rate(1, 256, 4000) == pytest.approx(1 / 16 * 4000**-1.5)
    assert noam_rate(4000, 256, 4000) == pytest.approx(9.8821e-4, rel=1e-4)  # peak 1/16/sqrt(4000)
    assert noam_rate(16000, 256, 4000) == pytest.approx(noam_rate(4000, 256, 4000) / 2)  # 1/sqrt decay
    assert noam_rate(2000, 256, 4000) == pytest.approx(noam_rate(4000, 256, 4000) / 2)  # linear warm-up
    assert noam_rate(100, 512, 10, factor=2.0) == pytest.approx(2.0 / math.sqrt(512) / 10)
    rates = [noam_rate(s, 64, 50) for s in range(1, 200)]
    assert max(range(len(rates)), key=rates.__getitem__) + 1 == 50
    with pytest.raises(ValueError, match="start at 1"):
        noam_rate(0, 256, 4000)


def _stepped_lrs(opt: torch.optim.Optimizer, sched, n: int) -> list[list[float]]:
    w = opt.param_groups[0]["params"][0]
    seen = []
    for _ in range(n):
        seen.append([g["lr"] for g in opt.param_groups])
        w.sum().backward()
        opt.step()
        sched.step()
    return seen


def test_lambda_scheduler_gives_step_n_its_rate_and_round_trips_state():
    w, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([{"params": [w], "lr": 0.5}, {"params": [b], "lr": 3.0}])
    sched = step_scheduler(opt, "noam", warmup_steps=10, d_model=64, factor=2.0)
    for n, lrs in enumerate(_stepped_lrs(opt, sched, 30), start=1):  # Noam replaces each group's lr
        assert lrs == pytest.approx([noam_rate(n, 64, 10, 2.0)] * 2)

    opt = torch.optim.Adam([{"params": [w], "lr": 0.5}, {"params": [b], "lr": 3.0}])
    sched = step_scheduler(opt, "cosine", warmup_steps=4, total_steps=12, min_lr=0.1)
    for n, lrs in enumerate(_stepped_lrs(opt, sched, 15), start=1):  # cosine peaks at each group's lr
        assert lrs == pytest.approx([cosine_rate(n, 0.5, 4, 12, 0.1), cosine_rate(n, 3.0, 4, 12, 0.1)])

    state = sched.state_dict()
    opt2 = torch.optim.Adam([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in (0.5, 3.0)])
    sched2 = step_scheduler(opt2, "cosine", warmup_steps=4, total_steps=12, min_lr=0.1)
    sched2.load_state_dict(state)
    sched2.step()
    assert [g["lr"] for g in opt2.param_groups] == pytest.approx([0.1, 0.1])  # step 17: past the end
    with pytest.raises(ValueError, match="lr > 0"):
        step_scheduler(torch.optim.SGD([w], lr=0.0), "noam", warmup_steps=4, d_model=8)
    with pytest.raises(ValueError, match="unknown per-step schedule"):
        step_scheduler(torch.optim.SGD([w], lr=1.0), "linear", warmup_steps=4)


# --- config ----------------------------------------------------------------------------------------

def test_config_builds_each_schedule_and_reads_its_own_to_dict():
    for sched in ({"name": "plateau", "factor": 0.9, "patience": 40},  # an existing config, unchanged
                  {"name": "cosine", "warmup_steps": 100, "total_steps": 1000, "min_lr": 1e-6},
                  {"name": "noam", "d_model": 256, "warmup_steps": 4000},
                  {"name": "none"}):
        cfg = TrainConfig.from_dict({"scheduler": sched}, "x.train")
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    noam = TrainConfig.from_dict({"scheduler": {"name": "noam", "d_model": 256, "warmup_steps": "4e3"}})
    assert noam.scheduler.factor == 1.0 and noam.scheduler.warmup_steps == 4000 and noam.scheduler.per_step
    assert not TrainConfig.from_dict({"scheduler": {"name": "plateau"}}).scheduler.per_step


@pytest.mark.parametrize("sched, message", [
    ({"name": "cosine", "warmup_steps": 10}, r"x\.train\.scheduler\.total_steps: is required"),
    ({"name": "cosine", "warmup_steps": 10, "total_steps": 10}, r"x\.train\.scheduler\.total_steps: must be"),
    ({"name": "cosine", "warmup_steps": -1, "total_steps": 10}, r"x\.train\.scheduler\.warmup_steps: must"),
    ({"name": "cosine", "total_steps": 10, "min_lr": 0.5}, r"x\.train\.scheduler\.min_lr: must be below"),
    ({"name": "cosine", "total_steps": 10, "patience": 3}, r"x\.train\.scheduler\.patience: is not used by"),
    ({"name": "noam", "warmup_steps": 10}, r"x\.train\.scheduler\.d_model: is required"),
    ({"name": "noam", "d_model": 8}, r"x\.train\.scheduler\.warmup_steps: is required"),
    ({"name": "noam", "d_model": 8, "warmup_steps": 0}, r"x\.train\.scheduler\.warmup_steps: must be >= 1"),
    ({"name": "noam", "d_model": 8, "warmup_steps": 4, "factor": 0}, r"x\.train\.scheduler\.factor: must be"),
    ({"name": "noam", "d_model": 8, "warmup_steps": 4, "min_lr": 1e-5}, r"scheduler\.min_lr: is not used"),
    ({"name": "plateau", "warmup_steps": 5}, r"x\.train\.scheduler\.warmup_steps: is not used by"),
    ({"name": "cosine", "total_steps": 9, "warm_up": 1}, r"x\.train\.scheduler\.warm_up: unknown key"),
    ({"name": "linear"}, r"x\.train\.scheduler\.name: must be one of"),
])
def test_config_errors_name_the_key(sched, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict({"optimizer": {"lr": 0.1}, "scheduler": sched}, "x.train")


# --- in the trainer --------------------------------------------------------------------------------

def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(11)
    x = torch.randn(N, D, generator=g)
    return x, x.sum(dim=1, keepdim=True)


def batches(epoch: int):
    """Shuffled by torch's global RNG, noise from numpy's and Python's (all must be restored)."""
    x, y = data()
    order = torch.randperm(N)
    for i in range(0, N, BATCH):
        idx = order[i:i + BATCH]
        noise = torch.from_numpy(np.random.normal(0, 0.01, (len(idx), D)).astype(np.float32))
        yield {"x": x[idx] + noise * random.uniform(0.5, 1.5), "y": y[idx]}


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(D, 8), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                                       torch.nn.Linear(8, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, 1)
        return self.net(x)


def new_model(seed: int = 0) -> Net:
    seed_everything(seed)
    return Net()


def dev(model: torch.nn.Module) -> dict[str, float]:
    x, y = data()
    return {"loss": float(torch.nn.functional.mse_loss(model(x), y))}


def config(sched: dict, epochs: int = 4) -> TrainConfig:
    return TrainConfig.from_dict({"seed": 5, "epochs": epochs, "device": "cpu", "grad_clip": 1.0,
                                  "optimizer": {"name": "adamw", "lr": 0.02, "weight_decay": 0.01},
                                  "scheduler": sched, "tracking": {"enabled": False}})


COSINE = {"name": "cosine", "warmup_steps": 3, "total_steps": 17, "min_lr": 0.001}
NOAM = {"name": "noam", "d_model": 16, "warmup_steps": 4, "factor": 0.5}


def run(run_dir: Path, cfg: TrainConfig, die_at: int | None = None, model_seed: int = 0):
    def train_step(model, batch):
        pred = model(batch["x"])
        return {"loss": torch.nn.functional.mse_loss(pred, batch["y"])}

    def maybe_dying(epoch: int):
        for i, batch in enumerate(batches(epoch)):
            if epoch == die_at and i == 2:
                raise KeyboardInterrupt
            yield batch
    return fit(new_model(model_seed), train_step, dev, maybe_dying, cfg, run_dir, NullTracker())


def record_step_lrs(monkeypatch) -> list[float]:
    """The lr of every AdamW step taken from now on (as the step sees it)."""
    seen: list[float] = []
    original = torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        seen.append(float(self.param_groups[0]["lr"]))
        return original(self, *args, **kwargs)
    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    return seen


@pytest.mark.parametrize("sched, rate", [
    (COSINE, lambda n: cosine_rate(n, 0.02, 3, 17, 0.001)),
    (NOAM, lambda n: noam_rate(n, 16, 4, 0.5)),
])
def test_lr_changes_every_step_and_history_has_the_epoch_start_lr(tmp_path, monkeypatch, sched, rate):
    seen = record_step_lrs(monkeypatch)
    res = run(tmp_path, config(sched))
    assert len(seen) == 4 * 5
    assert seen == pytest.approx([rate(n) for n in range(1, 21)], rel=1e-9)
    assert len(set(seen[:5])) == 5  # changes inside the first epoch
    assert [r["lr"] for r in res.history] == pytest.approx([rate(1), rate(6), rate(11), rate(16)], rel=1e-9)
    assert [r["lr"] for r in read_history(tmp_path / "history.csv")] == pytest.approx(seen[::5], rel=1e-9)
    assert read_checkpoint(res.last_path)["scheduler"]["last_epoch"] == 20


@pytest.mark.parametrize("sched", [COSINE, NOAM], ids=["cosine", "noam"])
def test_resume_is_bit_identical(tmp_path, sched):
    cfg = config(sched)
    straight = run(tmp_path / "straight", cfg)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "resumed", cfg, die_at=3)
    assert read_checkpoint(tmp_path / "resumed" / "last.pt")["epoch"] == 2
    resumed = run(tmp_path / "resumed", cfg, model_seed=9)
    assert resumed.resumed_from_epoch == 2
    a, b = read_checkpoint(straight.last_path), read_checkpoint(resumed.last_path)
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == 20
    assert a["optimizer"]["param_groups"][0]["lr"] == b["optimizer"]["param_groups"][0]["lr"]
    strip = [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in straight.history]
    assert strip == [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in resumed.history]


def test_resume_refuses_a_changed_schedule_and_old_configs_still_resume(tmp_path):
    run(tmp_path, config(COSINE, epochs=1))
    with pytest.raises(CheckpointError, match=r"train\.scheduler\.total_steps"):
        run(tmp_path, config({**COSINE, "total_steps": 30}, epochs=2))
    # a last.pt written before the new keys existed: its stored train config lacks them
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    plateau = config({"name": "plateau", "patience": 1}, epochs=1)
    opt = build_optimizer(new_model().parameters(), plateau.optimizer)
    old_train = plateau.to_dict()
    for key in ("warmup_steps", "total_steps", "d_model"):
        del old_train["scheduler"][key]
    del old_train["keep_top_k"]
    ckpt["config"]["train"] = old_train
    ckpt["optimizer"] = opt.state_dict()
    ckpt["scheduler"] = build_scheduler(opt, plateau.scheduler, "min").state_dict()
    torch.save(ckpt, tmp_path / "last.pt")
    res = run(tmp_path, config({"name": "plateau", "patience": 1}, epochs=2))
    assert res.resumed_from_epoch == 1 and len(res.history) == 2
