"""Reader for a corpus of plain video files (kind ``videos``), read with OpenCV.

Layout::

    <root>/corpus.csv     '|'-separated, header name|split|video|speaker|orth|translation
    <root>/<video>        one video file per row (mp4 or anything OpenCV's FFmpeg reads)

``name`` is the entry id; ``split`` is train, dev or test; ``video`` is the file's path relative to
the root; ``speaker`` the signer id (may be empty); ``orth`` the space-separated glosses (may be
empty); ``translation`` the spoken-language text. Example row::

    clip0001|train|videos/clip0001.mp4|signer03|HEUTE WETTER|heute wird es sonnig

Frames per second come from each file's container unless configured (``fps``).
"""

from __future__ import annotations

from pathlib import Path

from pipelib.datasets.annotations import read_table
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.frames import probe_video
from pipelib.datasets.paths import inside
from pipelib.datasets.records import SPLITS, Entry

CORPUS_FILE = "corpus.csv"
HEADER = ("name", "split", "video", "speaker", "orth", "translation")


def scan(root: Path, name: str = "videos", fps: float | None = None) -> list[Entry]:
    """Entries of ``<root>/corpus.csv`` (unverified videos).

    A video whose container gives no frame rate, with no ``fps`` configured, is marked rejected.
    """
    root = Path(root).expanduser().absolute()
    table = root / CORPUS_FILE
    rows = read_table(table, HEADER, f"datasets.{name}.root", context=f"dataset {name!r}")
    entries: list[Entry] = []
    for row in rows:
        if row["split"] not in SPLITS:
            raise DatasetError(f"{table}: {row['name']} has split {row['split']!r}; expected one of {SPLITS}")
        path = inside(root, row["video"], table, "video", row["name"])
        rate, reason = float(fps or 0.0), None
        if not fps and path.is_file():
            try:
                rate = probe_video(path)[0]
            except DatasetError as err:
                reason = str(err)
            else:
                if rate <= 0:
                    reason = f"video {path} does not state its frame rate; set datasets.{name}.fps"
        entries.append(Entry(
            id=row["name"], split=row["split"], source=path, media="video", fps=rate,
            signer=row["speaker"], gloss=row["orth"], text=row["translation"], reject=reason,
        ))
    return entries
