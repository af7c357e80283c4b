"""The gloss inventory: each weather-domain sign as location, handshape, movement, hands and face.

A sign is turned into a short list of keyframes, each a full articulator vector (see
:mod:`pipelib.synth.articulators`): the dominant (right) hand moves through the movement's
offsets around its location, the other hand mirrors it (``sym``), mirrors it out of phase
(``alt``) or rests (``one``). The mouth shape follows the first vowel of the German word
(a: open, o/u: round, e/i: spread) and the brows follow the sign's category.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelib.synth.articulators import INDEX, hand_slice, hand_vector, rest_vector

LOCATIONS: dict[str, tuple[float, float]] = {
    "neutral": (0.45, 0.45),
    "chest": (0.3, 0.55),
    "stomach": (0.35, 1.0),
    "side": (1.2, 0.35),
    "chin": (0.55, -0.05),
    "cheek": (0.95, -0.75),
    "temple": (1.0, -1.15),
    "high": (1.1, -1.3),
    "top": (0.55, -1.65),
}
"""Wrist positions in side-relative body units (x lateral, y below the shoulder line)."""

HANDSHAPES: dict[str, tuple[tuple[float, float, float, float, float], float]] = {
    "flat": ((0.15, 0.0, 0.0, 0.0, 0.0), 0.05),
    "five": ((0.0, 0.0, 0.0, 0.0, 0.0), 1.0),
    "fist": ((0.55, 0.9, 0.9, 0.9, 0.9), 0.0),
    "index": ((0.75, 0.0, 0.9, 0.9, 0.9), 0.2),
    "v": ((0.75, 0.0, 0.0, 0.9, 0.9), 0.9),
    "y": ((0.0, 0.9, 0.9, 0.9, 0.0), 0.7),
    "l": ((0.0, 0.0, 0.9, 0.9, 0.9), 0.4),
    "w": ((0.8, 0.0, 0.0, 0.0, 0.9), 0.8),
    "claw": ((0.35, 0.55, 0.55, 0.55, 0.55), 0.8),
    "o": ((0.65, 0.7, 0.7, 0.7, 0.7), 0.0),
}
"""Finger curls (thumb, index, middle, ring, pinky) and spread of each handshape."""

# Movement keys: (dx, dy, drot, handshape or None to keep the sign's) relative to the location.
Key = tuple[float, float, float, str | None]
MOVEMENTS: dict[str, tuple[Key, ...]] = {
    "hold": ((0.0, -0.03, 0.0, None), (0.0, 0.05, 0.0, None)),
    "down": ((0.0, -0.3, 0.0, None), (0.0, 0.3, 0.0, None)),
    "up": ((0.0, 0.3, 0.0, None), (0.0, -0.3, 0.0, None)),
    "out": ((-0.3, 0.0, 0.0, None), (0.35, 0.0, 0.0, None)),
    "in": ((0.3, 0.0, 0.0, None), (-0.35, 0.0, 0.0, None)),
    "arc": ((-0.3, 0.15, 0.0, None), (0.0, -0.2, 0.0, None), (0.3, 0.15, 0.0, None)),
    "circle": tuple(
        (0.22 * float(np.cos(a)), 0.22 * float(np.sin(a)), 0.0, None)
        for a in np.linspace(0.0, 2.0 * np.pi, 5)
    ),
    "zigzag": ((-0.15, -0.35, 0.0, None), (0.15, -0.12, 0.0, None), (-0.15, 0.12, 0.0, None),
               (0.15, 0.35, 0.0, None)),
    "wave": ((-0.35, 0.0, 0.0, None), (-0.12, -0.15, 0.0, None), (0.12, 0.15, 0.0, None),
             (0.35, 0.0, 0.0, None)),
    "tap": ((0.0, 0.0, 0.0, None), (0.0, 0.15, 0.0, None), (0.0, 0.0, 0.0, None),
            (0.0, 0.15, 0.0, None)),
    "shake": ((0.0, 0.0, -0.35, None), (0.0, 0.0, 0.35, None), (0.0, 0.0, -0.35, None),
              (0.0, 0.0, 0.35, None)),
    "twist": ((0.0, 0.0, -0.5, None), (0.0, 0.05, 0.9, None)),
    "open": ((0.0, 0.1, 0.0, "fist"), (0.0, -0.15, 0.0, "five")),
    "close": ((0.0, -0.1, 0.0, "five"), (0.0, 0.15, 0.0, "fist")),
    "flash": ((0.0, 0.0, 0.0, "five"), (0.0, 0.05, 0.0, "fist"), (0.0, 0.0, 0.0, "five")),
    "wiggle": ((0.0, -0.15, 0.0, "five"), (0.0, -0.05, 0.0, "claw"), (0.0, 0.05, 0.0, "five"),
               (0.0, 0.15, 0.0, "claw")),
}

PASSIVE_HAND = hand_vector(0.85, 1.2, -0.3, (0.25, 0.2, 0.25, 0.3, 0.35), 0.2)
"""The non-dominant hand during one-handed signs: low and to the side, out of the way."""

BROWS = {"time": 0.8, "region": 0.0, "weather": 0.0, "temperature": 0.0, "number": 0.0,
         "intensity": -0.8, "predicate": 0.3}


@dataclass(frozen=True)
class SignSpec:
    """One gloss: its articulation and the German stem its translation words share."""

    gloss: str
    stem: str  # lower-case substring of every German word form of this gloss
    category: str
    location: str
    handshape: str
    movement: str
    hands: str  # "one" (right hand only), "sym" (mirrored), "alt" (mirrored, out of phase)
    rot: float = 0.0  # finger direction at the location, radians (0 up, + towards own side)
    brows: float | None = None  # None: the category's default

    @property
    def mouth(self) -> tuple[float, float, float]:
        """(open, round, spread) targets from the stem's first vowel."""
        for ch in self.stem:
            if ch in "aä":
                return (0.8, 0.0, 0.1)
            if ch in "oöuü":
                return (0.35, 0.85, 0.0)
            if ch in "ei":
                return (0.3, 0.0, 0.8)
        return (0.2, 0.0, 0.0)


