"""Batches built ahead in a background thread: same items in the same order, producer errors reach the
consumer, closing stops the thread, and a prefetching run trains bit-identical weights."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelib.batching import batch_indices
from pipelib.training import NullTracker, TrainConfig, fit, read_checkpoint, seed_everything
from pipelib.training.prefetch import Prefetcher


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_items_come_in_order_and_the_thread_ends():
    items = [np.full((2, 3), i) for i in range(7)]
    with Prefetcher(iter(items), depth=2, name="t-order") as it:
        got = list(it)
        assert next(it, "done") == "done"  # stays exhausted
    assert [int(g[0, 0]) for g in got] == list(range(7))
    assert all(a is b for a, b in zip(got, items, strict=True))  # handed over as they are
    assert "t-order" not in _threads()


def test_producer_error_is_raised_after_the_items_before_it_and_the_thread_stops():
    closed = []

    def source():
        try:
            yield 1
            yield 2
            raise KeyError("shard007.h5 has no video x")
        finally:
            closed.append(True)

    it = Prefetcher(source(), depth=1, name="t-error")
    assert next(it) == 1 and next(it) == 2
    with pytest.raises(KeyError, match="shard007.h5"):
        next(it)
    assert "t-error" not in _threads() and closed == [True]
    assert next(it, "done") == "done"  # after the error: exhausted, no hang
    it.close()


def test_error_while_creating_the_iterator_reaches_the_consumer():
    class Broken:
        def __iter__(self):
            raise OSError("cannot open shard000.h5")

    with Prefetcher(Broken(), name="t-iter") as it, pytest.raises(OSError, match="shard000"):
        next(it)


def test_close_mid_way_stops_a_producer_blocked_on_a_full_queue_and_closes_the_source():
    made, closed = [], []

    def endless():
        try:
            i = 0
            while True:
                made.append(i)
                yield i
                i += 1
        finally:
            closed.append(True)

    it = Prefetcher(endless(), depth=2, name="t-close")
    assert next(it) == 0
    deadline = time.monotonic() + 5
    while len(made) < 4 and time.monotonic() < deadline:  # 1 taken + 2 queued + 1 waiting to be queued
        time.sleep(0.01)
    time.sleep(0.05)
    assert len(made) == 4  # never more than depth ahead
    it.close()
    assert "t-close" not in _threads() and closed == [True]
    with pytest.raises(StopIteration):
        next(it)


def test_bad_depth_is_refused():
    for depth in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="depth"):
            Prefetcher([], depth=depth)


# ------------------------------------------------------------------------------------------ in the trainer

N, D, BATCH = 40, 4, 8


class DropoutMLP(torch.nn.Module):
    """Dropout draws from torch's global generator in every step, concurrently with the producer."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(D, 16), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                                       torch.nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, 1)
        return self.net(x)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(N, D)).astype(np.float32)
    return x, x.sum(1, keepdims=True) + rng.normal(0, 0.1, (N, 1)).astype(np.float32)


def _batches(epoch: int):
    """Own-generator shuffling and per-batch numpy -> torch conversion, slowed a little so that the
    producer really runs while steps do."""
    x, y = _data()
    for idx in batch_indices(N, BATCH, shuffle=True, seed=3, epoch=epoch):
        time.sleep(0.002)
        yield {"x": torch.from_numpy(x[idx]), "y": torch.from_numpy(y[idx])}


def _step(model: torch.nn.Module, batch: dict) -> dict[str, torch.Tensor]:
    return {"loss": torch.nn.functional.mse_loss(model(batch["x"]), batch["y"])}


def _dev(model: torch.nn.Module) -> dict[str, float]:
    x, y = _data()
    return {"loss": float(torch.nn.functional.mse_loss(model(torch.from_numpy(x)), torch.from_numpy(y)))}


def _fit(run_dir: Path, batches=_batches, **kw):
    cfg = TrainConfig.from_dict({"seed": 2, "epochs": 3, "device": "cpu", "tracking": {"enabled": False},
                                 "optimizer": {"name": "adamw", "lr": 0.01}})
    seed_everything(0)
    return fit(DropoutMLP(), _step, _dev, batches, cfg, run_dir, NullTracker(), **kw)


def test_prefetching_run_trains_the_same_weights(tmp_path):
    plain = _fit(tmp_path / "plain")
    ahead = _fit(tmp_path / "ahead", prefetch=2)
    a, b = read_checkpoint(plain.last_path)["model"], read_checkpoint(ahead.last_path)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for row_a, row_b in zip(plain.history, ahead.history, strict=True):
        assert row_a["train/loss"] == row_b["train/loss"] and row_a["dev/loss"] == row_b["dev/loss"]
        assert 0 <= row_b["train/data_wait_fraction"] < 1


def test_trainer_stops_the_producer_when_a_step_fails(tmp_path):
    closed = []

    def batches(epoch: int):
        try:
            yield from _batches(epoch)
        finally:
            closed.append(epoch)

    def failing_step(model, batch):
        raise FloatingPointError("step exploded")

    cfg = TrainConfig.from_dict({"seed": 2, "epochs": 1, "device": "cpu", "tracking": {"enabled": False}})
    with pytest.raises(FloatingPointError, match="exploded"):
        fit(DropoutMLP(), failing_step, _dev, batches, cfg, tmp_path / "run", NullTracker(), prefetch=2)
    assert closed == [1] and not any(t.startswith("batches-epoch") for t in _threads())


def test_producer_error_fails_the_epoch_with_its_own_message(tmp_path):
    def batches(epoch: int):
        yield from list(_batches(epoch))[:2]
        raise ValueError("video v3: 12 decoded frames but fused shard holds 10")

    with pytest.raises(ValueError, match="video v3"):
        _fit(tmp_path / "run", batches, prefetch=1)
    assert not (tmp_path / "run" / "last.pt").exists()
    assert not any(t.startswith("batches-epoch") for t in _threads())
