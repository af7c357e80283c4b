"""Configuration of the synthetic corpus: one dataclass, built from the `synthetic` config section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pipelib.sections import from_section

#: the section's dotted key in errors (per dataset: ``datasets.<ds>.synthetic``)
CONFIG_KEY = "synthetic"


@dataclass(frozen=True)
class SynthConfig:
    """Sizes, timing and randomness of the synthetic weather-forecast corpus.

    The defaults make the demo corpus: 240 sentences of 3-4 signs, about 11,500 frames (about 48 per
    sentence), so that MediaPipe extraction stays within a few minutes on two cores.

    Durations are in frames at ``fps`` before speed scaling; a sign's frames are divided by its
    speed factor (sentence factor from ``speed_range`` times a per-sign factor within
    1 +- ``sign_speed_jitter``). Ranges are inclusive ``[low, high]`` pairs.
    """

    seed: int = 2014
    n_train: int = 192  # sentences per split
    n_dev: int = 16
    n_test: int = 32
    n_signers: int = 3
    fps: int = 25
    width: int = 210
    height: int = 260
    min_glosses: int = 3  # glosses per sentence
    max_glosses: int = 4
    speed_range: tuple[float, float] = (0.8, 1.25)  # per-sentence speed factor
    sign_speed_jitter: float = 0.15  # per-sign factor range around the sentence's
    sign_frames: tuple[int, int] = (4, 6)  # a sign's own movement
    hold_frames: tuple[int, int] = (1, 2)  # still hold at the end of each sign
    transition_frames: tuple[int, int] = (3, 4)  # co-articulated movement between signs
    rest_frames: tuple[int, int] = (1, 3)  # rest posture before and after the sentence
    render_scale: int = 3  # drawing supersampling factor before INTER_AREA reduction
    coarticulation: float = 0.25  # location assimilation towards the neighbouring signs, 0..1
    signer_variation: float = 1.0  # scale of each signer's style (0: every signer signs citation forms)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, where: str = CONFIG_KEY) -> SynthConfig:
        """Build from a config section; unknown keys and wrong types raise
        :class:`~pipelib.sections.SectionError` naming the dotted key (``where.key``)."""
        cfg = from_section(cls, d, where)
        cfg.validate()
        return cfg

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists), key-sorted, for provenance and file attributes."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(asdict(self).items())}

    def validate(self) -> None:
        """Raise ValueError naming the offending key when a value cannot work."""
        for key in ("n_train", "n_dev", "n_test", "n_signers", "fps", "render_scale"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"synthetic config: {key} must be >= 1, got {getattr(self, key)}")
        for key in ("n_train", "n_test"):
            if getattr(self, key) < self.n_signers:
                raise ValueError(
                    f"synthetic config: {key}={getattr(self, key)} is smaller than n_signers="
                    f"{self.n_signers}; every signer must appear in train and test"
                )
        if (self.width, self.height) != (210, 260):
            # Figure proportions are tuned for the PHOENIX frame; other sizes are not supported.
            raise ValueError(
                f"synthetic config: width/height must be 210/260 (the PHOENIX-2014-T frame), "
                f"got {self.width}/{self.height}"
            )
        if not 1 <= self.min_glosses <= self.max_glosses:
            raise ValueError(
                f"synthetic config: need 1 <= min_glosses <= max_glosses, got "
                f"{self.min_glosses}..{self.max_glosses}"
            )
        lo, hi = self.speed_range
        if not 0 < lo <= hi:
            raise ValueError(f"synthetic config: speed_range must be 0 < low <= high, got {lo}, {hi}")
        if not 0 <= self.sign_speed_jitter < 1:
            raise ValueError(
                f"synthetic config: sign_speed_jitter must be in [0, 1), got {self.sign_speed_jitter}"
            )
        for key in ("sign_frames", "hold_frames", "transition_frames", "rest_frames"):
            rng = getattr(self, key)
            if len(rng) != 2 or not 0 <= rng[0] <= rng[1]:
                raise ValueError(f"synthetic config: {key} must be [low, high] with 0 <= low <= high, "
                                 f"got {list(rng)}")
        if not 0.0 <= self.coarticulation <= 1.0:
            raise ValueError(f"synthetic config: coarticulation must be in [0, 1], got {self.coarticulation}")
        if not 0.0 <= self.signer_variation <= 2.0:
            raise ValueError(
                f"synthetic config: signer_variation must be in [0, 2] (beyond 2 signers leave the frame "
                f"or MediaPipe's reach), got {self.signer_variation}"
            )
        if self.sign_frames[0] < 2 or self.transition_frames[0] < 1:
            raise ValueError("synthetic config: sign_frames low must be >= 2 and transition_frames "
                             "low >= 1 (a movement needs frames)")
