"""The ``signx.recognition`` config section (:class:`RecognitionSection`), importable without torch,
pandas or sacrebleu: the workflow checks it whenever it starts. The section's meaning and the scoring are
in :mod:`pipelib.signx.recognition`, which re-exports these names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pipelib.sections import SectionError, from_section
from pipelib.signx.recognizer_config import DecodingConfig

SECTION = "signx.recognition"


@dataclass(frozen=True)
class RecognitionSection:
    """The ``signx.recognition`` section: the splits scored (``split`` names one, the older spelling;
    give one of the two), videos decoded at once, and decoding overrides of the checkpoints' own."""

    splits: tuple[str, ...] = ("dev", "test")
    split: str | None = None
    batch_size: int = 8
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    device: str = "auto"  # auto | cpu | cuda: where Video2Pose runs for the SignX-video rows

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = SECTION) -> RecognitionSection:
        """Parse and check the section; bad keys and values raise SectionError naming ``where.key``."""
        sec = from_section(cls, data, where)
        if sec.split is not None and "splits" in (data or {}):
            raise SectionError(f"{where}: give split (one) or splits (a list), not both")
        if sec.split is not None:
            sec = replace(sec, splits=(sec.split,))
        if not sec.splits:
            raise SectionError(f"{where}.splits: must be a non-empty list such as [test] or [dev, test], "
                               f"got {list(sec.splits)}")
        if sec.batch_size < 1:
            raise SectionError(f"{where}.batch_size: must be >= 1, got {sec.batch_size}")
        return sec
