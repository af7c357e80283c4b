"""Checkpoint format: weights_only loading, RNG round trip, strict weight loading, inference loading."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from pipelib.training import (
    CheckpointError,
    CheckpointMismatchError,
    load_for_inference,
    load_model_weights,
    read_checkpoint,
    save_checkpoint,
)
from pipelib.training.checkpoint import FORMAT
from pipelib.training.early_stopping import EarlyStopping
from pipelib.training.seeding import capture_rng, restore_rng


class Net(torch.nn.Module):
    def __init__(self, hidden: int = 5) -> None:
        super().__init__()
        self.a = torch.nn.Linear(3, hidden)
        self.norm = torch.nn.BatchNorm1d(hidden)  # has buffers too
        self.b = torch.nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3) -> (B, 2)
        return self.b(self.norm(self.a(x)))


class Other(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Linear(3, 5)


SIDE_EFFECT = []


class Evil:
    def __reduce__(self):
        return (SIDE_EFFECT.append, ("executed",))


def draw() -> tuple[float, float, torch.Tensor]:
    return random.random(), float(np.random.normal()), torch.rand(3)


def test_full_state_round_trips_through_weights_only_load(tmp_path):
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    sched.step(1.0)
    sched.step(2.0)  # reduces lr
    stop = EarlyStopping(3)
    stop.step(0.5)
    np.random.normal(size=3)  # an odd number of legacy gaussians leaves one cached in numpy's state
    random.gauss(0, 1)  # and Python's gauss cache is set too
    rng = capture_rng()
    expected = draw()

    path = save_checkpoint(tmp_path / "c.pt", model, {"model": {"hidden": 5}, "train": {"lr": 0.1}}, epoch=4,
                           optimizer=opt, scheduler=sched, early_stopping=stop, best_metric=0.5,
                           best_epoch=4, rng=rng, history=[{"epoch": 1, "dev/loss": 0.5}],
                           meta={"note": "x", "inf": float("inf")})
    assert not list(tmp_path.glob(".tmp-*"))
    state = read_checkpoint(path)  # uses weights_only=True
    assert state["format"] == FORMAT and state["model_class"].endswith("test_training_checkpoint.Net")
    assert state["epoch"] == 4 and state["best_metric"] == 0.5 and state["early_stopping"]["best"] == 0.5
    assert state["scheduler"]["_last_lr"] == [pytest.approx(0.01)]
    for k, v in model.state_dict().items():
        assert torch.equal(state["model"][k], v)

    draw()
    restore_rng(state["rng"])
    again = draw()
    assert again[:2] == expected[:2] and torch.equal(again[2], expected[2])

    opt2 = torch.optim.Adam(Net().parameters(), lr=0.1)
    opt2.load_state_dict(state["optimizer"])
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]


def test_pickled_arbitrary_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "model": {}, "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pt.*weights_only=True"):
        read_checkpoint(path)
    assert SIDE_EFFECT == []  # nothing was executed
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_for_inference(path)


def test_not_a_checkpoint_and_missing_file(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match=r"plain\.pt is not a pipelib"):
        read_checkpoint(tmp_path / "plain.pt")
    (tmp_path / "trunc.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match=r"trunc\.pt is unreadable"):
        read_checkpoint(tmp_path / "trunc.pt")
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        read_checkpoint(tmp_path / "absent.pt")


def test_config_must_be_json(tmp_path):
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        save_checkpoint(tmp_path / "c.pt", Net(), {"model": {"x": object()}}, epoch=1)
    assert not (tmp_path / "c.pt").exists()


def test_inference_loading_and_strict_keys(tmp_path):
    torch.manual_seed(1)
    src = Net()
    path = save_checkpoint(tmp_path / "best.pt", src, {"model": {"hidden": 5}}, epoch=2, best_metric=0.3)

    ckpt = load_for_inference(path)
    assert ckpt.config == {"model": {"hidden": 5}} and ckpt.epoch == 2 and ckpt.best_metric == 0.3
    dst = Net(**ckpt.config["model"])
    load_model_weights(dst, ckpt)
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v)

    resized = r"best\.pt.*shape mismatch.*a\.weight \(5, 3\) vs model"
    with pytest.raises(CheckpointMismatchError, match=resized):
        load_model_weights(Net(hidden=4), path)
    with pytest.raises(CheckpointMismatchError, match=r"best\.pt.*unexpected \(\d+\): b\.bias"):
        load_model_weights(Other(), path)
    other = Other()
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(CheckpointMismatchError):
        load_model_weights(other, path)
    for k, v in other.state_dict().items():  # refused before copying anything (torch alone copies a.*)
        assert torch.equal(v, before[k])


def test_weights_hash_names_the_model_not_the_file(tmp_path):
    from pipelib.provenance import file_sha256
    from pipelib.training.checkpoint import weights_sha256

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))  # incl. a 0-d buffer
    a = save_checkpoint(tmp_path / "a.pt", model, {"m": 1}, epoch=1, history=[{"seconds": 1.0}])
    b = save_checkpoint(tmp_path / "b.pt", model, {"m": 1}, epoch=1, history=[{"seconds": 2.0}])
    assert file_sha256(a) != file_sha256(b)  # run-specific bytes differ
    assert weights_sha256(a) == weights_sha256(b)
    with torch.no_grad():
        model[0].weight[0, 0] += 1e-6
    c = save_checkpoint(tmp_path / "c.pt", model, {"m": 1}, epoch=1)
    assert weights_sha256(c) != weights_sha256(a)


def _half_write_then_fail(message: str):
    """torch.save that writes part of the file and then fails the way its C++ writer does."""
    def save(obj, path):
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 partial")
        raise RuntimeError(message)
    return save


def test_full_disk_during_save_names_the_path_and_says_the_disk_is_full(tmp_path, monkeypatch):
    usage = type("usage", (), {"total": 10 << 30, "used": 10 << 30, "free": 4096})
    monkeypatch.setattr(torch, "save", _half_write_then_fail("basic_ios::clear: iostream error"))
    monkeypatch.setattr("shutil.disk_usage", lambda path: usage)
    target = tmp_path / "run" / "last.pt"
    with pytest.raises(CheckpointError, match=rf"could not write {target}: the disk is full \(0\.0 MiB left"):
        save_checkpoint(target, Net(), {"m": 1}, epoch=1)
    assert list((tmp_path / "run").iterdir()) == []  # no partial file left behind


def test_other_write_failure_names_the_path_and_the_error(tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "save", _half_write_then_fail("[enforce fail at inline_container.cc:672]"))
    target = tmp_path / "last.pt"
    with pytest.raises(CheckpointError, match=rf"could not write {target}: the write failed "
                                              r"\(RuntimeError: \[enforce fail.*MiB left"):
        save_checkpoint(target, Net(), {"m": 1}, epoch=1)


def test_real_full_file_system(tmp_path):
    """A 64 KiB tmpfs (mounted in a private user and mount namespace, where the kernel allows it)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to mount a private tmpfs")
    mount = tmp_path / "tiny"
    mount.mkdir()
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            f"mount -t tmpfs -o size=64k tmpfs {mount}"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a private tmpfs here: {probe.stderr.decode().strip()}")
    code = ("import sys, torch\n"
            "from pipelib.training import save_checkpoint, CheckpointError\n"
            "try:\n"
            "    save_checkpoint(sys.argv[1] + '/run/last.pt', torch.nn.Linear(300, 300), {}, epoch=1)\n"
            "except CheckpointError as err:\n"
            "    print(err)\n")
    src = str(Path(__file__).resolve().parents[1] / "src")
    proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                           f'mount -t tmpfs -o size=64k tmpfs {mount} && PYTHONPATH={src} '
                           f'"{sys.executable}" -c "$0" {mount}', code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(f"could not write {mount}/run/last.pt: the disk is full"), proc.stdout
