"""Train the SignX latent-space recogniser (paper section 4.2) and average its best checkpoints.

Config section ``signx.recognizer`` (:class:`RecognizerSection`)::

    batch_size: 8
    dev_beam: 1            # decoder beams for the per-epoch dev metric (1 = greedy: cheap)
    average_top_k: 5       # checkpoints averaged into averaged.pt (paper: top-5 by dev WER)
    model: {...}           # RecognizerConfig keys; sizes, vocabularies and special ids are set here
    decoding: {beam: 8, entropy_penalty: 0.1, max_output_length: 64}
    train: {...}           # TrainConfig; monitor/mode default to the target's dev metric

The model is trained on the augmentation shards (a random version of every training video per epoch,
fixed by (train.seed, epoch, video); versions read once stay in memory up to
``pipelib.signx.data.CACHE_BYTES``, and batches are built ahead in a background thread) and selected on
the dev videos' pruned latents. The dev metric the trainer monitors, and the checkpoints are averaged
by, is the decoded output's quality rather than the loss, because the paper ranks checkpoints by dev WER
and a label-smoothed loss does not track the decoded sequences: ``wer`` (mode min) of the decoder's
glosses for ``target: gloss``; ``bleu4`` (mode max) of the decoder's sentences for ``target: text``.
``loss`` and ``ctc_wer`` (CTC greedy on the glosses) are logged too, and ``train.monitor`` may name any
of them.

The run directory follows the trainer's layout (best.pt, last.pt, history.csv, top-k epoch files when
``train.keep_top_k`` is available); ``averaged.pt`` is the mean of the best ``average_top_k``
checkpoints by the monitored metric, a complete checkpoint holding the model config and vocabularies
(:func:`pipelib.signx.recognizer_loading.load_recognizer` rebuilds the model from it alone).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from pipelib import provenance
from pipelib.batching import batch_indices
from pipelib.datasets.manifest import read_manifest
from pipelib.datasets.values import require_split
from pipelib.io.atomic import write_text_atomic
from pipelib.metrics.slrtp import bleu, wer
from pipelib.signx.data import CACHE_BYTES
from pipelib.signx.latent_data import (
    build_vocab,
    check_width,
    encode_all,
    make_batch,
    open_aug_reader,
    read_pruned_latents,
    split_text,
)
from pipelib.signx.pruning import PruningMask
from pipelib.signx.recognizer import TARGETS, LatentRecognizer, recognizer_loss
from pipelib.signx.recognizer_loading import decode
from pipelib.signx.recognizer_section import SECTION, RecognizerSection, model_config, training_config
from pipelib.training import fit
from pipelib.training.averaging import average_checkpoints
from pipelib.training.checkpoint import load_for_inference
from pipelib.training.prefetch import PREFETCH_DEPTH
from pipelib.training.rundir import fingerprint, prepare_run_dir

log = logging.getLogger("pipelib.signx")


def train_recognizer(manifest: str | os.PathLike[str], aug_shards: Sequence[str | os.PathLike[str]],
                     latent_shards: Sequence[str | os.PathLike[str]], pruning_json: str | os.PathLike[str],
                     run_dir: str | os.PathLike[str], section: Mapping[str, Any], target: str) -> Path:
    """Train on the augmented train latents, select on dev, average the best checkpoints into
    ``run_dir/averaged.pt`` (+ ``averaged.pt.prov.json``); returns that path."""
    if target not in TARGETS:
        raise ValueError(f"recogniser target must be one of {list(TARGETS)}, got {target!r}")
    section = dict(section or {})
    stage = RecognizerSection.from_dict(section)
    run_dir = Path(run_dir)
    aug_shards, latent_shards = [str(p) for p in aug_shards], [str(p) for p in latent_shards]
    inputs = [str(manifest), str(pruning_json), *aug_shards, *latent_shards]
    prepare_run_dir(run_dir, fingerprint({"section": section, "target": target}, inputs))

    mask = PruningMask.load(pruning_json)
    frame = read_manifest(manifest)
    train_all, dev_all = split_text(frame, "train"), split_text(frame, "dev")
    gloss_vocab = build_vocab(train_all.glosses, "gloss", SECTION)
    text_vocab = build_vocab(train_all.texts, "text", SECTION) if target == "text" else None
    cfg = model_config(section, target, mask.kept_width, gloss_vocab, text_vocab)
    train_cfg = training_config(section, target, cfg.d_model)

    reader = open_aug_reader(aug_shards, seed=train_cfg.seed, cache_bytes=CACHE_BYTES)
    train = train_all.keep(reader.keys())
    if len(train) < len(train_all):
        log.warning("recogniser: %d of %d train videos are in no augmentation shard; they are left out",
                    len(train_all) - len(train), len(train_all))
    require_split(len(train), manifest, "train", "video in the augmentation shards",
                  f"{len(train_all)} listed in the manifest; rebuild the shards from this manifest")
    check_width({train.ids[0]: reader.read(train.ids[0])}, mask.kept_width, aug_shards[0])
    dev_latents = read_pruned_latents(latent_shards, dev_all.ids, mask, "recogniser dev")
    require_split(len(dev_latents), manifest, "dev", "video with latents",
                  f"{len(dev_all)} listed in the manifest, none in {len(latent_shards)} latent shard(s)")
    dev = dev_all.keep(dev_latents)
    x_dev = [dev_latents[v] for v in dev.ids]

    y_gloss = dict(zip(train.ids, encode_all(gloss_vocab, train.glosses), strict=True))
    y_text = dict(zip(train.ids, encode_all(text_vocab, train.texts), strict=True)) if text_vocab else None
    dev_gloss = encode_all(gloss_vocab, dev.glosses)
    dev_text = encode_all(text_vocab, dev.texts) if text_vocab else None
    batch_size, dev_beam = stage.batch_size, stage.dev_beam
    out_vocab = text_vocab if text_vocab is not None else gloss_vocab
    log.info("recogniser (%s): %d train videos x %d versions, %d dev; latents %d -> %d dims; "
             "vocab %d glosses%s",
             target, len(train), reader.n_aug, len(dev), mask.dim, mask.kept_width, len(gloss_vocab),
             f", {len(text_vocab)} words" if text_vocab else "")

    def batches(epoch: int):
        for idx in batch_indices(len(train), batch_size, shuffle=True, seed=train_cfg.seed, epoch=epoch):
            ids = [train.ids[i] for i in idx]
            yield make_batch([reader.get(v, train=True, epoch=epoch) for v in ids], [y_gloss[v] for v in ids],
                             [y_text[v] for v in ids] if y_text else None, gloss_vocab.pad_id)

    def evaluate(m: LatentRecognizer) -> dict[str, float]:
        device = next(m.parameters()).device
        total = 0.0
        for idx in batch_indices(len(x_dev), batch_size, shuffle=False):
            b = make_batch([x_dev[i] for i in idx], [dev_gloss[i] for i in idx],
                           [dev_text[i] for i in idx] if dev_text else None, gloss_vocab.pad_id)
            total += float(recognizer_loss(m, {k: v.to(device) for k, v in b.items()})["loss"]) * len(idx)
        metrics = {"loss": total / len(x_dev)}
        hyps = [out_vocab.decode(h) for h in decode(m, x_dev, "decoder", batch_size, beam=dev_beam)]
        if target == "gloss":
            metrics["wer"] = wer(hyps, dev.glosses)
        else:
            metrics["bleu4"] = bleu(hyps, dev.texts)["BLEU-4"]
        if cfg.ctc_weight > 0:
            ctc = [gloss_vocab.decode(h) for h in decode(m, x_dev, "ctc", batch_size)]
            metrics["ctc_wer"] = wer(ctc, dev.glosses)
        return metrics

    torch.manual_seed(train_cfg.seed)
    model = LatentRecognizer(cfg)
    stored = {"recognizer": cfg.to_dict(), "gloss_vocab": gloss_vocab.to_json(),
              "text_vocab": text_vocab.to_json() if text_vocab else None, "section": section}
    try:
        result = fit(model, recognizer_loss, evaluate, batches, train_cfg, run_dir, model_config=stored,
                     prefetch=PREFETCH_DEPTH)
    finally:
        reader.close()
    log.info("recogniser (%s) best dev %s %.4f at epoch %d", target, train_cfg.monitor, result.best_metric,
             result.best_epoch)

    candidates = list(result.top_k_paths)
    if not candidates:  # train.keep_top_k: 0: the best and the last epoch are what exists
        candidates = [result.best_path] + ([result.last_path] if result.last_path.exists() else [])
    candidates = list(dict.fromkeys(Path(p) for p in candidates))
    if _same_epoch(candidates):
        candidates = candidates[:1]
    out = run_dir / "averaged.pt"
    k = stage.average_top_k
    avg = average_checkpoints(candidates, out, model, metric=train_cfg.monitor, k=k, mode=train_cfg.mode)
    prov = provenance.collect(dict(section), inputs=inputs, seed=train_cfg.seed,
                              extra={"target": target, "averaged_from": [str(p) for p in avg.chosen],
                                     "averaged_metric": {train_cfg.monitor: avg.values}})
    write_text_atomic(provenance.sidecar_path(out), json.dumps(prov, indent=2, default=str) + "\n")
    return out


def _same_epoch(paths: Sequence[Path]) -> bool:
    """True for best.pt + last.pt of one epoch (averaging them would count that epoch twice)."""
    if len(paths) != 2:
        return False
    epochs = {load_for_inference(p).epoch for p in paths}
    return len(epochs) == 1
