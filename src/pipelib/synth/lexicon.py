"""The gloss inventory: each weather-domain sign as location, handshape, orientation, movement, hands.

The lexicon is built so that meaning lives in fine articulation, as in real sign languages: signs
come in *families* that share location, movement and hands, and the members of a family differ only
in handshape (finger configuration) or only in orientation (finger direction); a few pairs differ
only in location. :func:`minimal_pairs` lists them. Regions, numbers and most weather signs belong
to such families, so a producer that blurs hands towards an average handshape loses which region,
number or weather it meant. Non-manual markers carry no lexical contrast: the mouth pattern and the
brows follow the sign's category, so no minimal pair can be told apart by the face.

A sign is turned into a short list of keyframes, each a full articulator vector (see
:mod:`pipelib.synth.articulators`): the dominant (right) hand moves through the movement's offsets
around its location, the other hand mirrors it (``sym``), mirrors it out of phase (``alt``) or rests
(``one``). A :class:`~pipelib.synth.signers.SignerStyle` shifts locations, scales movements, relaxes
handshapes and turns the hand as that signer habitually does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from pipelib.synth.articulators import INDEX, hand_slice, hand_vector, rest_vector
from pipelib.synth.signers import SignerStyle

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
    "w": ((0.8, 0.0, 0.0, 0.0, 0.9), 0.8),
    "y": ((0.0, 0.9, 0.9, 0.9, 0.0), 0.7),
    "l": ((0.0, 0.0, 0.9, 0.9, 0.9), 0.4),
    "horns": ((0.75, 0.0, 0.9, 0.9, 0.0), 0.7),
    "thumb": ((0.0, 0.9, 0.9, 0.9, 0.9), 0.3),
    "claw": ((0.35, 0.55, 0.55, 0.55, 0.55), 0.8),
    "o": ((0.65, 0.7, 0.7, 0.7, 0.7), 0.0),
}
"""Finger curls (thumb, index, middle, ring, pinky) and spread of each handshape. The shapes that
share a family differ in which fingers are extended, which MediaPipe's hand landmarks resolve at
the corpus resolution."""

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
"""Brow position of each category (+1 raised, -1 furrowed)."""

MOUTHS: dict[str, tuple[float, float, float]] = {
    "time": (0.3, 0.0, 0.8), "region": (0.35, 0.85, 0.0), "weather": (0.8, 0.0, 0.1),
    "temperature": (0.35, 0.85, 0.0), "number": (0.3, 0.0, 0.8), "intensity": (0.8, 0.0, 0.1),
    "predicate": (0.2, 0.0, 0.0),
}
"""Mouth pattern (open, round, spread) of each category: mouthing marks the kind of sign, not the word."""

#: The articulators a sign is specified by; minimal pairs differ in exactly one of them.
ARTICULATORS = ("location", "handshape", "orientation", "movement", "hands")


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

    @property
    def family(self) -> tuple[str, str, str]:
        """Signs sharing location, movement and hands: they differ in handshape or orientation only."""
        return (self.location, self.movement, self.hands)

    @property
    def mouth(self) -> tuple[float, float, float]:
        """(open, round, spread) targets of the mouth pattern (the category's)."""
        return MOUTHS[self.category]

    @property
    def brows(self) -> float:
        return BROWS[self.category]

    def articulation(self) -> dict[str, object]:
        """The sign's value for each of :data:`ARTICULATORS`."""
        return {"location": self.location, "handshape": self.handshape, "orientation": self.rot,
                "movement": self.movement, "hands": self.hands}


_S = SignSpec
LEXICON: dict[str, SignSpec] = {s.gloss: s for s in (
    # time: TAG / WOCHENENDE differ in handshape, MORGEN / ABEND in location, HEUTE / NACHT in orientation
    _S("HEUTE", "heut", "time", "chest", "flat", "down", "sym", rot=-0.3),
    _S("NACHT", "nacht", "time", "chest", "flat", "down", "sym", rot=-1.2),
    _S("MORGEN", "morgen", "time", "cheek", "index", "out", "one"),
    _S("ABEND", "abend", "time", "temple", "index", "out", "one"),
    _S("TAG", "tag", "time", "neutral", "index", "arc", "one"),
    _S("WOCHENENDE", "wochenende", "time", "neutral", "w", "arc", "one"),
    # regions: four handshapes on one circle, and an orientation pair
    _S("NORD", "nord", "region", "neutral", "index", "circle", "one"),
    _S("SUED", "süd", "region", "neutral", "v", "circle", "one"),
    _S("WEST", "west", "region", "neutral", "w", "circle", "one"),
    _S("OST", "ost", "region", "neutral", "horns", "circle", "one"),
    _S("KUESTE", "küste", "region", "side", "flat", "wave", "one", rot=-1.0),
    _S("BERG", "berg", "region", "side", "flat", "wave", "one", rot=0.3),
    # weather: rain, snow and showers fall alike and differ in handshape
    _S("REGEN", "reg", "weather", "high", "five", "down", "sym"),
    _S("SCHNEE", "schne", "weather", "high", "claw", "down", "sym"),
    _S("SCHAUER", "schauer", "weather", "high", "index", "down", "sym"),
    _S("SONNE", "sonn", "weather", "top", "fist", "open", "one"),
    _S("WOLKE", "wolk", "weather", "high", "claw", "circle", "sym"),
    _S("NEBEL", "nebel", "weather", "cheek", "five", "shake", "sym"),
    _S("GEWITTER", "gewitter", "weather", "high", "index", "zigzag", "one"),
    _S("FROST", "frost", "weather", "chest", "claw", "close", "sym"),
    _S("WIND", "wind", "weather", "side", "flat", "wave", "alt", rot=-1.0),
    # temperature: cold and warm differ in handshape
    _S("KALT", "kalt", "temperature", "chest", "fist", "shake", "sym"),
    _S("WARM", "warm", "temperature", "chest", "five", "shake", "sym"),
    _S("GRAD", "grad", "temperature", "high", "o", "circle", "one"),
    _S("MINUS", "minus", "temperature", "neutral", "index", "out", "one", rot=-1.4),
    # numbers: one tapping movement, the number in the fingers
    _S("NULL", "null", "number", "neutral", "fist", "tap", "one"),
    _S("FUENF", "fünf", "number", "neutral", "five", "tap", "one"),
    _S("ZEHN", "zehn", "number", "neutral", "thumb", "tap", "one"),
    _S("FUENFZEHN", "fünfzehn", "number", "neutral", "l", "tap", "one"),
    _S("ZWANZIG", "zwanzig", "number", "neutral", "v", "tap", "one"),
    # intensity: strong and weak differ in location
    _S("STARK", "stark", "intensity", "chest", "fist", "down", "sym"),
    _S("SCHWACH", "schwach", "intensity", "stomach", "fist", "down", "sym"),
    # predicates
    _S("KOMMEN", "komm", "predicate", "side", "flat", "in", "one", rot=0.4),
    _S("BLEIBEN", "bleib", "predicate", "neutral", "y", "down", "sym"),
    _S("TROCKEN", "trocken", "predicate", "chin", "index", "in", "one", rot=-1.3),
    _S("FREUNDLICH", "freundlich", "predicate", "cheek", "five", "circle", "sym"),
)}


def minimal_pairs(lexicon: dict[str, SignSpec] | None = None) -> dict[str, list[tuple[str, str]]]:
    """Pairs of glosses of one category that differ in exactly one articulator, by that articulator.

    Keys are those of :data:`ARTICULATORS` that have pairs, e.g. ``{"handshape": [("NORD", "SUED"),
    ...], "orientation": [...], "location": [...]}``; glosses within a pair are sorted.
    """
    specs = sorted((lexicon or LEXICON).values(), key=lambda s: s.gloss)
    out: dict[str, list[tuple[str, str]]] = {}
    for i, a in enumerate(specs):
        for b in specs[i + 1:]:
            if a.category != b.category:
                continue
            va, vb = a.articulation(), b.articulation()
            differ = [k for k in ARTICULATORS if va[k] != vb[k]]
            if len(differ) == 1:
                out.setdefault(differ[0], []).append((a.gloss, b.gloss))
    return out


def _spec(gloss: str) -> SignSpec:
    try:
        return LEXICON[gloss]
    except KeyError:
        raise ValueError(f"unknown gloss {gloss!r}; the lexicon has {sorted(LEXICON)}") from None


@functools.cache
def _families() -> dict[tuple[str, str, str], tuple[str, ...]]:
    out: dict[tuple[str, str, str], tuple[str, ...]] = {}
    for spec in LEXICON.values():
        out[spec.family] = (*out.get(spec.family, ()), spec.gloss)
    return out


def _raw_keys(spec: SignSpec, jitter: tuple[float, float, float], style: SignerStyle) -> np.ndarray:
    """Keyframes (n_keys, P) of ``spec`` before hands are kept clear of each other and the face."""
    keys = MOVEMENTS[spec.movement]
    lx, ly = LOCATIONS[spec.location]
    jx, jy, jr = jitter
    lx, ly = lx + style.dx, ly + style.dy
    amp = style.amplitude
    m_open, m_round, m_spread = spec.mouth
    rest = rest_vector()
    out = np.empty((len(keys), len(rest)), dtype=np.float64)
    n = len(keys)

    def hand(dx: float, dy: float, dr: float, shape: str | None, sx: float, sr: float) -> np.ndarray:
        curls, spread = HANDSHAPES[shape or spec.handshape]
        return hand_vector(lx + sx * jx + amp * dx, ly + jy + amp * dy, spec.rot + style.rot + sr * jr + dr,
                           tuple(style.curls(np.array(curls))), spread)

    for k, (dx, dy, dr, shape) in enumerate(keys):
        v = rest.copy()
        if spec.hands == "one":
            v[hand_slice("left")] = PASSIVE_HAND
        v[hand_slice("right")] = hand(dx, dy, dr, shape, 1.0, 1.0)
        if spec.hands in ("sym", "alt"):
            dx2, dy2, dr2, shape2 = keys[n - 1 - k] if spec.hands == "alt" else keys[k]
            v[hand_slice("left")] = hand(dx2, dy2, dr2, shape2, -1.0, -1.0)
        # Mouthing opens and closes through the sign: strongest in its middle.
        env = 0.55 + 0.45 * float(np.sin(np.pi * (k + 0.5) / n))
        v[INDEX["mouth_open"]] = m_open * env
        v[INDEX["mouth_round"]] = m_round
        v[INDEX["mouth_spread"]] = m_spread
        v[INDEX["brows"]] = spec.brows
        out[k] = v
    return out


def sign_keyframes(gloss: str, rng: np.random.Generator | None = None,
                   style: SignerStyle | None = None) -> np.ndarray:
    """Keyframes of one sign, (n_keys, P) float64 articulator vectors.

    ``rng`` adds the small variation of a real repetition (location +-0.05 body units, finger
    direction +-0.08 rad); ``style`` applies a signer's habits. Without either the canonical
    citation form is returned. Hands are moved clear of each other and of the face by the same
    amount for every sign of the family (so minimal pairs stay minimal): the largest amount any
    member needs with the same variation.
    """
    spec = _spec(gloss)
    style = style or SignerStyle()
    jitter = (0.0, 0.0, 0.0)
    if rng is not None:
        jx, jy = rng.uniform(-0.05, 0.05, size=2)
        jitter = (float(jx), float(jy), float(rng.uniform(-0.08, 0.08)))
    both = spec.hands in ("sym", "alt")
    members = [_raw_keys(LEXICON[g], jitter, style) for g in _families()[spec.family]]
    out_shift = max(clearance_out(m, both) for m in members)
    down_shift = max(clearance_down(_shifted(m, both, out_shift, 0.0), both) for m in members)
    return _shifted(_raw_keys(spec, jitter, style), both, out_shift, down_shift)


def _shifted(keys: np.ndarray, both: bool, out: float, down: float) -> np.ndarray:
    """A copy of ``keys`` with the active hands moved ``out`` (lateral) and ``down`` body units."""
    keys = keys.copy()
    for hand in ("right", "left") if both else ("right",):
        keys[:, INDEX[f"{hand}_x"]] += out
        keys[:, INDEX[f"{hand}_y"]] += down
    return keys


def keep_clear(keys: np.ndarray, both: bool) -> np.ndarray:
    """``keys`` (n, P) with the active hands moved clear of each other and the face (a copy)."""
    out = clearance_out(keys, both)
    return _shifted(keys, both, out, clearance_down(_shifted(keys, both, out, 0.0), both))


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


def clearance_out(keys: np.ndarray, both: bool) -> float:
    """How far (body units, >= 0) the active hands of ``keys`` must move towards their own side so
    that MediaPipe keeps finding them: hands that overlap each other or the skin of the face get lost.

    Two-handed signs never touch each other; a one-handed sign crosses the midline by at most
    ``CROSS_MAX`` (clear of the passive hand); signs at face height sit beside the face.
    """
    out = 0.0
    for hand in ("right", "left") if both else ("right",):
        x, y, rot = (keys[:, INDEX[f"{hand}_{f}"]] for f in ("x", "y", "rot"))
        reach = _medial_reach(rot, _hand_length(keys, hand))
        out = max(out, float(np.max(reach - x)) - (0.0 if both else CROSS_MAX))
        at_face = y < FACE_LOW
        if np.any(at_face):
            out = max(out, float(np.max((reach + FACE_HALF - x)[at_face])))
    return max(out, 0.0)


def clearance_down(keys: np.ndarray, both: bool) -> float:
    """How far (body units, >= 0) the active hands must move down so that lower signs keep their
    fingertips under the chin unless they are beside the face anyway."""
    down = 0.0
    for hand in ("right", "left") if both else ("right",):
        x, y, rot = (keys[:, INDEX[f"{hand}_{f}"]] for f in ("x", "y", "rot"))
        length = _hand_length(keys, hand)
        below = (y >= FACE_LOW) & (x - _medial_reach(rot, length) < FACE_HALF)
        if np.any(below):
            down = max(down, float(np.max((CHIN_CLEAR - (y - _upward_reach(rot, length)))[below])))
    return max(down, 0.0)
