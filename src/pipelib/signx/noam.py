"""Noam learning-rate schedule (Vaswani et al. 2017; SignX eq. 9, W = 4000, d_model = 256).

lr(step) = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5), step = 1, 2, ...: linear warm-up
for ``warmup`` optimizer steps, peak factor * (d_model * warmup)^-0.5 at step = warmup, then 1/sqrt decay.
The scheduler is stepped once per optimizer step (not per epoch).
"""

from __future__ import annotations

import torch


def noam_rate(step: int, d_model: int = 256, warmup: int = 4000, factor: float = 1.0) -> float:
    """The learning rate at optimizer step ``step`` (1-based)."""
    if step < 1:
        raise ValueError(f"Noam steps start at 1, got {step}")
    return factor * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


class NoamLambda:
    """LambdaLR multiplier for one parameter group: lr = base_lr * this = noam_rate(i + 1).

    A callable object (not a lambda) so that the scheduler's state_dict keeps its settings."""

    def __init__(self, d_model: int, warmup: int, factor: float, base_lr: float) -> None:
        self.d_model, self.warmup, self.factor, self.base_lr = d_model, warmup, factor, base_lr

    def __call__(self, i: int) -> float:
        return noam_rate(i + 1, self.d_model, self.warmup, self.factor) / self.base_lr


def noam_scheduler(optimizer: torch.optim.Optimizer, d_model: int = 256, warmup: int = 4000,
                   factor: float = 1.0) -> torch.optim.lr_scheduler.LambdaLR:
    """LambdaLR whose lr is exactly ``noam_rate``: the first optimizer step uses step 1, and after the
    n-th ``scheduler.step()`` the lr is ``noam_rate(n + 1)``. The optimizer's own lr (> 0) is replaced."""
    if d_model < 1 or warmup < 1 or factor <= 0:
        raise ValueError(f"Noam schedule needs d_model >= 1, warmup >= 1 and factor > 0, got "
                         f"d_model={d_model}, warmup={warmup}, factor={factor}")
    lambdas = []
    for i, group in enumerate(optimizer.param_groups):
        base = float(group.get("initial_lr", group["lr"]))
        if base <= 0:
            raise ValueError(f"optimizer param group {i} has lr {base}; the Noam schedule needs lr > 0 "
                             f"(its value is replaced by the schedule)")
        lambdas.append(NoamLambda(d_model, warmup, factor, base))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lambdas)
