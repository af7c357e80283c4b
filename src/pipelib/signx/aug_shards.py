"""Augmentation shards: each training video's latents plus ``n_aug`` augmented versions in one HDF5.

Layout of one shard (keys as SLTUNet's merged feature files, so ``h5[f"{i}_{j}"]`` reads a version)::

    /{i}            (T, D) float32   the original latents of video index ``i``, unaugmented
    /{i}_{j}        (T_j, D) float32 augmented version j = 0..n_aug-1 (see pipelib.signx.augment)
    /_index/index   (n,) str         the video indices in write order
    /_index/length  (n, 1 + n_aug) int32   frames of the original, then of each version
    /_index/scale   (n, n_aug) float32     temporal factor drawn for each version
    /_index/jittered (n, n_aug) bool       whether each version was jittered
    /               attrs: format, n_aug, seed, dim, chunk_frames, compression,
                    augmentation (JSON config), provenance (JSON)

Arrays are stored uncompressed by default (augmented latents are noise-dominated: LZF saves 0.2 % and
writes about 10x slower, see benchmarks/bench_aug_shards.py) and chunked along time into near-equal
pieces of at most ``chunk_frames`` frames, so reading a whole key touches few chunks and the last chunk
pads at most a few frames.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pipelib.io.atomic import atomic_path
from pipelib.io.shards import encode_attr, read_attrs
from pipelib.signx.augment import AugmentConfig, augment, augment_config, index_entropy, version_rng

FORMAT = "signx-aug-shard/1"
INDEX_GROUP = "_index"
_STR = h5py.string_dtype("utf-8")
_READ_TAG = 0x5EAD  # keeps the reader's version draws apart from the writer's augmentation streams


def version_key(index: str, version: int | None = None) -> str:
    """HDF5 key of the original (``version`` None) or of augmented version ``version``."""
    return index if version is None else f"{index}_{version}"


def chunk_shape(n_frames: int, dim: int, chunk_frames: int | None) -> tuple[int, int] | None:
    """Chunks for a (n_frames, dim) array: None (contiguous) or near-equal time pieces of at most
    ``chunk_frames`` frames, e.g. 200 frames at 64 -> (50, dim)."""
    if chunk_frames is None:
        return None
    pieces = math.ceil(n_frames / chunk_frames)
    return (math.ceil(n_frames / pieces), dim)


def _check_index(index: str) -> str:
    if not isinstance(index, str) or not index or "/" in index or index in {".", "..", INDEX_GROUP}:
        raise ValueError(
            f"video index {index!r} cannot be an augmentation-shard key: use a non-empty string "
            f"without '/' other than {INDEX_GROUP!r}"
        )
    return index


def _versions(index: str, latents: np.ndarray, cfg: AugmentConfig, n_aug: int, seed: int
              ) -> tuple[list[np.ndarray], list[float], list[bool], float]:
    """The n_aug versions of one video, their factors and jitter flags, and the seconds spent."""
    t0 = time.perf_counter()
    arrays, scales, jitters = [], [], []
    for j in range(n_aug):
        y, params = augment(latents, cfg, version_rng(seed, index, j))
        arrays.append(y)
        scales.append(params.scale)
        jitters.append(params.jittered)
    return arrays, scales, jitters, time.perf_counter() - t0


def _checked(items: Iterable[tuple[str, np.ndarray]]) -> Iterator[tuple[str, np.ndarray]]:
    for index, latents in items:
        x = np.asarray(latents)
        if x.ndim != 2 or x.shape[0] < 1 or not np.issubdtype(x.dtype, np.floating):
            raise ValueError(
                f"video index {index!r}: latents must be a float (T, D) array with T >= 1, got "
                f"{x.dtype} {x.shape}; drop empty videos before writing augmentation shards"
            )
        yield _check_index(index), np.ascontiguousarray(x, dtype=np.float32)


def write_aug_shard(
    items: Iterable[tuple[str, np.ndarray]],
    out_path: str | os.PathLike[str],
    cfg: AugmentConfig | Mapping[str, Any] | None,
    n_aug: int = 10,
    seed: int = 0,
    provenance: Mapping[str, Any] | None = None,
    *,
    chunk_frames: int | None = 64,
    compression: str | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Write one augmentation shard atomically from ``(index, latents (T, D) float32)`` pairs.

    ``cfg``: an AugmentConfig or the ``signx.augmentation`` mapping; version j of video i is
    ``augment(latents, cfg, version_rng(seed, i, j))``.

    ``workers`` background threads compute the augmented versions of the next videos while the
    current one is written (0: compute inline). Returns a summary: videos, keys, bytes (array bytes
    written), seconds (total), write_seconds (time in HDF5 calls, file open/close included) and
    augment_seconds (compute time summed over threads).
    """
    if isinstance(n_aug, bool) or not isinstance(n_aug, int) or n_aug < 1:
        raise ValueError(f"n_aug = {n_aug!r}: use an integer >= 1 (versions per video, 10 in SignX)")
    if chunk_frames is not None and chunk_frames < 1:
        raise ValueError(f"chunk_frames = {chunk_frames!r}: use an integer >= 1 or None (contiguous)")
    cfg = augment_config(cfg)
    t_start = time.perf_counter()
    indices: list[str] = []
    lengths: list[list[int]] = []
    scales: list[list[float]] = []
    jitters: list[list[bool]] = []
    seen: set[str] = set()
    stats = {"bytes": 0, "write_seconds": 0.0, "augment_seconds": 0.0}
    dim: int | None = None

    def put(h5: h5py.File, key: str, arr: np.ndarray) -> None:
        if key in seen:
            raise ValueError(
                f"{out_path}: key {key!r} is written twice (a video index repeats, or index 'a' version "
                "j collides with index 'a_j'); make the video indices unique"
            )
        seen.add(key)
        t0 = time.perf_counter()
        h5.create_dataset(key, data=arr, chunks=chunk_shape(arr.shape[0], arr.shape[1], chunk_frames),
                          compression=compression)
        stats["write_seconds"] += time.perf_counter() - t0
        stats["bytes"] += arr.nbytes

    def jobs(pool: ThreadPoolExecutor | None) -> Iterator[tuple[str, np.ndarray, Any]]:
        """(index, latents, versions) in input order, computed up to ``workers + 1`` videos ahead."""
        pending: deque[tuple[str, np.ndarray, Future]] = deque()
        for index, x in _checked(items):
            if pool is None:
                yield index, x, _versions(index, x, cfg, n_aug, seed)
                continue
            pending.append((index, x, pool.submit(_versions, index, x, cfg, n_aug, seed)))
            if len(pending) > workers:
                i, xi, fut = pending.popleft()
                yield i, xi, fut.result()
        while pending:
            i, xi, fut = pending.popleft()
            yield i, xi, fut.result()

    pool = ThreadPoolExecutor(workers, thread_name_prefix="signx-aug") if workers > 0 else None
    try:
        with atomic_path(out_path) as tmp:
            t0 = time.perf_counter()
            h5 = h5py.File(tmp, "w")
            stats["write_seconds"] += time.perf_counter() - t0
            try:
                for index, x, (arrays, sc, jit, secs) in jobs(pool):
                    if dim is None:
                        dim = x.shape[1]
                    elif x.shape[1] != dim:
                        raise ValueError(
                            f"video index {index!r}: latent dimension {x.shape[1]} differs from {dim} of "
                            f"the shard's first video; one shard holds one latent space"
                        )
                    put(h5, version_key(index), x)
                    for j, y in enumerate(arrays):
                        put(h5, version_key(index, j), y)
                    stats["augment_seconds"] += secs
                    indices.append(index)
                    lengths.append([x.shape[0]] + [y.shape[0] for y in arrays])
                    scales.append(sc)
                    jitters.append(jit)
                t0 = time.perf_counter()
                g = h5.create_group(INDEX_GROUP)
                g.create_dataset("index", data=np.array(indices, dtype=object), dtype=_STR)
                g.create_dataset("length", data=np.array(lengths, dtype=np.int32).reshape(-1, 1 + n_aug))
                g.create_dataset("scale", data=np.array(scales, dtype=np.float32).reshape(-1, n_aug))
                g.create_dataset("jittered", data=np.array(jitters, dtype=bool).reshape(-1, n_aug))
                attrs = {
                    "format": FORMAT, "n_aug": n_aug, "seed": int(seed), "dim": -1 if dim is None else dim,
                    "chunk_frames": -1 if chunk_frames is None else chunk_frames,
                    "compression": compression or "none",
                    "augmentation": cfg.as_dict(), "provenance": dict(provenance or {}),
                }
                for k, v in attrs.items():
                    h5.attrs[k] = encode_attr(v)
            finally:
                h5.close()
                stats["write_seconds"] += time.perf_counter() - t0
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return {"videos": len(indices), "keys": len(seen), **stats,
            "seconds": time.perf_counter() - t_start}


