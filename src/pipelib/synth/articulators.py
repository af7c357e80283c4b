"""The articulator parameter vector: one (P,) float vector describes the whole signer at one instant.

Hand positions are in body units, side-relative so that one number serves both hands mirrored:
``x`` is the distance from the body midline towards the hand's own side, in shoulder half-widths
(negative crosses the midline); ``y`` is the height below the shoulder line, in units of the
shoulder-to-eye distance (``y = -1`` is eye level, ``y = 1`` is one such unit below the shoulders).
``rot`` is the finger direction in radians (0 = fingers up, positive = tilted towards the hand's
own side). Curls are 0 (straight) to 1 (fully bent), ``spread`` 0 (fingers together) to 1.
Face: ``mouth_open``, ``mouth_round``, ``mouth_spread`` in [0, 1]; ``brows`` in [-1, 1]
(+1 raised, -1 furrowed); ``head_roll`` in radians; ``head_nod`` in head-radius units.
"""

from __future__ import annotations

import numpy as np

HANDS = ("right", "left")
FINGERS = ("thumb", "index", "middle", "ring", "pinky")
HAND_FIELDS = ("x", "y", "rot", *(f"curl_{f}" for f in FINGERS), "spread")
FACE_FIELDS = ("mouth_open", "mouth_round", "mouth_spread", "brows", "head_roll", "head_nod")

PARAM_NAMES: tuple[str, ...] = (
    *(f"{h}_{f}" for h in HANDS for f in HAND_FIELDS),
    *FACE_FIELDS,
)
P = len(PARAM_NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(PARAM_NAMES)}


def hand_slice(hand: str) -> slice:
    """Slice of the vector holding ``hand``'s fields (``hand`` is "right" or "left")."""
    start = HANDS.index(hand) * len(HAND_FIELDS)
    return slice(start, start + len(HAND_FIELDS))


def face_slice() -> slice:
    """Slice of the vector holding the face fields."""
    start = len(HANDS) * len(HAND_FIELDS)
    return slice(start, start + len(FACE_FIELDS))


def hand_vector(x: float, y: float, rot: float, curls: tuple[float, ...], spread: float) -> np.ndarray:
    """One hand's fields, (len(HAND_FIELDS),) float64."""
    if len(curls) != len(FINGERS):
        raise ValueError(f"curls needs {len(FINGERS)} values (thumb..pinky), got {len(curls)}")
    return np.array([x, y, rot, *curls, spread], dtype=np.float64)


def rest_vector() -> np.ndarray:
    """The resting posture between sentences: both hands low in front of the torso, relaxed. (P,)"""
    v = np.zeros(P, dtype=np.float64)
    relaxed = hand_vector(0.6, 1.15, -0.5, (0.25, 0.2, 0.25, 0.3, 0.35), 0.2)
    v[hand_slice("right")] = relaxed
    v[hand_slice("left")] = relaxed
    return v
