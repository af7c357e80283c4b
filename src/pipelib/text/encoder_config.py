"""The text encoder's config section (``production.generator.text_encoder``), importable without torch:
the workflow checks it whenever it starts. The encoders themselves are in :mod:`pipelib.text.encoders`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from pipelib.sections import from_section

KINDS = ("learned", "bert")
CONFIG_KEY = "production.text_encoder"


@dataclass(frozen=True)
class TextEncoderConfig:
    """``kind`` picks the encoder; ``d_text`` and ``dropout`` are for ``learned``, ``path`` and
    ``freeze`` for ``bert``; ``max_tokens`` truncates long sentences for both."""

    kind: str = "learned"
    d_text: int = 512
    dropout: float = 0.1
    max_tokens: int = 128
    path: str | None = None
    freeze: bool = True

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, where: str = CONFIG_KEY) -> TextEncoderConfig:
        """Build from a config section; unknown keys and wrong types raise
        :class:`~pipelib.sections.SectionError` naming the dotted key."""
        d = dict(d or {})
        if isinstance(d.get("path"), os.PathLike):
            d["path"] = os.fspath(d["path"])
        cfg = from_section(cls, d, where)
        cfg.validate(where)
        return cfg

    def validate(self, where: str = CONFIG_KEY) -> None:
        """Raise ValueError naming the key when a value cannot work."""
        if self.kind not in KINDS:
            raise ValueError(f"{where}.kind: must be one of {list(KINDS)}, got {self.kind!r}")
        if self.d_text < 1 or self.max_tokens < 1:
            raise ValueError(f"{where}: d_text and max_tokens must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"{where}.dropout: must be in [0, 1), got {self.dropout}")
        if self.kind == "bert" and not self.path:
            raise ValueError(f"{where}.path: required for kind 'bert' (a local BERT directory)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
