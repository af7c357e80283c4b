"""Signer styles: how one signer's articulation departs from the citation form of every sign.

Real signers differ in where they sign, how large their movements are, how crisp their handshapes
are and how fast they sign. A :class:`SignerStyle` holds one signer's habits; it is drawn from the
corpus seed and the signer index, so a signer keeps one style across every sentence and split.
Units follow :mod:`pipelib.synth.articulators` (body units for locations, radians for ``rot``, curl
units for ``laxness``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Largest style departure at ``variation = 1``: location offset (body units), movement amplitude
#: factor range, handshape laxness (curl units), tempo factor range, finger-direction offset (rad).
LOCATION_SHIFT = 0.1
AMPLITUDE = (0.8, 1.25)
LAXNESS = 0.16
TEMPO = (0.87, 1.15)
ROT_SHIFT = 0.1


@dataclass(frozen=True)
class SignerStyle:
    """One signer's habits. The neutral style (all defaults) signs the citation forms."""

    dx: float = 0.0  # lateral location offset (towards the hand's own side), body units
    dy: float = 0.0  # vertical location offset (down), body units
    amplitude: float = 1.0  # movement size factor around each location
    laxness: float = 0.0  # curl units: straight fingers bend this much, bent ones open this much
    tempo: float = 1.0  # speed factor applied to every sentence of this signer
    rot: float = 0.0  # finger-direction offset, radians (towards the hand's own side)

    def curls(self, curls: np.ndarray) -> np.ndarray:
        """A handshape's finger curls (..., 5) as this signer forms them: less crisp with laxness."""
        c = np.asarray(curls, dtype=np.float64)
        return np.clip(np.where(c < 0.5, c + self.laxness, c - self.laxness), 0.0, 1.0)


def signer_style(index: int, seed: int, variation: float = 1.0) -> SignerStyle:
    """The style of signer ``index`` (0-based) in the corpus of ``seed``.

    ``variation`` scales every departure from the citation form (0 gives the neutral style).
    """
    if index < 0:
        raise ValueError(f"signer index must be >= 0, got {index}")
    if variation < 0:
        raise ValueError(f"signer variation must be >= 0, got {variation}")
    rng = np.random.default_rng([seed, 7919, index])
    u = rng.uniform(-1.0, 1.0, size=6)

    def around_one(bounds: tuple[float, float], x: float) -> float:
        lo, hi = bounds
        return 1.0 + variation * ((hi - 1.0) * x if x > 0 else (1.0 - lo) * x)

    return SignerStyle(
        dx=variation * LOCATION_SHIFT * float(u[0]),
        dy=variation * LOCATION_SHIFT * float(u[1]),
        amplitude=around_one(AMPLITUDE, float(u[2])),
        laxness=variation * LAXNESS * 0.5 * (1.0 + float(u[3])),
        tempo=around_one(TEMPO, float(u[4])),
        rot=variation * ROT_SHIFT * float(u[5]),
    )
