"""Video2Pose training step with channels-last frames (what the model does) vs contiguous ones, in one run.

    .venv/bin/python benchmarks/bench_video2pose_step.py [--config config/config.yaml] [--threads 1]
                                                          [--steps 40] [--repeats 5]

Builds the configured ``signx.video2pose`` model and one random batch of its shape (batch_size windows of
max_frames frames, 32 when max_frames is null), then times forward + backward + AdamW step, alternating the
two memory layouts the stem can read the frames in (``SpatialViT.stem_memory_format``), ``--repeats`` rounds
of ``--steps`` steps each (after 3 warm-up steps). Prints ms per step (median and range) and the ratio
contiguous / channels-last: above 1 means the shipped layout is faster. ``--threads 1`` is what a Snakemake
job of the rule gets. Both layouts compute the same function; only the order of floating-point sums inside
the convolutions differs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import yaml

from pipelib.signx.video2pose import Video2Pose, Video2PoseConfig, Video2PoseSection

LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
WHOLE_VIDEO_FRAMES = 32  # frames per window timed when max_frames is null (whole videos)


def step_ms(model: Video2Pose, frames: torch.Tensor, pad: torch.Tensor, steps: int) -> float:
    opt = torch.optim.AdamW(model.parameters())
    for i in range(3 + steps):
        if i == 3:
            start = time.perf_counter()
        opt.zero_grad()
        model(frames, pad).square().mean().backward()
        opt.step()
    return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.config) as f:
        stage = Video2PoseSection.from_dict(yaml.safe_load(f)["signx"]["video2pose"])
    cfg = Video2PoseConfig.from_dict(stage.model, "signx.video2pose.model")
    b, t, s = stage.batch_size, stage.max_frames or WHOLE_VIDEO_FRAMES, cfg.image_size
    gen = torch.Generator().manual_seed(0)
    frames = torch.randn(b, t, 3, s, s, generator=gen)
    pad = torch.zeros(b, t, dtype=torch.bool)
    times: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    for _ in range(args.repeats):
        for name, layout in LAYOUTS.items():
            model = Video2Pose(cfg, seed=0).train()
            model.spatial.stem_memory_format = layout
            times[name].append(step_ms(model, frames, pad, args.steps))
    print(f"Video2Pose step: {b} x {t} frames at {s} px, stem {cfg.stem}, {args.threads} thread(s)")
    for layout, ms in times.items():
        print(f"  {layout:14s} median {statistics.median(ms):7.1f} ms/step, "
              f"range {min(ms):.1f}-{max(ms):.1f}")
    ratio = statistics.median(times["contiguous"]) / statistics.median(times["channels_last"])
    print(f"  contiguous / channels_last = {ratio:.2f}x (above 1: the shipped layout is faster)")


if __name__ == "__main__":
    main()
