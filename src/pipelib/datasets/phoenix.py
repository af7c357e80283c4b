"""Reader for RWTH-PHOENIX-Weather 2014 T and corpora in its layout (kinds ``phoenix14t``, ``synthetic``).

Layout under the ``PHOENIX-2014-T`` folder::

    annotations/manual/PHOENIX-2014-T.{train,dev,test}.corpus.csv
        '|'-separated, header name|video|start|end|speaker|orth|translation
    features/fullFrame-210x260px/{split}/<name>/images0001.png ...   (210x260 pixels, 25 fps)

The ``video`` column says ``<name>/1/*.png`` while the released frames sit in ``<name>/`` with no
``1/`` level; both layouts are accepted on disk. ``orth`` (upper-case glosses) becomes ``gloss`` and
``translation`` (lower-case tokenised German) becomes ``text``.
"""

from __future__ import annotations

from pathlib import Path

from pipelib.datasets.annotations import read_table
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.frames import list_frames
from pipelib.datasets.paths import inside
from pipelib.datasets.records import SPLITS, Entry

CORPUS_DIR = "PHOENIX-2014-T"
ANNOTATION_DIR = Path("annotations", "manual")
FRAMES_DIR = Path("features", "fullFrame-210x260px")
HEADER = ("name", "video", "start", "end", "speaker", "orth", "translation")
FPS = 25.0


def find_corpus(root: Path, name: str) -> Path:
    """The ``PHOENIX-2014-T`` folder: ``root`` itself or ``root/PHOENIX-2014-T``, made absolute."""
    root = Path(root).expanduser().absolute()
    candidates = [root, root / CORPUS_DIR]
    for corpus in candidates:
        if (corpus / ANNOTATION_DIR).is_dir():
            return corpus
    looked = " and ".join(str(c / ANNOTATION_DIR) for c in candidates)
    raise DatasetError(
        f"dataset {name!r}: no PHOENIX-2014-T annotations found; looked for {looked}. "
        f"Set datasets.{name}.root to the PHOENIX-2014-T folder or the folder that contains it."
    )


def annotation_file(corpus: Path, split: str) -> Path:
    """``annotations/manual/PHOENIX-2014-T.<split>.corpus.csv`` under the corpus folder."""
    return corpus / ANNOTATION_DIR / f"PHOENIX-2014-T.{split}.corpus.csv"


def frame_folder(corpus: Path, split: str, name: str, video: str) -> Path:
    """The folder holding the frames of ``name``: ``<name>/`` or, as the ``video`` column says,
    ``<name>/1/``; the first that holds frames, else the first that exists, else ``<name>/``."""
    base = corpus / FRAMES_DIR / split
    candidates = [base / name]
    rel = Path(video) if video else None
    if rel is not None and any(ch in rel.name for ch in "*?["):
        rel = rel.parent
    if rel is not None and str(rel) not in ("", ".") and base / rel not in candidates:
        candidates.append(base / rel)
    if base / name / "1" not in candidates:
        candidates.append(base / name / "1")
    for folder in candidates:
        if list_frames(folder):
            return folder
    for folder in candidates:
        if folder.is_dir():
            return folder
    return candidates[0]


def scan(root: Path, name: str = "phoenix14t", fps: float | None = None) -> list[Entry]:
    """Entries of every split (train, dev, test) of the corpus at ``root`` (unverified frames).

    ``root`` is the PHOENIX-2014-T folder or its parent; ``name`` is the dataset's config name
    (used in error messages); ``fps`` overrides the corpus's 25 frames/s.
    """
    corpus = find_corpus(root, name)
    entries: list[Entry] = []
    for split in SPLITS:
        rows = read_table(
            annotation_file(corpus, split), HEADER, f"datasets.{name}.root",
            context=f"split {split!r} of dataset {name!r}",
        )
        if rows and not (corpus / FRAMES_DIR / split).is_dir():
            raise DatasetError(
                f"dataset {name!r}: frame folder {corpus / FRAMES_DIR / split} does not exist but "
                f"{annotation_file(corpus, split).name} lists {len(rows)} entries; check datasets.{name}.root"
            )
        for row in rows:
            for column in ("name", "video"):  # both name a folder under the split's frame folder
                inside(corpus / FRAMES_DIR / split, row[column], annotation_file(corpus, split), column,
                       row["name"])
            entries.append(Entry(
                id=row["name"], split=split,
                source=frame_folder(corpus, split, row["name"], row["video"]),
                media="frames", fps=float(fps or FPS), signer=row["speaker"],
                gloss=row["orth"], text=row["translation"],
            ))
    return entries