_S = SignSpec
LEXICON: dict[str, SignSpec] = {s.gloss: s for s in (
    # time
    _S("HEUTE", "heut", "time", "neutral", "flat", "down", "sym", rot=-0.3),
    _S("MORGEN", "morgen", "time", "cheek", "index", "out", "one"),
    _S("ABEND", "abend", "time", "temple", "flat", "down", "one", rot=-0.4),
    _S("NACHT", "nacht", "time", "chest", "flat", "in", "sym", rot=-1.2),
    _S("TAG", "tag", "time", "neutral", "index", "arc", "one"),
    _S("WOCHENENDE", "wochenende", "time", "neutral", "w", "circle", "one"),
    # regions
    _S("NORD", "nord", "region", "high", "index", "up", "one"),
    _S("SUED", "süd", "region", "stomach", "index", "down", "one"),
    _S("WEST", "west", "region", "side", "index", "out", "one", rot=1.2),
    _S("OST", "ost", "region", "chest", "index", "in", "one", rot=-1.3),
    _S("KUESTE", "küste", "region", "neutral", "flat", "wave", "one", rot=-1.3),
    _S("BERG", "berg", "region", "neutral", "flat", "arc", "sym", rot=-0.6),
    # weather
    _S("REGEN", "reg", "weather", "high", "five", "down", "sym"),
    _S("SCHNEE", "schne", "weather", "top", "five", "wiggle", "sym"),
    _S("SONNE", "sonn", "weather", "top", "fist", "open", "one"),
    _S("WOLKE", "wolk", "weather", "high", "claw", "circle", "sym"),
    _S("NEBEL", "nebel", "weather", "cheek", "five", "shake", "sym"),
    _S("GEWITTER", "gewitter", "weather", "high", "index", "zigzag", "one", brows=-0.8),
    _S("SCHAUER", "schauer", "weather", "high", "claw", "tap", "sym"),
    _S("FROST", "frost", "weather", "chest", "claw", "close", "sym", brows=-0.6),
    _S("WIND", "wind", "weather", "side", "flat", "wave", "alt", rot=-1.0),
    # temperature
    _S("KALT", "kalt", "temperature", "chest", "fist", "shake", "sym", brows=-0.7),
    _S("WARM", "warm", "temperature", "chest", "flat", "circle", "one", rot=-0.8),
    _S("GRAD", "grad", "temperature", "high", "o", "circle", "one"),
    _S("MINUS", "minus", "temperature", "neutral", "index", "out", "one", rot=-1.4),
    # numbers
    _S("NULL", "null", "number", "neutral", "o", "tap", "one"),
    _S("FUENF", "fünf", "number", "neutral", "five", "hold", "one"),
    _S("ZEHN", "zehn", "number", "neutral", "five", "flash", "sym"),
    _S("FUENFZEHN", "fünfzehn", "number", "neutral", "five", "twist", "one"),
    _S("ZWANZIG", "zwanzig", "number", "neutral", "v", "shake", "one"),
    # intensity
    _S("STARK", "stark", "intensity", "chest", "fist", "down", "sym"),
    _S("SCHWACH", "schwach", "intensity", "neutral", "claw", "down", "one"),
    # predicates
    _S("KOMMEN", "komm", "predicate", "side", "flat", "in", "one", rot=0.4),
    _S("BLEIBEN", "bleib", "predicate", "neutral", "y", "down", "sym"),
    _S("TROCKEN", "trocken", "predicate", "chin", "index", "in", "one", rot=-1.3),
    _S("FREUNDLICH", "freundlich", "predicate", "cheek", "five", "circle", "sym"),
)}


