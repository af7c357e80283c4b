"""Sentence timeline: sign keyframes placed in time, joined by co-articulated transitions.

Every articulator follows one piecewise cubic Hermite curve through the keyframes of the whole
sentence. Keys that start or end a sign (and the rest posture) have zero velocity, so signs have
holds and the transitions between them ease in and out; keys inside a sign's movement get
Catmull-Rom tangents, so circles and zigzags pass through without stopping. Nothing jumps: the
parameters are continuous with continuous first derivative. A transition's duration grows with
the distance the hands travel. Neighbouring signs assimilate their locations (:func:`coarticulate`),
and a signer's style (:mod:`pipelib.synth.signers`) shapes every sign and the tempo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelib.synth.articulators import INDEX, rest_vector
from pipelib.synth.config import SynthConfig
from pipelib.synth.lexicon import LEXICON, keep_clear, sign_keyframes
from pipelib.synth.signers import SignerStyle


@dataclass
class Timeline:
    """A sentence as frames of articulator vectors.

    ``params``: (T, P) float64, one vector per frame at the corpus fps.
    ``segments``: (gloss, first frame, end frame exclusive) of each sign, from its first keyframe
    to the end of its final hold; transitions lie between segments.
    """

    params: np.ndarray
    segments: list[tuple[str, int, int]]
    speed: float  # the sentence's speed factor
    sign_speeds: list[float]  # each sign's own factor (sentence factor included)

    @property
    def n_frames(self) -> int:
        return int(self.params.shape[0])


def hermite(times: np.ndarray, values: np.ndarray, stops: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Piecewise cubic Hermite curve through keys.

    times: (N,) strictly increasing; values: (N, P); stops: (N,) bool, True where the velocity is
    zero (others take Catmull-Rom tangents); query: (Q,) times. Returns (Q, P).
    """
    times = np.asarray(times, dtype=np.float64)
    if np.any(np.diff(times) <= 0):
        raise ValueError("keyframe times must be strictly increasing")
    n = len(times)
    tangents = np.zeros_like(values)
    for k in range(1, n - 1):
        if not stops[k]:
            tangents[k] = (values[k + 1] - values[k - 1]) / (times[k + 1] - times[k - 1])
    q = np.clip(np.asarray(query, dtype=np.float64), times[0], times[-1])
    k = np.clip(np.searchsorted(times, q, side="right") - 1, 0, n - 2)
    h = (times[k + 1] - times[k])[:, None]
    s = (q - times[k])[:, None] / h
    s2, s3 = s * s, s * s * s
    return ((2 * s3 - 3 * s2 + 1) * values[k] + (s3 - 2 * s2 + s) * h * tangents[k]
            + (-2 * s3 + 3 * s2) * values[k + 1] + (s3 - s2) * h * tangents[k + 1])


