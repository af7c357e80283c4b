"""The one training loop of the project: model-specific code supplies the loss and the data only.

Run directory layout::

    last.pt        checkpoint after the latest completed epoch (resume point)
    best-epochNNN.pt  checkpoint of the epoch with the best monitored dev metric (the trainer's own copy)
    best.pt        a copy of best-epochNNN.pt, written when fit() returns (the file workflows declare;
                   see pipelib.training.best: Snakemake deletes it when a job fails or is re-run)
    epochNNN.pt    with ``keep_top_k`` > 0: the k epochs with the best dev metric (ties: earlier epoch),
                   model weights + config + history, no optimizer state; others are deleted
    history.csv    one row per epoch: epoch, lr (at the start of the epoch), train/<key> (means over the
                   epoch's steps; train/grad_norm = mean global L2 norm before clipping, when
                   grad_clip is set; train/data_wait_fraction = share of the epoch's training wall time
                   spent in next() on the batch iterator), dev/<key>, seconds
    config.json    the config that made the run
    mlflow.db, mlartifacts/   the per-run MLflow store (default tracking URI)

A job restarted after a kill or a SLURM requeue finds ``last.pt`` and continues after its epoch; one
that finds its epochs all done only writes ``best.pt`` again. Temporary files of a job killed while
writing are removed at start-up. Tracking never stops training: any failure of the tracker (start,
logging, finish) becomes one logged warning and the run goes on untracked.
Random state is captured at the end of every epoch and put back at the start of the next one,
in straight and resumed runs alike, so both produce the same weights (bit-identical on CPU).
Per-step schedules (cosine, noam) step after every optimizer step, plateau once per epoch; the
scheduler state travels in the checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from pipelib import provenance
from pipelib.io.atomic import write_text_atomic
from pipelib.training.best import BEST_NAME, adopt_best, kept_best_path, materialise_best, prune_kept_best
from pipelib.training.checkpoint import (
    CheckpointError,
    init_from_checkpoint,
    model_class_name,
    read_checkpoint,
    save_checkpoint,
)
from pipelib.training.config import TrainConfig
from pipelib.training.device import resolve_device, to_device
from pipelib.training.early_stopping import EarlyStopping, improved
from pipelib.training.history import write_history
from pipelib.training.optim import build_optimizer, build_scheduler, current_lr
from pipelib.training.prefetch import Prefetcher
from pipelib.training.seeding import capture_rng, deterministic_algorithms, restore_rng, seed_everything
from pipelib.training.topk import epoch_files, epoch_path, prune_epoch_files, top_k_epochs
from pipelib.training.tracking import GuardedTracker, Tracker, flatten_params, make_tracker

log = logging.getLogger("pipelib.training")

TrainStep = Callable[[torch.nn.Module, Any], Mapping[str, torch.Tensor]]
EvalFn = Callable[[torch.nn.Module], Mapping[str, float]]
TrainBatches = Callable[[int], Iterable[Any]]

_END = object()  # end of a batch iterator
# History keys that measure time, not results: they differ between two faithful runs.
TIMING_KEYS = ("seconds", "train/data_wait_fraction")
# Train-config keys that may change between a run and its resumption. keep_top_k is not one: epochs
# already dropped could not be brought back, and a larger k would silently average fewer checkpoints.
RESUME_FREE_KEYS = ("train.epochs", "train.device", "train.tracking")


@dataclass
class FitResult:
    """Where the checkpoints are and what happened; ``history`` has one dict per completed epoch.

    ``top_k_paths``: the kept ``epochNNN.pt`` files (``keep_top_k``), best first; empty when off."""

    best_path: Path
    last_path: Path
    history: list[dict[str, float]]
    best_metric: float
    best_epoch: int
    stopped_early: bool
    resumed_from_epoch: int = 0  # 0 for a fresh run
    top_k_paths: list[Path] = field(default_factory=list)


@dataclass
class _State:
    epoch: int = 0
    best_metric: float | None = None
    best_epoch: int | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    rng: dict[str, Any] | None = None
    stopped_early: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


def fit(model: torch.nn.Module, train_step: TrainStep, eval_fn: EvalFn, train_batches: TrainBatches,
        cfg: TrainConfig, run_dir: str | os.PathLike[str], tracker: Tracker | None = None, *,
        model_config: Mapping[str, Any] | None = None, prefetch: int = 0) -> FitResult:
    """Train ``model`` for ``cfg.epochs`` epochs (resuming from ``run_dir/last.pt`` if present).

    ``train_step(model, batch)`` returns a dict of scalar tensors with at least ``"loss"`` (the
    trainer calls backward, clips and steps); ``eval_fn(model)`` returns dev metrics as floats,
    including ``cfg.monitor``, and runs under ``model.eval()`` and ``torch.no_grad()``;
    ``train_batches(epoch)`` yields the batches of epoch ``epoch`` (1-based), which are moved to
    the model's device. With ``prefetch`` > 0 a background thread builds that many batches ahead
    while the step runs (:class:`~pipelib.training.prefetch.Prefetcher`: same batches, same order);
    ``train_batches`` must then draw no numbers from the global random generators (torch, numpy,
    ``random``), which the step uses concurrently. ``model_config`` (JSON-ready) is stored in
    checkpoints under ``config["model"]`` beside ``config["train"]`` so inference can rebuild the model.
    ``tracker`` defaults to the one ``cfg.tracking`` describes. On return the model holds the
    last epoch's weights, on the training device; load ``best_path`` for the best ones.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {"model": dict(model_config or {}), "train": cfg.to_dict()}
    try:
        config_text = json.dumps(config, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(f"fit: model_config must be JSON-serialisable ({err})") from None
    device = resolve_device(cfg.device)
    last_path, best_path = run_dir / "last.pt", run_dir / BEST_NAME
    _remove_temporaries(run_dir)

    with deterministic_algorithms(cfg.deterministic):
        model.to(device)
        optimizer = build_optimizer(model.parameters(), cfg.optimizer)
        scheduler = build_scheduler(optimizer, cfg.scheduler, cfg.mode)
        stopper = EarlyStopping(cfg.early_stopping.patience, cfg.mode, cfg.early_stopping.min_delta)
        if last_path.exists():
            state = _resume(last_path, config, model, optimizer, scheduler, stopper)
            log.info("resuming %s from %s (epoch %d done)", run_dir, last_path, state.epoch)
        else:
            state = _start_fresh(model, cfg)
        resumed_from = state.epoch
        _sync_top_k(run_dir, cfg, state)
        _sync_best(run_dir, state)
        write_text_atomic(run_dir / "config.json", config_text + "\n")

        tracker = GuardedTracker(tracker if tracker is not None else make_tracker(cfg.tracking, run_dir))
        status = "FAILED"
        try:
            old_run = state.meta.get("tracker_run_id")
            run_id = tracker.start(cfg.tracking.run_name or run_dir.name, resume_id=old_run)
            state.meta["tracker_run_id"] = run_id if run_id is not None else old_run
            if run_id is not None and run_id != old_run:
                tracker.log_params(flatten_params(config))
                tracker.log_dict(config, "config.json")
                for row in state.history:  # epochs done before a restart into a new tracking run
                    tracker.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=row["epoch"])
            if state.epoch < cfg.epochs and not state.stopped_early:
                _run_epochs(model, train_step, eval_fn, train_batches, cfg, config, device, optimizer,
                            scheduler, stopper, state, run_dir, tracker, prefetch)
            else:
                log.info("%s is already complete (epoch %d of %d%s)", run_dir, state.epoch, cfg.epochs,
                         ", stopped early" if state.stopped_early else "")
            assert state.best_epoch is not None
            materialise_best(run_dir, state.best_epoch)
            tags = {"best_checkpoint": str(best_path.resolve()), "last_checkpoint": str(last_path.resolve()),
                    "best_epoch": str(state.best_epoch), "best_metric": repr(state.best_metric)}
            tracker.set_tags(tags)
            if (run_dir / "history.csv").exists():
                tracker.log_artifact(run_dir / "history.csv")
            if cfg.tracking.log_checkpoint:
                tracker.log_artifact(best_path)
            status = "FINISHED"
        except KeyboardInterrupt:
            status = "KILLED"
            raise
        finally:
            tracker.finish(status)

    assert state.best_metric is not None and state.best_epoch is not None
    top_k = [epoch_path(run_dir, e) for e in _top_k(cfg, state)]
    return FitResult(best_path=best_path, last_path=last_path, history=state.history,
                     best_metric=state.best_metric, best_epoch=state.best_epoch,
                     stopped_early=state.stopped_early, resumed_from_epoch=resumed_from, top_k_paths=top_k)


