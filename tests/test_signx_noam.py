"""Noam learning-rate schedule: formula values, warm-up peak, LambdaLR stepping and state round trip."""

from __future__ import annotations

import math

import pytest
import torch

from pipelib.signx.noam import noam_rate, noam_scheduler


def test_noam_rate_known_values():
    # d_model 256, warmup 4000 (SignX eq. 9): 256^-0.5 = 1/16
    assert noam_rate(1) == pytest.approx(1 / 16 * 4000**-1.5)
    assert noam_rate(4000) == pytest.approx(1 / 16 / math.sqrt(4000))  # peak, 9.882e-4
    assert noam_rate(4000) == pytest.approx(9.8821e-4, rel=1e-4)
    assert noam_rate(16000) == pytest.approx(noam_rate(4000) / 2)  # 1/sqrt decay after the peak
    assert noam_rate(2000) == pytest.approx(noam_rate(4000) / 2)  # linear warm-up
    assert noam_rate(100, d_model=512, warmup=10, factor=2.0) == pytest.approx(2.0 / math.sqrt(512) / 10)
    rates = [noam_rate(s, warmup=50) for s in range(1, 200)]
    assert max(range(len(rates)), key=rates.__getitem__) + 1 == 50
    with pytest.raises(ValueError, match="start at 1"):
        noam_rate(0)


def test_scheduler_follows_the_formula_per_optimizer_step():
    w = torch.nn.Parameter(torch.zeros(3))
    bias = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([{"params": [w], "lr": 0.5}, {"params": [bias], "lr": 3.0}])
    sched = noam_scheduler(opt, d_model=64, warmup=10, factor=2.0)
    seen = []
    for _ in range(30):
        seen.append([g["lr"] for g in opt.param_groups])
        w.sum().backward()
        opt.step()
        sched.step()
    for n, lrs in enumerate(seen):  # the (n+1)-th optimizer step uses step n + 1
        want = noam_rate(n + 1, d_model=64, warmup=10, factor=2.0)
        assert lrs == pytest.approx([want, want])  # the optimizer's own lr is replaced

    state = sched.state_dict()
    opt2 = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(2)], lr=1.0)
    sched2 = noam_scheduler(opt2, d_model=8, warmup=2)  # a resumed run: settings come from the state
    sched2.load_state_dict(state)
    sched2.step()
    want = noam_rate(32, d_model=64, warmup=10, factor=2.0)
    assert [g["lr"] for g in opt2.param_groups] == pytest.approx([want, want])


def test_scheduler_rejects_bad_settings():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.0)
    with pytest.raises(ValueError, match="lr > 0"):
        noam_scheduler(opt)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="warmup"):
        noam_scheduler(opt, warmup=0)
