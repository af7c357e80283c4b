"""The model configs' shared pieces that need no torch: the Transformer shape, the norm and activation
names, and the special-id check. :mod:`pipelib.models.blocks` builds modules from them; config sections
(checked whenever the workflow starts) validate with them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NORMS = ("batch", "layer", "none")
ACTIVATIONS = ("relu", "gelu", "softsign", "tanh", "none")


def check_activation(name: str) -> None:
    """Raise ValueError unless ``name`` is one of ``ACTIVATIONS``."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {name!r}")


@dataclass(frozen=True)
class TransformerConfig:
    """Shape of a ``Seq2SeqTransformer``; model configs (SLT, SignX) build one from their own keys."""

    vocab_size: int
    d_model: int = 256
    enc_layers: int = 3
    dec_layers: int = 3
    heads: int = 8
    ffn: int = 1024
    dropout: float = 0.1
    emb_dropout: float = 0.1
    pad_id: int = 0
    scale_tokens: bool = True


def check_special_ids(cfg: Any, where: str) -> None:
    """Raise ValueError naming the key unless pad/bos/eos ids are distinct ids below ``vocab_size``."""
    for key in ("pad_id", "bos_id", "eos_id"):
        if not 0 <= getattr(cfg, key) < cfg.vocab_size:
            raise ValueError(f"{where}.{key}: must be a token id below vocab_size ({cfg.vocab_size}), "
                             f"got {getattr(cfg, key)}")
    if len({cfg.pad_id, cfg.bos_id, cfg.eos_id}) != 3:
        raise ValueError(f"{where}: pad_id, bos_id and eos_id must differ, got "
                         f"{cfg.pad_id}, {cfg.bos_id}, {cfg.eos_id}")
