"""Signer appearances: colours and body proportions of the cartoon signers.

Lengths are in output pixels of the 210x260 frame; colours are BGR uint8 triples. The first
appearances are hand-tuned (checked with MediaPipe Holistic); further signers are drawn from the
same ranges with a seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Appearance:
    """How one signer looks. Pixel lengths refer to the 210x260 output frame."""

    name: str
    skin: Colour
    shirt: Colour
    sleeve: Colour
    hair: Colour
    background: Colour
    head_rx: float  # head half-width
    head_ry: float  # head half-height
    neck_len: float  # chin to shoulder line
    shoulder_half: float  # midline to shoulder joint
    shoulder_y: float  # height of the shoulder line
    upper_arm: float
    forearm: float
    palm_w: float
    palm_l: float
    finger_len: float  # middle finger, knuckle to tip
    hair_style: int  # 0 short cap, 1 side parting, 2 long sides

    @property
    def head_unit(self) -> float:
        """Shoulder line to eye line in pixels: the vertical body unit of the articulator space."""
        return self.neck_len + self.head_ry * 1.05


_CURATED = (
    Appearance(
        name="Signer01", skin=(150, 182, 228), shirt=(92, 52, 34), sleeve=(92, 52, 34),
        hair=(38, 52, 70), background=(206, 206, 200), head_rx=26.0, head_ry=32.0, neck_len=14.0,
        shoulder_half=44.0, shoulder_y=134.0, upper_arm=56.0, forearm=50.0, palm_w=17.0,
        palm_l=16.0, finger_len=15.0, hair_style=0,
    ),
    Appearance(
        name="Signer02", skin=(102, 142, 192), shirt=(48, 40, 118), sleeve=(60, 52, 130),
        hair=(22, 22, 28), background=(188, 200, 212), head_rx=24.0, head_ry=30.0, neck_len=15.0,
        shoulder_half=40.0, shoulder_y=136.0, upper_arm=53.0, forearm=48.0, palm_w=16.0,
        palm_l=15.5, finger_len=14.5, hair_style=1,
    ),
    Appearance(
        name="Signer03", skin=(72, 98, 136), shirt=(150, 150, 146), sleeve=(128, 128, 124),
        hair=(18, 18, 20), background=(222, 226, 214), head_rx=28.0, head_ry=33.0, neck_len=13.0,
        shoulder_half=47.0, shoulder_y=132.0, upper_arm=58.0, forearm=52.0, palm_w=18.0,
        palm_l=17.0, finger_len=16.0, hair_style=2,
    ),
)


def appearance(index: int, seed: int = 0) -> Appearance:
    """Appearance of signer ``index`` (0-based). Indices beyond the curated ones are drawn from
    the curated ranges with ``seed``, so they stay within what MediaPipe detects."""
    if index < 0:
        raise ValueError(f"signer index must be >= 0, got {index}")
    if index < len(_CURATED):
        return _CURATED[index]
    rng = np.random.default_rng([seed, index])
    a, b = rng.choice(len(_CURATED), size=2, replace=False)
    base, other = _CURATED[a], _CURATED[b]
    t = float(rng.uniform(0.25, 0.75))

    def mix(c1: Colour, c2: Colour) -> Colour:
        return tuple(int(round((1 - t) * x + t * y)) for x, y in zip(c1, c2, strict=True))  # type: ignore[return-value]

    def lerp(name: str) -> float:
        return (1 - t) * getattr(base, name) + t * getattr(other, name)

    return Appearance(
        name=f"Signer{index + 1:02d}", skin=mix(base.skin, other.skin), shirt=other.shirt,
        sleeve=other.sleeve, hair=base.hair, background=mix(base.background, other.background),
        head_rx=lerp("head_rx"), head_ry=lerp("head_ry"), neck_len=lerp("neck_len"),
        shoulder_half=lerp("shoulder_half"), shoulder_y=lerp("shoulder_y"),
        upper_arm=lerp("upper_arm"), forearm=lerp("forearm"), palm_w=lerp("palm_w"),
        palm_l=lerp("palm_l"), finger_len=lerp("finger_len"), hair_style=int(rng.integers(3)),
    )
