"""Shared pieces of the sequence models: embeddings, masks, the label-smoothed loss, a config builder
and ``Seq2SeqTransformer``, a pre-norm Transformer encoder-decoder (the JoeyNMT / SLT layout).

A ``*_pad`` mask is a bool tensor with True at padding positions (what ``key_padding_mask`` expects).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pipelib.models.config import ACTIVATIONS as ACTIVATIONS
from pipelib.models.config import NORMS as NORMS
from pipelib.models.config import TransformerConfig, check_activation
from pipelib.models.config import check_special_ids as check_special_ids
from pipelib.models.decoding import StepFn, StepOutput

# --------------------------------------------------------------------------------------------- masks


def pad_mask_from_lengths(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """(B, T) bool, True where position >= length (padding); T = ``max_len`` or ``lengths.max()``."""
    lengths = torch.as_tensor(lengths)
    t = int(lengths.max()) if max_len is None else max_len
    return torch.arange(t, device=lengths.device)[None, :] >= lengths[:, None]  # (B, T)


def causal_mask(length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(L, L) bool, True above the diagonal: position i may not attend to positions j > i."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


# --------------------------------------------------------------------------------------------- embeddings


def sinusoid_table(length: int, d_model: int) -> torch.Tensor:
    """(length, d_model) float32: sin on even channels, cos on odd ones (Vaswani et al. 2017)."""
    if d_model % 2:
        raise ValueError(f"d_model must be even for the sinusoidal positional encoding, got {d_model}")
    pos = torch.arange(length, dtype=torch.float32)[:, None]  # (L, 1)
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return table


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal table to (B, T, D) inputs; the table grows on demand (not saved in checkpoints)."""

    def __init__(self, d_model: int, initial_length: int = 512) -> None:
        super().__init__()
        self.d_model = d_model
        self.register_buffer("table", sinusoid_table(initial_length, d_model), persistent=False)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        end = offset + x.size(1)
        if end > self.table.size(0):
            self.table = sinusoid_table(2 * end, self.d_model).to(self.table.device)
        return x + self.table[offset:end].to(x.dtype)  # (B, T, D)


