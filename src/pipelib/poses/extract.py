"""Run one estimator slot over the videos of one manifest shard into one HDF5 shard.

Frame backends decode each video once; decoding and the backend's preprocessing run ahead on
worker threads (:mod:`pipelib.poses.feed`) while the model runs on batches of frames, and the log
reports frames/s and the fraction of time inference waited for input. Derived backends read the
MediaPipe shard of the same videos instead. A video that cannot be
decoded or processed is recorded in the shard's failure table with its reason; the job fails only
when failures exceed ``max_failure_fraction``, after logging every reason.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelib import provenance
from pipelib.datasets.frames import iter_frames
from pipelib.errors import DataError
from pipelib.estimators import registry
from pipelib.estimators.base import SLOT_DIMS, BatchedEstimator, DerivedEstimator, FrameEstimator, FrameOutput
from pipelib.io import shards
from pipelib.poses.feed import FrameFeed, Prepared, batches, default_workers

log = logging.getLogger("pipelib.poses")


class ExtractionError(DataError, RuntimeError):
    """Too many videos of a shard failed."""


@dataclass
class FeedStats:
    """Time spent by the inference loop of one extraction, over ``frames`` frames: ``wait_s`` waiting
    for decoded and prepared input, ``infer_s`` in the models, ``finish_wait_s`` waiting for per-frame
    work still running on the worker threads."""

    frames: int = 0
    wait_s: float = 0.0
    infer_s: float = 0.0
    finish_wait_s: float = 0.0

    @property
    def wait_fraction(self) -> float:
        """Fraction of the inference loop's time spent waiting for input (0: never starved)."""
        busy = self.wait_s + self.infer_s + self.finish_wait_s
        return self.wait_s / busy if busy > 0 else 0.0

    def add(self, other: FeedStats) -> None:
        self.frames += other.frames
        self.wait_s += other.wait_s
        self.infer_s += other.infer_s
        self.finish_wait_s += other.finish_wait_s


def feed_depth(batch_size: int, workers: int) -> int:
    """Frames queued ahead of inference: 2 batches or 2 frames per worker, at least 8."""
    return max(2 * batch_size, 2 * workers, 8)


def run_frame_estimator(est: FrameEstimator, video_id: str, frames: Iterable[np.ndarray], *,
                        workers: int | None = None, depth: int | None = None,
                        stats: FeedStats | None = None) -> shards.VideoArrays:
    """Apply a frame backend to every frame of one video (see :func:`infer_video`).

    Frames are decoded and prepared ahead by a :class:`~pipelib.poses.feed.FrameFeed` (``workers``
    threads, ``depth`` frames queued; None: :func:`feed_depth`). Time spent is added to ``stats``.
    """
    n_workers = workers or default_workers()
    depth = depth or feed_depth(max(int(est.batch_size), 1), n_workers)
    with FrameFeed.of_frames(frames, est.prepare, workers=n_workers, depth=depth) as feed:
        _, prepared = next(feed.videos())
        local = FeedStats()
        try:
            return infer_video(est, video_id, prepared, feed, local)
        finally:
            local.wait_s = feed.wait_s
            if stats is not None:
                stats.add(local)


def infer_video(est: FrameEstimator, video_id: str, prepared: Iterable[Prepared], feed: FrameFeed,
                stats: FeedStats) -> shards.VideoArrays:
    """Features, validity and extras of one video from its prepared frames, in frame order.

    Frames are inferred ``est.batch_size`` at a time; a :class:`BatchedEstimator`'s per-frame
    ``finish`` runs on the feed's worker threads while the next batch is inferred (at most 2 batches
    in flight). Inference and finishing times are added to ``stats`` (not the input wait, which the
    feed keeps).
    """
    est.start_video()
    feats, valid, extras = [], [], {}
    size = None
    batch = max(int(est.batch_size), 1)
    split = isinstance(est, BatchedEstimator)
    pending: deque[Future | FrameOutput] = deque()

    def collect(item: Future | FrameOutput) -> None:
        if isinstance(item, Future):
            t0 = time.perf_counter()
            item = item.result()              # re-raises what finish raised
            stats.finish_wait_s += time.perf_counter() - t0
        feats.append(item.features)
        valid.append(item.valid)
        for k, v in item.extras.items():
            extras.setdefault(k, []).append(v)

    try:
        for items in batches(prepared, batch):
            if size is None:
                size = [int(items[0][0][1]), int(items[0][0][0])]
            inputs = [p for _, p in items]
            t0 = time.perf_counter()
            if split:
                outs: list[Any] = [feed.submit(est.finish, raw) for raw in est.infer(inputs)]
            else:
                outs = est.process_batch(inputs)
            stats.infer_s += time.perf_counter() - t0
            if len(outs) != len(items):
                raise RuntimeError(f"{type(est).__name__} returned {len(outs)} outputs for "
                                   f"{len(items)} frames")
            pending.extend(outs)
            while len(pending) > 2 * batch:
                collect(pending.popleft())
        while pending:
            collect(pending.popleft())
    finally:
        for item in pending:                  # a failed video: drop its unfinished work
            if isinstance(item, Future):
                item.cancel()
    stats.frames += len(feats)
    if not feats:
        raise ValueError("no frames could be decoded")
    return shards.VideoArrays(
        video_id=video_id,
        features=np.stack(feats).astype(np.float32),
        mask=np.asarray(valid, dtype=bool),
        extras={k: np.stack(v) for k, v in extras.items()},
        attrs={"image_size": size},
    )


