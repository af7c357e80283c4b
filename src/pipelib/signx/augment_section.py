"""The ``signx.augmentation`` config section (:class:`AugmentationSection`), importable without torch,
pandas or h5py: the workflow checks it whenever it starts. Writing the augmentation shards is
:mod:`pipelib.signx.augment_stage`, which re-exports it."""

from __future__ import annotations

from dataclasses import dataclass

from pipelib.sections import SectionError
from pipelib.signx.augment import CONFIG_SECTION, AugmentConfig


@dataclass(frozen=True)
class AugmentationSection(AugmentConfig):
    """The ``signx.augmentation`` section: the :class:`AugmentConfig` of one version, plus how many
    versions per video (``n_aug``), their seed, the HDF5 chunk length in frames (None: unchunked) and
    the threads computing versions ahead of the writer (0: inline)."""

    n_aug: int = 10
    seed: int = 0
    chunk_frames: int | None = 64
    workers: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.workers < 0:
            raise SectionError(f"{CONFIG_SECTION}.workers: must be >= 0, got {self.workers}")
