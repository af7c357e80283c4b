"""The row every reader produces and the column layout of the manifest and rejected tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SPLITS: tuple[str, ...] = ("train", "dev", "test")
MEDIA: tuple[str, ...] = ("frames", "video", "poses", "pose_file")
#: Media that hold poses, not pixels: their frame count is read with the poses, never decoded.
POSE_MEDIA: tuple[str, ...] = ("poses", "pose_file")

MANIFEST_COLUMNS: tuple[str, ...] = (
    "id", "split", "source", "media", "frame_count", "fps", "signer", "gloss", "text", "shard",
)
REJECTED_COLUMNS: tuple[str, ...] = ("id", "split", "source", "reason")


@dataclass
class Entry:
    """One sequence of a corpus.

    ``source`` is absolute: a frame folder (media ``frames``), a video file (``video``), the
    split's ``.pt`` file (``poses``; the sequence is ``load_split(source)[id]``) or a pose-format
    ``.pose`` file (``pose_file``). ``frame_count`` is
    None until verified, except for poses whose length is read with the file. ``fps`` is frames per
    second. ``signer`` is "" when the corpus does not say. ``gloss`` and ``text`` are
    space-separated tokens. ``reject`` holds a reason found while scanning (the entry then goes to
    the rejected table without frame verification).
    """

    id: str
    split: str
    source: Path
    media: str
    fps: float
    signer: str = ""
    gloss: str = ""
    text: str = ""
    frame_count: int | None = None
    reject: str | None = None

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"{self.id}: split {self.split!r} is not one of {SPLITS}")
        if self.media not in MEDIA:
            raise ValueError(f"{self.id}: media {self.media!r} is not one of {MEDIA}")
