"""Run one estimator slot over the videos of one manifest shard into one HDF5 shard.

Frame backends decode each video once (decoding runs in a prefetch thread, overlapping the model);
derived backends read the MediaPipe shard of the same videos instead. A video that cannot be
decoded or processed is recorded in the shard's failure table with its reason; the job fails only
when failures exceed ``max_failure_fraction``, after logging every reason.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelib import provenance
from pipelib.datasets.frames import iter_frames
from pipelib.estimators import registry
from pipelib.estimators.base import SLOT_DIMS, DerivedEstimator, FrameEstimator
from pipelib.io import shards

log = logging.getLogger("pipelib.poses")


class ExtractionError(RuntimeError):
    """Too many videos of a shard failed."""


def prefetch(frames: Iterable[np.ndarray], depth: int = 8) -> Iterator[np.ndarray]:
    """Iterate ``frames`` while a background thread decodes up to ``depth`` frames ahead.

    Exceptions raised while decoding are re-raised in the consumer at the failing position.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for f in frames:
                if stop.is_set():
                    return
                q.put(f)
            q.put(done)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(timeout=0.05)


def run_frame_estimator(est: FrameEstimator, video_id: str,
                        frames: Iterable[np.ndarray]) -> shards.VideoArrays:
    """Apply a frame backend to every frame of one video; stack features, validity and extras."""
    est.start_video()
    feats, valid, extras = [], [], {}
    size = None
    for frame in frames:
        if size is None:
            size = [int(frame.shape[1]), int(frame.shape[0])]
        out = est.process(frame)
        feats.append(out.features)
        valid.append(out.valid)
        for k, v in out.extras.items():
            extras.setdefault(k, []).append(v)
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
) -> dict[str, Any]:
    """Write the ``slot`` features of every manifest video in ``shard`` to ``out_path``.

    Returns a summary: videos ok / failed, frames, valid-frame fraction, frames per second.
    Raises :class:`ExtractionError` (after the reasons are logged) past ``max_failure_fraction``.
    """
    rows = manifest[manifest["shard"] == shard].sort_values("id")
    est = registry.build(slot, estimator_cfg)
    dim = SLOT_DIMS[slot]
    prov = provenance.collect(provenance_section if provenance_section is not None else dict(estimator_cfg),
                              inputs=inputs)
    prov["estimator"] = est.provenance()
    attrs = {"slot": slot, "dim": dim, "backend": estimator_cfg["backend"], "shard": shard,
             "provenance": prov}
    held = set(shards.video_ids(holistic_path)) if holistic_path else set()
    upstream = dict(shards.read_failures(holistic_path)) if holistic_path else {}

    n_frames = n_valid = 0
    t0 = time.perf_counter()
    with shards.ShardWriter(out_path, attrs=attrs) as writer:
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
                    video = run_frame_estimator(est, vid, prefetch(iter_frames(row.source, row.media)))
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
            log.info("[%d/%d] %s: %d frames, %d valid, %.1f frames/s so far", i, len(rows), vid,
                     video.n_frames, int(video.mask.sum()), rate)
        n_failed = writer.n_failed
    if hasattr(est, "close"):
        est.close()

    elapsed = time.perf_counter() - t0
    summary = {"slot": slot, "shard": shard, "videos": len(rows), "failed": n_failed,
               "frames": n_frames, "valid_fraction": n_valid / max(n_frames, 1),
               "frames_per_s": n_frames / max(elapsed, 1e-9)}
    log.info("done: %s", summary)
    if rows.shape[0] and n_failed / len(rows) > max_failure_fraction:
        raise ExtractionError(
            f"{n_failed} of {len(rows)} videos of shard {shard} failed for slot {slot} "
            f"(limit extraction.max_failure_fraction={max_failure_fraction}); each reason is logged "
            f"above; fix or remove those videos, or raise the limit, then re-run {Path(out_path)}"
        )
    return summary
