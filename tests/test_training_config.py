"""TrainConfig from dicts (unknown keys named), device choice, batch moving, DataLoader seeding."""

from __future__ import annotations

import json
import random
from collections import namedtuple

import numpy as np
import pytest
import torch

from pipelib.training import TrainConfig, loader_generator, resolve_device, seed_worker, to_device
from pipelib.training.early_stopping import EarlyStopping, improved
from pipelib.training.optim import build_optimizer, build_scheduler


def test_from_dict_builds_sections_and_converts_yaml_strings():
    cfg = TrainConfig.from_dict({
        "epochs": 3, "grad_clip": 1,
        "optimizer": {"name": "adam", "lr": "2e-4", "betas": [0.5, 0.9]},  # YAML reads 2e-4 as a string
        "scheduler": {"name": "plateau", "factor": 0.1, "patience": 2},
        "early_stopping": {"patience": 4, "min_delta": 0.001},
        "tracking": {"uri": "none"},
    })
    assert cfg.optimizer.lr == 2e-4 and cfg.optimizer.betas == (0.5, 0.9) and cfg.grad_clip == 1.0
    assert cfg.early_stopping.patience == 4 and not cfg.tracking.active
    d = cfg.to_dict()
    assert json.loads(json.dumps(d)) == d and d["optimizer"]["betas"] == [0.5, 0.9]
    assert TrainConfig.from_dict(d) == cfg  # round trip

    opt = build_optimizer(torch.nn.Linear(2, 2).parameters(), cfg.optimizer)
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["betas"] == (0.5, 0.9)
    sched = build_scheduler(opt, cfg.scheduler, cfg.mode)
    assert sched.factor == 0.1 and sched.patience == 2
    assert TrainConfig.from_dict(None) == TrainConfig()


@pytest.mark.parametrize(("section", "message"), [
    ({"epochz": 3}, r"training\.epochz: unknown key"),
    ({"optimizer": {"lrr": 1e-3}}, r"training\.optimizer\.lrr: unknown key.*'lr'"),
    ({"tracking": {"url": "x"}}, r"training\.tracking\.url: unknown key"),
    ({"optimizer": "adam"}, r"training\.optimizer: must be a mapping"),
    ({"optimizer": {"name": "sgd"}}, r"training\.optimizer\.name: must be one of"),
    ({"epochs": 2.5}, r"training\.epochs: expected int"),
    ({"seed": True}, r"training\.seed: expected int"),
    ({"deterministic": "yes"}, r"training\.deterministic: expected bool"),
    ({"mode": "best"}, r"training\.mode: must be 'min' or 'max'"),
    ({"device": "tpu"}, r"training\.device: must be one of"),
    ({"scheduler": {"factor": 1.5}}, r"training\.scheduler\.factor"),
    ({"early_stopping": {"patience": 0}}, r"training\.early_stopping\.patience"),
    ({"grad_clip": -1}, r"training\.grad_clip"),
])
def test_bad_config_names_the_key(section, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict(section)


def test_device_choice():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match=r"training\.device is 'cuda'.*no CUDA device"):
            resolve_device("cuda")


def test_to_device_moves_nested_tensors():
    Pair = namedtuple("Pair", "a b")
    batch = {"x": torch.zeros(2), "rest": [Pair(torch.ones(1), "id"), (torch.ones(3), 4)]}
    moved = to_device(batch, torch.device("cpu"))
    assert isinstance(moved["rest"][0], Pair) and moved["rest"][0].b == "id" and moved["rest"][1][1] == 4
    assert torch.equal(moved["rest"][1][0], torch.ones(3))


def test_loader_generator_and_worker_seeds():
    data = torch.utils.data.TensorDataset(torch.arange(20))

    def order(seed: int, epoch: int) -> list[int]:
        loader = torch.utils.data.DataLoader(data, batch_size=5, shuffle=True, worker_init_fn=seed_worker,
                                             generator=loader_generator(seed, epoch))
        return torch.cat([b[0] for b in loader]).tolist()

    torch.manual_seed(123)  # the global RNG does not matter
    first = order(1, 2)
    torch.manual_seed(456)
    assert order(1, 2) == first and order(1, 3) != first and order(2, 2) != first

    torch.manual_seed(77)  # in a worker, torch.initial_seed() is base_seed + worker_id
    seed_worker(0)
    a = (random.random(), np.random.rand())
    random.seed(77)
    np.random.seed(77)
    assert a == (random.random(), np.random.rand())


def test_improvement_rules():
    assert improved(0.9, None, "min") and improved(0.9, 1.0, "min") and not improved(1.0, 1.0, "min")
    assert not improved(0.96, 1.0, "min", min_delta=0.05) and improved(1.1, 1.0, "max")
    assert not improved(float("nan"), None, "min")
    stop = EarlyStopping(patience=None)
    assert not any(stop.step(1.0) for _ in range(20))  # patience null: never stops
