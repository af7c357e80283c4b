"""Text encoders: sentences -> token features (B, L, D) and a padding mask (B, L), True = pad.

Two kinds, chosen by ``production.text_encoder.kind``:

* ``learned``: word embeddings over a :class:`~pipelib.text.vocab.Vocab`, trained from scratch with the
  generator, scaled by sqrt(D) plus a sinusoidal positional encoding.
* ``bert``: a local Hugging Face BERT directory loaded with ``transformers`` (offline); the features are
  its last hidden states (D = the model's hidden size, 768 for bert-base), frozen or fine-tuned.

Both share ``encode(texts) -> (features, pad_mask)`` and an ``out_dim`` attribute (D).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pipelib.text.encoder_config import CONFIG_KEY, TextEncoderConfig
from pipelib.text.encoder_config import KINDS as KINDS
from pipelib.text.vocab import Vocab

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json")


class PositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal table to (B, L, D) inputs, L <= ``max_len``."""

    def __init__(self, dim: int, max_len: int) -> None:
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (max_len, 1)
        freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        table = torch.zeros(max_len, dim)
        table[:, 0::2] = torch.sin(pos * freq)
        table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
        self.max_len = max_len
        self.register_buffer("table", table, persistent=False)  # (max_len, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[1]
        if length > self.max_len:
            raise ValueError(f"sequence of length {length} exceeds the positional table ({self.max_len})")
        return x + self.table[:length].to(x.dtype)  # (B, L, D)


class LearnedTextEncoder(nn.Module):
    """Word embeddings over ``vocab`` trained from scratch: (B, L, d_text) and pad mask (B, L)."""

    def __init__(self, vocab: Vocab, d_text: int = 512, max_tokens: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        self.vocab = vocab
        self.out_dim = d_text
        self.max_tokens = max_tokens
        self.embed = nn.Embedding(len(vocab), d_text, padding_idx=vocab.pad_id)
        self.pos = PositionalEncoding(d_text, max_tokens)
        self.drop = nn.Dropout(dropout)

    def token_ids(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded ids (B, L) long and pad mask (B, L) bool; an empty sentence becomes one ``<unk>``."""
        seqs = [(self.vocab.encode(t) or [self.vocab.unk_id])[: self.max_tokens] for t in texts]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.vocab.pad_id, dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        pad_mask = torch.arange(width).unsqueeze(0) >= torch.tensor([len(s) for s in seqs]).unsqueeze(1)
        return ids, pad_mask

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, L, d_text) float and pad mask (B, L) bool (True = pad), on the module's device."""
        if not texts:
            raise ValueError("encode needs at least one sentence")
        device = self.embed.weight.device
        ids, pad_mask = self.token_ids(texts)
        ids, pad_mask = ids.to(device), pad_mask.to(device)
        x = self.embed(ids) * math.sqrt(self.out_dim)  # (B, L, d_text)
        x = self.drop(self.pos(x))
        return x.masked_fill(pad_mask.unsqueeze(-1), 0.0), pad_mask

    def forward(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode(texts)


class BertTextEncoder(nn.Module):
    """A local BERT directory: last hidden states (B, L, hidden) and pad mask (B, L), frozen by default.

    The sentence goes through the directory's own tokenizer ([CLS] ... [SEP] included).
    """

    def __init__(self, path: str | os.PathLike[str], freeze: bool = True, max_tokens: int = 128,
                 where: str = CONFIG_KEY) -> None:
        super().__init__()
        path = Path(path)
        check_bert_dir(path, where)
        from transformers import AutoModel, AutoTokenizer  # imported only when a BERT is used

        self.path = path
        self.freeze = freeze
        self.max_tokens = max_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True)
        self.out_dim = int(self.model.config.hidden_size)
        if freeze:
            self.model.requires_grad_(False)
            self.model.eval()

    def train(self, mode: bool = True) -> BertTextEncoder:
        """A frozen BERT stays in eval mode (no dropout) whatever the surrounding model does."""
        super().train(mode)
        if self.freeze:
            self.model.eval()
        return self

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Last hidden states (B, L, hidden) float and pad mask (B, L) bool (True = pad)."""
        if not texts:
            raise ValueError("encode needs at least one sentence")
        device = next(self.model.parameters()).device
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_tokens,
                               return_tensors="pt")
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            hidden = self.model(**batch).last_hidden_state  # (B, L, hidden)
        return hidden, batch["attention_mask"] == 0

    def forward(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode(texts)


def check_bert_dir(path: Path, where: str = CONFIG_KEY) -> None:
    """Raise FileNotFoundError naming ``{where}.path`` unless ``path`` looks like a saved BERT."""
    need = (f"it must be a local Hugging Face BERT directory holding config.json, the weights "
            f"({' or '.join(WEIGHT_FILES[:2])}) and the tokenizer ({' or '.join(TOKENIZER_FILES)}); "
            f"set {where}.path to such a directory (e.g. one saved with save_pretrained), or use "
            f"{where}.kind: learned to train embeddings from scratch")
    if not path.is_dir():
        raise FileNotFoundError(f"{where}.path: {path} is not a directory; {need}")
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not any((path / f).is_file() for f in WEIGHT_FILES):
        missing.append("weights")
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        missing.append("tokenizer")
    if missing:
        raise FileNotFoundError(f"{where}.path: {path} lacks {', '.join(missing)}; {need}")


def build_text_encoder(cfg: TextEncoderConfig | dict[str, Any] | None, vocab: Vocab | None,
                       where: str = CONFIG_KEY) -> nn.Module:
    """The encoder ``cfg`` describes; ``vocab`` is required for ``learned`` and unused for ``bert``."""
    if not isinstance(cfg, TextEncoderConfig):
        cfg = TextEncoderConfig.from_dict(cfg, where)
    if cfg.kind == "bert":
        assert cfg.path is not None
        return BertTextEncoder(cfg.path, freeze=cfg.freeze, max_tokens=cfg.max_tokens, where=where)
    if vocab is None:
        raise ValueError(f"{where}.kind: 'learned' needs the training-set Vocab; pass one")
    return LearnedTextEncoder(vocab, d_text=cfg.d_text, max_tokens=cfg.max_tokens, dropout=cfg.dropout)
