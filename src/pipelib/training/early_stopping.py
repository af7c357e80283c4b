"""Early stopping on a monitored dev metric, with a state dict for checkpoints."""

from __future__ import annotations

import math
from typing import Any


def improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """True when ``value`` beats ``best`` by more than ``min_delta`` (lower for ``min``, higher for ``max``).

    Any finite value beats ``best=None``; NaN never improves.
    """
    if math.isnan(value):
        return False
    if best is None:
        return True
    if mode == "min":
        return value < best - min_delta
    if mode == "max":
        return value > best + min_delta
    raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")


class EarlyStopping:
    """Counts epochs without an improvement larger than ``min_delta``; stops after ``patience`` of them.

    ``patience=None`` never stops. Call :meth:`step` once per epoch with the dev metric.
    """

    def __init__(self, patience: int | None, mode: str = "min", min_delta: float = 0.0) -> None:
        self.patience = patience
        self.mode = mode
        self.min_delta = float(min_delta)
        self.best: float | None = None
        self.bad_epochs = 0
        self.should_stop = False

    def step(self, value: float) -> bool:
        """Record one epoch's metric; return True when training should stop now."""
        if improved(value, self.best, self.mode, self.min_delta):
            self.best = float(value)
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        self.should_stop = self.patience is not None and self.bad_epochs >= self.patience
        return self.should_stop

    def state_dict(self) -> dict[str, Any]:
        """Plain-typed state (weights_only-loadable)."""
        return {"best": self.best, "bad_epochs": self.bad_epochs, "should_stop": self.should_stop}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`; patience, mode and min_delta stay as configured now."""
        self.best = state["best"]
        self.bad_epochs = int(state["bad_epochs"])
        self.should_stop = bool(state["should_stop"])
