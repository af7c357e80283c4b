"""Per-step learning-rate schedules (cosine with warm-up, Noam) as plain functions and a LambdaLR.

Steps count optimizer steps from 1: ``step = n`` is the lr of the n-th ``optimizer.step()``. The
trainer steps these schedulers after every optimizer step (ReduceLROnPlateau stays per epoch).

- cosine: ``base_lr * step / warmup_steps`` while ``step <= warmup_steps`` (linear from 0, peak
  ``base_lr`` at ``warmup_steps``), then a half cosine from ``base_lr`` down to ``min_lr`` reached at
  ``total_steps``, constant ``min_lr`` after that.
- noam (Vaswani et al. 2017; SignX eq. 9 with d_model 256, warm-up 4000):
  ``factor * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)``; peak
  ``factor * (d_model * warmup_steps)**-0.5`` at ``warmup_steps``, then 1/sqrt decay. It replaces the
  optimizer's own lr.
"""

from __future__ import annotations

import math

import torch


def cosine_rate(step: int, base_lr: float, warmup_steps: int, total_steps: int, min_lr: float = 0.0) -> float:
    """Learning rate of optimizer step ``step`` (1-based): linear warm-up then cosine to ``min_lr``."""
    if step < 1:
        raise ValueError(f"schedule steps start at 1, got {step}")
    if warmup_steps > 0 and step <= warmup_steps:
        return base_lr * step / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)  # in [0, 1)
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def noam_rate(step: int, d_model: int, warmup_steps: int, factor: float = 1.0) -> float:
    """Learning rate of optimizer step ``step`` (1-based) under the Noam schedule."""
    if step < 1:
        raise ValueError(f"schedule steps start at 1, got {step}")
    return factor * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)


class StepRate:
    """LambdaLR multiplier of one parameter group: ``base_lr * self(i)`` is the schedule's lr at step
    ``i + 1``. A callable object (not a lambda) so that the scheduler's state dict holds its settings
    as plain numbers (checkpoints load with ``weights_only=True``)."""

    def __init__(self, name: str, base_lr: float, *, warmup_steps: int, total_steps: int = 0,
                 min_lr: float = 0.0, d_model: int = 0, factor: float = 1.0) -> None:
        self.name, self.base_lr, self.warmup_steps = name, float(base_lr), int(warmup_steps)
        self.total_steps, self.min_lr = int(total_steps), float(min_lr)
        self.d_model, self.factor = int(d_model), float(factor)

    def rate(self, step: int) -> float:
        """The absolute learning rate of optimizer step ``step`` (1-based)."""
        if self.name == "cosine":
            return cosine_rate(step, self.base_lr, self.warmup_steps, self.total_steps, self.min_lr)
        if self.name == "noam":
            return noam_rate(step, self.d_model, self.warmup_steps, self.factor)
        raise ValueError(f"unknown per-step schedule {self.name!r}; use 'cosine' or 'noam'")

    def __call__(self, i: int) -> float:
        return self.rate(i + 1) / self.base_lr


def step_scheduler(optimizer: torch.optim.Optimizer, name: str, *, warmup_steps: int, total_steps: int = 0,
                   min_lr: float = 0.0, d_model: int = 0,
                   factor: float = 1.0) -> torch.optim.lr_scheduler.LambdaLR:
    """LambdaLR for schedule ``name`` (``cosine`` or ``noam``), one multiplier per parameter group.

    Right after construction each group's lr is the lr of step 1; after the n-th ``scheduler.step()``
    it is the lr of step n + 1. Cosine scales each group's own lr (its peak); Noam replaces it. Every
    group needs lr > 0 (it is the denominator of the multiplier).
    """
    lambdas = []
    for i, group in enumerate(optimizer.param_groups):
        base = float(group.get("initial_lr", group["lr"]))
        if not base > 0:
            raise ValueError(f"optimizer param group {i} has lr {base}; per-step schedules need lr > 0")
        lambdas.append(StepRate(name, base, warmup_steps=warmup_steps, total_steps=total_steps,
                                min_lr=min_lr, d_model=d_model, factor=factor))
    lambdas[0].rate(1)  # an unknown name fails here, not at the first step
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lambdas)
