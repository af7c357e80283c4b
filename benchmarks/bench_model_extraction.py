"""Model backends: the pipeline's extraction job vs a bare batched inference loop, in one run.

    .venv/bin/python benchmarks/bench_model_extraction.py [--model conv|tiny] [--batch 8]
    .venv/bin/python benchmarks/bench_model_extraction.py --backend sapiens_torchscript \\
        --weights /models/sapiens_0.3b_seg_torchscript.pt2 --input-size 1024 768 --device cuda \\
        --precision bf16 --batch 16                                   # real weights on a GPU node

Writes frame folders of ``--videos`` x ``--frames`` PHOENIX-sized (210 x 260) frames, decodes them
once into memory, and for each backend times on those frames:

(a) a bare loop: the backend's model alone on inputs prepared beforehand, in batches of ``--batch``
    and in batches of 1 (the speed-up of batching);
(b) ``pipelib.poses.extract.extract_shard`` end to end (decoding the PNGs, preparing frames on
    worker threads, batched inference, writing the HDF5 shard), at ``--batch`` and at 1.

Every variant runs ``--repeats`` times, interleaved, and the median is kept. Prints the bare loop's
frames/s for batch sizes 1-16 (what the per-device default ``batch_size: null`` was chosen from), the
ratio pipeline / bare at ``--batch`` (target >= 0.9: the model is kept as busy as in a bare loop; end
to end, and without the job's start-up, which a real shard of thousands of frames amortises), the
batched / one-frame speed-ups, the fraction of time inference waited for input, the decodes per frame
and the cost of decoding + preparing alone. On a GPU node decoding runs on the CPU beside the model;
on a CPU the two share the cores, so the pipeline cannot reach the bare loop's rate: there the
benchmark also prints the rate of doing them one after the other (the pipeline should beat it) and
the best rate the shared cores allow.

Without ``--weights`` the models are built here in the backends' contracts, exported to ONNX
(``depth_onnx``) and TorchScript (``depth_torchscript``, ``sapiens_torchscript``) with a dynamic
batch axis: ``--model tiny`` is the tests' kind of model (a few arithmetic ops: the figures then
measure the pipeline's own per-frame overhead), ``--model conv`` a small CNN (about 0.6 GFLOP per
frame at the default sizes) standing in for a real network.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch

from pipelib.datasets import frames as frames_mod
from pipelib.estimators import registry
from pipelib.estimators.placement import DEFAULT_BATCH_SIZE
from pipelib.estimators.sapiens import N_CLASSES
from pipelib.poses import extract

SLOTS = {"depth_onnx": "primedepth", "depth_torchscript": "primedepth", "sapiens_torchscript": "sapiens",
         "smplerx_onnx": "smplerx", "smplerx_torchscript": "smplerx"}
DEFAULT_SIZES = {"primedepth": (224, 224), "sapiens": (256, 192), "smplerx": (256, 192)}


class ConvNet(torch.nn.Module):
    """A small CNN: (B, 3, H, W) -> (B, out, H/4, W/4); ``squeeze`` drops a single output channel."""

    def __init__(self, out: int, width: int = 64, squeeze: bool = False) -> None:
        super().__init__()
        c = width
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, c // 2, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(c // 2, c, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(c, c, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(c, c, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(c, out, 1),
        )
        self.squeeze = squeeze

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        y = self.body(image)
        return y[:, 0] if self.squeeze else y


class TinyDepth(torch.nn.Module):
    """The tests' depth model: normalised R - B (B, H, W)."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image[:, 0] - image[:, 2]