def _travel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest wrist displacement of either hand between two articulator vectors, body units."""
    return max(
        float(np.hypot(b[INDEX[f"{h}_x"]] - a[INDEX[f"{h}_x"]], b[INDEX[f"{h}_y"]] - a[INDEX[f"{h}_y"]]))
        for h in ("right", "left")
    )


def transition_scale(distance: float) -> float:
    """Duration factor of a transition over ``distance`` body units: longer paths take longer."""
    return float(np.clip(0.5 + 0.5 * distance, 0.7, 2.0))


def _active_hands(gloss: str) -> tuple[str, ...]:
    return ("right", "left") if LEXICON[gloss].hands in ("sym", "alt") else ("right",)


def coarticulate(glosses: tuple[str, ...] | list[str], keys: list[np.ndarray], strength: float
                 ) -> list[np.ndarray]:
    """Location assimilation between neighbouring signs (new arrays; hands kept clear afterwards).

    Each active hand of sign ``i`` starts ``strength`` of the way from its own first location towards
    where sign ``i - 1`` left that hand (carry-over), fading out over the sign's keys, and ends half
    as much of the way towards where sign ``i + 1`` begins (anticipation). ``keys[i]``: (n_i, P).
    """
    if strength == 0.0 or len(keys) < 2:
        return [k.copy() for k in keys]
    out = []
    for i, k in enumerate(keys):
        k = k.copy()
        s = np.linspace(0.0, 1.0, len(k))[:, None]                               # (n, 1)
        for hand in _active_hands(glosses[i]):
            cols = [INDEX[f"{hand}_x"], INDEX[f"{hand}_y"]]
            if i > 0:
                k[:, cols] += strength * (1.0 - s) * (keys[i - 1][-1, cols] - keys[i][0, cols])
            if i + 1 < len(keys):
                k[:, cols] += 0.5 * strength * s * (keys[i + 1][0, cols] - keys[i][-1, cols])
        out.append(keep_clear(k, both=len(_active_hands(glosses[i])) == 2))
    return out


def build_timeline(glosses: list[str] | tuple[str, ...], cfg: SynthConfig,
                   rng: np.random.Generator, style: SignerStyle | None = None) -> Timeline:
    """Place ``glosses`` in time with the speed and duration ranges of ``cfg``, signed in ``style``
    (default: the citation forms at the corpus tempo); all draws use ``rng``."""
    style = style or SignerStyle()
    speed = float(rng.uniform(*cfg.speed_range)) * style.tempo
    rest = rest_vector()
    times: list[float] = [0.0]
    values: list[np.ndarray] = [rest]
    stops: list[bool] = [True]

    def add(dt: float, v: np.ndarray, stop: bool) -> None:
        if dt > 1e-6:
            times.append(times[-1] + dt)
            values.append(v)
            stops.append(stop)

    all_keys = coarticulate(glosses, [sign_keyframes(g, rng, style) for g in glosses], cfg.coarticulation)
    add(float(rng.uniform(*cfg.rest_frames)), rest, True)
    spans: list[tuple[str, float, float]] = []
    sign_speeds: list[float] = []
    for gloss, keys in zip(glosses, all_keys, strict=True):
        f = speed * float(rng.uniform(1.0 - cfg.sign_speed_jitter, 1.0 + cfg.sign_speed_jitter))
        sign_speeds.append(f)
        n = len(keys)
        trans = float(rng.uniform(*cfg.transition_frames)) * transition_scale(_travel(values[-1], keys[0]))
        add(trans / f, keys[0], True)
        start = times[-1]
        move = float(rng.uniform(*cfg.sign_frames)) / f * (1.0 + 0.15 * (n - 2))
        for k in range(1, n):
            add(move / (n - 1), keys[k], k == n - 1)
        add(float(rng.uniform(*cfg.hold_frames)) / f, keys[-1], True)
        spans.append((gloss, start, times[-1]))
    trans = float(rng.uniform(*cfg.transition_frames)) * transition_scale(_travel(values[-1], rest))
    add(trans / speed, rest, True)
    add(float(rng.uniform(*cfg.rest_frames)), rest, True)

    t_end = times[-1]
    n_frames = int(np.floor(t_end)) + 1
    frames = np.arange(n_frames, dtype=np.float64)
    params = hermite(np.array(times), np.stack(values), np.array(stops), frames)
    # Idle sway of the head so that no two frames of a still hold are pixel-identical.
    phase = float(rng.uniform(0.0, 2.0 * np.pi))
    period = 2.5 * cfg.fps
    params[:, INDEX["head_roll"]] += 0.03 * np.sin(2 * np.pi * frames / period + phase)
    params[:, INDEX["head_nod"]] += 0.15 * np.sin(2 * np.pi * frames / (0.7 * period) + 2 * phase)
    segments = [(g, int(np.ceil(a)), int(np.floor(b)) + 1) for g, a, b in spans]
    return Timeline(params=params, segments=segments, speed=speed, sign_speeds=sign_speeds)
