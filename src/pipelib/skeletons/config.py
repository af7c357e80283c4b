"""The ``skeletons:`` config section as one checked dataclass (keys and meaning: see the package doc)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pipelib.sections import from_section

SCALES: tuple[str, ...] = ("shoulder_width", "none")
OUT_OF_RANGE: tuple[str, ...] = ("mask", "refuse")


@dataclass(frozen=True)
class SkeletonConfig:
    """max_gap: longest hand/face gap (frames) filled by interpolation; scale: ``shoulder_width`` or
    ``none``; depth: keep z (False sets z = 0); max_abs_value: a joint with a coordinate of larger
    magnitude is implausible; out_of_range: ``mask`` such joints (counted and reported like NaN/Inf
    joints) or ``refuse`` the dataset (the job fails naming the video and file)."""

    max_gap: int = 5
    scale: str = "shoulder_width"
    depth: bool = True
    max_abs_value: float = 1.0e4
    out_of_range: str = "mask"

    def __post_init__(self) -> None:
        if isinstance(self.max_gap, bool) or not isinstance(self.max_gap, int) or self.max_gap < 0:
            raise ValueError(f"config key skeletons.max_gap = {self.max_gap!r}: use an integer >= 0 (frames)")
        if self.scale not in SCALES:
            raise ValueError(f"config key skeletons.scale = {self.scale!r}: use one of {', '.join(SCALES)}")
        if not isinstance(self.depth, bool):
            raise ValueError(f"config key skeletons.depth = {self.depth!r}: use true or false")
        if isinstance(self.max_abs_value, bool) or not isinstance(self.max_abs_value, (int, float)) \
                or not self.max_abs_value > 0:
            raise ValueError(f"config key skeletons.max_abs_value = {self.max_abs_value!r}: use a number > 0")
        if self.out_of_range not in OUT_OF_RANGE:
            raise ValueError(f"config key skeletons.out_of_range = {self.out_of_range!r}: use one of "
                             f"{', '.join(OUT_OF_RANGE)}")

    @classmethod
    def coerce(cls, cfg: SkeletonConfig | Mapping[str, Any] | None) -> SkeletonConfig:
        """A config from the ``skeletons`` mapping (missing keys take the defaults), or as given."""
        if cfg is None:
            return cls()
        if isinstance(cfg, SkeletonConfig):
            return cfg
        return from_section(cls, cfg, "skeletons")

    def as_dict(self) -> dict[str, Any]:
        """The section as a plain dict (for provenance)."""
        return asdict(self)
