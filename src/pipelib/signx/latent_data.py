"""Inputs of the SignX recogniser stages: pruned latents per video, gloss/text vocabularies and batches.

* train videos: the augmentation shards ``results/<ds>/signx/aug/shardNNN.h5`` (pruned originals ``{i}``
  and ``n_aug`` versions ``{i}_{j}``, key = video id), read through :class:`AugShardReader`: a random
  version per (seed, epoch, video) for training, the original for evaluation.
* dev/test videos: the latent shards ``results/<ds>/signx/latents/shardNNN.h5`` (full-width latents
  (T, latent_dim) float32 via ``pipelib.io.shards``), pruned with the train-fitted ``PruningMask``.
  Every frame is kept (the Pose2Gloss encoder emits a latent for each one, as the augmentation shards do).

Batches follow ``pipelib.signx.recognizer``: ``latents`` (B, T, kept_width) float32, ``pad`` (B, T) bool
(True = padding frame), ``glosses`` (B, L) int64 and, for the text target, ``text`` (B, L2) int64.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pipelib.batching import pad_sequences, pad_token_ids
from pipelib.io import shards
from pipelib.signx.aug_shards import AugShardReader
from pipelib.signx.pruning import PruningMask
from pipelib.text.vocab import Vocab

log = logging.getLogger("pipelib.signx")


@dataclass(frozen=True)
class SplitText:
    """Ids, gloss strings and sentences of one split's manifest rows, in manifest order."""

    ids: list[str]
    glosses: list[str]
    texts: list[str]

    @classmethod
    def from_rows(cls, rows: pd.DataFrame) -> SplitText:
        return cls([str(v) for v in rows["id"]], [str(g) for g in rows["gloss"].fillna("")],
                   [str(t) for t in rows["text"].fillna("")])

    def keep(self, ids: Iterable[str]) -> SplitText:
        """The rows whose id is in ``ids`` (manifest order kept)."""
        wanted = set(ids)
        rows = [k for k, v in enumerate(self.ids) if v in wanted]
        return SplitText([self.ids[k] for k in rows], [self.glosses[k] for k in rows],
                         [self.texts[k] for k in rows])

    def references(self, target: str) -> list[str]:
        """Gloss strings (``gloss``) or sentences (``text``)."""
        return self.glosses if target == "gloss" else self.texts

    def __len__(self) -> int:
        return len(self.ids)


def split_text(manifest: pd.DataFrame, split: str) -> SplitText:
    """The manifest rows of ``split`` (train, dev, test)."""
    return SplitText.from_rows(manifest[manifest["split"] == split].reset_index(drop=True))


def read_pruned_latents(latent_shards: Sequence[str | os.PathLike[str]], ids: Iterable[str],
                        mask: PruningMask, what: str = "videos") -> dict[str, np.ndarray]:
    """Pruned latents (T, kept_width) float32 of the wanted ``ids`` found in the latent shards.

    Videos in none of the shards (failures) are left out and counted in a warning."""
    wanted = list(ids)
    want = set(wanted)
    out: dict[str, np.ndarray] = {}
    for path in latent_shards:
        for vid in shards.video_ids(path):
            if vid not in want:
                continue
            video = shards.read_video(path, vid, extras=False)
            if video.features.shape[1] != mask.dim:
                raise ValueError(f"{path}: video {vid} has {video.features.shape[1]}-d latents but the "
                                 f"pruning mask was fitted on {mask.dim}; rebuild signx/pruning.json from "
                                 "these latents")
            out[vid] = np.ascontiguousarray(mask.apply(video.features), dtype=np.float32)
    missing = [v for v in wanted if v not in out]
    if missing:
        log.warning("%s: %d of %d videos have no latents (first: %s); they are left out",
                    what, len(missing), len(wanted), ", ".join(missing[:5]))
    return {v: out[v] for v in wanted if v in out}


def open_aug_reader(aug_shards: Sequence[str | os.PathLike[str]], seed: int,
                    cache_bytes: int = 0) -> AugShardReader:
    """An :class:`AugShardReader` over the shards, ``n_aug`` taken from the first shard's attributes;
    versions read stay in memory up to ``cache_bytes``."""
    if not aug_shards:
        raise ValueError("no augmentation shards given; the signx augmentation stage writes "
                         "results/<ds>/signx/aug/shardNNN.h5")
    n_aug = int(shards.read_attrs(aug_shards[0])["n_aug"])
    return AugShardReader([Path(p) for p in aug_shards], n_aug=n_aug, seed=seed, cache_bytes=cache_bytes)


def build_vocab(sentences: Sequence[str], what: str, where: str) -> Vocab:
    """Word-level vocabulary of the training ``sentences``; an empty one raises naming the manifest column."""
    vocab = Vocab.build(list(sentences))
    if len(vocab) <= 4:
        raise ValueError(f"{where}: the manifest's train split has no {what}; the recogniser needs the "
                         f"manifest column {what!r} filled")
    return vocab


def most_frequent(sentences: Sequence[str]) -> str:
    """The most frequent string (ties: the alphabetically first), the constant-output baseline."""
    if not sentences:
        raise ValueError("no sentences to take the most frequent one of")
    counts = Counter(sentences)
    return min(counts, key=lambda s: (-counts[s], s))


def make_batch(latents: Sequence[np.ndarray], gloss_ids: Sequence[Sequence[int]] | None = None,
               text_ids: Sequence[Sequence[int]] | None = None, pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Recogniser batch: latents (B, T, D), pad (B, T) True = padding, glosses (B, L), text (B, L2)."""
    x, real = pad_sequences(list(latents))  # (B, T, D), (B, T)
    batch = {"latents": x, "pad": ~real}
    if gloss_ids is not None:
        batch["glosses"] = pad_token_ids(gloss_ids, pad_id)  # (B, L)
    if text_ids is not None:
        batch["text"] = pad_token_ids(text_ids, pad_id)  # (B, L2)
    return batch


def encode_all(vocab: Vocab, sentences: Sequence[str]) -> list[list[int]]:
    """Token ids (no specials) of each sentence."""
    return [vocab.encode(s) for s in sentences]


def check_width(arrays: Mapping[str, np.ndarray], width: int, what: str) -> None:
    """Every (T, D) array must have D = ``width`` (the pruning mask's kept width)."""
    for vid, x in arrays.items():
        if x.ndim != 2 or x.shape[1] != width or x.shape[0] < 1:
            raise ValueError(f"{what}: video {vid} has latents {x.shape}, expected (T >= 1, {width}) "
                             f"(the pruning mask's kept width); rebuild the shards with this pruning.json")
