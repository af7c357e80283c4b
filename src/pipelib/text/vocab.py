"""Word-level vocabulary built from training sentences, shared by every text model of the project.

Ids: ``<pad>`` = 0, ``<bos>`` = 1, ``<eos>`` = 2, ``<unk>`` = 3, then the training words by descending
frequency (ties alphabetical), so the same sentences always give the same ids. Saved as JSON.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipelib.io.atomic import write_text_atomic

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS: tuple[str, ...] = (PAD, BOS, EOS, UNK)
FORMAT = "pipelib.vocab"
VERSION = 1


class Vocab:
    """Token <-> id maps; ``tokens`` lists every token in id order, the four specials first."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens: tuple[str, ...] = tuple(tokens)
        if self._tokens[: len(SPECIALS)] != SPECIALS:
            raise ValueError(f"a Vocab must start with the specials {list(SPECIALS)}, "
                             f"got {list(self._tokens[: len(SPECIALS)])}")
        self._index: dict[str, int] = {}
        for i, tok in enumerate(self._tokens):
            if not tok or tok.split() != [tok]:
                raise ValueError(f"vocab token {i} ({tok!r}) is empty or contains whitespace")
            if tok in self._index:
                raise ValueError(f"vocab token {tok!r} appears twice (ids {self._index[tok]} and {i})")
            self._index[tok] = i

    @classmethod
    def build(cls, texts: list[str], min_freq: int = 1) -> Vocab:
        """Vocabulary of the words that occur at least ``min_freq`` times in ``texts``."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts = Counter(tok for text in texts for tok in text.split() if tok not in SPECIALS)
        words = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
        return cls(SPECIALS + tuple(words))

    # ids of the specials
    @property
    def pad_id(self) -> int:
        return 0

    @property
    def bos_id(self) -> int:
        return 1

    @property
    def eos_id(self) -> int:
        return 2

    @property
    def unk_id(self) -> int:
        return 3

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every token in id order."""
        return self._tokens

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self._tokens == other._tokens

    def __hash__(self) -> int:
        return hash(self._tokens)

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens)"

    def encode(self, text: str, add_bos_eos: bool = False) -> list[int]:
        """Ids of ``text``'s whitespace tokens; unknown words map to ``unk_id``."""
        ids = [self._index.get(tok, self.unk_id) for tok in text.split()]
        return [self.bos_id, *ids, self.eos_id] if add_bos_eos else ids

    def decode(self, ids: Iterable[int]) -> str:
        """Words of ``ids`` joined by spaces, stopping at the first ``<eos>`` and skipping specials."""
        words = []
        for raw in ids:
            i = int(raw)
            if not 0 <= i < len(self._tokens):
                raise IndexError(f"token id {i} is outside this vocabulary of {len(self)} tokens")
            if i == self.eos_id:
                break
            if i >= len(SPECIALS):
                words.append(self._tokens[i])
        return " ".join(words)

    def to_json(self) -> str:
        """JSON text holding the format tag and every token in id order."""
        return json.dumps({"format": FORMAT, "version": VERSION, "tokens": list(self._tokens)},
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any]) -> Vocab:
        """Inverse of :meth:`to_json`; also accepts the already-parsed dict."""
        obj = json.loads(data) if isinstance(data, str) else data
        if not isinstance(obj, Mapping) or obj.get("format") != FORMAT:
            raise ValueError(f"not a vocabulary: expected a JSON object with format {FORMAT!r}")
        if obj.get("version") != VERSION:
            raise ValueError(f"vocabulary version {obj.get('version')!r} is not supported "
                             f"(expected {VERSION})")
        return cls(obj["tokens"])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON form to ``path`` atomically."""
        write_text_atomic(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a vocabulary written by :meth:`save`; errors name the file."""
        path = Path(path)
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: vocabulary file not found; build it with Vocab.build and "
                                    f"save it first") from None
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: {err}") from None