def _top_k(cfg: TrainConfig, state: _State) -> list[int]:
    """Epochs whose checkpoints are kept (``cfg.keep_top_k`` best by the dev metric), best first."""
    return top_k_epochs(state.history, f"dev/{cfg.monitor}", cfg.mode, cfg.keep_top_k)


def _remove_temporaries(run_dir: Path) -> None:
    """Delete ``.tmp-*`` files and directories of a job killed while writing into its run directory
    (the run directory belongs to one training job at a time)."""
    for stale in run_dir.glob(".tmp-*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
        log.info("removed %s, left by a job killed while writing", stale)


def _sync_best(run_dir: Path, state: _State) -> None:
    """At start-up: keep only the best-epoch checkpoint that last.pt names (none in a fresh run) and
    check it exists, since best.pt is made from it."""
    prune_kept_best(run_dir, state.best_epoch)
    if state.best_epoch is not None and not adopt_best(run_dir, state.best_epoch):
        kept = kept_best_path(run_dir, state.best_epoch).name
        raise CheckpointError(f"{run_dir} lacks {kept}, the best epoch's checkpoint that its last.pt names; "
                              f"it cannot be re-created. Use a new run directory or delete "
                              f"{run_dir / 'last.pt'} to start over")


def _sync_top_k(run_dir: Path, cfg: TrainConfig, state: _State) -> None:
    """At start-up: delete epoch checkpoints outside the top k of the completed epochs (all of them in
    a fresh run; epochs after last.pt from a job killed mid-save) and check the kept ones exist."""
    keep = _top_k(cfg, state)
    prune_epoch_files(run_dir, keep)
    missing = [str(epoch_path(run_dir, e)) for e in keep if e not in epoch_files(run_dir)]
    if missing:
        raise CheckpointError(f"{run_dir} lacks the top-{cfg.keep_top_k} epoch checkpoints {missing} that "
                              f"its last.pt ranks among the best; they cannot be re-created. Use a new run "
                              f"directory or delete {run_dir / 'last.pt'} to start over")


def _start_fresh(model: torch.nn.Module, cfg: TrainConfig) -> _State:
    """Seed everything and, if configured, take initial weights from ``cfg.init_from``."""
    seed_everything(cfg.seed)
    state = _State()
    inputs = []
    if cfg.init_from:
        state.meta["init_from"] = init_from_checkpoint(model, cfg.init_from)
        inputs.append(cfg.init_from)
    state.meta["provenance"] = provenance.collect(cfg.to_dict(), inputs=inputs, seed=cfg.seed)
    return state


def _resume(path: Path, config: dict[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            scheduler: Any, stopper: EarlyStopping) -> _State:
    """Load every piece of training state from ``path`` after checking it belongs to this config."""
    ckpt = read_checkpoint(path)
    old = dict(ckpt["config"])
    with contextlib.suppress(TypeError, ValueError):  # keys added to TrainConfig since count at defaults
        old["train"] = TrainConfig.from_dict(old.get("train")).to_dict()
    if ckpt["model_class"] != model_class_name(model):
        raise CheckpointError(f"{path} holds a {ckpt['model_class']}, not a {model_class_name(model)}; "
                              f"use a new run directory or delete {path} to start over")
    changed = [k for k in _diff_keys(old, config) if not k.startswith(RESUME_FREE_KEYS)]
    if changed:
        raise CheckpointError(
            f"{path} was made with a different config (changed: {', '.join(changed)}); a run resumes "
            f"only with the same settings (epochs, device and tracking may change). Use a new run "
            f"directory or delete {path} to start over"
        )
    model.load_state_dict(ckpt["model"], strict=True)
    optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None and ckpt["scheduler"] is not None:
        scheduler.load_state_dict(ckpt["scheduler"])
    stopper.load_state_dict(ckpt["early_stopping"])
    return _State(epoch=ckpt["epoch"], best_metric=ckpt["best_metric"], best_epoch=ckpt["best_epoch"],
                  history=list(ckpt["history"]), rng=ckpt["rng"],
                  stopped_early=bool(ckpt["meta"].get("stopped_early", False)), meta=dict(ckpt["meta"]))


def _run_epochs(model: torch.nn.Module, train_step: TrainStep, eval_fn: EvalFn, train_batches: TrainBatches,
                cfg: TrainConfig, config: dict[str, Any], device: torch.device,
                optimizer: torch.optim.Optimizer, scheduler: Any, stopper: EarlyStopping, state: _State,
                run_dir: Path, tracker: Tracker, prefetch: int = 0) -> None:
    """Epochs ``state.epoch + 1 .. cfg.epochs``: train, evaluate, step schedules, checkpoint, log."""
    for epoch in range(state.epoch + 1, cfg.epochs + 1):
        if state.rng is not None:
            restore_rng(state.rng)
        started = time.monotonic()
        lr = current_lr(optimizer)
        per_step = scheduler if cfg.scheduler.per_step else None
        train = _train_epoch(model, train_step, train_batches(epoch), optimizer, per_step, cfg.grad_clip,
                             device, epoch, prefetch)
        dev = _evaluate(model, eval_fn, cfg.monitor, epoch)
        value = dev[cfg.monitor]
        if scheduler is not None and per_step is None:
            scheduler.step(value)
        stop = stopper.step(value)
        is_best = improved(value, state.best_metric, cfg.mode)
        if is_best:
            state.best_metric, state.best_epoch = value, epoch
        row = {"epoch": epoch, "lr": lr, **{f"train/{k}": v for k, v in train.items()},
               **{f"dev/{k}": v for k, v in dev.items()}, "seconds": time.monotonic() - started}
        state.history.append(row)
        state.epoch, state.stopped_early = epoch, stop
        state.rng = capture_rng()
        state.meta["stopped_early"] = stop
        keep = _top_k(cfg, state)
        _save(run_dir, model, config, optimizer, scheduler, stopper, state, is_best, epoch in keep)
        prune_epoch_files(run_dir, keep)  # after last.pt: a kill before this leaves files a resume prunes
        prune_kept_best(run_dir, state.best_epoch)
        write_history(run_dir / "history.csv", state.history)
        tracker.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=epoch)
        log.info("epoch %d/%d %s lr=%.3g best %s=%.6g (epoch %d)%s %.1fs", epoch, cfg.epochs,
                 " ".join(f"{k}={v:.6g}" for k, v in row.items() if "/" in k), lr, cfg.monitor,
                 state.best_metric, state.best_epoch, " [best]" if is_best else "", row["seconds"])
        if stop:
            log.info("early stopping after epoch %d: dev %s did not improve by more than %g for %d epochs",
                     epoch, cfg.monitor, cfg.early_stopping.min_delta, stopper.bad_epochs)
            break


def _train_epoch(model: torch.nn.Module, train_step: TrainStep, batches: Iterable[Any],
                 optimizer: torch.optim.Optimizer, step_scheduler: Any, grad_clip: float | None,
                 device: torch.device, epoch: int, prefetch: int = 0) -> dict[str, float]:
    """One pass over ``batches``; returns the mean of each ``train_step`` output (and grad_norm), and
    ``data_wait_fraction``: wall time spent in ``next()`` on the batch iterator / wall time of the pass.

    ``step_scheduler`` (per-step lr schedule or None) is stepped after every optimizer step. With
    ``prefetch`` > 0 the batches are built that many ahead in a background thread. The batch iterator
    is closed when the pass ends, also by an exception (a prefetching thread stops)."""
    model.train()
    started = time.perf_counter()
    iterator = Prefetcher(batches, prefetch, name=f"batches-epoch{epoch}") if prefetch else iter(batches)
    try:
        return _consume(model, train_step, iterator, optimizer, step_scheduler, grad_clip, device, epoch,
                        started)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _consume(model: torch.nn.Module, train_step: TrainStep, iterator: Iterator[Any],
             optimizer: torch.optim.Optimizer, step_scheduler: Any, grad_clip: float | None,
             device: torch.device, epoch: int, started: float) -> dict[str, float]:
    """The steps of :func:`_train_epoch` over ``iterator`` (the pass began at ``started``)."""
    sums: dict[str, torch.Tensor] = {}
    steps = 0
    waited = 0.0  # seconds spent waiting for the next batch
    while True:
        asked = time.perf_counter()
        batch = next(iterator, _END)
        waited += time.perf_counter() - asked
        if batch is _END:
            break
        optimizer.zero_grad(set_to_none=True)
        out = train_step(model, to_device(batch, device))
        loss = out.get("loss") if isinstance(out, Mapping) else None
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            keys = sorted(out) if isinstance(out, Mapping) else []
            raise TypeError(f"epoch {epoch}: train_step must return a dict with a scalar tensor 'loss'; "
                            f"got {type(out).__name__} with keys {keys}")
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip) if grad_clip else None
        optimizer.step()
        if step_scheduler is not None:
            step_scheduler.step()
        for key, value in out.items():
            value = value.detach().float() if isinstance(value, torch.Tensor) else torch.tensor(float(value))
            sums[key] = sums.get(key, 0) + value
        if norm is not None:  # global L2 norm before clipping
            sums["grad_norm"] = sums.get("grad_norm", 0) + norm.detach().float()
        steps += 1
    if steps == 0:
        raise RuntimeError(f"train_batches({epoch}) yielded no batches; the training split is empty "
                           f"or the batch iterator is exhausted (return a fresh iterable per epoch)")
    means = {k: float(v) / steps for k, v in sums.items()}
    means["data_wait_fraction"] = waited / max(time.perf_counter() - started, 1e-9)
    if not math.isfinite(means["loss"]):
        raise FloatingPointError(
            f"epoch {epoch}: mean training loss is {means['loss']}; nothing was saved for this epoch "
            f"(last.pt keeps epoch {epoch - 1}). Lower training.optimizer.lr or set training.grad_clip"
        )
    return means