class TinyParts(torch.nn.Module):
    """The tests' Sapiens model: a 1x1 conv to 28 logits, pooled by 2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, N_CLASSES, 1)
        self.pool = torch.nn.AvgPool2d(2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(image))


def build_model(backend: str, kind: str, size: tuple[int, int], folder: Path) -> Path:
    """Export a stand-in model for ``backend`` (dynamic batch) and return its file."""
    torch.manual_seed(0)
    slot = SLOTS[backend]
    if slot == "primedepth":
        net = TinyDepth() if kind == "tiny" else ConvNet(1, squeeze=True)
    elif slot == "sapiens":
        net = TinyParts() if kind == "tiny" else ConvNet(N_CLASSES)
    else:
        raise SystemExit(f"no stand-in model for {backend}; pass --weights")
    net.eval()
    example = torch.zeros(2, 3, *size)
    if backend.endswith("_onnx"):
        path = folder / f"{backend}_{kind}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (example,), str(path), input_names=["image"], output_names=["depth"],
                              dynamo=False, dynamic_axes={"image": {0: "b"}, "depth": {0: "b"}})
        return path
    path = folder / f"{backend}_{kind}.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.trace(net, example), str(path))
    return path


def write_videos(root: Path, n_videos: int, n_frames: int) -> pd.DataFrame:
    """PNG frame folders (260 x 210, a moving bright blob on a gradient) and their manifest."""
    rows = []
    yy, xx = np.mgrid[0:260, 0:210]
    for v in range(n_videos):
        d = root / f"video{v:02d}"
        d.mkdir(parents=True)
        for i in range(n_frames):
            frame = np.stack([(xx + 3 * i) % 256, (yy + 5 * v) % 256, (xx + yy) // 2 % 256], -1)
            frame = frame.astype(np.uint8)
            cv2.circle(frame, (40 + (3 * i) % 130, 60 + (2 * i) % 150), 30, (0, 0, 255), -1)
            cv2.imwrite(str(d / f"images{i + 1:04d}.png"), frame)
        rows.append({"id": d.name, "split": "train", "source": str(d), "media": "frames",
                     "frame_count": n_frames, "fps": 25.0, "signer": "S", "gloss": "G", "text": "t",
                     "shard": 0})
    return pd.DataFrame(rows)


def bare_function(est: Any) -> Callable[[np.ndarray], Any]:
    """The backend's model alone: (B, 3, h, w) prepared inputs -> outputs on the CPU."""
    if est.slot == "sapiens":
        return est._labels                     # forward + argmax on the device, labels to the CPU
    return est.run


def bare_loop(est: Any, prepared: np.ndarray, batch: int) -> float:
    """Seconds for the model alone over ``prepared`` (N, 3, h, w), prepared beforehand, in batches of
    ``batch``."""
    fn = bare_function(est)
    fn(prepared[:batch])                        # warm-up (allocations, cuDNN choices)
    t0 = time.perf_counter()
    for i in range(0, len(prepared), batch):
        fn(prepared[i:i + batch])
    return time.perf_counter() - t0


def decode_prepare_s(est: Any, manifest: pd.DataFrame) -> float:
    """Seconds to decode every frame of ``manifest`` and run ``est.prepare`` on it, on one thread."""
    t0 = time.perf_counter()
    for r in manifest.itertuples():
        for frame in frames_mod.iter_frames(r.source, r.media):
            est.prepare(frame)
    return time.perf_counter() - t0


def finish_s(est: Any, prepared: np.ndarray, batch: int) -> float:
    """Seconds of ``est.finish`` (the per-frame work after the model) over every frame of ``prepared``."""
    raws = [raw for i in range(0, len(prepared), batch) for raw in est.infer(list(prepared[i:i + batch]))]
    t0 = time.perf_counter()
    for raw in raws:
        est.finish(raw)
    return time.perf_counter() - t0


def pipeline(manifest: pd.DataFrame, slot: str, cfg: dict, out: Path) -> tuple[float, dict]:
    t0 = time.perf_counter()
    summary = extract.extract_shard(manifest, 0, slot, cfg, out, max_failure_fraction=0.0)
    return time.perf_counter() - t0, summary


def median(values: list[float]) -> float:
    return float(np.median(values))