class AugShardReader:
    """Random access to the originals and augmented versions of a set of augmentation shards.

    The index -> file map is built once; files are opened on first use and kept open (one h5py
    handle per file, reopened in a forked child such as a DataLoader worker). With ``cache_bytes`` > 0
    the arrays read stay in memory (read-only) until that many bytes are held, so that a training run
    reads each version from disk once instead of once per epoch that draws it.
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]], n_aug: int, seed: int = 0,
                 cache_bytes: int = 0) -> None:
        self.paths = [Path(p) for p in paths]
        self.n_aug = int(n_aug)
        self.seed = int(seed)
        self.cache_bytes = int(cache_bytes)
        self._cache: dict[str, np.ndarray] = {}  # version key -> array read
        self._cached_bytes = 0
        self._rng = np.random.default_rng(self.seed)
        self._where: dict[str, tuple[int, int]] = {}  # index -> (file number, row in its _index)
        self._lengths: list[np.ndarray] = []
        for k, path in enumerate(self.paths):
            with h5py.File(path, "r") as h5:
                if INDEX_GROUP not in h5 or h5.attrs.get("format") != FORMAT:
                    raise ValueError(f"{path}: not an augmentation shard ({FORMAT}); rebuild it with "
                                     "pipelib.signx.aug_shards.write_aug_shard")
                stored = int(h5.attrs["n_aug"])
                if stored != self.n_aug:
                    raise ValueError(f"{path}: written with n_aug = {stored}, reader asked for "
                                     f"{self.n_aug}; pass n_aug={stored} or rewrite the shard")
                names = [s.decode() if isinstance(s, bytes) else s for s in h5[INDEX_GROUP]["index"][()]]
                self._lengths.append(h5[INDEX_GROUP]["length"][()])
            for row, index in enumerate(names):
                if index in self._where:
                    other = self.paths[self._where[index][0]]
                    raise ValueError(f"video index {index!r} is in both {other} and {path}; "
                                     "each video belongs to one shard")
                self._where[index] = (k, row)
        self._handles: dict[int, h5py.File] = {}
        self._pid = os.getpid()

    def keys(self) -> list[str]:
        """The video indices (keys of the originals), file by file in write order."""
        return list(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, index: object) -> bool:
        return index in self._where

    def _locate(self, index: str) -> tuple[int, int]:
        try:
            return self._where[index]
        except KeyError:
            raise KeyError(f"video index {index!r} is in none of the {len(self.paths)} augmentation "
                           "shard(s) given") from None

    def length(self, index: str, version: int | None = None) -> int:
        """Frames of the original (``version`` None) or of one version, from the index (no array read)."""
        k, row = self._locate(index)
        return int(self._lengths[k][row, 0 if version is None else 1 + version])

    def draw_version(self, index: str, epoch: int | None = None,
                     rng: np.random.Generator | None = None) -> int:
        """A version number in [0, n_aug): fixed by (seed, epoch, index) when ``epoch`` is given,
        else drawn from ``rng``, else from the reader's own generator seeded with ``seed``."""
        if epoch is not None:
            rng = np.random.default_rng([self.seed, _READ_TAG, int(epoch), index_entropy(index)])
        elif rng is None:
            rng = self._rng
        return int(rng.integers(0, self.n_aug))

    def get(self, index: str, train: bool, epoch: int | None = None,
            rng: np.random.Generator | None = None) -> np.ndarray:
        """(T, D) float32: a random augmented version when ``train``, the original otherwise."""
        version = self.draw_version(index, epoch, rng) if train else None
        return self.read(index, version)

    def read(self, index: str, version: int | None = None) -> np.ndarray:
        """(T, D) float32 of the original (``version`` None) or of augmented version ``version``."""
        k, _ = self._locate(index)
        if version is not None and not 0 <= version < self.n_aug:
            raise ValueError(f"version {version} out of range: the shards hold 0..{self.n_aug - 1}")
        key = version_key(index, version)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        array = self._file(k)[key][()]
        if self._cached_bytes + array.nbytes <= self.cache_bytes:
            array.setflags(write=False)
            self._cache[key] = array
            self._cached_bytes += array.nbytes
        return array

    def _file(self, k: int) -> h5py.File:
        if os.getpid() != self._pid:  # forked: the parent's HDF5 handles must not be shared
            self._handles = {}
            self._pid = os.getpid()
        h5 = self._handles.get(k)
        if h5 is None:
            h5 = self._handles[k] = h5py.File(self.paths[k], "r")
        return h5

    def close(self) -> None:
        """Close every open file and drop the cached arrays."""
        for h5 in self._handles.values():
            h5.close()
        self._handles = {}
        self._cache, self._cached_bytes = {}, 0

    def __enter__(self) -> AugShardReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_handles"] = {}
        state["_cache"], state["_cached_bytes"] = {}, 0
        return state


def read_index(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A shard's index and attributes: index (n,), length (n, 1 + n_aug), scale and jittered (n, n_aug),
    attrs (JSON values decoded)."""
    with h5py.File(path, "r") as h5:
        g = h5[INDEX_GROUP]
        out = {
            "index": [s.decode() if isinstance(s, bytes) else s for s in g["index"][()]],
            "length": g["length"][()], "scale": g["scale"][()], "jittered": g["jittered"][()],
        }
    out["attrs"] = read_attrs(path)
    return out