class MaskedBatchNorm(nn.Module):
    """BatchNorm over the real (non-padding) frames of (B, T, D) inputs; padding frames come out as 0."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(dim)

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        if pad is None:
            return self.bn(x.reshape(-1, x.size(-1))).reshape(x.shape)
        keep = ~pad  # (B, T)
        out = torch.zeros_like(x)
        out[keep] = self.bn(x[keep])  # (N_real, D)
        return out


def activation(name: str) -> nn.Module:
    """The module for one of ``ACTIVATIONS``."""
    check_activation(name)
    table = {"relu": nn.ReLU, "gelu": nn.GELU, "softsign": nn.Softsign, "tanh": nn.Tanh, "none": nn.Identity}
    return table[name]()


class FrameEmbedding(nn.Module):
    """Per-frame features (B, T, in_dim) -> (B, T, d_model): Linear, norm, activation, dropout.

    ``norm``: ``batch`` (statistics over real frames only, as SLT's MaskedNorm), ``layer`` or ``none``.
    """

    def __init__(self, in_dim: int, d_model: int, norm: str = "batch", act: str = "softsign",
                 dropout: float = 0.0) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")
        self.proj = nn.Linear(in_dim, d_model)
        self.norm_kind = norm
        self.norm: nn.Module = {"batch": lambda: MaskedBatchNorm(d_model),
                                "layer": lambda: nn.LayerNorm(d_model), "none": nn.Identity}[norm]()
        self.act = activation(act)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        h = self.proj(x)  # (B, T, d_model)
        h = self.norm(h, pad) if self.norm_kind == "batch" else self.norm(h)
        return self.drop(self.act(h))  # (B, T, d_model)


class TokenEmbedding(nn.Module):
    """Token ids (B, L) -> (B, L, d_model), multiplied by sqrt(d_model) when ``scale``."""

    def __init__(self, vocab_size: int, d_model: int, pad_id: int, scale: bool = True) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.factor = math.sqrt(d_model) if scale else 1.0

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.emb(ids) * self.factor  # (B, L, d_model)


# --------------------------------------------------------------------------------------------- loss


def label_smoothed_cross_entropy(logits: torch.Tensor, target: torch.Tensor, smoothing: float,
                                  pad_id: int) -> torch.Tensor:
    """Mean over non-pad target tokens of the cross-entropy against a smoothed target.

    logits (B, L, V), target (B, L). The target token gets 1 - smoothing, the other V - 2 non-pad
    classes share ``smoothing``, the pad class gets 0 (the JoeyNMT / SLT convention).
    """
    v = logits.size(-1)
    logp = F.log_softmax(logits.float(), dim=-1).reshape(-1, v)  # (B*L, V)
    tgt = target.reshape(-1)  # (B*L,)
    keep = tgt != pad_id
    if not bool(keep.any()):
        return logits.sum() * 0.0
    logp, tgt = logp[keep], tgt[keep]  # (N, V), (N,)
    nll = -logp.gather(1, tgt[:, None]).squeeze(1)  # (N,)
    if smoothing <= 0.0:
        return nll.mean()
    if v <= 2:
        raise ValueError(f"label smoothing needs at least 3 classes, got {v}")
    others = -(logp.sum(1) - logp[:, pad_id]) - nll  # (N,) summed -log p of non-pad, non-target classes
    return ((1.0 - smoothing) * nll + smoothing / (v - 2) * others).mean()


# --------------------------------------------------------------------------------------------- transformer


class FeedForward(nn.Module):
    """Position-wise Linear-ReLU-Dropout-Linear."""

    def __init__(self, d_model: int, ffn: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, ffn), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(ffn, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class EncoderLayer(nn.Module):
    """Pre-norm self-attention + feed-forward, each with a residual connection."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = nn.MultiheadAttention(cfg.d_model, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ff = FeedForward(cfg.d_model, cfg.ffn, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)  # (B, T, D)
        a, _ = self.attn(h, h, h, key_padding_mask=pad, need_weights=False)  # (B, T, D)
        x = x + self.drop(a)
        return x + self.drop(self.ff(self.ln2(x)))  # (B, T, D)


class DecoderLayer(nn.Module):
    """Pre-norm causal self-attention, cross-attention over the encoder memory, feed-forward."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.self_attn = nn.MultiheadAttention(cfg.d_model, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.cross_attn = nn.MultiheadAttention(cfg.d_model, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.ln3 = nn.LayerNorm(cfg.d_model)
        self.ff = FeedForward(cfg.d_model, cfg.ffn, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, src_pad: torch.Tensor, tgt_mask: torch.Tensor,
                need_attn: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.ln1(y)  # (B, L, D)
        a, _ = self.self_attn(h, h, h, attn_mask=tgt_mask, need_weights=False)  # (B, L, D)
        y = y + self.drop(a)
        h = self.ln2(y)
        a, w = self.cross_attn(h, memory, memory, key_padding_mask=src_pad, need_weights=need_attn,
                               average_attn_weights=True)  # (B, L, D), (B, L, T) or None
        y = y + self.drop(a)
        return y + self.drop(self.ff(self.ln3(y))), w


class Seq2SeqTransformer(nn.Module):
    """Encoder over embedded source frames, autoregressive decoder over token ids.

    ``encode(src (B, T, D), src_pad (B, T)) -> memory (B, T, D)`` adds positions and embedding dropout;
    ``decode(memory, src_pad, tgt_ids (B, L)) -> logits (B, L, V)``. Source embedding is the caller's.
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        if cfg.d_model % cfg.heads:
            raise ValueError(f"d_model ({cfg.d_model}) must be divisible by heads ({cfg.heads})")
        self.cfg = cfg
        self.pos = PositionalEncoding(cfg.d_model)
        self.src_drop = nn.Dropout(cfg.emb_dropout)
        self.encoder_layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.enc_layers))
        self.enc_norm = nn.LayerNorm(cfg.d_model)
        self.tok = TokenEmbedding(cfg.vocab_size, cfg.d_model, cfg.pad_id, scale=cfg.scale_tokens)
        self.tgt_drop = nn.Dropout(cfg.emb_dropout)
        self.decoder_layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.dec_layers))
        self.dec_norm = nn.LayerNorm(cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform weight matrices, zero pad embedding (LayerNorms keep 1 / 0)."""
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        with torch.no_grad():
            self.tok.emb.weight[self.cfg.pad_id].zero_()

    def encode(self, src: torch.Tensor, src_pad: torch.Tensor) -> torch.Tensor:
        x = self.src_drop(self.pos(src))  # (B, T, D)
        for layer in self.encoder_layers:
            x = layer(x, src_pad)
        return self.enc_norm(x)  # (B, T, D)

    def decoder_states(self, memory: torch.Tensor, src_pad: torch.Tensor, tgt_ids: torch.Tensor,
                       need_attn: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Final decoder states (B, L, D) and, with ``need_attn``, the last layer's head-averaged
        cross-attention (B, L, T)."""
        y = self.tgt_drop(self.pos(self.tok(tgt_ids)))  # (B, L, D)
        mask = causal_mask(tgt_ids.size(1), tgt_ids.device)  # (L, L)
        attn = None
        for i, layer in enumerate(self.decoder_layers):
            y, w = layer(y, memory, src_pad, mask, need_attn and i == len(self.decoder_layers) - 1)
            attn = w if w is not None else attn
        return self.dec_norm(y), attn

    def decode(self, memory: torch.Tensor, src_pad: torch.Tensor, tgt_ids: torch.Tensor) -> torch.Tensor:
        h, _ = self.decoder_states(memory, src_pad, tgt_ids)
        return self.out(h)  # (B, L, V)

    def decode_with_attention(self, memory: torch.Tensor, src_pad: torch.Tensor,
                              tgt_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, L, V) and the last decoder layer's cross-attention (B, L, T)."""
        h, attn = self.decoder_states(memory, src_pad, tgt_ids, need_attn=True)
        assert attn is not None
        return self.out(h), attn

    def step_fn(self, memory: torch.Tensor, src_pad: torch.Tensor, with_attention: bool = False) -> StepFn:
        """A ``decoding`` step function over this memory: next-token log-probs (and cross-attention)."""

        def step(prefix: torch.Tensor, rows: torch.Tensor) -> StepOutput:
            mem, pad = memory[rows], src_pad[rows]  # (N, T, D), (N, T)
            h, attn = self.decoder_states(mem, pad, prefix, need_attn=with_attention)
            logp = F.log_softmax(self.out(h[:, -1]).float(), dim=-1)  # (N, V)
            return StepOutput(logp, None if attn is None else attn[:, -1])  # attention (N, T)

        return step
