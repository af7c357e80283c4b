"""The ``signx.spread`` config section (:class:`SpreadSection`), importable without torch or pandas: the
workflow checks it whenever it starts. The table it asks for is built by :mod:`pipelib.signx.spread`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelib.sections import SectionError, from_section

SECTION = "signx.spread"


@dataclass(frozen=True)
class SpreadSection:
    """The ``signx.spread`` section: Video2Pose training seeds to compare beside
    ``signx.video2pose.train.seed`` (empty: no spread table)."""

    seeds: tuple[int, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = SECTION) -> SpreadSection:
        """Parse and check the section; bad values raise SectionError naming ``where.seeds``."""
        sec = from_section(cls, data, where)
        if len(set(sec.seeds)) != len(sec.seeds):
            raise SectionError(f"{where}.seeds: each seed once, got {list(sec.seeds)}")
        return sec

    def all_seeds(self, primary: int) -> tuple[int, ...]:
        """``primary`` (the Video2Pose run every other table uses) first, then the other seeds."""
        return (primary, *(s for s in self.seeds if s != primary))
