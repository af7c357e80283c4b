"""Back-translation model of the SLRTP 2025 evaluation: a Sign Language Transformer (Camgoz et al. 2020)
that translates 178x3 skeleton sequences into spoken-language words.

Each frame's 534 values go through a linear embedding (SLT's spatial embedding: Linear, masked
BatchNorm, softsign), then a Transformer encoder-decoder; outputs come from beam search (beam 3).
The reference evaluator's weights and config are not public, so the pipeline trains its own; every
hyperparameter lives in ``SLTConfig``, stored with the checkpoint.

Training batches are dicts: ``poses`` (B, T, 534) float32, ``pose_pad`` (B, T) bool with True at
padding frames, ``tokens`` (B, L) int64 = ``<bos>`` words ``<eos>``, right-padded with ``pad_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from pipelib.models.blocks import (
    ACTIVATIONS,
    NORMS,
    FrameEmbedding,
    Seq2SeqTransformer,
    TransformerConfig,
    check_special_ids,
    label_smoothed_cross_entropy,
)
from pipelib.models.decoding import beam_search, greedy_decode
from pipelib.sections import from_section
from pipelib.text.vocab import Vocab

BATCH_KEYS = ("poses", "pose_pad", "tokens")


@dataclass(frozen=True)
class SLTConfig:
    """Every hyperparameter of the back-translation model. ``vocab_size`` is ``len(vocab)`` of the
    training vocabulary; the special ids default to those of ``pipelib.text.vocab.Vocab``."""

    vocab_size: int = 0
    input_dim: int = 534  # 178 joints x 3
    d_model: int = 256
    enc_layers: int = 3
    dec_layers: int = 3
    heads: int = 8
    ffn: int = 1024
    dropout: float = 0.1
    emb_dropout: float = 0.1
    emb_norm: str = "batch"
    emb_activation: str = "softsign"
    scale_token_embedding: bool = True
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    beam: int = 3
    alpha: float = 1.0
    max_output_length: int = 30
    label_smoothing: float = 0.1

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "back_translation.model") -> SLTConfig:
        """Config from a (YAML) dict; unknown keys and bad values raise ValueError naming ``where.key``."""
        cfg = from_section(cls, data, where)
        cfg.validate(where)
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self, where: str = "back_translation.model") -> None:
        """Raise ValueError naming the key when a value cannot work."""
        positive = ("input_dim", "d_model", "enc_layers", "dec_layers", "heads", "ffn", "beam",
                    "max_output_length")
        for key in positive:
            if getattr(self, key) < 1:
                raise ValueError(f"{where}.{key}: must be >= 1, got {getattr(self, key)}")
        if self.vocab_size < 5:
            raise ValueError(f"{where}.vocab_size: must be len(vocab) of the training vocabulary (>= 5: "
                             f"the 4 specials and a word), got {self.vocab_size}")
        if self.d_model % self.heads or self.d_model % 2:
            raise ValueError(f"{where}.d_model: must be even and divisible by heads ({self.heads}), "
                             f"got {self.d_model}")
        for key in ("dropout", "emb_dropout", "label_smoothing"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ValueError(f"{where}.{key}: must be in [0, 1), got {getattr(self, key)}")
        if self.alpha < 0:
            raise ValueError(f"{where}.alpha: must be >= 0, got {self.alpha}")
        if self.emb_norm not in NORMS:
            raise ValueError(f"{where}.emb_norm: must be one of {list(NORMS)}, got {self.emb_norm!r}")
        if self.emb_activation not in ACTIVATIONS:
            raise ValueError(f"{where}.emb_activation: must be one of {list(ACTIVATIONS)}, "
                             f"got {self.emb_activation!r}")
        check_special_ids(self, where)

    def transformer(self) -> TransformerConfig:
        """The encoder-decoder part of this config."""
        return TransformerConfig(
            vocab_size=self.vocab_size, d_model=self.d_model, enc_layers=self.enc_layers,
            dec_layers=self.dec_layers, heads=self.heads, ffn=self.ffn, dropout=self.dropout,
            emb_dropout=self.emb_dropout, pad_id=self.pad_id, scale_tokens=self.scale_token_embedding)


class SignLanguageTransformer(nn.Module):
    """Skeleton frames (B, T, 534) -> word logits; ``translate`` decodes with beam search."""

    def __init__(self, cfg: SLTConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        # no dropout here: the encoder applies emb_dropout after adding positions
        self.embed = FrameEmbedding(cfg.input_dim, cfg.d_model, norm=cfg.emb_norm, act=cfg.emb_activation)
        self.core = Seq2SeqTransformer(cfg.transformer())

    @classmethod
    def from_checkpoint_config(cls, stored: Mapping[str, Any]
                               ) -> tuple[SignLanguageTransformer, dict[str, Vocab]]:
        """The untrained model of a back-translator checkpoint (``slt`` config) and its ``text`` vocab."""
        return cls(SLTConfig.from_dict(stored["slt"])), {"text": Vocab.from_json(stored["vocab"])}

    def encode(self, poses: torch.Tensor, pose_pad: torch.Tensor) -> torch.Tensor:
        """poses (B, T, input_dim), pose_pad (B, T) True = padding -> memory (B, T, d_model)."""
        if poses.size(-1) != self.cfg.input_dim:
            raise ValueError(f"poses have {poses.size(-1)} values per frame but the model's input_dim is "
                             f"{self.cfg.input_dim}; flatten (T, 178, 3) skeletons to (T, 534)")
        src = self.embed(poses, pose_pad)  # (B, T, d_model)
        return self.core.encode(src, pose_pad)  # (B, T, d_model)

    def forward(self, poses: torch.Tensor, pose_pad: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, L, vocab_size) for decoder inputs ``tgt_in`` (B, L), bos first."""
        memory = self.encode(poses, pose_pad)  # (B, T, d_model)
        return self.core.decode(memory, pose_pad, tgt_in)  # (B, L, V)

    def loss(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Label-smoothed cross-entropy per non-pad target token (scalar) of a training batch."""
        missing = [k for k in BATCH_KEYS if k not in batch]
        if missing:
            raise KeyError(f"back-translation batch lacks {missing}; it needs {list(BATCH_KEYS)}")
        tokens = batch["tokens"]  # (B, L) bos ... eos pad
        logits = self(batch["poses"], batch["pose_pad"], tokens[:, :-1])  # (B, L-1, V)
        return label_smoothed_cross_entropy(logits, tokens[:, 1:], self.cfg.label_smoothing, self.cfg.pad_id)

    @torch.no_grad()
    def translate(self, poses: torch.Tensor, pose_pad: torch.Tensor, beam: int | None = None,
                  max_len: int | None = None, alpha: float | None = None) -> list[list[int]]:
        """Word ids per sequence (no bos/eos); beam, max length and alpha default to the config.

        Runs in eval mode (dropout off, BatchNorm running statistics) and restores the previous mode.
        """
        cfg = self.cfg
        beam = cfg.beam if beam is None else beam
        max_len = cfg.max_output_length if max_len is None else max_len
        alpha = cfg.alpha if alpha is None else alpha
        was_training = self.training
        self.eval()
        try:
            memory = self.encode(poses, pose_pad)  # (B, T, d_model)
            step = self.core.step_fn(memory, pose_pad)
            common = dict(bos_id=cfg.bos_id, eos_id=cfg.eos_id, max_len=max_len,
                          banned=(cfg.pad_id, cfg.bos_id), device=poses.device)
            if beam == 1:
                return greedy_decode(step, poses.size(0), **common)
            return beam_search(step, poses.size(0), beam=beam, alpha=alpha, **common)
        finally:
            self.train(was_training)
