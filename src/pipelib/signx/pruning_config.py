"""The ``signx.pruning`` config section (:class:`PruningConfig`), importable without torch: the workflow
checks it whenever it starts. Pruning itself is in :mod:`pipelib.signx.pruning`, which re-exports these
names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelib.sections import SectionError, from_section

CONFIG_KEY = "signx.pruning"


@dataclass(frozen=True)
class PruningConfig:
    """Exactly one of ``threshold`` (variance, eq. 7's tau) and ``keep_fraction`` (share of dims kept)."""

    threshold: float | None = None
    keep_fraction: float | None = 0.5

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = CONFIG_KEY) -> PruningConfig:
        """Config from a (YAML) dict; unknown keys and bad values raise
        :class:`~pipelib.sections.SectionError` naming ``where.key``. Giving ``threshold`` alone switches
        ``keep_fraction`` off."""
        cfg = from_section(cls, data, where)
        given = data or {}
        if cfg.threshold is not None and "keep_fraction" not in given:
            cfg = cls(threshold=cfg.threshold, keep_fraction=None)
        check_choice(cfg.threshold, cfg.keep_fraction, where)
        return cfg


def check_choice(threshold: float | None, keep_fraction: float | None, where: str) -> None:
    """Raise SectionError naming ``where`` unless exactly one of the two is set, within its range."""
    if (threshold is None) == (keep_fraction is None):
        raise SectionError(f"{where}: set exactly one of threshold and keep_fraction, got "
                         f"threshold={threshold}, keep_fraction={keep_fraction}")
    if threshold is not None and not threshold >= 0:
        raise SectionError(f"{where}.threshold: must be a variance >= 0, got {threshold}")
    if keep_fraction is not None and not 0.0 < keep_fraction <= 1.0:
        raise SectionError(f"{where}.keep_fraction: must be in (0, 1], got {keep_fraction}")