def bench_backend(backend: str, weights: Path, args: argparse.Namespace, manifest: pd.DataFrame,
                  decoded: list[np.ndarray], tmp: Path) -> None:
    slot = SLOTS[backend]
    size = tuple(args.input_size) if args.input_size else DEFAULT_SIZES[slot]
    cfg = {"backend": backend, "weights": str(weights), "device": args.device,
           "precision": args.precision, "input_size": list(size), "on_missing_gpu": "warn"}
    if slot == "primedepth":
        cfg["input_multiple"] = 1 if args.input_size is None else 14
    sweep = sorted({1, 2, 4, 8, 16, args.batch})
    est = {b: registry.build(slot, {**cfg, "batch_size": b}) for b in sweep}
    prepared = np.stack([est[1].prepare(f) for f in decoded])
    n = len(decoded)
    device = est[1].placement.device

    counted = {"n": 0}
    original = extract.iter_frames

    def counting(source, media):
        for f in original(source, media):
            counted["n"] += 1
            yield f

    extract.iter_frames = counting
    bare: dict[int, list[float]] = {b: [] for b in sweep}
    pipe: dict[int, list[float]] = {args.batch: [], 1: []}
    in_loop, waits, feed_s = [], [], []
    try:
        for _ in range(args.repeats):           # interleaved, so drifting load hits every variant alike
            for b in sweep:
                bare[b].append(n / bare_loop(est[b], prepared, b))
            for b in (args.batch, 1):
                out = tmp / f"{backend}_{b}.h5"
                seconds, summary = pipeline(manifest, slot, {**cfg, "batch_size": b}, out)
                pipe[b].append(summary["frames"] / seconds)
                if b == args.batch:
                    waits.append(summary["input_wait_fraction"])
                    in_loop.append(summary["frames_per_s"])
            feed_s.append((decode_prepare_s(est[1], manifest) + finish_s(est[1], prepared, args.batch)) / n)
    finally:
        extract.iter_frames = original
    runs = 2 * args.repeats
    place = est[args.batch].placement
    bare_b, bare_1 = median(bare[args.batch]), median(bare[1])
    pipe_b, pipe_1 = median(pipe[args.batch]), median(pipe[1])
    model_s, cpu_s = 1 / bare_b, median(feed_s)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"\n{backend} ({weights.name}, input {size[0]}x{size[1]}): {place.describe()}; "
          f"median of {args.repeats} runs")
    print("  bare model loop by batch size: " + ", ".join(
        f"{b}: {median(v):.1f}" for b, v in bare.items()) + " frames/s"
          f"  (the default for {device}: {DEFAULT_BATCH_SIZE[device]})")
    for name, fast, slow in (("bare model loop", bare_b, bare_1), ("pipeline job   ", pipe_b, pipe_1)):
        print(f"  {name}, batch {args.batch:>2}: {fast:9.1f} frames/s   batch 1: {slow:9.1f} frames/s"
              f"   batched / one-frame: {fast / slow:.2f}x")
    print(f"  ratio pipeline / bare at batch {args.batch}: {pipe_b / bare_b:.3f} end to end, "
          f"{median(in_loop) / bare_b:.3f} without the job's start (model load, batch check) (target >= 0.9)")
    print(f"  inference waited for input {100 * median(waits):.1f}% of the time; "
          f"decodes per frame per job: {counted['n'] / (runs * n):.2f}")
    print(f"  decoding + preparing + finishing alone: {1e3 * cpu_s:.2f} ms/frame on one thread, the model "
          f"{1e3 * model_s:.2f} ms/frame")
    if device == "cpu":
        serial = 1 / (model_s + cpu_s)
        shared = 1 / (model_s + cpu_s / cores)
        print(f"  on CPU the model and the decoding share {cores} cores: one after the other "
              f"{serial:.1f} frames/s (pipeline / that: {pipe_b / serial:.2f}x; the rest: shard writing); "
              f"at best, the decoding spread over the cores the model also uses, {shared:.1f} frames/s "
              f"(pipeline / that: {pipe_b / shared:.2f}, bare ratio ceiling {shared / bare_b:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", action="append", choices=sorted(SLOTS),
                    help="backend(s) to time (default: depth_onnx, depth_torchscript, sapiens_torchscript)")
    ap.add_argument("--weights", type=Path, help="real weight file for the single --backend")
    ap.add_argument("--model", choices=["conv", "tiny"], default="conv",
                    help="stand-in model without --weights")
    ap.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"))
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each variant (median kept)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"])
    args = ap.parse_args()
    backends = args.backend or ["depth_onnx", "depth_torchscript", "sapiens_torchscript"]
    if args.weights and len(backends) != 1:
        raise SystemExit("--weights needs exactly one --backend")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        manifest = write_videos(tmp / "videos", args.videos, args.frames)
        decoded = [f for r in manifest.itertuples() for f in frames_mod.iter_frames(r.source, r.media)]
        print(f"{args.videos} videos x {args.frames} frames of 210x260; torch threads "
              f"{torch.get_num_threads()}, model: {'real weights' if args.weights else args.model}")
        for backend in backends:
            size = tuple(args.input_size) if args.input_size else DEFAULT_SIZES[SLOTS[backend]]
            weights = args.weights or build_model(backend, args.model, size, tmp)
            bench_backend(backend, weights, args, manifest, decoded, tmp)


if __name__ == "__main__":
    main()
