"""The ``signx.video2pose`` config section and its ``model`` sub-section, importable without torch: the
workflow checks them whenever it starts. The model and the section's meaning are in
:mod:`pipelib.signx.video2pose`, which re-exports these names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelib.sections import SectionError, from_section

WHERE = "signx.video2pose.model"
STEMS = ("patch", "conv", "conv_norm")


@dataclass(frozen=True)
class Video2PoseConfig:
    """Video2Pose hyperparameters (see the module text for the config section)."""

    image_size: int = 64
    patch_size: int = 8
    spatial_dim: int = 128
    spatial_layers: int = 2
    spatial_heads: int = 4
    temporal_dim: int = 128
    temporal_layers: int = 2
    temporal_heads: int = 4
    ffn_mult: int = 4
    dropout: float = 0.1
    stem: str = "patch"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, where: str = WHERE) -> Video2PoseConfig:
        """Build from a config section; unknown keys and unusable values raise ValueError naming the key."""
        cfg = from_section(cls, d, where)
        cfg.validate(where)
        return cfg

    def validate(self, where: str = WHERE) -> None:
        """Raise ValueError naming ``{where}.<key>`` when a value cannot work."""
        for key in ("image_size", "patch_size", "spatial_dim", "spatial_heads", "temporal_dim",
                    "temporal_heads", "ffn_mult"):
            if getattr(self, key) < 1:
                raise ValueError(f"{where}.{key}: must be >= 1, got {getattr(self, key)}")
        for key in ("spatial_layers", "temporal_layers"):
            if getattr(self, key) < 0:
                raise ValueError(f"{where}.{key}: must be >= 0, got {getattr(self, key)}")
        if self.image_size % self.patch_size:
            raise ValueError(f"{where}.patch_size: {self.patch_size} does not divide image_size "
                             f"{self.image_size}; choose a divisor")
        if self.spatial_dim % self.spatial_heads:
            raise ValueError(f"{where}.spatial_heads: {self.spatial_heads} does not divide spatial_dim "
                             f"{self.spatial_dim}")
        if self.temporal_dim % self.temporal_heads:
            raise ValueError(f"{where}.temporal_heads: {self.temporal_heads} does not divide temporal_dim "
                             f"{self.temporal_dim}")
        if self.temporal_dim % 2:
            raise ValueError(f"{where}.temporal_dim: must be even (sinusoidal positions), got "
                             f"{self.temporal_dim}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"{where}.dropout: must be in [0, 1), got {self.dropout}")
        if self.stem not in STEMS:
            raise ValueError(f"{where}.stem: must be one of {list(STEMS)}, got {self.stem!r}")
        if self.stem != "patch" and (self.patch_size < 2 or self.patch_size & (self.patch_size - 1)):
            raise ValueError(f"{where}.patch_size: stem {self.stem} halves the frame log2(patch_size) times, "
                             f"so patch_size must be a power of two >= 2, got {self.patch_size}")

    @property
    def num_patches(self) -> int:
        """Patches per frame, (image_size / patch_size)^2."""
        return (self.image_size // self.patch_size) ** 2

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (for checkpoints and provenance)."""
        return asdict(self)


@dataclass(frozen=True)
class Video2PoseSection:
    """The ``signx.video2pose`` section: videos per batch, every ``frame_stride``-th frame used, at most
    ``max_frames`` per training window (None: whole videos), whether decoded frames stay in memory, whether
    the loss weighs the five slots alike, the weight of the frozen stage-1 latent loss, and the ``model``
    (:class:`Video2PoseConfig`) and ``train`` (:class:`TrainConfig`) sub-sections."""

    batch_size: int = 4
    frame_stride: int = 1
    max_frames: int | None = 32
    cache_frames: bool = True
    balance_slots: bool = False
    latent_weight: float = 0.0
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "signx.video2pose") -> Video2PoseSection:
        """Parse and check the section; bad keys and values raise SectionError naming ``where.key``."""
        sec = from_section(cls, data, where)
        for key in ("batch_size", "frame_stride", "max_frames"):
            value = getattr(sec, key)
            if value is not None and value < 1:
                also = " or null" if key == "max_frames" else ""
                raise SectionError(f"{where}.{key}: must be an integer >= 1{also}, got {value!r}")
        if sec.latent_weight < 0:
            raise SectionError(f"{where}.latent_weight: must be >= 0, got {sec.latent_weight}")
        return sec
