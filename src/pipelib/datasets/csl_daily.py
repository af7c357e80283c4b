"""Reader for CSL-Daily (kind ``csl_daily``).

Layout under the configured root::

    sentence/frames_512x512/<name>/*.jpg          frames, 30 fps unless configured
    video_map.txt   '|'-separated, header index|name|length|gloss|char|word|postag
    split_1.txt     '|'-separated, header name|split   (split: train, dev or test)

The two label files are looked for in the root, then in ``sentence_label/`` and ``sentence/``.
``gloss`` is the space-separated gloss string; ``text`` is the space-separated ``word`` column.
The signer is the ``P<digits>`` part of names such as ``S000000_P0000_T00``.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelib.datasets.annotations import read_table
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.paths import inside
from pipelib.datasets.records import SPLITS, Entry

FRAMES_DIR = Path("sentence", "frames_512x512")
LABEL_DIRS = (Path("."), Path("sentence_label"), Path("sentence"))
VIDEO_MAP = "video_map.txt"
SPLIT_FILE = "split_1.txt"
VIDEO_MAP_HEADER = ("index", "name", "length", "gloss", "char", "word", "postag")
SPLIT_HEADER = ("name", "split")
SPLIT_NAMES = {"train": "train", "dev": "dev", "val": "dev", "test": "test"}
FPS = 30.0
_SIGNER = re.compile(r"_(P\d+)_")


def signer_of(name: str) -> str:
    """``P0003`` from ``S000123_P0003_T00``; "" when the name has no ``_P<digits>_`` part."""
    match = _SIGNER.search(name)
    return match.group(1) if match else ""


def find_label_file(root: Path, filename: str, name: str) -> Path:
    """``filename`` in the root or its ``sentence_label/`` or ``sentence/`` folder."""
    candidates = [root / d / filename for d in LABEL_DIRS]
    for path in candidates:
        if path.is_file():
            return path
    raise DatasetError(
        f"dataset {name!r}: CSL-Daily label file {filename} not found; looked for "
        f"{', '.join(str(c) for c in candidates)}. Set datasets.{name}.root to the CSL-Daily folder."
    )


def scan(root: Path, name: str = "csl_daily", fps: float | None = None) -> list[Entry]:
    """Entries of every name listed in ``split_1.txt`` (unverified frames).

    A name missing from ``video_map.txt`` gives an entry already marked rejected.
    """
    root = Path(root).expanduser().absolute()
    key = f"datasets.{name}.root"
    split_path = find_label_file(root, SPLIT_FILE, name)
    map_path = find_label_file(root, VIDEO_MAP, name)
    splits = read_table(split_path, SPLIT_HEADER, key, context=f"dataset {name!r}")
    labels = {row["name"]: row for row in read_table(map_path, VIDEO_MAP_HEADER, key)}
    frames_root = root / FRAMES_DIR
    if splits and not frames_root.is_dir():
        raise DatasetError(
            f"dataset {name!r}: CSL-Daily frame folder {frames_root} does not exist; set {key} to "
            f"the folder that holds sentence/frames_512x512/"
        )
    entries: list[Entry] = []
    for row in splits:
        split = SPLIT_NAMES.get(row["split"].lower())
        if split is None:
            raise DatasetError(
                f"{split_path}: {row['name']} has split {row['split']!r}; expected one of {SPLITS}"
            )
        label = labels.get(row["name"])
        entries.append(Entry(
            id=row["name"], split=split, media="frames",
            source=inside(frames_root, row["name"], split_path, "name", row["name"]),
            fps=float(fps or FPS), signer=signer_of(row["name"]),
            gloss=label["gloss"] if label else "", text=label["word"] if label else "",
            reject=None if label else f"{row['name']} has no row in {map_path}",
        ))
    return entries
