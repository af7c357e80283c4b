"""Sentence generation: a gloss sequence and its German-like translation from a small grammar.

The glosses follow a topic-comment order (time, place, then the event), while the German
translation puts the verb second, so word order differs between the two. Each gloss maps to one
or more words sharing the gloss's stem (see :data:`pipelib.synth.lexicon.LEXICON`); articles,
auxiliaries and prepositions ("es", "gibt", "wird", "bei", "und", ...) have no gloss.
Translations are lower-case, space-tokenised and end in " ." like PHOENIX-2014-T.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Phrase = tuple[tuple[str, ...], str]  # (glosses, words)

TIMES: tuple[Phrase, ...] = (
    (("HEUTE",), "heute"), (("MORGEN",), "morgen"), (("ABEND",), "am abend"),
    (("NACHT",), "in der nacht"), (("HEUTE", "ABEND"), "heute abend"),
    (("HEUTE", "NACHT"), "heute nacht"), (("MORGEN", "ABEND"), "morgen abend"),
    (("TAG",), "am tag"), (("WOCHENENDE",), "am wochenende"),
)
REGIONS: dict[str, str] = {
    "NORD": "im norden", "SUED": "im süden", "WEST": "im westen", "OST": "im osten",
    "KUESTE": "an der küste", "BERG": "in den bergen",
}
WEATHER_VERB: dict[str, str] = {
    "REGEN": "regnet es", "SCHNEE": "schneit es", "SONNE": "scheint die sonne",
    "WOLKE": "ist es wolkig", "NEBEL": "gibt es nebel", "GEWITTER": "gibt es gewitter",
    "SCHAUER": "gibt es schauer", "FROST": "gibt es frost", "WIND": "weht der wind",
}
WEATHER_NOUN: dict[str, tuple[str, bool]] = {  # noun phrase, plural
    "REGEN": ("regen", False), "SCHNEE": ("schnee", False), "NEBEL": ("nebel", False),
    "WOLKE": ("wolken", True), "GEWITTER": ("gewitter", True), "SCHAUER": ("schauer", True),
    "FROST": ("frost", False), "WIND": ("wind", False),
}
INTENSITY_ADV = {"STARK": "stark", "SCHWACH": "schwach"}
INTENSITY_ADJ = {"STARK": "starker", "SCHWACH": "schwacher"}
NUMBERS_COLD: tuple[Phrase, ...] = (
    (("NULL",), "null"), (("FUENF",), "fünf"), (("MINUS", "FUENF"), "minus fünf"),
    (("MINUS", "ZEHN"), "minus zehn"),
)
NUMBERS_WARM: tuple[Phrase, ...] = (
    (("ZEHN",), "zehn"), (("FUENFZEHN",), "fünfzehn"), (("ZWANZIG",), "zwanzig"),
)


@dataclass(frozen=True)
class Sentence:
    """One sentence: upper-case glosses and a lower-case tokenised German translation."""

    glosses: tuple[str, ...]
    translation: str

    @property
    def orth(self) -> str:
        return " ".join(self.glosses)


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def _time_region(rng: np.random.Generator) -> tuple[Phrase, str]:
    """A time phrase (empty in a third of the sentences) and a region."""
    time = _pick(rng, TIMES) if rng.random() >= 1.0 / 3.0 else ((), "")
    return time, _pick(rng, sorted(REGIONS))


def _fronted(tw: str, region: str, verb: str) -> str:
    """German verb-second order: the time (or, without one, the region) first, then the verb."""
    return f"{tw} {verb} {region}" if tw else f"{region} {verb}"


def _weather(rng: np.random.Generator) -> Sentence:
    (tg, tw), r = _time_region(rng)
    w = _pick(rng, sorted(WEATHER_VERB))
    return Sentence((*tg, r, w), f"{_fronted(tw, REGIONS[r], WEATHER_VERB[w])} .")


def _weather_intensity(rng: np.random.Generator) -> Sentence:
    (tg, tw), r = _time_region(rng)
    w = _pick(rng, ["REGEN", "SCHNEE", "WIND"])
    i = _pick(rng, sorted(INTENSITY_ADV))
    return Sentence((*tg, r, w, i), f"{_fronted(tw, REGIONS[r], WEATHER_VERB[w])} {INTENSITY_ADV[i]} .")


def _temperature(rng: np.random.Generator) -> Sentence:
    """"<time or region> wird es kalt bei minus fünf grad": GRAD is signed when the sentence is short."""
    (tg, tw), r = _time_region(rng)
    temp = _pick(rng, ["KALT", "WARM"])
    ng, nw = _pick(rng, NUMBERS_COLD if temp == "KALT" else NUMBERS_WARM)
    lead, lw = (tg, tw) if tg else ((r,), REGIONS[r])
    grad = ("GRAD",) if len(lead) + len(ng) < 3 else ()
    return Sentence((*lead, temp, *ng, *grad), f"{lw} wird es {temp.lower()} bei {nw} grad .")


def _wind(rng: np.random.Generator) -> Sentence:
    (tg, tw), r = _time_region(rng)
    i = _pick(rng, sorted(INTENSITY_ADJ))
    return Sentence((*tg, "WIND", r, i), f"{_fronted(tw, REGIONS[r], 'weht')} ein {INTENSITY_ADJ[i]} wind .")


def _arrival(rng: np.random.Generator) -> Sentence:
    (tg, tw), r = _time_region(rng)
    w = _pick(rng, sorted(WEATHER_NOUN))
    noun, plural = WEATHER_NOUN[w]
    verb = "kommen" if plural else "kommt"
    return Sentence((*tg, r, w, "KOMMEN"), f"{_fronted(tw, REGIONS[r], verb)} {noun} auf .")


def _dry(rng: np.random.Generator) -> Sentence:
    (tg, tw), r = _time_region(rng)
    return Sentence((*tg, r, "TROCKEN", "BLEIBEN"), f"{_fronted(tw, REGIONS[r], 'bleibt es')} trocken .")


def _friendly(rng: np.random.Generator) -> Sentence:
    (tg, tw), r = _time_region(rng)
    when = f" {tw}" if tw else ""
    if rng.random() < 0.5:
        return Sentence((*tg, r, "FREUNDLICH"), f"{REGIONS[r]} wird es{when} freundlich .")
    return Sentence((*tg, r, "FREUNDLICH", "SONNE"),
                    f"{_fronted(tw, REGIONS[r], 'wird es')} freundlich und sonnig .")


def _two_phenomena(rng: np.random.Generator) -> Sentence:
    (tg, tw), r = _time_region(rng)
    nouns = sorted(WEATHER_NOUN)
    a, b = (nouns[i] for i in rng.choice(len(nouns), size=2, replace=False))
    return Sentence((*tg, r, a, b),
                    f"{_fronted(tw, REGIONS[r], 'gibt es')} {WEATHER_NOUN[a][0]} und {WEATHER_NOUN[b][0]} .")


TEMPLATES: tuple[Callable[[np.random.Generator], Sentence], ...] = (
    _weather, _weather_intensity, _temperature, _wind, _arrival, _dry, _friendly, _two_phenomena,
)
#: How often each template is drawn (temperatures twice as often: they carry the number signs).
TEMPLATE_WEIGHTS: tuple[float, ...] = (1.0, 1.0, 2.0, 0.5, 1.0, 1.0, 1.0, 1.0)


_P = np.asarray(TEMPLATE_WEIGHTS) / sum(TEMPLATE_WEIGHTS)


def sample_sentence(rng: np.random.Generator, min_glosses: int = 3, max_glosses: int = 6,
                    max_tries: int = 1000) -> Sentence:
    """Draw one sentence whose gloss count lies in [min_glosses, max_glosses]."""
    for _ in range(max_tries):
        s = TEMPLATES[int(rng.choice(len(TEMPLATES), p=_P))](rng)
        if min_glosses <= len(s.glosses) <= max_glosses:
            return s
    raise ValueError(
        f"synthetic config: no sentence of {min_glosses}..{max_glosses} glosses found; the grammar "
        "makes sentences of 2 to 6 glosses (set min_glosses/max_glosses within that range)"
    )
