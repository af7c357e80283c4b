"""Embedded synthetic sign language (weather forecasts) rendered in the PHOENIX-2014-T layout.

- :mod:`config`: :class:`SynthConfig`, the ``synthetic`` config section.
- :mod:`articulators`: the articulator parameter vector (hands, fingers, mouth, brows).
- :mod:`lexicon`: the gloss inventory, each sign as keyframes of that vector; signs come in
  minimal pairs that differ only in handshape, orientation or location (:func:`minimal_pairs`).
- :mod:`signers`: each signer's style (location, movement size, handshape laxness, tempo).
- :mod:`grammar`: sentences (gloss sequence + German-like translation).
- :mod:`motion`: timelines with holds, co-articulated transitions (location assimilation between
  neighbouring signs) and speed variation.
- :mod:`appearance`, :mod:`figure`, :mod:`render`: signer looks, 2D geometry, OpenCV drawing.
- :mod:`sentence`: one sentence in memory; :mod:`corpus`: the on-disk corpus; :mod:`stage`: the
  pipeline entry point.

The names below load their module when first used (``from pipelib.synth import generate`` works as
always), so that importing :mod:`pipelib.synth.config`, which the workflow does whenever it starts, does
not import OpenCV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelib.lazy_exports import lazy_exports

#: public name -> the module that defines it
_SOURCES = {"KEYPOINT_NAMES": "figure", "LEXICON": "lexicon", "SynthConfig": "config", "generate": "corpus",
            "render_sentence": "sentence"}

__all__ = ["KEYPOINT_NAMES", "LEXICON", "SynthConfig", "generate", "render_sentence"]


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES, __all__, globals())


if TYPE_CHECKING:
    from pipelib.synth.config import SynthConfig
    from pipelib.synth.corpus import generate
    from pipelib.synth.figure import KEYPOINT_NAMES
    from pipelib.synth.lexicon import LEXICON
    from pipelib.synth.sentence import render_sentence
