"""Augmentation-shard writing vs a bare h5py write of the same arrays, and random-key reads, in one run.

    .venv/bin/python benchmarks/bench_aug_shards.py [--videos 200] [--dim 1024] [--n-aug 10] [--dir D]

Builds ``--videos`` random latent sequences (100..300 frames x ``--dim`` float32) and times, in the same
process and file system, alternating ``--repeats`` times (best of each kept):

(a) bare write: ``h5py.File(path, "w")`` + one ``create_dataset`` per key for the very arrays the shard
    holds (originals and versions, computed beforehand, in memory), same chunks, no compression;
(b) bare loop: the simplest end-to-end job, augmenting inline and calling ``create_dataset`` per key;
(c) ``write_aug_shard`` on the originals, computing the versions inline (0) or in 1, 2 threads.

Throughputs are MB of array data per second. "HDF5 calls only" divides by the time (c) spends inside
h5py (file open/close and index included, augmentation compute excluded): the like-for-like comparison
with (a), target >= 0.8, cleanest in the inline run where no compute thread competes for CPU and GIL.
"end to end" divides by the whole run of (c), compute included, compared with (a) and (b). On a
disk-backed ``--dir`` the kernel's writeback of dirty pages overlaps the longer writer runs but not the
~1 s bare write; ``--dir /dev/shm`` removes that. Reads: mean and p95 ms of ``--reads`` random
``"{i}_{j}"`` reads through ``AugShardReader`` from the shard just written (warm page cache), for
time-chunked and contiguous layouts; then LZF size and speed on a 20-video subset.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from pipelib.signx.aug_shards import AugShardReader, chunk_shape, write_aug_shard
from pipelib.signx.augment import AugmentConfig, augment, version_rng


def make_videos(n: int, dim: int, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(str(i), rng.standard_normal((int(rng.integers(100, 301)), dim), dtype=np.float32))
            for i in range(n)]


def all_arrays(videos, cfg: AugmentConfig, n_aug: int, seed: int) -> list[tuple[str, np.ndarray]]:
    out = []
    for i, x in videos:
        out.append((i, x))
        out.extend((f"{i}_{j}", augment(x, cfg, version_rng(seed, i, j))[0]) for j in range(n_aug))
    return out


def bare_write(arrays, path: Path, chunk_frames: int | None, compression: str | None) -> float:
    t0 = time.perf_counter()
    with h5py.File(path, "w") as h5:
        for key, a in arrays:
            h5.create_dataset(key, data=a, chunks=chunk_shape(a.shape[0], a.shape[1], chunk_frames),
                              compression=compression)
    return time.perf_counter() - t0


def bare_loop(videos, path: Path, cfg: AugmentConfig, n_aug: int, seed: int, chunk_frames: int | None
              ) -> float:
    """The simplest end-to-end job: augment inline and ``create_dataset`` each key, nothing else."""
    t0 = time.perf_counter()
    with h5py.File(path, "w") as h5:
        for i, x in videos:
            for key, a in [(i, x)] + [(f"{i}_{j}", augment(x, cfg, version_rng(seed, i, j))[0])
                                      for j in range(n_aug)]:
                h5.create_dataset(key, data=a, chunks=chunk_shape(a.shape[0], a.shape[1], chunk_frames))
    return time.perf_counter() - t0


def read_times(path: Path, videos, n_aug: int, reads: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    with AugShardReader([path], n_aug) as reader:
        reader.read(videos[0][0], 0)  # opens the file
        ms = []
        for i, j in zip(rng.integers(0, len(videos), reads), rng.integers(0, n_aug, reads), strict=True):
            t0 = time.perf_counter()
            reader.read(videos[i][0], int(j))
            ms.append((time.perf_counter() - t0) * 1e3)
    return np.array(ms)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--n-aug", type=int, default=10)
    ap.add_argument("--chunk-frames", type=int, default=64)
    ap.add_argument("--workers", default="0,1,2", help="augmentation threads to try, comma-separated")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--reads", type=int, default=1000)
    ap.add_argument("--dir", default=None, help="where to write the test files (default: a temp dir)")
    args = ap.parse_args()
    cfg, seed = AugmentConfig(), 0
    videos = make_videos(args.videos, args.dim)
    t0 = time.perf_counter()
    arrays = all_arrays(videos, cfg, args.n_aug, seed)
    aug_inline = time.perf_counter() - t0
    mb = sum(a.nbytes for _, a in arrays) / 1e6
    print(f"{args.videos} videos x {1 + args.n_aug} keys x (100..300, {args.dim}) float32: "
          f"{len(arrays)} keys, {mb:.0f} MB; chunks <= {args.chunk_frames} frames, no compression")
    print(f"augmentation compute alone, one thread: {aug_inline:.2f} s ({mb / aug_inline:.0f} MB/s out)")

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        workers = [int(w) for w in args.workers.split(",")]
        bare_s: list[float] = []
        loop_s: list[float] = []
        runs: dict[int, list[dict]] = {w: [] for w in workers}
        for _ in range(args.repeats):
            bare_s.append(bare_write(arrays, tmp / "bare.h5", args.chunk_frames, None))
            (tmp / "bare.h5").unlink()
            loop_s.append(bare_loop(videos, tmp / "loop.h5", cfg, args.n_aug, seed, args.chunk_frames))
            (tmp / "loop.h5").unlink()
            for w in workers:
                s = write_aug_shard(videos, tmp / "aug.h5", cfg, args.n_aug, seed, {"bench": True},
                                    chunk_frames=args.chunk_frames, workers=w)
                assert abs(s["bytes"] / 1e6 - mb) < 1e-6
                runs[w].append(s)
                if w != workers[-1]:
                    (tmp / "aug.h5").unlink()
        bare, loop = mb / min(bare_s), mb / min(loop_s)
        print(f"(a) bare h5py write, arrays precomputed: {bare:6.0f} MB/s  (best of {args.repeats})")
        print(f"(b) bare loop, augment inline + write:   {loop:6.0f} MB/s")
        for w in workers:
            io = mb / min(s["write_seconds"] for s in runs[w])
            end = mb / min(s["seconds"] for s in runs[w])
            label = "inline" if w == 0 else f"{w} thread(s)"
            print(f"(c) writer, augmentation {label:>11}: HDF5 calls only {io:6.0f} MB/s = "
                  f"{io / bare:.3f} x (a); end to end {end:6.0f} MB/s = {end / bare:.3f} x (a), "
                  f"{end / loop:.3f} x (b)")
        print("target: HDF5 calls only >= 0.8 x (a)")

        ms = read_times(tmp / "aug.h5", videos, args.n_aug, args.reads)
        print(f"random '{{i}}_{{j}}' read, chunked:    mean {ms.mean():.2f} ms, p95 "
              f"{np.percentile(ms, 95):.2f} ms over {args.reads} reads")
        (tmp / "aug.h5").unlink()

        s = write_aug_shard(videos, tmp / "flat.h5", cfg, args.n_aug, seed, chunk_frames=None, workers=0)
        ms = read_times(tmp / "flat.h5", videos, args.n_aug, args.reads)
        print(f"random '{{i}}_{{j}}' read, contiguous: mean {ms.mean():.2f} ms, p95 "
              f"{np.percentile(ms, 95):.2f} ms; writer HDF5-only {mb / s['write_seconds']:.0f} MB/s")
        (tmp / "flat.h5").unlink()

        sub = arrays[: 20 * (1 + args.n_aug)]
        sub_mb = sum(a.nbytes for _, a in sub) / 1e6
        t_none = bare_write(sub, tmp / "none.h5", args.chunk_frames, None)
        t_lzf = bare_write(sub, tmp / "lzf.h5", args.chunk_frames, "lzf")
        size_ratio = (tmp / "lzf.h5").stat().st_size / (tmp / "none.h5").stat().st_size
        print(f"LZF on 20 videos: {sub_mb / t_lzf:.0f} MB/s vs {sub_mb / t_none:.0f} MB/s uncompressed, "
              f"file size x{size_ratio:.3f}")


if __name__ == "__main__":
    main()
