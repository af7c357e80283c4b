"""Reader for a folder of pose-format ``.pose`` files (kind ``pose_files``).

Layout::

    <root>/corpus.csv     '|'-separated, header name|split|text|gloss|speaker|file
    <root>/<file>         one .pose file per row

``name`` is the entry id; ``split`` is train, dev or test; ``text`` the spoken-language sentence;
``gloss`` the space-separated glosses (may be empty); ``speaker`` the signer id (may be empty);
``file`` the ``.pose`` file's path relative to the root. Example row::

    clip0001|train|heute wird es sonnig|HEUTE WETTER|signer03|poses/clip0001.pose

Each file must hold the MediaPipe Holistic components by name (see
:mod:`pipelib.skeletons.pose_io`): pose-format's own holistic files and the folders that
:func:`~pipelib.skeletons.pose_io.export_pose_files` writes both do. Frame counts and frames per
second come from each file (``fps`` in the config overrides the files' rate). A file that is
missing, unreadable, lacks skeleton points, has no frame or no frame rate is rejected with the reason.
The files are read once here and again by the skeletons stage; nothing is decoded from video.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from pipelib.datasets.annotations import read_table
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.records import SPLITS, Entry
from pipelib.io.pose_file import PoseFileError
from pipelib.skeletons.pose_io import CORPUS_FILE, CORPUS_HEADER, PoseLayoutError, read_pose_skeleton

log = logging.getLogger(__name__)


def _probe(path: Path, name: str, fps: float | None) -> tuple[int, float, str | None, int]:
    """``(frames, fps, reject reason or None, non-finite values of present points)`` of one file."""
    if not path.is_file():
        return 0, 0.0, f"pose file {path} does not exist", 0
    try:
        joints, present, file_fps = read_pose_skeleton(path)
    except (PoseFileError, PoseLayoutError) as err:
        return 0, 0.0, str(err), 0
    rate = float(fps or file_fps)
    if joints.shape[0] == 0:
        return 0, rate, f"pose file {path} has 0 frames", 0
    if not (np.isfinite(rate) and rate > 0):
        return joints.shape[0], 0.0, (f"pose file {path} records {file_fps:g} frames per second; set "
                                      f"datasets.{name}.fps to the corpus frame rate"), 0
    n_bad = int((~np.isfinite(joints) & present[..., None]).sum())
    return int(joints.shape[0]), rate, None, n_bad


def scan(root: Path, name: str = "pose_files", fps: float | None = None) -> list[Entry]:
    """Entries of ``<root>/corpus.csv`` with their frame counts read from the ``.pose`` files.

    Entries holding NaN/Inf values are kept (the skeletons stage masks those joints and reports each
    video); their count is logged here.
    """
    root = Path(root).expanduser().absolute()
    key = f"datasets.{name}.root"
    if not root.is_dir():
        raise DatasetError(f"dataset {name!r}: pose folder {root} does not exist; check {key}")
    table = root / CORPUS_FILE
    rows = read_table(table, CORPUS_HEADER, key, context=f"dataset {name!r}")
    entries: list[Entry] = []
    nonfinite: dict[str, int] = {}
    for row in rows:
        if row["split"] not in SPLITS:
            raise DatasetError(f"{table}: {row['name']} has split {row['split']!r}; expected one of {SPLITS}")
        path = root / row["file"]
        frames, rate, reason, n_bad = _probe(path, name, fps)
        if n_bad:
            nonfinite[row["name"]] = n_bad
        entries.append(Entry(
            id=row["name"], split=row["split"], source=path, media="pose_file", fps=rate,
            signer=row["speaker"], gloss=row["gloss"], text=row["text"], frame_count=frames, reject=reason,
        ))
    if nonfinite:
        worst = sorted(nonfinite, key=lambda k: (-nonfinite[k], k))[:5]
        log.warning("%s: %d of %d pose files hold NaN/Inf values (%d in all; most in %s); the skeletons "
                    "stage masks those joints and logs each video", table, len(nonfinite), len(rows),
                    sum(nonfinite.values()), ", ".join(f"{k} ({nonfinite[k]})" for k in worst))
    return entries
