"""SignX stage 1 (Pose2Gloss): fused pose features -> the pose-rich latent space, trained to emit glosses.

Per frame the 1959 fused values are split into the five slots of ``SLOT_DIMS`` (paper section 3.2):

1. type-specific encoders: per slot Linear(slot_dim -> d_type), LayerNorm, GELU, + a learned slot-type
   embedding (eq. 1, ``E_i``). Slots marked invalid in ``slot_mask`` enter as zeros and leave as zeros.
2. fusion: the five slot tokens of one frame are a 5-token set; multi-head self-attention over it
   (invalid slots masked out as keys), residual + LayerNorm, invalid slots zeroed again.
3. PadMatch (eq. 2): the five fused tokens are concatenated in ``SLOT_ORDER`` (5 * d_type values; an
   invalid slot is a block of zeros), zero-padded on the right to ``pad_width`` (default 2048) and
   Linear-projected to ``d_latent`` (default 2048). The zero columns meet weights that never receive
   a gradient, so this equals one Linear(5 * d_type -> d_latent); ``pad_width`` fixes the projection's
   input width independently of ``d_type``.
4. ViT layers (eq. 3): sinusoidal positions over time, pre-norm Transformer encoder layers with a
   padding mask, final LayerNorm -> per-frame latents (B, T, d_latent); padding frames come out as 0.

Text side: the custom CodeBook is one learned table (vocab_size, codebook_dim) over the training gloss
vocabulary (``pipelib.text.vocab.Vocab`` ids); the model only ever emits codebook indices. Two heads:

* ``text_head: ctc`` (default): each frame's latent is projected to codebook_dim and scored against
  every codebook row (dot product + bias) -> frame logits (B, T, V); CTC over the gloss sequence with
  the ``<pad>`` row (id 0) as the blank; greedy decoding with ``ctc_greedy_decode``.
* ``text_head: decoder``: what the paper's Table 6 describes (teacher forcing, label smoothing 0.1):
  a small causal Transformer decoder whose token embeddings and output scores both use the codebook
  (tied), cross-attending to the projected latents; label-smoothed cross-entropy on ``glosses <eos>``.

Losses (appendix B.1, eq. 13): ``text_weight * text + word_weight * word + contrast_weight * contrast``.
``word`` = mean over the batch of 1 - cos(e_pred, e_true) (eq. 11), e_pred = the codebook rows weighted
by the predicted token probabilities summed over the frames/positions (CTC: blank column excluded),
e_true = mean codebook row of the true glosses; those rows are detached (the table still learns through
the logits), so the term cannot be lowered by pulling codebook rows together.
``contrast`` = symmetric InfoNCE (eq. 12) between the projected masked-mean latent of each video and its
mean codebook gloss embedding, cosine similarity / ``temperature`` (0.3, the paper's ablation optimum).

Batches are dicts: ``features`` (B, T, 1959) float32, ``slot_mask`` (B, T, 5) bool (True = slot valid),
``pad`` (B, T) bool (True = padding frame), ``glosses`` (B, L) int64 gloss ids right-padded with
``pad_id`` (no ``<bos>``/``<eos>``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pipelib.estimators.base import FUSED_DIM, SLOT_DIMS, SLOT_ORDER
from pipelib.models.blocks import (
    DecoderLayer,
    EncoderLayer,
    PositionalEncoding,
    activation,
    causal_mask,
    label_smoothed_cross_entropy,
)
from pipelib.models.decoding import StepOutput, ctc_greedy_decode, greedy_decode
from pipelib.signx.pose2gloss_config import CONFIG_KEY, Pose2GlossConfig
from pipelib.signx.pose2gloss_config import TEXT_HEADS as TEXT_HEADS
from pipelib.signx.pose2gloss_config import TYPE_NORMS as TYPE_NORMS
from pipelib.signx.pose2gloss_config import Pose2GlossSection as Pose2GlossSection
from pipelib.text.vocab import Vocab
from pipelib.training.loading import load_model

BATCH_KEYS = ("features", "slot_mask", "pad", "glosses")


# --------------------------------------------------------------------------------------------- pose side


class SlotEncoder(nn.Module):
    """One pose type's encoder E_i: (..., slot_dim) -> (..., d_type) via Linear, norm, activation."""

    def __init__(self, in_dim: int, cfg: Pose2GlossConfig) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, cfg.d_type)
        self.norm = nn.LayerNorm(cfg.d_type) if cfg.type_norm == "layer" else nn.Identity()
        self.act = activation(cfg.type_activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.proj(x)))  # (..., d_type)


