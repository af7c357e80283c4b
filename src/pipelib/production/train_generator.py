"""Train the text -> latent generator of one system run: latent L1 + length, + the channel-prior KL
when the system has a ``kl`` term (DARSLP-KL, which starts from DARSLP's checkpoint: ``init_from``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipelib.batching import batch_indices
from pipelib.datasets.values import require_split
from pipelib.io import shards
from pipelib.production.generator import TextToLatent, build_model, pad_latents, phase1_loss, phase2_loss
from pipelib.production.latents import read_slices
from pipelib.production.priors import load_priors
from pipelib.text.vocab import Vocab
from pipelib.training import TrainConfig, fit
from pipelib.training.rundir import fingerprint, prepare_run_dir

log = logging.getLogger("pipelib.production")
SECTION = "production.generator"


@dataclass
class LatentSet:
    """One split's sentences and latent targets (T_i, C)."""

    ids: list[str]
    texts: list[str]
    latents: list[torch.Tensor]


def read_latents(latents_h5: str | os.PathLike[str], split: str) -> LatentSet:
    """The valid-frame latent sequences and texts of one split (frames without a body dropped)."""
    ids, texts, lat = [], [], []
    for v in shards.iter_videos(latents_h5, extras=False):
        if v.attrs.get("split") != split:
            continue
        ids.append(v.video_id)
        texts.append(str(v.attrs.get("text", "")))
        lat.append(torch.from_numpy(v.features[v.mask]))
    require_split(len(ids), latents_h5, split, "video")
    require_split(sum(len(x) for x in lat), latents_h5, split, "frame with a body",
                  f"{len(ids)} video(s), every frame masked")
    return LatentSet(ids, texts, lat)


def with_latent_dim(section: Mapping[str, Any], channels: int, latents_h5: str | os.PathLike[str],
                    where: str) -> dict[str, Any]:
    """``section`` with ``model.latent_dim`` set to the latents' channel count (an autoencoder variant
    of ``ablations.autoencoders`` has its own); a configured ``latent_dim`` that differs raises
    ValueError naming it."""
    model = dict(section.get("model") or {})
    given = model.get("latent_dim")
    if given is not None and int(given) != channels:
        raise ValueError(f"{where}: generator.model.latent_dim is {given} but {latents_h5} has {channels} "
                         f"channels; remove the key, the latents set it")
    return {**section, "model": {**model, "latent_dim": channels}}


def train_generator(latents_h5: str | os.PathLike[str], section: Mapping[str, Any],
                    run_dir: str | os.PathLike[str], *, priors_h5: str | os.PathLike[str] | None = None,
                    init_from: str | os.PathLike[str] | None = None, where: str = SECTION) -> Path:
    """Fit one system run (``section``: :func:`pipelib.production.systems.training_section`); returns
    the best checkpoint, selected on the dev loss of the run's own objective."""
    kl = section.get("kl")
    if kl is not None and priors_h5 is None:
        raise ValueError(f"{where}: a run with a KL term needs the channel priors")
    train_dict = dict(section.get("train") or {})
    if init_from is not None:
        train_dict["init_from"] = str(init_from)
    train_cfg = TrainConfig.from_dict(train_dict, f"{where}.train")
    inputs = [latents_h5] + [p for p in (priors_h5 if kl is not None else None, init_from) if p is not None]
    prepare_run_dir(run_dir, fingerprint({"section": section}, inputs))

    train, dev = read_latents(latents_h5, "train"), read_latents(latents_h5, "dev")
    section = with_latent_dim(section, int(train.latents[0].shape[1]), latents_h5, where)
    vocab = Vocab.build(train.texts)
    torch.manual_seed(train_cfg.seed)
    model = build_model(section, vocab)
    max_len = model.generator.cfg.max_len
    all_train = torch.cat(train.latents)                                  # (N, C)
    model.generator.set_reference(all_train.mean(dim=0))
    slices = read_slices(latents_h5)
    model.generator.set_latent_box(all_train, slices)
    weights = [float(w) for w in section["region_weights"]]
    length_weight = float(section.get("length_weight", 1.0))
    kl_args: dict[str, Any] = {}
    if kl is not None:
        pri = load_priors(priors_h5)
        kl_args = {"prior_mean": torch.as_tensor(pri.mean, dtype=torch.float32),
                   "prior_logvar": torch.as_tensor(pri.logvar, dtype=torch.float32),
                   "kl_region_weights": [float(w) for w in kl["region_weights"]],
                   "kl_weight": float(kl.get("weight", 1.0))}

    def make_batch(data: LatentSet, idx: list[int]) -> dict[str, Any]:
        targets, frame_mask, ratio = pad_latents([data.latents[i] for i in idx], max_len)
        return {"texts": [data.texts[i] for i in idx], "targets": targets, "frame_mask": frame_mask,
                "ratio": ratio}

    def loss(m: TextToLatent, b: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        pred, ratio = m(b["texts"])
        extra = {k: (v.to(pred.device) if torch.is_tensor(v) else v) for k, v in kl_args.items()}
        fn = phase2_loss if kl is not None else phase1_loss
        return fn(pred, b["targets"], b["frame_mask"], slices, weights, length_pred=ratio,
                  length_target_ratio=b["ratio"], length_weight=length_weight, **extra)

    batch_size = int(section.get("batch_size", 8))

    def batches(epoch: int):
        for idx in batch_indices(len(train.ids), batch_size, shuffle=True, seed=train_cfg.seed, epoch=epoch):
            yield make_batch(train, idx)

    def dev_loss(m: TextToLatent) -> dict[str, float]:
        dev_device = next(m.parameters()).device
        sums: dict[str, float] = {}
        for idx in batch_indices(len(dev.ids), batch_size, shuffle=False):
            b = make_batch(dev, idx)
            b = {k: (v.to(dev_device) if torch.is_tensor(v) else v) for k, v in b.items()}
            for k, v in loss(m, b).items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(idx)
        return {k: v / len(dev.ids) for k, v in sums.items()}

    result = fit(model, loss, dev_loss, batches, train_cfg, run_dir,
                 model_config={"section": _plain(section), "vocab": vocab.to_json()})
    log.info("%s: best dev loss %.4f at epoch %d", where, result.best_metric, result.best_epoch)
    return result.best_path


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
