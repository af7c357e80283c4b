"""``results/<ds>/efficiency.csv``: recognition speed from precomputed latents vs from pixels (SignX Table 8).

Both paths run in one process, on the same videos, device and thread count, one video at a time
(batch 1, as a recogniser serving videos):

- ``latents``: pruned latents read beforehand from the latent shards -> recogniser decoding
- ``pixels``: frames decoded and resized beforehand -> Video2Pose (every frame, phase by phase at the
  stride it was trained with) -> Pose2Gloss encoder (``pipelib.signx.video2pose.latents_from_video``)
  -> pruning mask -> the same recogniser decoding

Reading the HDF5 latents and decoding the video files are outside the timed region of both paths, so
the ratio is the compute saved by recognising in latent space.

How it is measured (:func:`time_paths`): first ``warmup`` untimed passes over *every* video of each path
(the first call at each new sequence length pays one-off costs: kernel selection, allocator growth; a
warm-up on one video left those inside the timed region of whichever path ran first), then
``repeats`` timed passes per path, the two paths interleaved and their order alternated from repeat to
repeat, so that a change in machine load touches both alike. Rates are the median over the repeats,
with the slowest and fastest repeat beside them. ``head`` picks the output: ``decoder`` (beam search
with the attention-entropy penalty, settings from the recogniser checkpoint, i.e.
``signx.recognizer.decoding``) or ``ctc`` (CTC greedy on the encoder). The decoder's work grows with the
length of what it emits, so ``tokens`` gives the mean output length of each path.

Columns: ``path`` (latents | pixels), ``pipeline`` (what was timed), ``videos``, ``frames`` (input frames
per pass), ``repeats``, ``seconds`` (median seconds per timed pass), ``fps`` (median over repeats of
frames / seconds), ``fps_min``, ``fps_max`` (slowest and fastest repeat), ``frontend_seconds`` (median
seconds per pass spent making latents from frames: 0 for the latents path), ``tokens`` (mean output ids
per video), ``speedup`` (fps / the pixels row's fps), ``WER`` (of that path's glosses against the
references, for ``target: gloss``; NaN otherwise), ``decoding``, ``device``, ``threads`` (torch intra-op
threads), ``torch``. This table is a measurement: seconds, fps and speedup change from run to run and
machine to machine (the provenance sidecar says so, with the host).

Config section ``signx.efficiency``::

    split: test            # videos timed
    max_videos: 8          # first N videos of the split that have latents and pixels (null: all)
    warmup: 1              # untimed passes over all the videos, per path
    repeats: 5             # timed passes over all videos, per path (>= 5 for a median worth reading)
    device: cpu            # cpu | cuda | auto
    threads: null          # torch threads for the measurement (null: the job's); the workflow's job claims
                           # them, so that no other job shares the cores being measured
    target: gloss          # which recogniser of `checkpoints` is timed
    head: decoder          # decoder | ctc
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from pipelib import provenance
from pipelib.datasets.manifest import read_manifest
from pipelib.io.atomic import atomic_path, write_text_atomic
from pipelib.metrics.slrtp import wer
from pipelib.sections import SectionError, from_section
from pipelib.signx.efficiency_section import SECTION, EfficiencySection
from pipelib.signx.frame_pairs import PIXEL_MEDIA
from pipelib.signx.latent_data import read_pruned_latents
from pipelib.signx.pruning import PruningMask
from pipelib.signx.recognition import decoding_options
from pipelib.signx.recognizer_loading import LoadedRecognizer, load_recognizer
from pipelib.signx.video_latents import VideoFrontEnd
from pipelib.training.device import resolve_device

log = logging.getLogger("pipelib.signx")
COLUMNS = ["path", "pipeline", "videos", "frames", "repeats", "seconds", "fps", "fps_min", "fps_max",
           "frontend_seconds", "tokens", "speedup", "WER", "decoding", "device", "threads", "torch"]
PIPELINES = {"latents": "latents -> recogniser",
             "pixels": "frames -> Video2Pose -> Pose2Gloss encoder -> pruning -> recogniser"}


def measurement_threads(configured: int | None, job_threads: int | None) -> int | None:
    """Torch threads to measure with: ``signx.efficiency.threads``, else the job's, at most the job's
    (logged when that cuts the configured number); None: leave torch's setting."""
    if job_threads is None:
        return configured
    if configured is not None and configured > job_threads:
        log.warning("%s.threads is %d but the job holds %d core(s) (snakemake --cores): timing on %d "
                    "thread(s)", SECTION, configured, job_threads, job_threads)
        return job_threads
    return configured if configured is not None else job_threads


