"""SignX latent-space recognition (paper section 4.2, appendix C): per-frame latents -> glosses or text.

1. multi-scale TemporalConv (eq. 15), ``conv_blocks`` times (2: T -> ceil(T / 4)): parallel Conv1d with
   kernels ``conv_kernels`` (3, 5, 7; same padding) concatenated, BatchNorm over real frames, ReLU,
   MaxPool(2, stride 2), then a Linear to ``hidden`` (1024, the paper's h_t) and dropout. Padding frames
   are zeroed before every conv and every pool (post-ReLU values are >= 0, so a zero never wins a max),
   and an odd length gets one zero frame: outputs at real frames do not depend on the padding, and a
   length n becomes ceil(n / 2) per block.
2. BiLSTM (2 layers, 512 per direction -> u_t of 1024) over packed sequences.
3. Linear to ``d_model`` (256), a ``blocks.Seq2SeqTransformer`` (6 + 6 layers) whose encoder output
   feeds the CTC head (Linear -> gloss vocabulary; the ``<pad>`` id 0 is the blank) and whose decoder
   generates ``target``: the glosses again (``gloss``) or the spoken-language text (``text``).

Dropout per component: ``conv_dropout``, ``lstm_dropout`` (between LSTM layers and on its output),
and in the Transformer the paper's differentiated rates ``attn_dropout`` 0.3 (attention weights),
``relu_dropout`` 0.5 (inside the feed-forward), ``residual_dropout`` 0.4 (residual branches), plus
``embedding_dropout`` on the positioned source/target embeddings.

Loss: ``ctc_weight * CTC(glosses) + ce_weight * label-smoothed CE(target <eos>)``
(+ ``smooth_weight`` * the latent-space regulariser: mean squared excess of ||e_{t+1} - e_t|| over
``smooth_radius`` between successive encoder states, a soft Lipschitz ball; off by default).
Decoding: CTC greedy / prefix beam for glosses; an 8-beam search with the attention-entropy penalty
(``pipelib.signx.entropy_penalty``) for the decoder.

Batches are dicts: ``latents`` (B, T, input_dim) float32, ``pad`` (B, T) bool (True = padding frame),
``glosses`` (B, L) int64 gloss ids right-padded with ``pad_id`` and, for ``target: text``, ``text``
(B, L2) int64 word ids right-padded with ``pad_id`` (no ``<bos>``/``<eos>`` in either).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from pipelib.models.blocks import (
    DecoderLayer,
    EncoderLayer,
    MaskedBatchNorm,
    Seq2SeqTransformer,
    label_smoothed_cross_entropy,
    pad_mask_from_lengths,
)
from pipelib.models.decoding import beam_search, ctc_beam_decode, ctc_greedy_decode
from pipelib.signx.entropy_penalty import entropy_penalty
from pipelib.signx.recognizer_config import CONFIG_KEY, RecognizerConfig
from pipelib.signx.recognizer_config import DECODING_FIELDS as DECODING_FIELDS
from pipelib.signx.recognizer_config import TARGETS as TARGETS
from pipelib.signx.recognizer_config import DecodingConfig as DecodingConfig
from pipelib.text.vocab import Vocab

# --------------------------------------------------------------------------------------------- helpers


def set_transformer_dropout(model: nn.Module, attn: float, relu: float, residual: float) -> None:
    """Differentiated dropout in every ``blocks`` Encoder/DecoderLayer of ``model``: attention weights,
    the feed-forward's inner activation and the residual branches."""
    for layer in model.modules():
        if not isinstance(layer, EncoderLayer | DecoderLayer):
            continue
        for mha in layer.modules():
            if isinstance(mha, nn.MultiheadAttention):
                mha.dropout = attn
        for drop in layer.ff.modules():
            if isinstance(drop, nn.Dropout):
                drop.p = relu
        layer.drop.p = residual


def halved_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """Lengths after one stride-2 pool of a sequence padded to even length: ceil(n / 2)."""
    return (lengths + 1) // 2


