"""Fit the SignX pruning mask (``pipelib.signx.pruning``) on the valid frames of the training latents only.

Writes the mask JSON (``PruningMask.save``) and its provenance sidecar ``<out>.prov.json``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from pipelib import provenance
from pipelib.io import shards
from pipelib.io.atomic import write_text_atomic
from pipelib.signx.data import split_rows
from pipelib.signx.pruning import CONFIG_KEY, PruningConfig, PruningMask, fit_from_config

log = logging.getLogger("pipelib.signx")


def train_latents(manifest: str | os.PathLike[str], latent_shards: Sequence[str | os.PathLike[str]]
                  ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(latents (T, D), mask (T,))`` of every train-split video found in the latent shards."""
    train = set(split_rows(manifest, "train")["id"])
    for path in latent_shards:
        for video in shards.iter_videos(path, extras=False):
            if video.video_id in train:
                yield video.features, video.mask


def fit_pruning_mask(manifest: str | os.PathLike[str], latent_shards: Sequence[str | os.PathLike[str]],
                     out_json: str | os.PathLike[str], section: Mapping[str, Any]) -> PruningMask:
    """Fit on the train split's valid latent frames (``signx.pruning``: threshold or keep_fraction),
    save the mask and its sidecar; returns the mask."""
    cfg = PruningConfig.from_dict(section, CONFIG_KEY)
    mask = fit_from_config(train_latents(manifest, latent_shards), cfg)
    mask.save(out_json)
    kept = {"kept_width": mask.kept_width, "dim": mask.dim, "n_frames": mask.n_frames}
    prov = provenance.collect(dict(section or {}), inputs=[manifest, *latent_shards], extra=kept)
    write_text_atomic(provenance.sidecar_path(out_json), json.dumps(prov, indent=2, default=str) + "\n")
    log.info("pruning: kept %d of %d latent dims (variance >= %.4g) from %d train frames",
             mask.kept_width, mask.dim, mask.threshold, mask.n_frames)
    return mask
