"""Iterate a batch source in a background thread, a few items ahead, so a training step need not wait.

:class:`Prefetcher` yields the items of its source unchanged and in order; a producer thread builds the
next ``depth`` items while the consumer works on the current one. An exception raised by the source is
re-raised by ``next()`` in the consumer (after the items before it), and :meth:`Prefetcher.close` stops
the producer, closes the source iterator and joins the thread, also mid-way.

Determinism: the source runs in another thread, concurrently with the consumer, so it must not draw from
the global random generators (torch, numpy, ``random``) that the consumer uses too: their draws would
interleave in an order that depends on timing. Sources whose randomness comes from their own seeded
generators (``pipelib.batching.batch_indices``, per-item ``numpy.random.default_rng([seed, ...])``) give
the same items with or without prefetching.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"
#: batches a training run keeps built ahead (one for the next step and one spare against jitter)
PREFETCH_DEPTH = 2
_POLL_S = 0.05  # how often a producer blocked on a full queue checks whether it was stopped


class Prefetcher(Generic[T]):
    """Iterator over ``source`` whose items are produced ``depth`` ahead in a daemon thread."""

    def __init__(self, source: Iterable[T], depth: int = 1, name: str = "prefetch") -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"prefetch depth must be an int >= 1, got {depth!r}")
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._produce, args=(source,), name=name, daemon=True)
        self._thread.start()

    def _put(self, message: tuple[str, Any]) -> bool:
        """Queue one message unless stopped first; True when queued."""
        while not self._stop.is_set():
            try:
                self._queue.put(message, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, source: Iterable[T]) -> None:
        iterator: Iterator[T] | None = None
        try:
            iterator = iter(source)
            for item in iterator:
                if not self._put((_ITEM, item)):
                    return
            self._put((_END, None))
        except BaseException as err:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put((_ERROR, err))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a generator's finally blocks run here, in the thread that ran it

    def __iter__(self) -> Prefetcher[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _ITEM:
            return value
        self._finished = True
        self._thread.join()
        if kind == _ERROR:
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop the producer (items not yet taken are dropped) and wait for its thread to end."""
        self._finished = True
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):  # free a slot: a producer blocked in put() sees the stop
                self._queue.get_nowait()
            self._thread.join(timeout=_POLL_S)

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