def extract_shard(
    manifest: pd.DataFrame,
    shard: int,
    slot: str,
    estimator_cfg: Mapping[str, Any],
    out_path: str | os.PathLike[str],
    *,
    holistic_path: str | os.PathLike[str] | None = None,
    max_failure_fraction: float = 0.05,
    provenance_section: Any = None,
    inputs: Iterable[str] = (),
    gpu_booked: bool = False,
    workers: int | None = None,
) -> dict[str, Any]:
    """Write the ``slot`` features of every manifest video in ``shard`` to ``out_path``.

    ``gpu_booked``: the job booked a GPU (see :mod:`pipelib.estimators.placement`); ``workers``:
    decoding/preparation threads (None: the CPUs available minus one).
    Returns a summary: videos ok / failed, frames, valid-frame fraction, frames per second and the
    fraction of time inference waited for input. Raises :class:`ExtractionError` (after the reasons
    are logged) past ``max_failure_fraction``.
    """
    rows = manifest[manifest["shard"] == shard].sort_values("id")
    est = registry.build(slot, estimator_cfg, gpu_booked=gpu_booked)
    dim = SLOT_DIMS[slot]
    n_workers = workers or default_workers()
    if isinstance(est, FrameEstimator):
        where = est.placement.describe() if est.placement is not None else "frame by frame"
        log.info("slot %s, backend %s: %s; %d decode/prepare worker thread(s)", slot,
                 estimator_cfg["backend"], where, n_workers)
    prov = provenance.collect(provenance_section if provenance_section is not None else dict(estimator_cfg),
                              inputs=inputs)
    prov["estimator"] = est.provenance()
    attrs = {"slot": slot, "dim": dim, "backend": estimator_cfg["backend"], "shard": shard,
             "provenance": prov}
    held = set(shards.video_ids(holistic_path)) if holistic_path else set()
    upstream = dict(shards.read_failures(holistic_path)) if holistic_path else {}

    n_frames = n_valid = 0
    stats = FeedStats()
    t0 = time.perf_counter()
    with shards.ShardWriter(out_path, attrs=attrs) as writer, contextlib.ExitStack() as stack:
        if isinstance(est, FrameEstimator):  # one feed for the shard: decoding runs on into the next video
            sources = [(row.id, functools.partial(iter_frames, row.source, row.media))
                       for row in rows.itertuples(index=False)]
            feed = stack.enter_context(FrameFeed(sources, est.prepare, workers=n_workers,
                                                 depth=feed_depth(max(int(est.batch_size), 1), n_workers)))
            videos = feed.videos()
        for i, row in enumerate(rows.itertuples(index=False), start=1):
            vid = row.id
            try:
                if isinstance(est, DerivedEstimator):
                    if vid not in held:
                        raise ValueError(f"mediapipe shard has no result: {upstream.get(vid, 'missing')}")
                    hol = shards.read_video(holistic_path, vid)
                    feats, mask = est.process_video(hol)
                    video = shards.VideoArrays(vid, feats, mask, attrs=dict(hol.attrs))
                else:
                    key, prepared = next(videos)
                    if key != vid:
                        raise RuntimeError(f"frame feed out of order: got video {key} for {vid}")
                    try:
                        video = infer_video(est, vid, prepared, feed, stats)
                    finally:
                        stats.wait_s = feed.wait_s
                if video.features.shape[1] != dim:
                    raise ValueError(f"backend returned {video.features.shape[1]} dims, slot needs {dim}")
            except Exception as exc:  # one bad video must not lose the shard
                reason = f"{type(exc).__name__}: {exc}"
                writer.fail(vid, reason)
                log.warning("[%d/%d] %s failed: %s", i, len(rows), vid, reason)
                continue
            writer.write(video)
            n_frames += video.n_frames
            n_valid += int(video.mask.sum())
            rate = n_frames / max(time.perf_counter() - t0, 1e-9)
            waited = (f", inference waited for input {100 * stats.wait_fraction:.0f}% of the time"
                      if isinstance(est, FrameEstimator) else "")
            log.info("[%d/%d] %s: %d frames, %d valid, %.1f frames/s so far%s", i, len(rows), vid,
                     video.n_frames, int(video.mask.sum()), rate, waited)
        n_failed = writer.n_failed
    if hasattr(est, "close"):
        est.close()

    elapsed = time.perf_counter() - t0
    summary = {"slot": slot, "shard": shard, "videos": len(rows), "failed": n_failed,
               "frames": n_frames, "valid_fraction": n_valid / max(n_frames, 1),
               "frames_per_s": n_frames / max(elapsed, 1e-9),
               "input_wait_fraction": stats.wait_fraction}
    if isinstance(est, FrameEstimator):
        log.info("%d frames in %.1f s: %.1f frames/s; inference waited for decoded/prepared input %.1f%% "
                 "of the time (%.1f s waiting, %.1f s inferring, %.1f s waiting for per-frame finishing)",
                 n_frames, elapsed, summary["frames_per_s"], 100 * stats.wait_fraction, stats.wait_s,
                 stats.infer_s, stats.finish_wait_s)
    log.info("done: %s", summary)
    if rows.shape[0] and n_failed / len(rows) > max_failure_fraction:
        raise ExtractionError(
            f"{n_failed} of {len(rows)} videos of shard {shard} failed for slot {slot} "
            f"(limit extraction.max_failure_fraction={max_failure_fraction}); each reason is logged "
            f"above; fix or remove those videos, or raise the limit, then re-run {Path(out_path)}"
        )
    return summary
