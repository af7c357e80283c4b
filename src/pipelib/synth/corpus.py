"""Write the synthetic corpus in the PHOENIX-2014-T on-disk layout, plus ground-truth keypoints.

Layout under ``root``::

    PHOENIX-2014-T/annotations/manual/PHOENIX-2014-T.{train,dev,test}.corpus.csv
    PHOENIX-2014-T/features/fullFrame-210x260px/{split}/<name>/images0001.png ...
    groundtruth/keypoints.h5      features (T, K*2) float32 pixels (x, y interleaved), mask all True
    summary.json                  counts per split, glosses used

The CSVs are ``|``-separated with header ``name|video|start|end|speaker|orth|translation``; the
video column reads ``<name>/1/*.png`` as in the real corpus although the frames sit directly in
``<name>/``. ``PHOENIX-2014-T`` is built in a temporary directory and renamed into place when
complete; the keypoint file is written through :class:`~pipelib.io.shards.ShardWriter`.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipelib.io.atomic import atomic_dir, write_text_atomic
from pipelib.io.shards import ShardWriter, VideoArrays
from pipelib.synth.appearance import appearance
from pipelib.synth.config import SynthConfig
from pipelib.synth.figure import KEYPOINT_NAMES
from pipelib.synth.grammar import Sentence, sample_sentence
from pipelib.synth.motion import Timeline, build_timeline
from pipelib.synth.sentence import render_timeline
from pipelib.synth.signers import signer_style

SPLITS = ("train", "dev", "test")
CSV_HEADER = "name|video|start|end|speaker|orth|translation"
CORPUS_DIR = "PHOENIX-2014-T"
KEYPOINTS_FILE = Path("groundtruth") / "keypoints.h5"
_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # flat cartoon colours: level 1 is ~10% larger, faster


def frames_dir(split: str) -> Path:
    """Frame folder of a split relative to the corpus directory."""
    return Path("features") / "fullFrame-210x260px" / split


def csv_path(split: str) -> Path:
    """Annotation CSV of a split relative to the corpus directory."""
    return Path("annotations") / "manual" / f"PHOENIX-2014-T.{split}.corpus.csv"


def video_name(split: str, index: int) -> str:
    """Name (folder and CSV ``name``) of sentence ``index`` of ``split``."""
    return f"synth_{split}_{index:04d}"


@dataclass
class _Rendered:
    """One sentence rendered and its frames written: what the corpus files need from it."""

    name: str
    signer: str
    sentence: Sentence
    keypoints: np.ndarray  # (T, K, 2) float32 pixels
    timeline: Timeline


def _render_one(task: tuple[Path, SynthConfig, int, str, int]) -> _Rendered:
    """Render sentence ``i`` of a split and write its PNG frames under ``corpus``."""
    corpus, cfg, split_index, split, i = task
    rng = np.random.default_rng([cfg.seed, split_index, i])
    sentence = sample_sentence(rng, cfg.min_glosses, cfg.max_glosses)
    look = appearance(i % cfg.n_signers, cfg.seed)
    style = signer_style(i % cfg.n_signers, cfg.seed, cfg.signer_variation)
    timeline = build_timeline(sentence.glosses, cfg, rng, style)
    frames, keypoints = render_timeline(timeline, look, cfg)
    name = video_name(split, i)
    folder = corpus / frames_dir(split) / name
    folder.mkdir(parents=True)
    for t, frame in enumerate(frames, start=1):
        if not cv2.imwrite(str(folder / f"images{t:04d}.png"), frame, _PNG):
            raise OSError(f"could not write frame {t} of {name} under {folder}")
    return _Rendered(name, look.name, sentence, keypoints, timeline)


def generate(root: Path, cfg: SynthConfig, workers: int = 1) -> dict[str, Any]:
    """Render the whole corpus under ``root`` and return a summary.

    Sentence ``i`` of a split is signed by signer ``i % n_signers``, so every signer appears in
    every split of at least ``n_signers`` sentences (train and test are validated to be). Each
    sentence draws from its own generator seeded by (seed, split, i): identical seeds give
    byte-identical CSVs and PNGs, with any number of ``workers`` (processes rendering sentences
    side by side; results are collected in order).
    """
    cfg.validate()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    root = Path(root)
    summary: dict[str, Any] = {"splits": {}, "config": cfg.to_dict()}
    glosses_used: set[str] = set()
    file_attrs = {
        "keypoint_names": list(KEYPOINT_NAMES),
        "fps": cfg.fps, "width": cfg.width, "height": cfg.height,
        "convention": "pixels of the output frame, pixel centres at integer coordinates; names use "
                      "the signer's side (the signer's right appears on the image's left)",
        "features": "(T, K*2) float32: x0, y0, x1, y1, ... in keypoint_names order",
        "config": cfg.to_dict(),
    }
    # The pool is started (forked) before any output file is open.
    with _pool(workers) as pool, ShardWriter(root / KEYPOINTS_FILE, attrs=file_attrs) as gt, \
            atomic_dir(root / CORPUS_DIR) as corpus:
        for split_index, split in enumerate(SPLITS):
            n_sentences = getattr(cfg, f"n_{split}")
            rows = [CSV_HEADER]
            n_frames = 0
            signers: dict[str, int] = {}
            tasks = [(corpus, cfg, split_index, split, i) for i in range(n_sentences)]
            for r in (pool.imap(_render_one, tasks) if pool else map(_render_one, tasks)):
                n = len(r.keypoints)
                rows.append(f"{r.name}|{r.name}/1/*.png|-1|-1|{r.signer}|{r.sentence.orth}|"
                            f"{r.sentence.translation}")
                gt.write(VideoArrays(
                    video_id=r.name,
                    features=r.keypoints.reshape(n, -1),
                    mask=np.ones(n, dtype=bool),
                    extras={"articulators": r.timeline.params.astype(np.float32)},
                    attrs={"signer": r.signer, "split": split, "gloss": r.sentence.orth,
                           "translation": r.sentence.translation,
                           "segments": [list(seg) for seg in r.timeline.segments],
                           "speed": r.timeline.speed},
                ))
                n_frames += n
                signers[r.signer] = signers.get(r.signer, 0) + 1
                glosses_used.update(r.sentence.glosses)
            path = corpus / csv_path(split)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(rows) + "\n", encoding="utf-8")
            summary["splits"][split] = {"sentences": n_sentences, "frames": n_frames, "signers": signers}
    summary["frames"] = sum(s["frames"] for s in summary["splits"].values())
    summary["sentences"] = sum(s["sentences"] for s in summary["splits"].values())
    summary["glosses_used"] = sorted(glosses_used)
    write_text_atomic(root / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


@contextlib.contextmanager
def _pool(workers: int):
    """A process pool of ``workers`` (None for one: render in this process)."""
    if workers == 1:
        yield None
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(workers) as pool:
        yield pool
