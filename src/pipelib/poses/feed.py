"""Decode and prepare frames ahead of inference on worker threads, in frame order.

One decoder thread walks the frame iterator once (each frame is decoded exactly once) and hands every
frame to a pool of ``workers`` threads that run the estimator's ``prepare`` (resize, crop, normalise).
The prepared frames reach the consumer in frame order through a queue bounded to ``depth`` frames, so
memory stays bounded however far decoding runs ahead. OpenCV decoding and resizing, NumPy and the
model runtimes release the GIL, so these threads overlap with inference on the consumer's thread.

An error while decoding or preparing frame ``k`` is raised in the consumer when it reaches frame ``k``;
closing the feed (or leaving its ``with`` block) stops the threads, so a failing video never hangs
the job. :attr:`FrameFeed.wait_s` is the time the consumer spent waiting for prepared frames.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

Prepared = tuple[tuple[int, ...], Any]  # (frame shape (H, W, 3), what prepare returned)

_DONE = object()
_POLL_S = 0.05


class _Failed:
    """An exception raised by the decoder, queued at the position where it happened."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def default_workers() -> int:
    """Preparation threads when none are configured: the CPUs this process may use, minus one
    for decoding, at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus - 1)


def _prepare_one(prepare: Callable[[np.ndarray], Any], frame: np.ndarray) -> Prepared:
    return tuple(frame.shape), prepare(frame)


class FrameFeed:
    """Iterate ``(frame shape, prepare(frame))`` over ``frames`` while threads work ahead.

    ``workers`` preparation threads (None: :func:`default_workers`), at most ``depth`` frames queued.
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, frames: Iterable[np.ndarray], prepare: Callable[[np.ndarray], Any],
                 workers: int | None = None, depth: int = 16) -> None:
        self.workers = workers or default_workers()
        self.depth = max(int(depth), 1)
        self.wait_s = 0.0
        self._frames = frames
        self._prepare = prepare
        self._queue: queue.Queue = queue.Queue(maxsize=self.depth)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="prepare")
        self._thread = threading.Thread(target=self._decode, name="decode", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        """Queue ``item``, waiting for room; False when the feed was closed meanwhile."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _decode(self) -> None:
        try:
            for frame in self._frames:
                if self._stop.is_set():
                    return
                if not self._put(self._pool.submit(_prepare_one, self._prepare, frame)):
                    return
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer at this position
            self._put(_Failed(exc))

    def _get(self) -> Any:
        """The next queued item; raises if the decoder thread died without queueing one."""
        while True:
            try:
                return self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise RuntimeError("the frame decoding thread stopped without a result") from None

    def __iter__(self) -> Iterator[Prepared]:
        while True:
            t0 = time.perf_counter()
            item = self._get()
            try:
                if isinstance(item, Future):
                    item = item.result()          # re-raises what prepare raised
            finally:
                self.wait_s += time.perf_counter() - t0
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item

    def batches(self, size: int) -> Iterator[list[Prepared]]:
        """Consecutive prepared frames in lists of ``size`` (the last may be shorter)."""
        batch: list[Prepared] = []
        for item in self:
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def close(self) -> None:
        """Stop decoding and preparing, and wait for the threads to finish their current frame."""
        self._stop.set()
        while self._thread.is_alive():
            self._drain()
            self._thread.join(timeout=_POLL_S)
        self._drain()
        self._pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(self._frames, "close", None)
        if callable(close):  # a generator: release its file / capture now
            close()

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Future):
                item.cancel()

    def __enter__(self) -> FrameFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