def sign_keyframes(gloss: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """Keyframes of one sign, (n_keys, P) float64 articulator vectors.

    ``rng`` adds the small variation of a real repetition (location +-0.05 body units, finger
    direction +-0.08 rad); without it the canonical citation form is returned.
    """
    try:
        spec = LEXICON[gloss]
    except KeyError:
        raise ValueError(f"unknown gloss {gloss!r}; the lexicon has {sorted(LEXICON)}") from None
    keys = MOVEMENTS[spec.movement]
    lx, ly = LOCATIONS[spec.location]
    jx = jy = jr = 0.0
    if rng is not None:
        jx, jy = rng.uniform(-0.05, 0.05, size=2)
        jr = float(rng.uniform(-0.08, 0.08))
    brows = BROWS[spec.category] if spec.brows is None else spec.brows
    m_open, m_round, m_spread = spec.mouth
    rest = rest_vector()
    out = np.empty((len(keys), len(rest)), dtype=np.float64)
    n = len(keys)
    for k, (dx, dy, dr, shape) in enumerate(keys):
        v = rest.copy()
        curls, spread = HANDSHAPES[shape or spec.handshape]
        if spec.hands == "one":
            v[hand_slice("left")] = PASSIVE_HAND
        v[hand_slice("right")] = hand_vector(lx + jx + dx, ly + jy + dy, spec.rot + jr + dr, curls, spread)
        if spec.hands in ("sym", "alt"):
            dx2, dy2, dr2, shape2 = keys[n - 1 - k] if spec.hands == "alt" else keys[k]
            curls2, spread2 = HANDSHAPES[shape2 or spec.handshape]
            v[hand_slice("left")] = hand_vector(lx - jx + dx2, ly + jy + dy2, spec.rot - jr + dr2,
                                                curls2, spread2)
        # Mouthing opens and closes through the sign: strongest in its middle.
        env = 0.55 + 0.45 * float(np.sin(np.pi * (k + 0.5) / n))
        v[INDEX["mouth_open"]] = m_open * env
        v[INDEX["mouth_round"]] = m_round
        v[INDEX["mouth_spread"]] = m_spread
        v[INDEX["brows"]] = brows
        out[k] = v
    _keep_clear(out, both=spec.hands in ("sym", "alt"))
    return out


def _hand_length(keys: np.ndarray, hand: str) -> np.ndarray:
    """Nominal wrist-to-fingertip length per key in pixels: 16 px palm plus the straightest
    finger's share of a 15 px finger (curled fingers reach less far)."""
    o = INDEX[f"{hand}_curl_index"]
    return 16.0 + 15.0 * (1.0 - keys[:, o:o + 4].min(axis=1))


def _medial_reach(rot: np.ndarray, length: np.ndarray) -> np.ndarray:
    """How far a hand reaches past its wrist towards the midline plus a 9 px gap, in shoulder
    half-widths (nominal 44 px; palm 18 px wide)."""
    return (length * np.sin(np.clip(-rot, 0.0, None)) + 9.0 * np.abs(np.cos(rot)) + 9.0) / 44.0


def _upward_reach(rot: np.ndarray, length: np.ndarray) -> np.ndarray:
    """How far a hand reaches above its wrist, in shoulder-to-eye units (nominal 47 px)."""
    return (length * np.clip(np.cos(rot), 0.0, None) + 9.0 * np.abs(np.sin(rot))) / 47.0


FACE_HALF = 0.62  # half face width in shoulder half-widths (all appearances)
FACE_LOW = -0.25  # wrists higher than this (more negative y) keep the hand beside the face
CHIN_CLEAR = -0.12  # lower wrists keep their fingertips below this height (under the chin)
CROSS_MAX = 0.15  # how far a one-handed sign may reach past the midline


def _keep_clear(keys: np.ndarray, both: bool) -> None:
    """Move hands (in place) so that MediaPipe keeps finding them: hands that overlap each other
    or the skin of the face get lost.

    Two-handed signs never touch each other; a one-handed sign crosses the midline by at most
    ``CROSS_MAX`` (clear of the passive hand); signs at face height sit beside the face; lower
    signs keep their fingertips under the chin unless they are beside the face anyway.
    """
    hands = ("right", "left") if both else ("right",)
    out = 0.0
    for hand in hands:
        x, y, rot = (keys[:, INDEX[f"{hand}_{f}"]] for f in ("x", "y", "rot"))
        reach = _medial_reach(rot, _hand_length(keys, hand))
        out = max(out, float(np.max(reach - x)) - (0.0 if both else CROSS_MAX))
        at_face = y < FACE_LOW
        if np.any(at_face):
            out = max(out, float(np.max((reach + FACE_HALF - x)[at_face])))
    down = 0.0
    for hand in hands:
        keys[:, INDEX[f"{hand}_x"]] += max(out, 0.0)
        x, y, rot = (keys[:, INDEX[f"{hand}_{f}"]] for f in ("x", "y", "rot"))
        length = _hand_length(keys, hand)
        below = (y >= FACE_LOW) & (x - _medial_reach(rot, length) < FACE_HALF)
        if np.any(below):
            down = max(down, float(np.max((CHIN_CLEAR - (y - _upward_reach(rot, length)))[below])))
    if down > 0.0:
        for hand in hands:
            keys[:, INDEX[f"{hand}_y"]] += down
