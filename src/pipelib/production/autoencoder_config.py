"""The autoencoder's config section (``production.autoencoder.model``, :class:`AEConfig`), importable
without torch: the workflow checks it whenever it starts. The model and the section's meaning are in
:mod:`pipelib.production.autoencoder`, which re-exports these names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelib.sections import SectionError, coerce_fields, convert
from pipelib.skeletons.layout import PARTS as REGIONS  # the regions' names (pipelib.production.regions)

LOSS_NORMS = ("value", "frame")
DEFAULT_LATENT = {"body": 8, "right_hand": 28, "left_hand": 28, "face": 16}
DEFAULT_HIDDEN = {"body": 0, "right_hand": 40, "left_hand": 40, "face": 96}
DEFAULT_LOSS_WEIGHTS = {"body": 0.5, "right_hand": 1.5, "left_hand": 1.5, "face": 1.0}


def _region_map(value: Any, defaults: Mapping[str, Any], where: str, kind: type) -> dict[str, Any]:
    """A full ``{region: value}`` dict from a partial mapping; unknown regions and bad values raise
    :class:`~pipelib.sections.SectionError` naming the dotted key."""
    if not isinstance(value, Mapping):
        raise SectionError(f"{where}: must be a mapping of regions {list(REGIONS)}, got {value!r}")
    unknown = sorted(set(value) - set(REGIONS))
    if unknown:
        raise SectionError(f"{where}.{unknown[0]}: unknown region; use one of {list(REGIONS)}")
    return {name: convert(value.get(name, defaults[name]), kind, f"{where}.{name}") for name in REGIONS}


@dataclass(frozen=True)
class AEConfig:
    """Autoencoder hyperparameters; every mapping is ``{region: value}`` over all four regions."""

    latent: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LATENT))
    hidden: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_HIDDEN))
    loss_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LOSS_WEIGHTS))
    encoder_l1: float = 1e-4
    loss_norm: str = "value"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, where: str = "production.autoencoder") -> AEConfig:
        """Build from a config section (``where`` names it in errors); unknown keys and bad values raise
        :class:`~pipelib.sections.SectionError` naming the dotted key. A region mapping may name only the
        regions it changes; the others keep their defaults."""
        kw = coerce_fields(cls, d, where)
        for key, defaults, kind in (("latent", DEFAULT_LATENT, int), ("hidden", DEFAULT_HIDDEN, int),
                                    ("loss_weights", DEFAULT_LOSS_WEIGHTS, float)):
            if key in kw:
                kw[key] = _region_map(kw[key], defaults, f"{where}.{key}", kind)
        cfg = cls(**kw)
        cfg.validate(where)
        return cfg

    def validate(self, where: str = "production.autoencoder") -> None:
        """Raise ValueError naming the key when a value cannot work."""
        for key in ("latent", "hidden", "loss_weights"):
            if set(getattr(self, key)) != set(REGIONS):
                raise ValueError(f"{where}.{key}: needs exactly the regions {list(REGIONS)}")
        for name in REGIONS:
            if self.latent[name] < 1:
                raise ValueError(f"{where}.latent.{name}: must be >= 1, got {self.latent[name]}")
            if self.hidden[name] < 0:
                raise ValueError(f"{where}.hidden.{name}: must be >= 0 (0 = one Linear layer), "
                                 f"got {self.hidden[name]}")
            if not self.loss_weights[name] >= 0:
                raise ValueError(f"{where}.loss_weights.{name}: must be >= 0, got {self.loss_weights[name]}")
        if not self.encoder_l1 >= 0:
            raise ValueError(f"{where}.encoder_l1: must be >= 0, got {self.encoder_l1}")
        if self.loss_norm not in LOSS_NORMS:
            raise ValueError(f"{where}.loss_norm: must be one of {list(LOSS_NORMS)}, got {self.loss_norm!r}")

    @property
    def latent_dim(self) -> int:
        """Total latent width (80 by default)."""
        return sum(self.latent[name] for name in REGIONS)

    def latent_slices(self) -> dict[str, slice]:
        """Channel range of each region: ``{"body": slice(0, 8), "right_hand": slice(8, 36), ...}``."""
        out, start = {}, 0
        for name in REGIONS:
            out[name] = slice(start, start + self.latent[name])
            start += self.latent[name]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (for checkpoints and provenance)."""
        return asdict(self)
