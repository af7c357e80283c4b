"""Train the back-translation Sign Language Transformer on ground-truth skeletons; translate poses.

It sees poses as the SLRTP evaluation scores them: it trains on every second ground-truth frame (the
evaluator's ground-truth rule, ``metrics.GT_STEP``) and translates the frames ``metrics.scoring_frames``
gives.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipelib.batching import batch_indices, pad_sequences, pad_token_ids
from pipelib.metrics.slrtp import GT_STEP, bleu, subsample
from pipelib.models.back_translation import SignLanguageTransformer, SLTConfig
from pipelib.skeletons.read import read_layout, read_split
from pipelib.text.vocab import Vocab
from pipelib.training import TrainConfig, fit
from pipelib.training.loading import load_model
from pipelib.training.rundir import fingerprint, prepare_run_dir

log = logging.getLogger("pipelib.evaluation")
SECTION = "evaluation.back_translation"


def pose_inputs(poses: Sequence[np.ndarray], *, step: int) -> list[np.ndarray]:
    """(T, 178, 3) sequences -> every ``step``-th frame flattened, (ceil(T / step), 534) float32."""
    return [subsample(np.asarray(p, np.float32), step).reshape(-1, 534) for p in poses]


def make_batch(inputs: Sequence[np.ndarray], token_ids: Sequence[Sequence[int]] | None,
               pad_id: int) -> dict[str, torch.Tensor]:
    """Padded poses (B, T, 534), their padding mask (True = pad) and target tokens (B, L)."""
    x, mask = pad_sequences(list(inputs))
    batch = {"poses": x, "pose_pad": ~mask}
    if token_ids is not None:
        batch["tokens"] = pad_token_ids(token_ids, pad_id)
    return batch


@torch.no_grad()
def translate(model: SignLanguageTransformer, vocab: Vocab, inputs: Sequence[np.ndarray],
              beam: int | None = None, batch_size: int = 16) -> list[str]:
    """Sentences for (T, 534) pose inputs, in order."""
    out: list[str] = []
    device = next(model.parameters()).device
    for idx in batch_indices(len(inputs), batch_size, shuffle=False):
        b = make_batch([inputs[i] for i in idx], None, vocab.pad_id)
        ids = model.translate(b["poses"].to(device), b["pose_pad"].to(device), beam=beam)
        out += [vocab.decode(s) for s in ids]
    return out


def load_back_translator(path: str | os.PathLike[str]) -> tuple[SignLanguageTransformer, Vocab, dict]:
    """Model (eval mode), vocabulary and section of a back-translator checkpoint."""
    loaded = load_model(path, expect=SignLanguageTransformer)
    return loaded.model, loaded.vocabs["text"], loaded.config["section"]


def train_back_translator(skeleton_h5: str | os.PathLike[str], section: Mapping[str, Any],
                          run_dir: str | os.PathLike[str]) -> Path:
    """Fit on every second frame of the train ground-truth skeletons, select on dev; returns the best
    checkpoint.

    The checkpoint's config records the skeleton layout of ``skeleton_h5`` (``model.layout``), so poses
    of another layout are recognised when they meet this model.
    """
    train_cfg = TrainConfig.from_dict(section.get("train"), f"{SECTION}.train")
    prepare_run_dir(run_dir, fingerprint({"section": section, "gt_step": GT_STEP}, [skeleton_h5]))
    train, dev = read_split(skeleton_h5, "train"), read_split(skeleton_h5, "dev")
    vocab = Vocab.build([s.text for s in train], min_freq=int(section.get("min_freq", 1)))
    slt_dict = {**dict(section.get("model") or {}), "vocab_size": len(vocab), "pad_id": vocab.pad_id,
                "bos_id": vocab.bos_id, "eos_id": vocab.eos_id}
    slt_cfg = SLTConfig.from_dict(slt_dict, f"{SECTION}.model")
    x_train = pose_inputs([s.poses for s in train], step=GT_STEP)
    x_dev = pose_inputs([s.poses for s in dev], step=GT_STEP)
    y_train = [vocab.encode(s.text, add_bos_eos=True) for s in train]
    y_dev = [vocab.encode(s.text, add_bos_eos=True) for s in dev]
    refs_dev = [s.text for s in dev]
    batch_size = int(section.get("batch_size", 16))
    log.info("back-translator: %d train / %d dev sentences, vocabulary %d", len(train), len(dev), len(vocab))

    def batches(epoch: int):
        for idx in batch_indices(len(x_train), batch_size, shuffle=True, seed=train_cfg.seed, epoch=epoch):
            yield make_batch([x_train[i] for i in idx], [y_train[i] for i in idx], vocab.pad_id)

    def evaluate(m: SignLanguageTransformer) -> dict[str, float]:
        device = next(m.parameters()).device
        total = 0.0
        for idx in batch_indices(len(x_dev), batch_size, shuffle=False):
            b = make_batch([x_dev[i] for i in idx], [y_dev[i] for i in idx], vocab.pad_id)
            total += float(m.loss({k: v.to(device) for k, v in b.items()})) * len(idx)
        hyps = translate(m, vocab, x_dev, beam=1, batch_size=batch_size)
        return {"loss": total / len(x_dev), "bleu4": bleu(hyps, refs_dev)["BLEU-4"]}

    torch.manual_seed(train_cfg.seed)
    model = SignLanguageTransformer(slt_cfg)
    result = fit(model, lambda m, b: {"loss": m.loss(b)}, evaluate, batches, train_cfg, run_dir,
                 model_config={"slt": slt_cfg.to_dict(), "vocab": vocab.to_json(), "section": dict(section),
                               "layout": read_layout(skeleton_h5)})
    log.info("back-translator best dev %s %.4f at epoch %d", train_cfg.monitor, result.best_metric,
             result.best_epoch)
    return result.best_path
