"""Train SignX stage 1 (Pose2Gloss) on the fused shards: train split to fit, dev split to select.

Config section ``signx.pose2gloss``::

    batch_size: 8        # videos per step
    min_freq: 1          # glosses seen fewer times in the train split map to <unk>
    model: {...}         # Pose2GlossConfig keys; vocab_size and the special ids come from the vocabulary
    train: {...}         # TrainConfig (monitor: loss or wer, with mode min)

The run directory follows ``pipelib.training`` (last.pt / best.pt / history.csv); a changed section or
changed inputs start it over, a restarted job resumes. Checkpoints store under ``config["model"]`` the
model config (``pose2gloss``), the gloss vocabulary (``vocab``, JSON) and the section, so
:func:`pipelib.signx.pose2gloss.load_pose2gloss` (``pipelib.training.loading.load_model``) rebuilds
the model from best.pt alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from pipelib.batching import batch_indices
from pipelib.metrics.slrtp import wer
from pipelib.signx.data import FusedCorpus, gloss_vocab, pose_batch, split_rows
from pipelib.signx.pose2gloss import Pose2Gloss, Pose2GlossConfig, Pose2GlossSection, pose2gloss_loss
from pipelib.text.vocab import Vocab
from pipelib.training import TrainConfig, fit
from pipelib.training.device import device_of
from pipelib.training.prefetch import PREFETCH_DEPTH
from pipelib.training.rundir import fingerprint, prepare_run_dir

log = logging.getLogger("pipelib.signx")
SECTION = "signx.pose2gloss"


def model_config(section_model: Mapping[str, Any] | None, vocab: Vocab) -> Pose2GlossConfig:
    """Pose2GlossConfig from the ``model`` subsection, sized to ``vocab`` (its specials as the ids)."""
    d = {**dict(section_model or {}), "vocab_size": len(vocab), "pad_id": vocab.pad_id,
         "bos_id": vocab.bos_id, "eos_id": vocab.eos_id}
    return Pose2GlossConfig.from_dict(d, f"{SECTION}.model")


class _GlossSet:
    """The videos of one split that have fused features, with their gloss ids and reference strings."""

    def __init__(self, corpus: FusedCorpus, rows: Any, vocab: Vocab, what: str) -> None:
        by_id = dict(zip(rows["id"], rows["gloss"].fillna(""), strict=True))
        self.corpus = corpus
        self.ids = corpus.present(list(rows["id"]), what)
        self.refs = [str(by_id[v]) for v in self.ids]
        self.gloss_ids = [vocab.encode(g) for g in self.refs]

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, idx: Sequence[int], pad_id: int) -> dict[str, torch.Tensor]:
        return pose_batch([self.corpus.get(self.ids[i]) for i in idx], [self.gloss_ids[i] for i in idx],
                          pad_id)


def _evaluate(model: Pose2Gloss, data: _GlossSet, vocab: Vocab, batch_size: int) -> dict[str, float]:
    """Dev loss (mean over videos) and gloss WER (percent) of greedy recognition."""
    device = device_of(model)
    total, hyps = 0.0, []
    for idx in batch_indices(len(data), batch_size, shuffle=False):
        b = {k: v.to(device) for k, v in data.batch(idx, vocab.pad_id).items()}
        total += float(pose2gloss_loss(model, b)["loss"]) * len(idx)
        hyps += [vocab.decode(ids) for ids in model.recognise(b["features"], b["slot_mask"], b["pad"])]
    return {"loss": total / len(data), "wer": wer(hyps, data.refs)}


def train_pose2gloss(manifest: str | os.PathLike[str], fused_shards: Sequence[str | os.PathLike[str]],
                     run_dir: str | os.PathLike[str], section: Mapping[str, Any]) -> Path:
    """Fit Pose2Gloss on the train split, select on dev (loss or wer); returns best.pt's path."""
    sec = dict(section or {})
    stage = Pose2GlossSection.from_dict(sec)
    train_cfg = TrainConfig.from_dict(stage.train, f"{SECTION}.train")
    batch_size = stage.batch_size
    prepare_run_dir(run_dir, fingerprint(sec, [manifest, *fused_shards]))
    train_rows, dev_rows = split_rows(manifest, "train"), split_rows(manifest, "dev")
    vocab = gloss_vocab(train_rows, stage.min_freq, SECTION)
    cfg = model_config(stage.model, vocab)
    with FusedCorpus(fused_shards) as corpus:
        train = _GlossSet(corpus, train_rows, vocab, "pose2gloss train split")
        dev = _GlossSet(corpus, dev_rows, vocab, "pose2gloss dev split")
        corpus.require(train.ids, manifest, "train", len(train_rows))
        corpus.require(dev.ids, manifest, "dev", len(dev_rows))
        log.info("pose2gloss: %d train / %d dev videos, %d glosses (with specials)", len(train), len(dev),
                 len(vocab))

        def batches(epoch: int) -> Iterator[dict[str, torch.Tensor]]:
            for idx in batch_indices(len(train), batch_size, shuffle=True, seed=train_cfg.seed, epoch=epoch):
                yield train.batch(idx, vocab.pad_id)

        torch.manual_seed(train_cfg.seed)
        model = Pose2Gloss(cfg)
        result = fit(model, pose2gloss_loss, lambda m: _evaluate(m, dev, vocab, batch_size), batches,
                     train_cfg, run_dir,
                     model_config={"pose2gloss": cfg.to_dict(), "vocab": vocab.to_json(), "section": sec},
                     prefetch=PREFETCH_DEPTH)
    log.info("pose2gloss best dev %s %.4f at epoch %d", train_cfg.monitor, result.best_metric,
             result.best_epoch)
    return result.best_path
