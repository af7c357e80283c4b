"""Checkpoint averaging: the model weights of the k best checkpoints by a dev metric, averaged.

SignX averages the top-5 checkpoints by dev WER. Floating-point tensors of the model state dicts are
averaged (in float64, cast back to their dtype); integer and bool buffers (e.g. BatchNorm's
``num_batches_tracked``) are taken from the best checkpoint. The result is written in the project's one
checkpoint format (``save_checkpoint``) with the best checkpoint's config, epoch and history, the chosen
files in ``meta["averaged_from"]`` and the best one's meta in ``meta["source_meta"]``; it holds no
optimizer state (it is for inference or fine-tuning).

A checkpoint's metric is the dev value of its own epoch: the ``history`` row whose ``epoch`` equals the
checkpoint's, key ``metric`` or ``dev/<metric>``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pipelib.training.checkpoint import (
    CheckpointError,
    check_state_matches,
    model_class_name,
    read_checkpoint,
    save_checkpoint,
    weights_sha256,
)
from pipelib.training.topk import rank_key

log = logging.getLogger("pipelib.training")
MODES = ("min", "max")


@dataclass(frozen=True)
class AveragedCheckpoint:
    """Where the average went and what went into it: ``chosen`` best first, with their metric values."""

    path: Path
    chosen: list[Path]
    values: list[float]
    metric: str


def checkpoint_metric(state: Mapping[str, Any], metric: str, path: str | os.PathLike[str]) -> float:
    """Dev value of ``metric`` at the checkpoint's own epoch (history key ``metric`` or ``dev/metric``)."""
    rows = [r for r in state.get("history") or [] if r.get("epoch") == state.get("epoch")]
    if not rows:
        raise CheckpointError(f"checkpoint {path} has no history row for its epoch {state.get('epoch')}; "
                              f"average checkpoints written by pipelib.training.fit")
    row = rows[-1]
    for key in (metric, f"dev/{metric}"):
        if key in row:
            value = float(row[key])
            if not math.isfinite(value):
                raise CheckpointError(f"checkpoint {path}: {key} is {value}; it cannot be ranked")
            return value
    raise CheckpointError(f"checkpoint {path}: epoch {state.get('epoch')} has no {metric!r} or "
                          f"'dev/{metric}' (keys: {sorted(row)}); set the averaging metric to one of them")


def rank_checkpoints(paths: Sequence[str | os.PathLike[str]], metric: str,
                     mode: str = "min") -> list[tuple[Path, float]]:
    """(path, metric value) of every checkpoint, best first; ties go to the earlier epoch, then to the
    order of ``paths`` (the trainer's ``keep_top_k`` ranking, :func:`pipelib.training.topk.rank_key`)."""
    if mode not in MODES:
        raise ValueError(f"averaging mode must be one of {list(MODES)}, got {mode!r}")
    scored = []
    for p in paths:  # one checkpoint in memory at a time
        state = read_checkpoint(p)
        scored.append((Path(p), checkpoint_metric(state, metric, p), int(state["epoch"])))
    order = sorted(range(len(scored)), key=lambda i: (*rank_key(scored[i][1], scored[i][2], mode), i))
    return [(path, value) for path, value, _ in (scored[i] for i in order)]


def _check_same_layout(ref: Mapping[str, torch.Tensor], other: Mapping[str, torch.Tensor],
                       ref_path: Path, path: Path) -> None:
    if set(ref) != set(other):
        diff = sorted(set(ref) ^ set(other))
        raise CheckpointError(f"checkpoints {ref_path} and {path} hold different model keys "
                              f"({', '.join(diff[:8])}); average checkpoints of one architecture only")
    for key, tensor in ref.items():
        if tensor.shape != other[key].shape or tensor.dtype != other[key].dtype:
            raise CheckpointError(f"checkpoints {ref_path} and {path} differ at {key}: "
                                  f"{tuple(tensor.shape)} {tensor.dtype} vs {tuple(other[key].shape)} "
                                  f"{other[key].dtype}; average checkpoints of one architecture only")


def average_state_dicts(states: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Mean of the floating-point tensors of ``states`` (same keys and shapes); other tensors from
    ``states[0]`` (the best)."""
    if not states:
        raise ValueError("no state dicts to average")
    for i, state in enumerate(states[1:], start=1):
        _check_same_layout(states[0], state, Path("#0"), Path(f"#{i}"))
    out: dict[str, torch.Tensor] = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = torch.stack([s[key].to(torch.float64) for s in states]).mean(0).to(first.dtype)
        else:
            out[key] = first.clone()
    return out


def average_checkpoints(paths: Sequence[str | os.PathLike[str]], out_path: str | os.PathLike[str],
                        model: torch.nn.Module, *, metric: str, k: int = 5,
                        mode: str = "min") -> AveragedCheckpoint:
    """Average the model weights of the ``k`` best of ``paths`` by ``metric`` (``min``: lower is better,
    as WER) and save them to ``out_path``; ``model`` (same architecture) is left holding the average.

    With fewer than ``k`` checkpoints all are averaged. Tensors are summed one checkpoint at a time."""
    if k < 1:
        raise ValueError(f"checkpoint averaging needs k >= 1, got {k}")
    if not paths:
        raise ValueError("checkpoint averaging got no checkpoint paths")
    ranked = rank_checkpoints(paths, metric, mode)[:k]
    if len(ranked) < k:
        log.warning("averaging %d checkpoints (fewer than k=%d available)", len(ranked), k)
    best_path, best_value = ranked[0]
    best = read_checkpoint(best_path)
    check_state_matches(model, best["model"], best_path)
    ref = best["model"]
    sums = {key: t.to(torch.float64) for key, t in ref.items() if t.is_floating_point()}
    for path, _ in ranked[1:]:
        other = read_checkpoint(path)["model"]
        _check_same_layout(ref, other, best_path, path)
        for key in sums:
            sums[key] += other[key].to(torch.float64)
    averaged = {key: (sums[key] / len(ranked)).to(t.dtype) if key in sums else t for key, t in ref.items()}
    if best["model_class"] != model_class_name(model):
        log.warning("checkpoints were saved from %s; averaging into %s (keys match)",
                    best["model_class"], model_class_name(model))
    model.load_state_dict(averaged, strict=True)
    sources = [{"path": str(p.resolve()), "weights_sha256": weights_sha256(p), metric: v} for p, v in ranked]
    meta = {"averaged_from": sources, "averaging": {"metric": metric, "mode": mode, "k": k},
            "source_meta": best.get("meta") or {}}
    save_checkpoint(out_path, model, best["config"], epoch=best["epoch"], best_metric=best_value,
                    best_epoch=best["epoch"], history=best.get("history"), meta=meta)
    log.info("averaged %d checkpoints (%s %s) into %s", len(ranked), metric,
             ", ".join(f"{v:.4g}" for _, v in ranked), out_path)
    return AveragedCheckpoint(Path(out_path), [p for p, _ in ranked], [v for _, v in ranked], metric)