def _options(section: Mapping[str, Any]) -> dict[str, Any]:
    opts = asdict(from_section(EfficiencySection, section, SECTION))
    if opts["head"] not in ("decoder", "ctc"):
        raise SectionError(f"{SECTION}.head: must be decoder or ctc, got {opts['head']!r}")
    if opts["warmup"] < 0 or opts["repeats"] < 1:
        raise SectionError(f"{SECTION}: warmup must be >= 0 and repeats >= 1, got {opts['warmup']}, "
                           f"{opts['repeats']}")
    if opts["max_videos"] is not None and opts["max_videos"] < 1:
        raise SectionError(f"{SECTION}.max_videos: must be >= 1 or null (all), got {opts['max_videos']}")
    if opts["threads"] is not None and opts["threads"] < 1:
        raise SectionError(f"{SECTION}.threads: must be >= 1 or null, got {opts['threads']}")
    return opts


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _recognise(rec: LoadedRecognizer, latents: torch.Tensor, how: str, opts: Mapping[str, Any]) -> list[int]:
    """Output ids of one video's pruned latents (1, T, D)."""
    pad = torch.zeros(latents.shape[:2], dtype=torch.bool, device=latents.device)
    if how == "ctc":
        return rec.model.recognise_glosses(latents, pad, beam=1)[0]
    return rec.model.generate(latents, pad, beam=opts["beam"], entropy_weight=opts["entropy_weight"],
                              alpha=opts["alpha"], max_len=opts["max_len"])[0]


#: one video through a path -> (output ids, seconds of it spent making latents from frames)
PathRun = Callable[[Any], tuple[list[int], float]]


@dataclass
class PathTiming:
    """Timed passes of one path: seconds per pass, front-end seconds per pass, the last pass's outputs."""

    seconds: list[float] = field(default_factory=list)
    frontend: list[float] = field(default_factory=list)
    outputs: list[list[int]] = field(default_factory=list)


def time_paths(paths: Mapping[str, tuple[PathRun, Sequence[Any]]], warmup: int, repeats: int,
               device: torch.device) -> dict[str, PathTiming]:
    """Time every path of ``paths`` (name -> (run, inputs)) over all its inputs: ``warmup`` untimed passes
    over all inputs per path first, then ``repeats`` timed passes per path, interleaved, the order of the
    paths reversed on every other repeat."""
    names = list(paths)
    out = {name: PathTiming() for name in names}
    with torch.inference_mode():
        for _ in range(warmup):
            for name in names:
                run, inputs = paths[name]
                for x in inputs:
                    run(x)
        for r in range(repeats):
            for name in (names if r % 2 == 0 else names[::-1]):
                run, inputs = paths[name]
                _sync(device)
                start = time.perf_counter()
                results = [run(x) for x in inputs]
                _sync(device)
                out[name].seconds.append(time.perf_counter() - start)
                out[name].frontend.append(sum(f for _, f in results))
                out[name].outputs = [ids for ids, _ in results]
    return out


