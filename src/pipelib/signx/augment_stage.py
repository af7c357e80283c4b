"""Write one SignX augmentation shard: the pruned latents of the TRAIN videos of one latent shard, each
with ``n_aug`` augmented versions (``pipelib.signx.aug_shards``; key ``{i}`` / ``{i}_{j}``, i = video id).

Config section ``signx.augmentation``: the ``AugmentConfig`` keys (scale_min, scale_max, jitter_prob,
jitter_offset_std, jitter_scale_std, noise_std) plus ``n_aug`` (10), ``seed`` (0), ``chunk_frames``
(64; null: contiguous) and ``workers`` (1 background thread; 0 inline). Every frame of a video is kept
(the latent mask is not applied), as dev/test videos are read from the latent shards. A shard without
train videos gives a valid empty augmentation shard (attribute ``dim`` = -1).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import fields
from typing import Any

import numpy as np

from pipelib import provenance
from pipelib.io import shards
from pipelib.sections import from_section
from pipelib.signx.aug_shards import write_aug_shard
from pipelib.signx.augment import CONFIG_SECTION, AugmentConfig
from pipelib.signx.augment_section import AugmentationSection
from pipelib.signx.data import split_rows
from pipelib.signx.pruning import PruningMask

log = logging.getLogger("pipelib.signx")


def pruned_train_latents(manifest: str | os.PathLike[str], latent_shard: str | os.PathLike[str],
                         mask: PruningMask) -> Iterator[tuple[str, np.ndarray]]:
    """``(video id, pruned latents (T, kept_width) float32)`` of the shard's train videos, in shard order."""
    train = set(split_rows(manifest, "train")["id"])
    for video in shards.iter_videos(latent_shard, extras=False):
        if video.video_id in train:
            yield video.video_id, mask.apply(video.features)


def write_augmentation(manifest: str | os.PathLike[str], latent_shard: str | os.PathLike[str],
                       pruning_json: str | os.PathLike[str], out_h5: str | os.PathLike[str],
                       section: Mapping[str, Any]) -> dict[str, Any]:
    """Write the augmentation shard of ``latent_shard`` atomically; returns write_aug_shard's summary."""
    aug_keys = tuple(f.name for f in fields(AugmentConfig))
    sec = dict(section or {})
    stage = from_section(AugmentationSection, sec, CONFIG_SECTION)
    n_aug, seed, chunk, workers = stage.n_aug, stage.seed, stage.chunk_frames, stage.workers
    mask = PruningMask.load(pruning_json)
    prov = provenance.collect(sec, inputs=[manifest, latent_shard, pruning_json], seed=seed)
    summary = write_aug_shard(pruned_train_latents(manifest, latent_shard, mask), out_h5,
                              {k: sec[k] for k in aug_keys if k in sec}, n_aug=n_aug, seed=seed,
                              provenance=prov, chunk_frames=None if chunk is None else int(chunk),
                              workers=workers)
    log.info("augmentation: %d train videos x (1 + %d) versions of width %d from %s -> %s (%.1f s)",
             summary["videos"], n_aug, mask.kept_width, latent_shard, out_h5, summary["seconds"])
    return summary
