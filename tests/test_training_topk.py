"""keep_top_k: the trainer keeps epochNNN.pt of the k best epochs by the dev metric (min and max mode,
ties to the earlier epoch), deletes the rest, survives a resume, and averaging over them agrees."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipelib.training import CheckpointError, NullTracker, TrainConfig, fit, read_checkpoint, seed_everything
from pipelib.training.averaging import average_checkpoints, rank_checkpoints
from pipelib.training.topk import top_k_epochs

N, D = 16, 3
# dev metric per epoch (1-based), independent of training: best for min are epochs 4, 2 and 6 (tie
# 0.2 at 2 and 6: the earlier wins), for max 5, 1 and 3.
METRIC = [0.9, 0.2, 0.7, 0.1, 1.5, 0.2, 0.5]


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(D, 1)
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, 1)
        return self.lin(x)


def batches(epoch: int):
    g = torch.Generator().manual_seed(epoch)
    x = torch.randn(N, D, generator=g)
    for i in range(0, N, 8):
        yield x[i:i + 8], x[i:i + 8].sum(1, keepdim=True)


def step(model: torch.nn.Module, batch) -> dict[str, torch.Tensor]:
    x, y = batch
    return {"loss": torch.nn.functional.mse_loss(model(x), y)}


def scripted_dev(values: list[float], done: int):
    """eval_fn returning ``values[epoch - 1]`` for a fit that starts after ``done`` epochs."""
    calls = iter(range(done, len(values)))

    def eval_fn(model: torch.nn.Module) -> dict[str, float]:
        return {"wer": values[next(calls)]}
    return eval_fn


def config(k: int, mode: str = "min", epochs: int = len(METRIC)) -> TrainConfig:
    return TrainConfig.from_dict({"seed": 1, "epochs": epochs, "device": "cpu", "monitor": "wer",
                                  "mode": mode, "keep_top_k": k, "optimizer": {"lr": 0.05},
                                  "tracking": {"enabled": False}})


def run(run_dir: Path, cfg: TrainConfig, offset: int = 0):
    seed_everything(0)
    return fit(Net(), step, scripted_dev(METRIC, offset), batches, cfg, run_dir, NullTracker())


def names(paths) -> list[str]:
    return [Path(p).name for p in paths]


def on_disk(run_dir: Path) -> list[str]:
    return sorted(p.name for p in run_dir.glob("epoch*.pt"))


@pytest.mark.parametrize("mode, want", [("min", [4, 2, 6]), ("max", [5, 1, 3])])
def test_top_k_set_and_files(tmp_path, mode, want):
    res = run(tmp_path, config(3, mode))
    assert names(res.top_k_paths) == [f"epoch{e:03d}.pt" for e in want]
    assert on_disk(tmp_path) == sorted(names(res.top_k_paths))  # the rest deleted
    for path, epoch in zip(res.top_k_paths, want, strict=True):
        ckpt = read_checkpoint(path)
        assert ckpt["epoch"] == epoch and ckpt["optimizer"] is None
        assert ckpt["history"][-1]["dev/wer"] == METRIC[epoch - 1]
    assert res.best_epoch == want[0]
    assert top_k_epochs(res.history, "dev/wer", mode, 3) == want
    # the averaging module ranks the same files the same way, whatever order it is given them in
    ranked = rank_checkpoints(sorted(tmp_path.glob("epoch*.pt")), "wer", mode)
    assert [p.name for p, _ in ranked] == names(res.top_k_paths)


def test_files_are_deleted_as_the_ranking_changes(tmp_path):
    seen = []

    class Watch:  # eval_fn that records which epoch files exist when each epoch is evaluated
        def __init__(self) -> None:
            self.epoch = 0

        def __call__(self, model):
            seen.append(on_disk(tmp_path))
            self.epoch += 1
            return {"wer": METRIC[self.epoch - 1]}

    seed_everything(0)
    fit(Net(), step, Watch(), batches, config(2), tmp_path, NullTracker())
    assert seen[2] == ["epoch001.pt", "epoch002.pt"]  # after epochs 1 (0.9) and 2 (0.2)
    assert seen[3] == ["epoch002.pt", "epoch003.pt"]  # 0.7 pushed out 0.9
    assert seen[4] == ["epoch002.pt", "epoch004.pt"]
    assert seen[6] == ["epoch002.pt", "epoch004.pt"]  # epoch 6 ties epoch 2 and loses
    assert on_disk(tmp_path) == ["epoch002.pt", "epoch004.pt"]


def test_off_by_default_and_stale_files_cleared(tmp_path):
    (tmp_path / "epoch009.pt").write_bytes(b"from an older run")
    res = run(tmp_path, config(0, epochs=2))
    assert res.top_k_paths == [] and not list(tmp_path.glob("epoch*.pt"))


def test_survives_resume_and_keep_top_k_cannot_change(tmp_path):
    straight = run(tmp_path / "straight", config(3))
    first = run(tmp_path / "resumed", config(3, epochs=4))  # a job stopped after epoch 4 ...
    assert names(first.top_k_paths) == ["epoch004.pt", "epoch002.pt", "epoch003.pt"]
    (tmp_path / "resumed" / "epoch005.pt").write_bytes(b"written before a kill, after last.pt was not")
    resumed = run(tmp_path / "resumed", config(3), offset=4)  # ... and restarted with all 7 epochs
    assert resumed.resumed_from_epoch == 4
    assert names(resumed.top_k_paths) == names(straight.top_k_paths) == ["epoch004.pt", "epoch002.pt",
                                                                          "epoch006.pt"]
    assert on_disk(tmp_path / "resumed") == sorted(names(resumed.top_k_paths))
    for a, b in zip(straight.top_k_paths, resumed.top_k_paths, strict=True):
        wa, wb = read_checkpoint(a)["model"], read_checkpoint(b)["model"]
        assert all(torch.equal(wa[k], wb[k]) for k in wa)
    with pytest.raises(CheckpointError, match="keep_top_k"):
        run(tmp_path / "resumed", config(5, epochs=8), offset=7)
    (tmp_path / "resumed" / "epoch002.pt").unlink()
    with pytest.raises(CheckpointError, match="epoch002.pt"):
        run(tmp_path / "resumed", config(3, epochs=8), offset=7)


def test_average_of_top_k_paths(tmp_path):
    res = run(tmp_path, config(3))
    model = Net()
    avg = average_checkpoints(res.top_k_paths, tmp_path / "averaged.pt", model, metric="wer", k=3, mode="min")
    assert avg.chosen == res.top_k_paths and avg.values == [0.1, 0.2, 0.2]
    states = [read_checkpoint(p)["model"] for p in res.top_k_paths]
    want = (states[0]["lin.weight"].double() + states[1]["lin.weight"].double()
            + states[2]["lin.weight"].double()) / 3
    assert torch.allclose(model.lin.weight.double(), want, atol=1e-7)
    assert not torch.equal(states[0]["lin.weight"], states[1]["lin.weight"])  # a real average
    saved = read_checkpoint(tmp_path / "averaged.pt")
    assert torch.equal(saved["model"]["lin.weight"], model.lin.weight.detach())
    assert [s["path"] for s in saved["meta"]["averaged_from"]] == [str(p.resolve()) for p in res.top_k_paths]