def _evaluate(model: torch.nn.Module, eval_fn: EvalFn, monitor: str, epoch: int) -> dict[str, float]:
    """Dev metrics under eval mode and no_grad; the monitored one must be present and finite."""
    model.eval()
    with torch.no_grad():
        dev = {k: float(v) for k, v in eval_fn(model).items()}
    model.train()
    if monitor not in dev:
        raise KeyError(f"training.monitor is {monitor!r} but eval_fn returned only {sorted(dev)}; "
                       f"set training.monitor to one of them")
    if not math.isfinite(dev[monitor]):
        raise FloatingPointError(f"epoch {epoch}: dev {monitor} is {dev[monitor]}; nothing was saved "
                                 f"for this epoch. Lower training.optimizer.lr or set training.grad_clip")
    return dev


def _save(run_dir: Path, model: torch.nn.Module, config: dict[str, Any], optimizer: torch.optim.Optimizer,
          scheduler: Any, stopper: EarlyStopping, state: _State, is_best: bool, keep_epoch: bool) -> None:
    """Write epochNNN.pt (when among the top k; weights only), best-epochNNN.pt (when improved), then
    last.pt, which commits the epoch."""
    kwargs = dict(epoch=state.epoch, optimizer=optimizer, scheduler=scheduler, early_stopping=stopper,
                  best_metric=state.best_metric, best_epoch=state.best_epoch, rng=state.rng,
                  history=state.history, meta=state.meta)
    if keep_epoch:
        save_checkpoint(epoch_path(run_dir, state.epoch), model, config,
                        **{**kwargs, "optimizer": None, "scheduler": None, "early_stopping": None})
    if is_best:
        save_checkpoint(kept_best_path(run_dir, state.epoch), model, config, **kwargs)
    save_checkpoint(run_dir / "last.pt", model, config, **kwargs)


def _diff_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            out.extend(_diff_keys(a.get(key), b.get(key), f"{prefix}{key}."))
        return out
    return [] if a == b else [prefix.rstrip(".")]
