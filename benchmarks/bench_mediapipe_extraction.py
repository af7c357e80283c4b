"""MediaPipe extraction through the pipeline vs a bare Holistic.process loop, in one run.

    .venv/bin/python benchmarks/bench_mediapipe_extraction.py [--sentences 6]

Renders a small synthetic corpus, builds its manifest, then times (a) a bare
`mp.solutions.holistic.Holistic.process` loop over frames decoded beforehand into memory and
(b) `pipelib.poses.extract.extract_shard` (decoding PNGs itself, writing the HDF5 shard) over the
same videos, alternating the two twice. Prints frames/s of each and the ratio (target >= 0.9).
It also counts decoded frames to show each frame is decoded once per extraction job.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import mediapipe as mp

from pipelib.datasets import frames as frames_mod
from pipelib.datasets.manifest import build_manifest
from pipelib.poses import extract
from pipelib.synth.stage import run as synth_run

CFG = {"backend": "mediapipe_holistic", "model_complexity": 1, "min_detection_confidence": 0.5,
       "min_tracking_confidence": 0.5, "refine_face_landmarks": False, "enable_segmentation": True}


def bare_loop(videos: list[list]) -> tuple[int, float]:
    n, t = 0, 0.0
    for frames in videos:
        with mp.solutions.holistic.Holistic(
                static_image_mode=False, model_complexity=1, enable_segmentation=True) as h:
            t0 = time.perf_counter()
            for f in frames:
                h.process(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
            t += time.perf_counter() - t0
            n += len(frames)
    return n, t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=6)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synth_run(tmp / "corpus", {"seed": 1, "n_train": args.sentences, "n_dev": 1, "n_test": 1,
                                   "n_signers": 1})
        manifest, _ = build_manifest("bench", "synthetic", tmp / "corpus", 1, verify="quick")
        decoded = [list(frames_mod.iter_frames(r.source, r.media)) for r in manifest.itertuples()]

        counted = {"n": 0}
        original = extract.iter_frames

        def counting(source, media):
            for f in original(source, media):
                counted["n"] += 1
                yield f

        extract.iter_frames = counting
        bare_fps, pipe_fps = [], []
        for _ in range(2):
            n, t = bare_loop(decoded)
            bare_fps.append(n / t)
            t0 = time.perf_counter()
            s = extract.extract_shard(manifest, 0, "mediapipe", CFG, tmp / "shard.h5")
            pipe_fps.append(s["frames"] / (time.perf_counter() - t0))
        extract.iter_frames = original
        total = sum(len(v) for v in decoded)
        print(f"videos {len(decoded)}, frames {total}")
        print(f"bare Holistic.process loop (pre-decoded): {max(bare_fps):.1f} frames/s")
        print(f"pipeline extract_shard (decode + write):   {max(pipe_fps):.1f} frames/s")
        print(f"ratio pipeline / bare: {max(pipe_fps) / max(bare_fps):.3f}  (target >= 0.9)")
        print(f"decodes per frame per extraction job: {counted['n'] / (2 * total):.2f}  (target 1.00)")


if __name__ == "__main__":
    main()