def efficiency_table(manifest: str | os.PathLike[str], latent_shards: Sequence[str | os.PathLike[str]],
                     pruning_json: str | os.PathLike[str], checkpoints: Mapping[str, str | os.PathLike[str]],
                     pose2gloss_ckpt: str | os.PathLike[str], video2pose_ckpt: str | os.PathLike[str],
                     section: Mapping[str, Any], job_threads: int | None = None) -> pd.DataFrame:
    """Measure both paths on the same videos; rows ``latents`` and ``pixels`` (``COLUMNS``).

    ``job_threads``: the CPU cores the running job holds (Snakemake's ``threads``); the measurement uses
    no more torch threads than that, since threads beyond the job's cores would share them with other
    jobs and time those jobs too."""
    opts = _options(section)
    if opts["target"] not in checkpoints:
        raise ValueError(f"{SECTION}.target is {opts['target']!r} but only recognisers for "
                         f"{sorted(checkpoints)} were given")
    device = resolve_device(opts["device"], f"{SECTION}.device")
    threads = measurement_threads(opts["threads"], job_threads)
    if threads is not None:
        torch.set_num_threads(threads)
    mask = PruningMask.load(pruning_json)
    rec = load_recognizer(checkpoints[opts["target"]], map_location=device)
    rec.model.to(device).eval()
    front = VideoFrontEnd.load(video2pose_ckpt, pose2gloss_ckpt, mask, device)

    frame = read_manifest(manifest)
    rows = frame[(frame["split"] == opts["split"]) & frame["media"].isin(PIXEL_MEDIA)]
    latents = read_pruned_latents(latent_shards, rows["id"], mask, f"efficiency {opts['split']}")
    rows = rows[rows["id"].isin(latents)]
    if opts["max_videos"] is not None:
        rows = rows.head(int(opts["max_videos"]))
    if rows.empty:
        raise ValueError(f"{SECTION}.split: no {opts['split']!r} video has both pixels (media frames/video) "
                         "and latents; pick a split with videos")
    pixel_in = [front.frames(r) for r in rows.to_dict("records")]                 # (1, T, 3, S, S)
    latent_in = [torch.from_numpy(latents[v])[None].to(device) for v in rows["id"]]  # (1, T, D)
    dec = decoding_options({}, rec)
    how = opts["head"]

    def from_latents(x: torch.Tensor) -> tuple[list[int], float]:
        return _recognise(rec, x, how, dec), 0.0

    def from_pixels(frames: torch.Tensor) -> tuple[list[int], float]:
        start = time.perf_counter()
        z = front.latents(frames)  # (1, T, kept_width)
        _sync(device)
        frontend = time.perf_counter() - start
        return _recognise(rec, z, how, dec), frontend

    refs = [str(g) for g in rows["gloss"].fillna("")]
    vocab = rec.gloss_vocab if how == "ctc" else rec.output_vocab
    scores_wer = (how == "ctc" or rec.target == "gloss") and all(r.strip() for r in refs)
    label = "ctc-greedy" if how == "ctc" else f"beam{dec['beam']}+entropy{dec['entropy_weight']:g}"
    threads = torch.get_num_threads()
    paths = {"latents": (from_latents, latent_in), "pixels": (from_pixels, pixel_in)}
    timings = time_paths(paths, opts["warmup"], opts["repeats"], device)
    out = []
    for path, timing in timings.items():
        frames = int(sum(x.shape[1] for x in paths[path][1]))
        fps = [frames / max(sec, 1e-12) for sec in timing.seconds]
        hyps = timing.outputs
        out.append({"path": path, "pipeline": PIPELINES[path], "videos": len(hyps), "frames": frames,
                    "repeats": opts["repeats"], "seconds": float(np.median(timing.seconds)),
                    "fps": float(np.median(fps)), "fps_min": min(fps), "fps_max": max(fps),
                    "frontend_seconds": float(np.median(timing.frontend)),
                    "tokens": float(np.mean([len(h) for h in hyps])),
                    "WER": wer([vocab.decode(h) for h in hyps], refs) if scores_wer else math.nan,
                    "decoding": label, "device": _device_name(device), "threads": threads,
                    "torch": torch.__version__})
        log.info("efficiency %s: %d frames x %d repeats, median %.2f frames/s (%.2f..%.2f), %.2f output "
                 "ids per video", path, frames, opts["repeats"], out[-1]["fps"], out[-1]["fps_min"],
                 out[-1]["fps_max"], out[-1]["tokens"])
    for row in out:
        row["speedup"] = row["fps"] / out[1]["fps"]
    return pd.DataFrame(out, columns=COLUMNS)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu ({os.cpu_count()} cores)"


def write_efficiency(manifest: str | os.PathLike[str], latent_shards: Sequence[str | os.PathLike[str]],
                     pruning_json: str | os.PathLike[str], checkpoints: Mapping[str, str | os.PathLike[str]],
                     pose2gloss_ckpt: str | os.PathLike[str], video2pose_ckpt: str | os.PathLike[str],
                     out_csv: str | os.PathLike[str], section: Mapping[str, Any],
                     job_threads: int | None = None) -> pd.DataFrame:
    """Measure (``efficiency_table``); write ``out_csv`` + its ``.prov.json`` (marked non-deterministic)."""
    table = efficiency_table(manifest, latent_shards, pruning_json, checkpoints, pose2gloss_ckpt,
                             video2pose_ckpt, section, job_threads)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    inputs = [str(manifest), str(pruning_json), str(pose2gloss_ckpt), str(video2pose_ckpt),
              *map(str, latent_shards), *map(str, checkpoints.values())]
    prov = provenance.collect(dict(section), inputs=inputs, extra={
        "deterministic": False, "columns": COLUMNS,
        "note": "wall-clock measurement: seconds, fps and speedup differ between runs and machines; "
                "the other columns are reproducible",
        "measured_on": {"device": str(table["device"].iloc[0]), "threads": int(table["threads"].iloc[0])}})
    write_text_atomic(provenance.sidecar_path(out_csv), json.dumps(prov, indent=2, default=str) + "\n")
    return table

