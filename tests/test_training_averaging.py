"""Checkpoint averaging: best-k selection by a dev metric, float means, integer buffers from the best,
the project's checkpoint format on output, and errors that name the file."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pipelib.training.averaging import average_checkpoints, average_state_dicts, rank_checkpoints
from pipelib.training.checkpoint import CheckpointError, read_checkpoint, save_checkpoint, weights_sha256


class Tiny(nn.Module):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.lin = nn.Linear(width, 2)
        self.bn = nn.BatchNorm1d(2)  # float running stats + int64 num_batches_tracked


def write(tmp_path, epoch: int, wer: float, seed: int, width: int = 3):
    torch.manual_seed(seed)
    model = Tiny(width)
    with torch.no_grad():
        model.bn.running_mean.normal_()
        model.bn.num_batches_tracked.fill_(100 * epoch)
    history = [{"epoch": e, "dev/wer": 99.0 if e != epoch else wer, "dev/bleu4": 10.0 * e}
               for e in range(1, epoch + 1)]
    path = save_checkpoint(tmp_path / f"epoch{epoch:03d}.pt", model, {"model": {"width": width}},
                           epoch=epoch, history=history, meta={"note": f"e{epoch}"})
    return path, model.state_dict()


def test_averages_the_best_k_by_metric(tmp_path):
    wers = {1: 40.0, 2: 25.0, 3: 30.0, 4: 35.0}
    saved = {e: write(tmp_path, e, w, seed=e) for e, w in wers.items()}
    paths = [saved[e][0] for e in (1, 2, 3, 4)]
    ranked = rank_checkpoints(paths, "wer", "min")
    assert [p.name for p, _ in ranked] == ["epoch002.pt", "epoch003.pt", "epoch004.pt", "epoch001.pt"]

    target = Tiny()
    res = average_checkpoints(paths, tmp_path / "avg.pt", target, metric="wer", k=3)
    assert [p.name for p in res.chosen] == ["epoch002.pt", "epoch003.pt", "epoch004.pt"]
    assert res.values == [25.0, 30.0, 35.0]
    chosen = [saved[e][1] for e in (2, 3, 4)]
    out = read_checkpoint(tmp_path / "avg.pt")
    for key, value in out["model"].items():
        if value.is_floating_point():
            torch.testing.assert_close(value, torch.stack([s[key] for s in chosen]).mean(0))
        else:
            assert torch.equal(value, saved[2][1][key])  # integer buffer from the best (epoch 2)
    assert int(out["model"]["bn.num_batches_tracked"]) == 200
    every = torch.stack([saved[e][1]["lin.weight"] for e in wers]).mean(0)
    assert not torch.allclose(out["model"]["lin.weight"], every)  # the worst one was left out
    torch.testing.assert_close(target.state_dict()["lin.weight"], out["model"]["lin.weight"])
    assert out["epoch"] == 2 and out["best_metric"] == 25.0 and out["optimizer"] is None
    assert out["config"] == {"model": {"width": 3}}
    assert out["model_class"].endswith("Tiny")
    assert [s["wer"] for s in out["meta"]["averaged_from"]] == [25.0, 30.0, 35.0]
    hashes = [s["weights_sha256"] for s in out["meta"]["averaged_from"]]
    assert hashes == [weights_sha256(p) for p in res.chosen]
    assert out["meta"]["source_meta"] == {"note": "e2"}


def test_mode_max_and_k_beyond_available(tmp_path):
    paths = [write(tmp_path, e, 30.0, seed=e)[0] for e in (1, 2, 3)]
    ranked = rank_checkpoints(paths, "dev/bleu4", "max")  # bleu4 = 10 * epoch
    assert [v for _, v in ranked] == [30.0, 20.0, 10.0]
    res = average_checkpoints(paths, tmp_path / "avg.pt", Tiny(), metric="bleu4", k=5, mode="max")
    assert len(res.chosen) == 3 and res.chosen[0].name == "epoch003.pt"


def test_average_state_dicts_means_floats_only():
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(7), "h": torch.tensor([1.0], dtype=torch.float16)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(9), "h": torch.tensor([2.0], dtype=torch.float16)}
    out = average_state_dicts([a, b])
    assert torch.equal(out["w"], torch.tensor([2.0, 4.0])) and int(out["n"]) == 7
    assert out["h"].dtype == torch.float16 and float(out["h"]) == 1.5
    with pytest.raises(CheckpointError, match="different model keys"):
        average_state_dicts([a, {"w": b["w"]}])


def test_errors_name_the_file(tmp_path):
    good = write(tmp_path, 1, 20.0, seed=0)[0]
    wide = write(tmp_path, 2, 10.0, seed=1, width=5)[0]
    with pytest.raises(CheckpointError, match=r"epoch001\.pt.*'dev/cer'"):
        rank_checkpoints([good], "cer")
    with pytest.raises(CheckpointError, match=r"epoch002\.pt"):
        average_checkpoints([good, wide], tmp_path / "avg.pt", Tiny(5), metric="wer", k=2)
    with pytest.raises(CheckpointError, match=r"epoch002\.pt.*does not fit"):
        average_checkpoints([good, wide], tmp_path / "avg.pt", Tiny(3), metric="wer", k=2)
    assert not (tmp_path / "avg.pt").exists()
    with pytest.raises(ValueError, match="k >= 1"):
        average_checkpoints([good], tmp_path / "avg.pt", Tiny(), metric="wer", k=0)
