"""A trained SignX recogniser rebuilt from its checkpoint, and decoding with it.

:func:`load_recognizer` gives the model with its vocabularies and section (:class:`LoadedRecognizer`);
:func:`decode` runs the decoder (beam search with the entropy penalty) or the CTC head over pruned
latents ``(T, input_dim)`` float32.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pipelib.batching import batch_indices
from pipelib.signx.latent_data import make_batch
from pipelib.signx.recognizer import LatentRecognizer
from pipelib.text.vocab import Vocab
from pipelib.training.loading import load_model


@dataclass
class LoadedRecognizer:
    """A recogniser rebuilt from a checkpoint: the model (eval mode), its vocabularies and section."""

    model: LatentRecognizer
    gloss_vocab: Vocab
    text_vocab: Vocab | None
    section: dict[str, Any]

    @property
    def target(self) -> str:
        return self.model.cfg.target

    @property
    def output_vocab(self) -> Vocab:
        """The vocabulary the decoder generates."""
        if self.target == "text":
            assert self.text_vocab is not None
            return self.text_vocab
        return self.gloss_vocab


def load_recognizer(path: str | os.PathLike[str],
                    map_location: str | torch.device = "cpu") -> LoadedRecognizer:
    """Model (eval mode, on ``map_location``), vocabularies and section of a recogniser checkpoint
    (best.pt, epochNNN.pt or averaged.pt: results/<ds>/signx/recognizer_<target>/averaged.pt)."""
    loaded = load_model(path, map_location, expect=LatentRecognizer)
    return LoadedRecognizer(loaded.model, loaded.vocabs["gloss"], loaded.vocabs.get("text"),
                            dict(loaded.config.get("section") or {}))


@torch.no_grad()
def decode(model: LatentRecognizer, latents: Sequence[np.ndarray], how: str, batch_size: int = 8,
           beam: int | None = None, entropy_weight: float | None = None, alpha: float | None = None,
           max_len: int | None = None) -> list[list[int]]:
    """Token ids per video, in order: ``how`` = ``decoder`` (beam search with the entropy penalty; config
    defaults) or ``ctc`` (CTC head on the glosses; ``beam`` 1 = greedy, more = prefix beam search)."""
    device = next(model.parameters()).device
    out: list[list[int]] = []
    for idx in batch_indices(len(latents), batch_size, shuffle=False):
        b = make_batch([latents[i] for i in idx])
        x, pad = b["latents"].to(device), b["pad"].to(device)
        if how == "decoder":
            out += model.generate(x, pad, beam=beam, entropy_weight=entropy_weight, alpha=alpha,
                                  max_len=max_len)
        elif how == "ctc":
            out += model.recognise_glosses(x, pad, beam=beam or 1)
        else:
            raise ValueError(f"decoding must be 'decoder' or 'ctc', got {how!r}")
    return out
