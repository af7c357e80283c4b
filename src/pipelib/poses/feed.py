"""Decode and prepare the frames of a shard's videos ahead of inference, on worker threads, in order.

One decoder thread opens the videos one after another and walks each one's frames once (every frame
is decoded exactly once), handing each frame to a pool of ``workers`` threads that run the
estimator's ``prepare`` (resize, crop, normalise). Prepared frames reach the consumer in video and
frame order through a queue bounded to ``depth`` frames, so memory stays bounded however far decoding
runs ahead; decoding continues into the next video while the consumer finishes the current one, so
the model does not wait at video boundaries. OpenCV decoding and resizing, NumPy and the model
runtimes release the GIL, so these threads overlap with inference on the consumer's thread.

An error while opening, decoding or preparing frame ``k`` of a video is raised in the consumer when
it reaches frame ``k`` of that video; the next video is unaffected. Closing the feed (or leaving its
``with`` block) stops the threads, so a failure never hangs the job. :attr:`FrameFeed.wait_s` is the
time the consumer spent waiting for prepared frames.
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
#: (video key, a function opening the video's frame iterator)
VideoSource = tuple[str, Callable[[], Iterable[np.ndarray]]]

_DONE = object()
_POLL_S = 0.05
_START, _FRAME, _END, _FAIL = "start", "frame", "end", "fail"


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
    """Decode ``videos`` and run ``prepare`` on their frames ahead of the consumer.

    ``videos``: (key, open) pairs, ``open()`` returning the video's frames; ``workers`` preparation
    threads (None: :func:`default_workers`), at most ``depth`` frames queued. Iterate
    :meth:`videos`; use as a context manager, or call :meth:`close`.
    """

    def __init__(self, videos: Iterable[VideoSource], prepare: Callable[[np.ndarray], Any],
                 workers: int | None = None, depth: int = 16) -> None:
        self.workers = workers or default_workers()
        self.depth = max(int(depth), 1)
        self.wait_s = 0.0
        self._videos = videos
        self._prepare = prepare
        self._queue: queue.Queue = queue.Queue(maxsize=self.depth)
        self._stop = threading.Event()
        self._open: Iterable[np.ndarray] | None = None
        self._ended = -1       # index of the last video whose end (or failure) the consumer has read
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="prepare")
        self._thread = threading.Thread(target=self._decode, name="decode", daemon=True)
        self._thread.start()

    @classmethod
    def of_frames(cls, frames: Iterable[np.ndarray], prepare: Callable[[np.ndarray], Any],
                  workers: int | None = None, depth: int = 16) -> FrameFeed:
        """A feed of one video's ``frames``."""
        return cls([("", lambda: frames)], prepare, workers, depth)

    # ---------------------------------------------------------------- decoder thread

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
            for index, (key, open_frames) in enumerate(self._videos):
                if not self._put((_START, index, key)):
                    return
                try:
                    self._open = open_frames()
                    for frame in self._open:
                        job = self._pool.submit(_prepare_one, self._prepare, frame)
                        if not self._put((_FRAME, index, job)):
                            return
                except Exception as exc:  # this video's failure, handed over at its position
                    if not self._put((_FAIL, index, exc)):
                        return
                    continue
                finally:
                    self._close_open()
                if not self._put((_END, index, None)):
                    return
            self._put(_DONE)
        except BaseException as exc:  # not tied to a video (the video list itself failed)
            self._put((_FAIL, -1, exc))

    def _close_open(self) -> None:
        close = getattr(self._open, "close", None)
        self._open = None
        if callable(close):  # a generator: release its file / capture now
            close()

    # ---------------------------------------------------------------- consumer

    def _get(self) -> Any:
        """The next queued item; raises if the decoder thread died without queueing one."""
        t0 = time.perf_counter()
        try:
            while True:
                try:
                    return self._queue.get(timeout=_POLL_S)
                except queue.Empty:
                    if not self._thread.is_alive() and self._queue.empty():
                        raise RuntimeError("the frame decoding thread stopped without a result") from None
        finally:
            self.wait_s += time.perf_counter() - t0

    def videos(self) -> Iterator[tuple[str, Iterator[Prepared]]]:
        """(key, prepared frames) per video, in order. A video's iterator raises that video's error;
        a video left before its end is skipped."""
        while True:
            item = self._get()
            if item is _DONE:
                return
            kind, index, payload = item
            if kind == _FAIL and index < 0:
                raise payload
            if index <= self._ended:
                continue                      # rest of a video the consumer has finished with
            if kind == _START:
                yield payload, self._frames_of(index)
                self._ended = max(self._ended, index)
            elif isinstance(payload, Future):
                payload.cancel()              # left over from a video the consumer gave up on

    def _frames_of(self, index: int) -> Iterator[Prepared]:
        while True:
            item = self._get()
            if item is _DONE:
                raise RuntimeError("the frame feed ended inside a video")
            kind, at, payload = item
            if at != index:
                raise RuntimeError(f"frame feed out of order: item of video {at} inside video {index}")
            if kind == _END:
                self._ended = index
                return
            if kind == _FAIL:
                self._ended = index
                raise payload
            t0 = time.perf_counter()
            try:
                prepared = payload.result()   # re-raises what prepare raised
            finally:
                self.wait_s += time.perf_counter() - t0
            yield prepared

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` on the feed's worker threads (e.g. per-frame work after inference)."""
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        """Stop decoding and preparing, and wait for the threads to finish their current frame."""
        self._stop.set()
        while self._thread.is_alive():
            self._drain()
            self._thread.join(timeout=_POLL_S)
        self._drain()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, tuple) and isinstance(item[2], Future):
                item[2].cancel()

    def __enter__(self) -> FrameFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def batches(frames: Iterable[Prepared], size: int) -> Iterator[list[Prepared]]:
    """Consecutive prepared frames in lists of ``size`` (the last may be shorter)."""
    batch: list[Prepared] = []
    for item in frames:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
