"""The Sign Language Transformer of neccam/slt ("signjoey", Camgoz et al. 2020) in the form the SLRTP 2025
evaluation ships its back-translator: our implementation, with that code's module and parameter
names, so the official checkpoint's ``model_state`` loads strictly.

Architecture (facts of the public code; a pre-norm Transformer encoder-decoder):

- ``sgn_embed``: per frame ``ln`` (Linear input_size -> embedding_dim), then optional ``norm``
  (``MaskedNorm`` wrapping ``norm``: BatchNorm1d, GroupNorm with num_heads groups, or LayerNorm),
  optional ``activation`` (e.g. softsign; PReLU has a weight), optional scaling by ``scale_factor``
  or sqrt(embedding_dim). ``txt_embed`` is the same with ``lut`` (an Embedding with the pad id).
  The norm uses only real frames in training mode and every row in eval mode.
- ``encoder``/``decoder``: sinusoidal positions added from a stored (1, 5000, hidden) table ``pe.pe``;
  layers whose sub-blocks are ``x + Dropout(Block(LayerNorm(x)))``; LayerNorms use eps 1e-6;
  attention has ``k_layer``, ``v_layer``, ``q_layer``, ``output_layer`` and scales q by
  1/sqrt(head size) before the product; the feed-forward block is ``layer_norm`` then ``pwff_layer``
  = Linear, ReLU, Dropout, Linear, Dropout (indices 0 and 3 hold weights), residual added. The decoder
  layer normalises only its own stream before cross-attention (``dec_layer_norm``); the encoder memory
  enters keys and values as it is. Both stacks end in ``layer_norm``; the decoder then applies
  ``output_layer`` (no bias), optionally tied to ``txt_embed.lut``.
- ``gloss_output_layer``: the recognition head (Linear hidden -> gloss vocabulary), present when the
  model was trained with a recognition loss; loaded for key parity, never used here.

Masks: ``valid`` (B, T) bool, True at real frames (signjoey's ``sgn_mask``, without its middle axis).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pipelib.models.blocks import sinusoid_table
from pipelib.models.decoding import StepOutput, greedy_decode, joey_beam_search

PE_LENGTH = 5000  # rows of the stored positional table
LN_EPS = 1e-6
NORM_TYPES = ("batch", "group", "layer")
ACTIVATION_TYPES = ("relu", "relu6", "prelu", "selu", "celu", "gelu", "sigmoid", "softplus", "softshrink",
                    "softsign", "tanh", "tanhshrink")


# --------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class EmbeddingConfig:
    """One ``embeddings`` section of an slt config (``dropout`` acts in the stack, not here)."""

    embedding_dim: int
    scale: bool = False
    scale_factor: float | None = None
    norm_type: str | None = None
    activation_type: str | None = None


@dataclass(frozen=True)
class StackConfig:
    """``model.encoder`` or ``model.decoder`` of an slt config."""

    num_layers: int
    num_heads: int
    hidden_size: int
    ff_size: int
    dropout: float
    emb_dropout: float
    embeddings: EmbeddingConfig


@dataclass(frozen=True)
class SignJoeyConfig:
    """What builds the model: input width, vocabulary sizes (gls 0 = no recognition head), both stacks."""

    input_size: int
    txt_vocab_size: int
    txt_pad_id: int
    gls_vocab_size: int
    encoder: StackConfig
    decoder: StackConfig
    tied_softmax: bool = False

    @classmethod
    def from_slt_config(cls, cfg: Mapping[str, Any], *, txt_vocab_size: int, txt_pad_id: int,
                        gls_vocab_size: int, where: str = "config.yaml") -> SignJoeyConfig:
        """Config from a parsed slt ``config.yaml`` (keys ``data``, ``model``, ``training``).

        Defaults are the slt code's own; keys it indexes without a default are required. Only the
        Transformer type is supported. ValueError names ``where`` and the key otherwise.
        """
        data, model = _section(cfg, "data", where), _section(cfg, "model", where)
        feature = _require(data, "feature_size", f"{where}: data")
        input_size = sum(int(v) for v in feature) if isinstance(feature, list) else int(feature)
        training = cfg.get("training") or {}
        if float(training.get("translation_loss_weight", 1.0)) <= 0:
            raise ValueError(f"{where}: training.translation_loss_weight <= 0 means the model has no "
                             f"translation decoder; a back-translator needs one")
        if float(training.get("recognition_loss_weight", 1.0)) <= 0:
            gls_vocab_size = 0
        encoder = _stack(_section(model, "encoder", f"{where}: model"), f"{where}: model.encoder",
                         dict(num_layers=8, num_heads=4, hidden_size=512, ff_size=2048, dropout=0.1))
        decoder = _stack(_section(model, "decoder", f"{where}: model"), f"{where}: model.decoder",
                         dict(num_layers=4, num_heads=8, hidden_size=512, ff_size=2048, dropout=0.1))
        out = cls(input_size=input_size, txt_vocab_size=int(txt_vocab_size), txt_pad_id=int(txt_pad_id),
                  gls_vocab_size=int(gls_vocab_size), encoder=encoder, decoder=decoder,
                  tied_softmax=bool(model.get("tied_softmax", False)))
        out.validate(where)
        return out

    def validate(self, where: str = "config.yaml") -> None:
        """ValueError naming the key when the model cannot be built."""
        for name, stack in (("encoder", self.encoder), ("decoder", self.decoder)):
            key = f"{where}: model.{name}"
            if stack.embeddings.embedding_dim != stack.hidden_size:
                raise ValueError(f"{key}.embeddings.embedding_dim ({stack.embeddings.embedding_dim}) must "
                                 f"equal {key}.hidden_size ({stack.hidden_size}) for a Transformer")
            if stack.hidden_size % stack.num_heads or stack.hidden_size % 2:
                raise ValueError(f"{key}.hidden_size ({stack.hidden_size}) must be even and divisible by "
                                 f"num_heads ({stack.num_heads})")
            if min(stack.num_layers, stack.num_heads, stack.ff_size) < 1:
                raise ValueError(f"{key}: num_layers, num_heads and ff_size must be >= 1")
        if self.encoder.hidden_size != self.decoder.hidden_size:
            raise ValueError(f"{where}: model.encoder.hidden_size and model.decoder.hidden_size differ "
                             f"({self.encoder.hidden_size} vs {self.decoder.hidden_size})")
        if self.tied_softmax and self.decoder.embeddings.embedding_dim != self.decoder.hidden_size:
            raise ValueError(f"{where}: model.tied_softmax needs the decoder embedding_dim to equal "
                             f"its hidden_size")
        if not 0 <= self.txt_pad_id < self.txt_vocab_size:
            raise ValueError(f"{where}: the text pad id {self.txt_pad_id} is not below the vocabulary size "
                             f"{self.txt_vocab_size}")


def _section(cfg: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = cfg.get(key)
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}.{key}: missing or not a mapping")
    return value


def _require(cfg: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in cfg or cfg[key] is None:
        raise ValueError(f"{where}.{key}: missing; the slt code requires it")
    return cfg[key]


def _stack(cfg: Mapping[str, Any], where: str, defaults: dict[str, Any]) -> StackConfig:
    kind = cfg.get("type", "recurrent")
    if kind != "transformer":
        raise ValueError(f"{where}.type is {kind!r}: only the Transformer back-translator is supported")
    emb = _section(cfg, "embeddings", where)
    norm, act = emb.get("norm_type"), emb.get("activation_type")
    if norm and norm not in NORM_TYPES:
        raise ValueError(f"{where}.embeddings.norm_type {norm!r}: use one of {', '.join(NORM_TYPES)} or none")
    if act and act not in ACTIVATION_TYPES:
        raise ValueError(f"{where}.embeddings.activation_type {act!r}: use one of "
                         f"{', '.join(ACTIVATION_TYPES)}")
    dropout = float(cfg.get("dropout", defaults["dropout"]))
    return StackConfig(
        num_layers=int(cfg.get("num_layers", defaults["num_layers"])),
        num_heads=int(_require(cfg, "num_heads", where)),
        hidden_size=int(cfg.get("hidden_size", defaults["hidden_size"])),
        ff_size=int(cfg.get("ff_size", defaults["ff_size"])),
        dropout=dropout, emb_dropout=float(emb.get("dropout", dropout)),
        embeddings=EmbeddingConfig(
            embedding_dim=int(_require(emb, "embedding_dim", f"{where}.embeddings")),
            scale=bool(emb.get("scale", False)),
            scale_factor=None if emb.get("scale_factor") is None else float(emb["scale_factor"]),
            norm_type=norm or None, activation_type=act or None))


# --------------------------------------------------------------------------------------------- layers


def _activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU, "relu6": nn.ReLU6, "prelu": nn.PReLU, "selu": nn.SELU, "celu": nn.CELU,
            "gelu": nn.GELU, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus, "softshrink": nn.Softshrink,
            "softsign": nn.Softsign, "tanh": nn.Tanh, "tanhshrink": nn.Tanhshrink}[name]()


class MaskedNorm(nn.Module):
    """A norm over the feature axis of (B, T, D); in training mode only rows with ``valid`` True count."""

    def __init__(self, norm_type: str, num_groups: int, dim: int) -> None:
        super().__init__()
        self.dim = dim
        if norm_type == "batch":
            self.norm: nn.Module = nn.BatchNorm1d(dim)
        elif norm_type == "group":
            self.norm = nn.GroupNorm(num_groups, dim)
        else:
            self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
        rows = x.reshape(-1, self.dim)                                       # (B*T, D)
        if not self.training or valid is None:
            return self.norm(rows).reshape(x.shape)
        keep = valid.reshape(-1)                                             # (B*T,)
        out = rows.clone()
        out[keep] = self.norm(rows[keep])
        return out.reshape(x.shape)


class _Embed(nn.Module):
    """Shared tail of both embeddings: optional norm, activation and scaling of (B, L, D)."""

    def __init__(self, cfg: EmbeddingConfig, num_heads: int) -> None:
        super().__init__()
        d = cfg.embedding_dim
        if cfg.norm_type:
            self.norm = MaskedNorm(cfg.norm_type, num_heads, d)
        if cfg.activation_type:
            self.activation = _activation(cfg.activation_type)
        self.factor = (cfg.scale_factor or math.sqrt(d)) if cfg.scale else None

    def finish(self, x: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
        if hasattr(self, "norm"):
            x = self.norm(x, valid)
        if hasattr(self, "activation"):
            x = self.activation(x)
        return x * self.factor if self.factor is not None else x


class FrameEmbedding(_Embed):
    """Frames (B, T, input_size) -> (B, T, embedding_dim): ``ln`` then the shared tail."""

    def __init__(self, cfg: EmbeddingConfig, num_heads: int, input_size: int) -> None:
        super().__init__(cfg, num_heads)
        self.ln = nn.Linear(input_size, cfg.embedding_dim)

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
        return self.finish(self.ln(x), valid)


class WordEmbedding(_Embed):
    """Token ids (B, L) -> (B, L, embedding_dim): ``lut`` then the shared tail."""

    def __init__(self, cfg: EmbeddingConfig, num_heads: int, vocab_size: int, pad_id: int) -> None:
        super().__init__(cfg, num_heads)
        self.lut = nn.Embedding(vocab_size, cfg.embedding_dim, padding_idx=pad_id)

    def forward(self, ids: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        return self.finish(self.lut(ids), valid)


class StoredPositions(nn.Module):
    """Adds rows of the sinusoidal table, kept as the persistent buffer ``pe`` (1, 5000, D)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("pe", sinusoid_table(PE_LENGTH, dim)[None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.size(1) > self.pe.size(1):
            raise ValueError(f"sequence of {x.size(1)} steps is longer than the {self.pe.size(1)} positions "
                             f"the model stores")
        return x + self.pe[:, : x.size(1)]                                     # (B, L, D)


class Attention(nn.Module):
    """Multi-head attention: keys/values (B, M, D), queries (B, N, D), ``allowed`` broadcastable to
    (B, 1, N, M) with True where a query may attend -> (B, N, D)."""

    def __init__(self, heads: int, dim: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.k_layer = nn.Linear(dim, dim)
        self.v_layer = nn.Linear(dim, dim)
        self.q_layer = nn.Linear(dim, dim)
        self.output_layer = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.size(0), -1, self.heads, self.head_dim).transpose(1, 2)  # (B, H, L, hd)

    def forward(self, kv: torch.Tensor, q: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        k, v = self._split(self.k_layer(kv)), self._split(self.v_layer(kv))     # (B, H, M, hd)
        q = self._split(self.q_layer(q)) / math.sqrt(self.head_dim)            # (B, H, N, hd)
        scores = (q @ k.transpose(2, 3)).masked_fill(~allowed, float("-inf"))   # (B, H, N, M)
        ctx = self.dropout(scores.softmax(dim=-1)) @ v                          # (B, H, N, hd)
        ctx = ctx.transpose(1, 2).reshape(q.size(0), -1, self.heads * self.head_dim)  # (B, N, D)
        return self.output_layer(ctx)


class FeedForward(nn.Module):
    """x + pwff_layer(layer_norm(x)) with pwff_layer = Linear, ReLU, Dropout, Linear, Dropout."""

    def __init__(self, dim: int, ff_size: int, dropout: float) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.pwff_layer = nn.Sequential(nn.Linear(dim, ff_size), nn.ReLU(), nn.Dropout(dropout),
                                        nn.Linear(ff_size, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pwff_layer(self.layer_norm(x))


class EncoderLayer(nn.Module):
    def __init__(self, cfg: StackConfig) -> None:
        super().__init__()
        d = cfg.hidden_size
        self.layer_norm = nn.LayerNorm(d, eps=LN_EPS)
        self.src_src_att = Attention(cfg.num_heads, d, cfg.dropout)
        self.feed_forward = FeedForward(d, cfg.ff_size, cfg.dropout)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        h = self.layer_norm(x)
        return self.feed_forward(x + self.dropout(self.src_src_att(h, h, allowed)))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: StackConfig) -> None:
        super().__init__()
        d = cfg.hidden_size
        self.trg_trg_att = Attention(cfg.num_heads, d, cfg.dropout)
        self.src_trg_att = Attention(cfg.num_heads, d, cfg.dropout)
        self.feed_forward = FeedForward(d, cfg.ff_size, cfg.dropout)
        self.x_layer_norm = nn.LayerNorm(d, eps=LN_EPS)
        self.dec_layer_norm = nn.LayerNorm(d, eps=LN_EPS)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, src_allowed: torch.Tensor,
                causal: torch.Tensor) -> torch.Tensor:
        h = self.x_layer_norm(y)
        y = y + self.dropout(self.trg_trg_att(h, h, causal))                  # (B, L, D)
        ctx = self.src_trg_att(memory, self.dec_layer_norm(y), src_allowed)   # (B, L, D)
        return self.feed_forward(y + self.dropout(ctx))


class Encoder(nn.Module):
    def __init__(self, cfg: StackConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.num_layers))
        self.layer_norm = nn.LayerNorm(cfg.hidden_size, eps=LN_EPS)
        self.pe = StoredPositions(cfg.hidden_size)
        self.emb_dropout = nn.Dropout(cfg.emb_dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        allowed = valid[:, None, None, :]                                     # (B, 1, 1, T)
        x = self.emb_dropout(self.pe(x))
        for layer in self.layers:
            x = layer(x, allowed)
        return self.layer_norm(x)                                             # (B, T, D)


class Decoder(nn.Module):
    def __init__(self, cfg: StackConfig, vocab_size: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.num_layers))
        self.pe = StoredPositions(cfg.hidden_size)
        self.layer_norm = nn.LayerNorm(cfg.hidden_size, eps=LN_EPS)
        self.emb_dropout = nn.Dropout(cfg.emb_dropout)
        self.output_layer = nn.Linear(cfg.hidden_size, vocab_size, bias=False)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Embedded targets (B, L, D), memory (B, T, D), valid (B, T) -> logits (B, L, V)."""
        n = y.size(1)
        causal = torch.ones(n, n, dtype=torch.bool, device=y.device).tril()   # (L, L) True = may attend
        src_allowed = valid[:, None, None, :]                                 # (B, 1, 1, T)
        y = self.emb_dropout(self.pe(y))
        for layer in self.layers:
            y = layer(y, memory, src_allowed, causal)
        return self.output_layer(self.layer_norm(y))


# --------------------------------------------------------------------------------------------- model


class SignJoeyModel(nn.Module):
    """Frames (B, T, input_size) -> words, with slt's parameter names; ``translate`` decodes."""

    def __init__(self, cfg: SignJoeyConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        enc, dec = cfg.encoder, cfg.decoder
        self.sgn_embed = FrameEmbedding(enc.embeddings, enc.num_heads, cfg.input_size)
        self.encoder = Encoder(enc)
        if cfg.gls_vocab_size:
            self.gloss_output_layer = nn.Linear(enc.hidden_size, cfg.gls_vocab_size)
        self.txt_embed = WordEmbedding(dec.embeddings, dec.num_heads, cfg.txt_vocab_size, cfg.txt_pad_id)
        self.decoder = Decoder(dec, cfg.txt_vocab_size)
        if cfg.tied_softmax:
            self.decoder.output_layer.weight = self.txt_embed.lut.weight

    def encode(self, frames: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """frames (B, T, input_size), valid (B, T) True at real frames -> memory (B, T, D)."""
        if frames.size(-1) != self.cfg.input_size:
            raise ValueError(f"frames have {frames.size(-1)} values but the model's data.feature_size is "
                             f"{self.cfg.input_size}")
        return self.encoder(self.sgn_embed(frames, valid), valid)

    def forward(self, frames: torch.Tensor, valid: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, L, V) for decoder inputs ``tgt_in`` (B, L), bos first."""
        memory = self.encode(frames, valid)
        return self.decoder(self.txt_embed(tgt_in), memory, valid)

    @torch.no_grad()
    def translate(self, frames: torch.Tensor, valid: torch.Tensor, *, bos_id: int, eos_id: int,
                  max_len: int, beam: int = 3, alpha: float = -1.0) -> list[list[int]]:
        """Token ids per sequence, cut before the first ``<eos>``, decoded as slt does: beam search
        (:func:`~pipelib.models.decoding.joey_beam_search`) for beam >= 2, greedy below. Eval mode."""
        was_training = self.training
        self.eval()
        try:
            memory = self.encode(frames, valid)                               # (B, T, D)

            def step(prefix: torch.Tensor, rows: torch.Tensor) -> StepOutput:
                logits = self.decoder(self.txt_embed(prefix), memory[rows], valid[rows])  # (N, t, V)
                return StepOutput(F.log_softmax(logits[:, -1].float(), dim=-1))

            common = dict(bos_id=bos_id, eos_id=eos_id, max_len=max_len, device=frames.device)
            if beam < 2:
                return greedy_decode(step, frames.size(0), **common)
            return joey_beam_search(step, frames.size(0), beam=beam, alpha=alpha, **common)
        finally:
            self.train(was_training)