def downsampled_lengths(lengths: torch.Tensor, blocks: int) -> torch.Tensor:
    """Lengths after ``blocks`` TemporalConv blocks: ceil(n / 2**blocks) (ceil at every halving)."""
    for _ in range(blocks):
        lengths = halved_lengths(lengths)
    return lengths


# --------------------------------------------------------------------------------------------- modules


class MultiScaleTemporalBlock(nn.Module):
    """(B, T, in_dim), pad (B, T) -> (B, ceil(T / 2), hidden), pad; real outputs ignore padding frames."""

    def __init__(self, in_dim: int, cfg: RecognizerConfig) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(in_dim, cfg.conv_channels, k, padding=k // 2)
                                   for k in cfg.conv_kernels)
        width = cfg.conv_channels * len(cfg.conv_kernels)
        self.norm = MaskedBatchNorm(width)
        self.pool = nn.MaxPool1d(kernel_size=2, stride=2)
        self.proj = nn.Linear(width, cfg.hidden)
        self.drop = nn.Dropout(cfg.conv_dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.masked_fill(pad[..., None], 0.0).transpose(1, 2)  # (B, in_dim, T) padding frames = 0
        h = torch.cat([conv(x) for conv in self.convs], dim=1).transpose(1, 2)  # (B, T, K*C)
        h = F.relu(self.norm(h, pad))  # (B, T, K*C), >= 0, 0 at padding
        if h.size(1) % 2:
            h = F.pad(h, (0, 0, 0, 1))  # (B, T + 1, K*C) one zero frame: an odd tail pools alone
        h = self.pool(h.transpose(1, 2)).transpose(1, 2)  # (B, ceil(T / 2), K*C)
        lengths = halved_lengths((~pad).sum(1))  # (B,)
        pad = pad_mask_from_lengths(lengths, h.size(1))  # (B, T')
        h = self.drop(self.proj(h))  # (B, T', hidden)
        return h.masked_fill(pad[..., None], 0.0), pad


class TemporalConvStack(nn.Module):
    """``conv_blocks`` multi-scale blocks: (B, T, input_dim) -> h (B, T', hidden), pad (B, T')."""

    def __init__(self, cfg: RecognizerConfig) -> None:
        super().__init__()
        dims = [cfg.input_dim] + [cfg.hidden] * (cfg.conv_blocks - 1)
        self.blocks = nn.ModuleList(MultiScaleTemporalBlock(d, cfg) for d in dims)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for block in self.blocks:
            x, pad = block(x, pad)
        return x, pad  # (B, T', hidden), (B, T')


class BiLSTM(nn.Module):
    """Packed bidirectional LSTM: (B, T', hidden), pad -> u (B, T', 2 * lstm_hidden), 0 at padding."""

    def __init__(self, cfg: RecognizerConfig) -> None:
        super().__init__()
        self.lstm = nn.LSTM(cfg.hidden, cfg.lstm_hidden, num_layers=cfg.lstm_layers, batch_first=True,
                            bidirectional=True, dropout=cfg.lstm_dropout if cfg.lstm_layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.lstm_dropout)

    def forward(self, h: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        lengths = (~pad).sum(1).cpu()  # (B,) >= 1: every block keeps ceil(n / 2) >= 1 frames
        packed = pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        u, _ = pad_packed_sequence(out, batch_first=True, total_length=h.size(1))  # (B, T', 2*lstm_hidden)
        return self.drop(u)


@dataclass
class Encoded:
    """Encoder side of one batch: ``memory`` (B, T', d_model), ``pad`` (B, T') True = padding,
    ``lengths`` (B,) real steps = ceil(T / 2**conv_blocks)."""

    memory: torch.Tensor
    pad: torch.Tensor
    lengths: torch.Tensor


class LatentRecognizer(nn.Module):
    """TemporalConv stack + BiLSTM + Transformer encoder-decoder with a CTC head on the encoder."""

    def __init__(self, cfg: RecognizerConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.temporal = TemporalConvStack(cfg)
        self.bilstm = BiLSTM(cfg)
        self.src_proj = nn.Linear(2 * cfg.lstm_hidden, cfg.d_model)
        self.seq2seq = Seq2SeqTransformer(cfg.transformer())
        set_transformer_dropout(self.seq2seq, cfg.attn_dropout, cfg.relu_dropout, cfg.residual_dropout)
        self.ctc_head = nn.Linear(cfg.d_model, cfg.gloss_vocab_size)

    @classmethod
    def from_checkpoint_config(cls, stored: Mapping[str, Any]) -> tuple[LatentRecognizer, dict[str, Vocab]]:
        """The untrained model of a recogniser checkpoint (``recognizer`` config) and its vocabularies:
        ``gloss`` always, ``text`` for a text-target model."""
        vocabs = {"gloss": Vocab.from_json(stored["gloss_vocab"])}
        if stored.get("text_vocab"):
            vocabs["text"] = Vocab.from_json(stored["text_vocab"])
        return cls(RecognizerConfig.from_dict(stored["recognizer"])), vocabs

    def encode(self, latents: torch.Tensor, pad: torch.Tensor) -> Encoded:
        """latents (B, T, input_dim), pad (B, T) -> memory (B, T', d_model) with T' = ceil(T / 4)."""
        if latents.dim() != 3 or latents.size(-1) != self.cfg.input_dim:
            raise ValueError(f"latents must be (B, T, {self.cfg.input_dim}) ({CONFIG_KEY}.input_dim), "
                             f"got {tuple(latents.shape)}")
        pad = pad.bool()
        if bool(pad.all(1).any()):
            raise ValueError("a sequence in the batch has no real frame (pad all True); drop empty videos")
        h, pad = self.temporal(latents, pad)  # (B, T', hidden), (B, T')
        u = self.bilstm(h, pad)  # (B, T', 2 * lstm_hidden)
        memory = self.seq2seq.encode(self.src_proj(u), pad)  # (B, T', d_model)
        return Encoded(memory, pad, (~pad).sum(1))

    def ctc_logits(self, enc: Encoded) -> torch.Tensor:
        """CTC head: (B, T', gloss_vocab_size); column ``pad_id`` is the blank."""
        return self.ctc_head(enc.memory)

    def decoder_logits(self, enc: Encoded, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced decoder: tgt_in (B, L) ``<bos>`` first -> logits (B, L, decoder_vocab_size)."""
        return self.seq2seq.decode(enc.memory, enc.pad, tgt_in)

    @torch.no_grad()
    def recognise_glosses(self, latents: torch.Tensor, pad: torch.Tensor,
                          beam: int | None = None) -> list[list[int]]:
        """Gloss ids per sequence from the CTC head: greedy for beam 1, else prefix beam search
        (default ``ctc_beam_size``; only the ``beam`` likeliest glosses per step may extend a prefix).
        Runs in eval mode, restored after."""
        beam = self.cfg.ctc_beam_size if beam is None else beam
        was_training = self.training
        self.eval()
        try:
            enc = self.encode(latents, pad)
            logp = F.log_softmax(self.ctc_logits(enc).float(), dim=-1).transpose(0, 1)  # (T', B, V)
            if beam == 1:
                return ctc_greedy_decode(logp, enc.lengths, blank=self.cfg.pad_id)
            return ctc_beam_decode(logp, enc.lengths, beam, blank=self.cfg.pad_id, token_prune=beam)
        finally:
            self.train(was_training)

    @torch.no_grad()
    def generate(self, latents: torch.Tensor, pad: torch.Tensor, *, beam: int | None = None,
                 entropy_weight: float | None = None, alpha: float | None = None,
                 max_len: int | None = None) -> list[list[int]]:
        """Decoder output ids per sequence (no specials): beam search (default 8 beams) with the
        attention-entropy penalty (default ``entropy_weight``; 0 turns it off). Eval mode, restored after."""
        cfg = self.cfg
        weight = cfg.entropy_weight if entropy_weight is None else entropy_weight
        was_training = self.training
        self.eval()
        try:
            enc = self.encode(latents, pad)
            step = self.seq2seq.step_fn(enc.memory, enc.pad, with_attention=weight > 0)
            terms = [entropy_penalty(weight)] if weight > 0 else []
            return beam_search(step, latents.size(0), beam=beam or cfg.beam_size, bos_id=cfg.bos_id,
                               eos_id=cfg.eos_id, max_len=max_len or cfg.max_output_length,
                               alpha=cfg.length_alpha if alpha is None else alpha, score_terms=terms,
                               banned=(cfg.pad_id, cfg.bos_id), device=latents.device)
        finally:
            self.train(was_training)


# --------------------------------------------------------------------------------------------- losses


def ctc_gloss_loss(logits: torch.Tensor, lengths: torch.Tensor, glosses: torch.Tensor,
                   blank: int) -> torch.Tensor:
    """CTC of logits (B, T', V) with real lengths (B,) against glosses (B, L) right-padded with ``blank``:
    mean over the batch of the per-sequence loss divided by its gloss count (infeasible alignments 0)."""
    logp = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (T', B, V)
    tgt_len = (glosses != blank).sum(1)  # (B,)
    return F.ctc_loss(logp, glosses, lengths, tgt_len, blank=blank, reduction="mean", zero_infinity=True)


def latent_smoothness(memory: torch.Tensor, pad: torch.Tensor, radius: float) -> torch.Tensor:
    """Mean over successive real pairs of relu(||e_{t+1} - e_t|| - radius)^2; memory (B, T', D)."""
    step = (memory[:, 1:] - memory[:, :-1]).norm(dim=-1)  # (B, T' - 1)
    both = (~pad[:, 1:]) & (~pad[:, :-1])  # (B, T' - 1)
    if not bool(both.any()):
        return memory.sum() * 0.0
    return F.relu(step[both] - radius).pow(2).mean()


def with_specials(ids: torch.Tensor, pad_id: int, bos_id: int,
                  eos_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder input ``<bos> y`` and target ``y <eos>`` (B, L + 1) from right-padded ids (B, L)."""
    b = ids.size(0)
    lengths = (ids != pad_id).sum(1)  # (B,)
    bos = torch.full((b, 1), bos_id, dtype=ids.dtype, device=ids.device)
    tgt_in = torch.cat([bos, ids], dim=1)  # (B, L + 1)
    tgt_out = torch.cat([ids, torch.full_like(bos, pad_id)], dim=1)  # (B, L + 1)
    tgt_out[torch.arange(b, device=ids.device), lengths] = eos_id
    return tgt_in, tgt_out


def recognizer_loss(model: LatentRecognizer, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Joint objective on one batch: {"loss", "ctc", "ce", "smooth"} scalars; ``loss`` is the weighted
    sum, the others unweighted. Terms with weight 0 are reported as 0 without being computed."""
    cfg = model.cfg
    needed = ["latents", "pad", "glosses"] + (["text"] if cfg.target == "text" else [])
    missing = [k for k in needed if k not in batch]
    if missing:
        raise KeyError(f"recogniser batch lacks {missing}; target {cfg.target!r} needs {needed}")
    enc = model.encode(batch["latents"], batch["pad"])
    zero = enc.memory.new_zeros(())
    ctc = ctc_gloss_loss(model.ctc_logits(enc), enc.lengths, batch["glosses"], cfg.pad_id) \
        if cfg.ctc_weight > 0 else zero
    ce = zero
    if cfg.ce_weight > 0:
        target = batch["glosses"] if cfg.target == "gloss" else batch["text"]
        tgt_in, tgt_out = with_specials(target, cfg.pad_id, cfg.bos_id, cfg.eos_id)
        logits = model.decoder_logits(enc, tgt_in)  # (B, L + 1, V)
        ce = label_smoothed_cross_entropy(logits, tgt_out, cfg.label_smoothing, cfg.pad_id)
    smooth = latent_smoothness(enc.memory, enc.pad, cfg.smooth_radius) if cfg.smooth_weight > 0 else zero
    total = cfg.ctc_weight * ctc + cfg.ce_weight * ce + cfg.smooth_weight * smooth
    return {"loss": total, "ctc": ctc, "ce": ce, "smooth": smooth}
