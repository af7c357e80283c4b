"""The ``signx.pose2gloss`` config section and its ``model`` sub-section, importable without torch: the
workflow checks them whenever it starts. The model is in :mod:`pipelib.signx.pose2gloss`, which
re-exports these names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelib.estimators.base import SLOT_ORDER
from pipelib.models.config import TransformerConfig, check_activation, check_special_ids
from pipelib.sections import SectionError, from_section

CONFIG_KEY = "signx.pose2gloss.model"
TEXT_HEADS = ("ctc", "decoder")
TYPE_NORMS = ("layer", "none")


@dataclass(frozen=True)
class Pose2GlossConfig:
    """Every hyperparameter of :class:`Pose2Gloss`. Widths the paper does not give (d_type, depths,
    heads, codebook_dim) are our choices; ``vocab_size`` is ``len(vocab)`` of the training glosses."""

    vocab_size: int = 0
    d_type: int = 256            # width of each slot encoder's output (the paper's d_h)
    type_norm: str = "layer"     # layer | none (no BatchNorm: frames must stay independent)
    type_activation: str = "gelu"
    fusion_heads: int = 4
    pad_width: int = 2048        # PadMatch: 5 * d_type values zero-padded to this width
    d_latent: int = 2048         # the pose-rich latent width
    vit_layers: int = 4
    vit_heads: int = 8
    vit_ffn: int = 4096
    dropout: float = 0.1
    emb_dropout: float = 0.1
    text_head: str = "ctc"       # ctc | decoder
    codebook_dim: int = 512
    dec_layers: int = 2          # decoder head only
    dec_heads: int = 8
    dec_ffn: int = 1024
    max_output_length: int = 64  # decoder head: most glosses generated (Table 6: max sequence length 64)
    label_smoothing: float = 0.1  # decoder head only (Table 6)
    text_weight: float = 1.0
    word_weight: float = 1.0
    contrast_weight: float = 1.0
    temperature: float = 0.3
    pad_id: int = 0              # also the CTC blank
    bos_id: int = 1
    eos_id: int = 2

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = CONFIG_KEY) -> Pose2GlossConfig:
        """Config from a (YAML) dict; unknown keys and bad values raise ValueError naming ``where.key``."""
        cfg = from_section(cls, data, where)
        cfg.validate(where)
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self, where: str = CONFIG_KEY) -> None:
        """Raise ValueError naming the key when a value cannot work."""
        for key in ("d_type", "fusion_heads", "pad_width", "d_latent", "vit_layers", "vit_heads", "vit_ffn",
                    "codebook_dim", "dec_layers", "dec_heads", "dec_ffn", "max_output_length"):
            if getattr(self, key) < 1:
                raise ValueError(f"{where}.{key}: must be >= 1, got {getattr(self, key)}")
        if self.vocab_size < 5:
            raise ValueError(f"{where}.vocab_size: must be len(vocab) of the training gloss vocabulary "
                             f"(>= 5: the 4 specials and a gloss), got {self.vocab_size}")
        if self.pad_width < len(SLOT_ORDER) * self.d_type:
            raise ValueError(f"{where}.pad_width: must be >= 5 * d_type = {len(SLOT_ORDER) * self.d_type} "
                             f"(the concatenated slot tokens are zero-padded to it), got {self.pad_width}")
        for key, heads in (("d_type", "fusion_heads"), ("d_latent", "vit_heads"),
                           ("codebook_dim", "dec_heads")):
            if getattr(self, key) % getattr(self, heads):
                raise ValueError(f"{where}.{key}: must be divisible by {heads} ({getattr(self, heads)}), "
                                 f"got {getattr(self, key)}")
        for key in ("d_latent", "codebook_dim"):
            if getattr(self, key) % 2:
                raise ValueError(f"{where}.{key}: must be even (sinusoidal positions), "
                                 f"got {getattr(self, key)}")
        for key in ("dropout", "emb_dropout", "label_smoothing"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ValueError(f"{where}.{key}: must be in [0, 1), got {getattr(self, key)}")
        for key in ("text_weight", "word_weight", "contrast_weight"):
            if getattr(self, key) < 0:
                raise ValueError(f"{where}.{key}: must be >= 0, got {getattr(self, key)}")
        if self.temperature <= 0:
            raise ValueError(f"{where}.temperature: must be > 0, got {self.temperature}")
        if self.text_head not in TEXT_HEADS:
            raise ValueError(f"{where}.text_head: must be one of {list(TEXT_HEADS)}, got {self.text_head!r}")
        if self.type_norm not in TYPE_NORMS:
            raise ValueError(f"{where}.type_norm: must be one of {list(TYPE_NORMS)}, got {self.type_norm!r}")
        try:
            check_activation(self.type_activation)
        except ValueError as err:
            raise ValueError(f"{where}.type_activation: {err}") from None
        check_special_ids(self, where)

    def vit(self) -> TransformerConfig:
        """Shape of the ViT layers over time."""
        return TransformerConfig(vocab_size=self.vocab_size, d_model=self.d_latent,
                                 enc_layers=self.vit_layers, dec_layers=0, heads=self.vit_heads,
                                 ffn=self.vit_ffn, dropout=self.dropout, pad_id=self.pad_id)

    def decoder(self) -> TransformerConfig:
        """Shape of the decoder head's layers."""
        return TransformerConfig(vocab_size=self.vocab_size, d_model=self.codebook_dim, enc_layers=0,
                                 dec_layers=self.dec_layers, heads=self.dec_heads, ffn=self.dec_ffn,
                                 dropout=self.dropout, pad_id=self.pad_id)


@dataclass(frozen=True)
class Pose2GlossSection:
    """The ``signx.pose2gloss`` section: batch size, the least count of a gloss kept in the vocabulary,
    and the ``model`` (:class:`Pose2GlossConfig`, vocabulary size from the data) and ``train``
    (:class:`TrainConfig`) sub-sections."""

    batch_size: int = 8
    min_freq: int = 1
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "signx.pose2gloss") -> Pose2GlossSection:
        """Parse and check the section; bad keys and values raise SectionError naming ``where.key``."""
        sec = from_section(cls, data, where)
        if sec.batch_size < 1:
            raise SectionError(f"{where}.batch_size: must be >= 1, got {sec.batch_size}")
        return sec
