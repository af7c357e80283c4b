"""Optimizer and learning-rate scheduler built from the training config."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from pipelib.training.config import OptimizerConfig, SchedulerConfig
from pipelib.training.schedules import step_scheduler


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    """Adam or AdamW over ``params`` (those with ``requires_grad``) with lr, betas, eps, weight decay."""
    trainable = [p for p in params if p.requires_grad]
    if not trainable:
        raise ValueError("the model has no parameters with requires_grad=True: nothing to train")
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[cfg.name]
    return cls(trainable, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: SchedulerConfig,
                    mode: str) -> torch.optim.lr_scheduler.LRScheduler | None:
    """ReduceLROnPlateau stepped per epoch on the dev metric (``mode`` min/max), a LambdaLR stepped per
    optimizer step (``cosine``, ``noam``; see ``cfg.per_step``), or None for ``name: none``."""
    if cfg.name == "none":
        return None
    if cfg.per_step:
        return step_scheduler(optimizer, cfg.name, warmup_steps=cfg.warmup_steps,
                              total_steps=cfg.total_steps or 0, min_lr=cfg.min_lr, d_model=cfg.d_model or 0,
                              factor=cfg.factor)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode=mode, factor=cfg.factor, patience=cfg.patience, threshold=cfg.threshold,
        threshold_mode=cfg.threshold_mode, cooldown=cfg.cooldown, min_lr=cfg.min_lr,
    )


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    """Learning rate of the first parameter group."""
    return float(optimizer.param_groups[0]["lr"])
