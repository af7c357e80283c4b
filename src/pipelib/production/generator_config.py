"""The generator's config section (``production.generator.model``, :class:`GeneratorConfig`), importable
without torch: the workflow checks it whenever it starts. The model is in
:mod:`pipelib.production.generator`, which re-exports these names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from pipelib.sections import from_section

CONFIG_KEY = "production.generator"


@dataclass(frozen=True)
class GeneratorConfig:
    """Every size of :class:`LatentGenerator`; defaults are the paper's (BERT-base text features)."""

    text_dim: int = 768        # width of the text features (the text encoder's out_dim)
    d_model: int = 512
    enc_layers: int = 3
    enc_heads: int = 4
    dec_layers: int = 6
    dec_heads: int = 8
    ffn_dim: int = 1024
    dropout: float = 0.1
    max_len: int = 300         # frames decoded per sentence (25 fps: 12 s)
    latent_dim: int = 80
    max_text_len: int = 512    # longest text the positional table covers
    latent_box: float = 3.0    # generated latents stay within this many training sds per principal axis

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, where: str = CONFIG_KEY) -> GeneratorConfig:
        """Build from a config section; unknown keys and wrong types raise
        :class:`~pipelib.sections.SectionError` naming the dotted key (YAML's ``1e-1`` is a number)."""
        cfg = from_section(cls, d, where)
        cfg.validate(where)
        return cfg

    def validate(self, where: str = CONFIG_KEY) -> None:
        """Raise ValueError naming the key when a value cannot work."""
        for f in fields(self):
            if f.name not in ("dropout", "latent_box") and getattr(self, f.name) < 1:
                raise ValueError(f"{where}.{f.name}: must be >= 1, got {getattr(self, f.name)}")
        for key in ("enc_heads", "dec_heads"):
            if self.d_model % getattr(self, key):
                raise ValueError(f"{where}.{key}: d_model ({self.d_model}) must be divisible by the head "
                                 f"count, got {getattr(self, key)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"{where}.dropout: must be in [0, 1), got {self.dropout}")
        if not self.latent_box >= 0.0:
            raise ValueError(f"{where}.latent_box: must be >= 0 (0 = off), got {self.latent_box}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
