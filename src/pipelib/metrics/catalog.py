"""Every metric a table reports, once: its name (the table column), which way is better, how reports
format it, and the table column lists, which are selections of these names.

Direction: ``higher`` or ``lower`` is better, or ``one`` (a ratio to the ground truth: 1.0 is best).
"""

from __future__ import annotations

from dataclasses import dataclass

DIRECTIONS = ("higher", "lower", "one")


@dataclass(frozen=True)
class Metric:
    """One metric. ``kind``: ``pose`` (scored on poses) or ``text`` (on sentences); ``decimals``: the
    digits a Markdown report shows; ``paper``: a column of DARSLP's Tables 5 and 6."""

    name: str
    direction: str
    kind: str
    decimals: int
    paper: bool = False


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("DTW-MJE", "lower", "pose", 4, paper=True),
    *(Metric(f"BLEU-{n}", "higher", "text", 2, paper=True) for n in range(1, 5)),
    Metric("ROUGE", "higher", "text", 2, paper=True),
    Metric("chrF", "higher", "text", 2, paper=True),
    Metric("WER", "lower", "text", 2),
    Metric("total_distance", "one", "pose", 4),
    Metric("avg_duration", "one", "pose", 4),
    Metric("SUB", "lower", "text", 2),
    Metric("DEL", "lower", "text", 2),
    Metric("INS", "lower", "text", 2),
    Metric("sacreBLEU", "higher", "text", 2),
)}


def select(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` checked against :data:`METRICS` (a table column must be a catalogued metric)."""
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"metric(s) {unknown} are not in pipelib.metrics.catalog.METRICS; add them there")
    return names


#: The SLRTP 2025 metrics in the order of the production tables (``table5.csv``, ``table6.csv``):
#: DARSLP's columns first, then WER, total_distance and avg_duration.
SLRTP = select(("DTW-MJE", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE", "chrF", "WER", "total_distance",
                "avg_duration"))
#: The columns DARSLP's Tables 5 and 6 report (``reported`` and ``difference`` rows).
PAPER = tuple(n for n in SLRTP if METRICS[n].paper)
#: The SLRTP metrics scored on sentences (a back-translator's) and on poses.
SLRTP_TEXT = tuple(n for n in SLRTP if METRICS[n].kind == "text")
SLRTP_POSE = tuple(n for n in SLRTP if METRICS[n].kind == "pose")
#: ``recognition.csv``'s metric columns (SignX recognition), WER and its parts first.
RECOGNITION = select(("WER", "SUB", "DEL", "INS", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE",
                      "sacreBLEU"))


def cell(name: str, value: float) -> str:
    """``value`` as a Markdown report shows metric ``name`` (its ``decimals``)."""
    return f"{value:.{METRICS[name].decimals}f}"
