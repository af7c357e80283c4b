"""The back-translators that score a table, one kind each:

- ``trained``: the Sign Language Transformer this pipeline trains on the dataset's ground-truth skeletons
  (:mod:`pipelib.evaluation.back_translator`), or a checkpoint of it the config names;
- ``slrtp``: the SLRTP 2025 evaluation's model directory (:mod:`pipelib.evaluation.slrtp_model`), the
  back-translator of the paper's Table 5 († rows).

Each has ``kind``, ``identity`` (file and weights hash), ``layout`` (the skeleton layout of the poses
it was trained on; None if unrecorded) and ``translate(inputs)`` for (T, 534) pose inputs: the frames
``metrics.scoring_frames`` gives, as the evaluator feeds its back-translator.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

KINDS: tuple[str, ...] = ("trained", "slrtp")


class BackTranslator(Protocol):
    kind: str
    identity: str
    layout: str | None

    def translate(self, inputs: Sequence[np.ndarray]) -> list[str]: ...


class TrainedBackTranslator:
    """This pipeline's back-translator checkpoint, decoded with ``beam`` (None: the model's own)."""

    kind = "trained"

    def __init__(self, checkpoint: str | os.PathLike[str], beam: int | None = None, batch_size: int = 16,
                 device: str = "cpu") -> None:
        from pipelib.evaluation.back_translator import load_back_translator
        from pipelib.training.checkpoint import load_for_inference, weights_sha256

        self.model, self.vocab, _ = load_back_translator(checkpoint)
        self.model.to(device)
        self.layout = load_for_inference(checkpoint).config["model"].get("layout")
        self.beam, self.batch_size = beam, int(batch_size)
        self.identity = f"{Path(checkpoint).name}@weights-sha256:{weights_sha256(checkpoint)[:16]}"

    def translate(self, inputs: Sequence[np.ndarray]) -> list[str]:
        from pipelib.evaluation.back_translator import translate

        return translate(self.model, self.vocab, list(inputs), beam=self.beam, batch_size=self.batch_size)


def load_back_translators(sources: Mapping[str, str | os.PathLike[str]], section: Mapping[str, Any],
                          device: str = "cpu") -> list[BackTranslator]:
    """One back-translator per configured kind, in ``KINDS`` order.

    ``sources``: kind -> the trained checkpoint (``trained``) or the SLRTP model directory (``slrtp``);
    ``section``: the ``evaluation`` config section (``beam``, ``slrtp_back_translator``).
    """
    unknown = sorted(set(sources) - set(KINDS))
    if unknown:
        raise ValueError(f"evaluation.back_translators: unknown kind(s) {unknown}; use {', '.join(KINDS)}")
    if not sources:
        raise ValueError("evaluation.back_translators is empty; name at least one of " + ", ".join(KINDS))
    out: list[BackTranslator] = []
    if "trained" in sources:
        out.append(TrainedBackTranslator(sources["trained"], beam=section.get("beam"), device=device))
    if "slrtp" in sources:
        from pipelib.evaluation.slrtp_model import BATCH_SIZE, SlrtpBackTranslator
        from pipelib.skeletons.layout import SLRTP

        cfg = dict(section.get("slrtp_back_translator") or {})
        out.append(SlrtpBackTranslator(sources["slrtp"], device=device, layout=cfg.get("layout", SLRTP),
                                       batch_size=int(cfg.get("batch_size", BATCH_SIZE))))
    return out
