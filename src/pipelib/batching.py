"""Padding variable-length sequences into batches, and deterministic batch orders per epoch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch


def pad_sequences(seqs: Sequence[np.ndarray], max_len: int | None = None,
                  value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (T_i, ...) arrays into (B, T, ...) float32 and a (B, T) bool mask (True = real frame).

    Sequences longer than ``max_len`` are truncated.
    """
    lengths = [min(len(s), max_len) if max_len else len(s) for s in seqs]
    t = max_len or max(lengths, default=0)
    tail = seqs[0].shape[1:] if len(seqs) else ()
    out = np.full((len(seqs), t, *tail), value, dtype=np.float32)
    mask = np.zeros((len(seqs), t), dtype=bool)
    for i, (s, n) in enumerate(zip(seqs, lengths, strict=True)):
        out[i, :n] = s[:n]
        mask[i, :n] = True
    return torch.from_numpy(out), torch.from_numpy(mask)


def pad_token_ids(seqs: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    """(B, L) int64 token ids, right-padded with ``pad_id``."""
    width = max((len(s) for s in seqs), default=0)
    out = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return out


def batch_indices(n: int, batch_size: int, *, shuffle: bool, seed: int = 0,
                  epoch: int = 0) -> Iterator[list[int]]:
    """Index batches over ``n`` items; with ``shuffle`` the order depends only on (seed, epoch)."""
    order = np.arange(n)
    if shuffle:
        order = np.random.default_rng([seed, epoch]).permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size].tolist()
