"""The ``signx.efficiency`` config section (:class:`EfficiencySection`), importable without torch or
pandas: the workflow checks it whenever it starts. The section's meaning and the measurement are in
:mod:`pipelib.signx.efficiency`, which re-exports these names."""

from __future__ import annotations

from dataclasses import dataclass

SECTION = "signx.efficiency"


@dataclass(frozen=True)
class EfficiencySection:
    """The ``signx.efficiency`` section: the split timed, at most ``max_videos`` of it (None: all),
    untimed warm-up and timed repeats per path, where and on how many threads it runs, and which
    recogniser (``target``) and ``head`` (decoder or ctc) decode."""

    split: str = "test"
    max_videos: int | None = 8
    warmup: int = 1
    repeats: int = 5
    device: str = "cpu"
    threads: int | None = None
    target: str = "gloss"
    head: str = "decoder"