class SlotFusion(nn.Module):
    """Per-frame fusion: features (B, T, 1959), slot_mask (B, T, 5) -> unified frames (B, T, d_latent)."""

    def __init__(self, cfg: Pose2GlossConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.slot_dims = [SLOT_DIMS[s] for s in SLOT_ORDER]
        self.encoders = nn.ModuleList(SlotEncoder(d, cfg) for d in self.slot_dims)
        self.slot_embed = nn.Parameter(torch.randn(len(SLOT_ORDER), cfg.d_type) * 0.02)  # (5, d_type)
        self.attn = nn.MultiheadAttention(cfg.d_type, cfg.fusion_heads, dropout=cfg.dropout, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.norm = nn.LayerNorm(cfg.d_type)
        self.pad_match = nn.Linear(cfg.pad_width, cfg.d_latent)

    def forward(self, features: torch.Tensor, slot_mask: torch.Tensor) -> torch.Tensor:
        b, t, _ = features.shape
        parts = torch.split(features, self.slot_dims, dim=-1)  # 5 x (B, T, slot_dim)
        tokens = []
        for i, (enc, part) in enumerate(zip(self.encoders, parts, strict=True)):
            valid = slot_mask[..., i : i + 1]  # (B, T, 1)
            x = torch.where(valid, part, torch.zeros_like(part))  # invalid slots' values (even NaN) dropped
            tokens.append(enc(x) + self.slot_embed[i])  # (B, T, d_type)
        x = torch.stack(tokens, dim=2).reshape(b * t, len(tokens), -1)  # (B*T, 5, d_type)
        valid = slot_mask.reshape(b * t, -1)  # (B*T, 5)
        x = x * valid[..., None]
        # a frame with no valid slot would give an all-masked softmax (NaN): let it attend, then zero it
        key_pad = ~valid & valid.any(dim=1, keepdim=True)  # (B*T, 5) True = ignore this key
        a, _ = self.attn(x, x, x, key_padding_mask=key_pad, need_weights=False)  # (B*T, 5, d_type)
        fused = self.norm(x + self.drop(a)) * valid[..., None]  # (B*T, 5, d_type), invalid slots = 0
        flat = fused.reshape(b, t, -1)  # (B, T, 5 * d_type)
        flat = F.pad(flat, (0, self.cfg.pad_width - flat.size(-1)))  # (B, T, pad_width) zero-padded
        return self.pad_match(flat)  # (B, T, d_latent)


class LatentEncoder(nn.Module):
    """ViT layers over time: (B, T, d_latent), pad (B, T) -> latents (B, T, d_latent), 0 at padding."""

    def __init__(self, cfg: Pose2GlossConfig) -> None:
        super().__init__()
        vit = cfg.vit()
        self.pos = PositionalEncoding(cfg.d_latent)
        self.drop = nn.Dropout(cfg.emb_dropout)
        self.layers = nn.ModuleList(EncoderLayer(vit) for _ in range(cfg.vit_layers))
        self.norm = nn.LayerNorm(cfg.d_latent)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.pos(x))  # (B, T, d_latent)
        key_pad = pad & ~pad.all(dim=1, keepdim=True)  # an all-padding row attends (no NaN), then is zeroed
        for layer in self.layers:
            x = layer(x, key_pad)
        return torch.where(pad[..., None], torch.zeros_like(x), self.norm(x))  # (B, T, d_latent)


# --------------------------------------------------------------------------------------------- model


class Pose2Gloss(nn.Module):
    """Fusion + ViT latent encoder + CodeBook text head (CTC or decoder) + contrastive projection."""

    def __init__(self, cfg: Pose2GlossConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.fusion = SlotFusion(cfg)
        self.encoder = LatentEncoder(cfg)
        e = cfg.codebook_dim
        self.codebook = nn.Parameter(torch.randn(cfg.vocab_size, e) * e**-0.5)  # (V, E)
        self.code_bias = nn.Parameter(torch.zeros(cfg.vocab_size))  # (V,)
        self.text_proj = nn.Linear(cfg.d_latent, e)  # CTC: frame query; decoder: memory
        self.contrast_proj = nn.Linear(cfg.d_latent, e)
        if cfg.text_head == "decoder":
            dec = cfg.decoder()
            self.dec_pos = PositionalEncoding(e)
            self.dec_drop = nn.Dropout(cfg.emb_dropout)
            self.dec_layers = nn.ModuleList(DecoderLayer(dec) for _ in range(cfg.dec_layers))
            self.dec_norm = nn.LayerNorm(e)

    @classmethod
    def from_checkpoint_config(cls, stored: Mapping[str, Any]) -> tuple[Pose2Gloss, dict[str, Vocab]]:
        """The untrained model of a stage-1 checkpoint (``pose2gloss`` config) and its gloss ``vocab``."""
        vocab = Vocab.from_json(stored["vocab"])
        return cls(Pose2GlossConfig.from_dict(stored["pose2gloss"])), {"gloss": vocab}

    # ---- pose side
    def encode(self, features: torch.Tensor, slot_mask: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """features (B, T, 1959), slot_mask (B, T, 5) True = valid, pad (B, T) True = padding
        -> latents (B, T, d_latent); padding frames are 0 and never influence real ones."""
        if features.size(-1) != FUSED_DIM:
            raise ValueError(f"features have {features.size(-1)} values per frame; Pose2Gloss needs the "
                             f"{FUSED_DIM}-d fused layout of pipelib.estimators.base.SLOT_DIMS")
        if slot_mask.shape != (*features.shape[:2], len(SLOT_ORDER)):
            raise ValueError(f"slot_mask must be (B, T, {len(SLOT_ORDER)}) bool, "
                             f"got {tuple(slot_mask.shape)}")
        pad = pad.bool()
        slot_mask = slot_mask.bool() & ~pad[..., None]  # (B, T, 5)
        x = self.fusion(features, slot_mask)  # (B, T, d_latent)
        return self.encoder(x, pad)  # (B, T, d_latent)

    def pooled_pose(self, latents: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Masked mean over real frames, projected: (B, T, d_latent) -> z_pose (B, codebook_dim)."""
        keep = (~pad).to(latents.dtype)[..., None]  # (B, T, 1)
        mean = (latents * keep).sum(1) / keep.sum(1).clamp(min=1.0)  # (B, d_latent)
        return self.contrast_proj(mean)  # (B, E)

    # ---- text side
    def score(self, h: torch.Tensor) -> torch.Tensor:
        """Codebook logits: (..., E) -> (..., V) = h . codebook^T + bias."""
        return h @ self.codebook.t() + self.code_bias

    def sentence_embedding(self, glosses: torch.Tensor) -> torch.Tensor:
        """Mean codebook row of each sequence's glosses: (B, L) -> e_text (B, E)."""
        keep = (glosses != self.cfg.pad_id).to(self.codebook.dtype)[..., None]  # (B, L, 1)
        rows = self.codebook[glosses]  # (B, L, E)
        return (rows * keep).sum(1) / keep.sum(1).clamp(min=1.0)  # (B, E)

    def frame_logits(self, latents: torch.Tensor) -> torch.Tensor:
        """CTC head: latents (B, T, d_latent) -> logits (B, T, V); column ``pad_id`` is the blank."""
        return self.score(self.text_proj(latents))  # (B, T, V)

    def decoder_logits(self, latents: torch.Tensor, pad: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Decoder head, teacher-forced: tgt_in (B, L) ``<bos>`` first -> logits (B, L, V)."""
        if self.cfg.text_head != "decoder":
            raise ValueError(f"{CONFIG_KEY}.text_head is {self.cfg.text_head!r}; the decoder head needs "
                             f"text_head: decoder")
        memory = self.text_proj(latents)  # (B, T, E)
        y = self.codebook[tgt_in] * self.cfg.codebook_dim**0.5  # (B, L, E) tied codebook embedding
        y = self.dec_drop(self.dec_pos(y))
        mask = causal_mask(tgt_in.size(1), tgt_in.device)  # (L, L)
        for layer in self.dec_layers:
            y, _ = layer(y, memory, pad, mask)
        return self.score(self.dec_norm(y))  # (B, L, V)

    @torch.no_grad()
    def recognise(self, features: torch.Tensor, slot_mask: torch.Tensor, pad: torch.Tensor,
                  max_len: int | None = None) -> list[list[int]]:
        """Gloss ids per sequence (no specials): CTC greedy or decoder greedy; eval mode, restored after."""
        was_training = self.training
        self.eval()
        try:
            latents = self.encode(features, slot_mask, pad)  # (B, T, d_latent)
            if self.cfg.text_head == "ctc":
                logp = F.log_softmax(self.frame_logits(latents).float(), dim=-1)  # (B, T, V)
                return ctc_greedy_decode(logp.transpose(0, 1), (~pad.bool()).sum(1), blank=self.cfg.pad_id)
            pad = pad.bool()

            def step(prefix: torch.Tensor, rows: torch.Tensor) -> StepOutput:
                logits = self.decoder_logits(latents[rows], pad[rows], prefix)  # (N, t, V)
                return StepOutput(F.log_softmax(logits[:, -1].float(), dim=-1))

            return greedy_decode(step, features.size(0), bos_id=self.cfg.bos_id, eos_id=self.cfg.eos_id,
                                 max_len=max_len or self.cfg.max_output_length,
                                 banned=(self.cfg.pad_id, self.cfg.bos_id), device=features.device)
        finally:
            self.train(was_training)


# --------------------------------------------------------------------------------------------- losses


def ctc_text_loss(logits: torch.Tensor, pad: torch.Tensor, glosses: torch.Tensor, blank: int) -> torch.Tensor:
    """CTC of frame logits (B, T, V) against glosses (B, L) right-padded with ``blank``; mean over the batch
    of the per-sequence loss divided by its gloss count (infeasible alignments count 0)."""
    logp = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (T, B, V)
    in_len = (~pad.bool()).sum(1)  # (B,)
    tgt_len = (glosses != blank).sum(1)  # (B,)
    return F.ctc_loss(logp, glosses, in_len, tgt_len, blank=blank, reduction="mean", zero_infinity=True)


def word_matching_loss(probs: torch.Tensor, weight: torch.Tensor, codebook: torch.Tensor,
                       glosses: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Eq. 11: mean over the batch of 1 - cos(e_pred, e_true).

    probs (B, N, V) predicted token distributions at N frames/positions, weight (B, N) 1 where a row
    counts, codebook (V, E), glosses (B, L). e_pred = sum_n weight * probs @ codebook; e_true = the mean
    codebook row of the glosses. Cosine ignores scale, so only the mix of predicted tokens matters.
    """
    e_pred = ((probs * weight[..., None]) @ codebook).sum(1)  # (B, E)
    keep = (glosses != pad_id).to(codebook.dtype)[..., None]  # (B, L, 1)
    e_true = (codebook[glosses] * keep).sum(1) / keep.sum(1).clamp(min=1.0)  # (B, E)
    return (1.0 - F.cosine_similarity(e_pred, e_true, dim=-1, eps=1e-8)).mean()


def info_nce(pose: torch.Tensor, text: torch.Tensor, temperature: float) -> torch.Tensor:
    """Eq. 12, symmetric: cross-entropy of cos(pose_i, text_j) / temperature towards j = i, averaged over
    the pose->text and text->pose directions. pose, text (B, E); item i of each is a pair."""
    sim = F.normalize(pose.float(), dim=-1) @ F.normalize(text.float(), dim=-1).t() / temperature  # (B, B)
    target = torch.arange(sim.size(0), device=sim.device)
    return 0.5 * (F.cross_entropy(sim, target) + F.cross_entropy(sim.t(), target))


def _with_specials(glosses: torch.Tensor, cfg: Pose2GlossConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder input ``<bos> g`` and target ``g <eos>`` (B, L + 1) from right-padded glosses (B, L)."""
    b = glosses.size(0)
    lengths = (glosses != cfg.pad_id).sum(1)  # (B,)
    bos = torch.full((b, 1), cfg.bos_id, dtype=glosses.dtype, device=glosses.device)
    tgt_in = torch.cat([bos, glosses], dim=1)  # (B, L + 1)
    tgt_out = torch.cat([glosses, torch.full_like(bos, cfg.pad_id)], dim=1)  # (B, L + 1)
    tgt_out[torch.arange(b, device=glosses.device), lengths] = cfg.eos_id
    return tgt_in, tgt_out


def pose2gloss_loss(model: Pose2Gloss, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Eq. 13 on one batch (keys ``BATCH_KEYS``): {"loss", "text", "word", "contrast"}, scalars; ``loss``
    is the weighted sum, the others are unweighted."""
    missing = [k for k in BATCH_KEYS if k not in batch]
    if missing:
        raise KeyError(f"Pose2Gloss batch lacks {missing}; it needs {list(BATCH_KEYS)}")
    cfg = model.cfg
    pad, glosses = batch["pad"].bool(), batch["glosses"]
    latents = model.encode(batch["features"], batch["slot_mask"], pad)  # (B, T, d_latent)
    book = model.codebook.detach()  # (V, E) rows of e_pred / e_true: not pulled together by the word term
    if cfg.text_head == "ctc":
        logits = model.frame_logits(latents)  # (B, T, V)
        text = ctc_text_loss(logits, pad, glosses, cfg.pad_id)
        probs = F.softmax(logits.float(), dim=-1)
        probs = probs * (torch.arange(probs.size(-1), device=probs.device) != cfg.pad_id)  # blank column out
        word = word_matching_loss(probs, (~pad).float(), book, glosses, cfg.pad_id)
    else:
        tgt_in, tgt_out = _with_specials(glosses, cfg)
        logits = model.decoder_logits(latents, pad, tgt_in)  # (B, L + 1, V)
        text = label_smoothed_cross_entropy(logits, tgt_out, cfg.label_smoothing, cfg.pad_id)
        at_gloss = (tgt_out != cfg.pad_id) & (tgt_out != cfg.eos_id)  # (B, L + 1) positions of glosses
        probs = F.softmax(logits.float(), dim=-1)  # (B, L + 1, V)
        word = word_matching_loss(probs, at_gloss.float(), book, glosses, cfg.pad_id)
    contrast = info_nce(model.pooled_pose(latents, pad), model.sentence_embedding(glosses), cfg.temperature)
    total = cfg.text_weight * text + cfg.word_weight * word + cfg.contrast_weight * contrast
    return {"loss": total, "text": text, "word": word, "contrast": contrast}



def load_pose2gloss(path: str | os.PathLike[str],
                    map_location: str | torch.device = "cpu") -> tuple[Pose2Gloss, Vocab]:
    """The Pose2Gloss model (eval mode) and gloss vocabulary stored in a stage-1 checkpoint."""
    loaded = load_model(path, map_location, expect=Pose2Gloss)
    return loaded.model, loaded.vocabs["gloss"]


