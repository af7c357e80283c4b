"""``pipelib score SKELETONS PRED [PRED ...]``: prediction files scored like the pipeline's table5.

SKELETONS: a dataset's ground-truth skeletons (``results/<ds>/production/skeletons.h5``); its
``--split`` (default test) is scored, and its train split gives the ``mean-pose`` floor. PRED:
``[NAME=]FILE`` in the SLRTP evaluator's formats (``.pt``, ``.pkl``, ``.json``: a dict id -> [N, 178, 3]
poses or id -> {poses_3d: ...}) or this pipeline's ``predictions_phase*.h5``; one prediction per
ground-truth sequence. Rows: GT (the ceiling), each PRED by NAME (default: the file's stem) and
mean-pose, each with DTW-MJE, total_distance and avg_duration; BLEU-1..4, ROUGE, chrF and WER need a
back-translator (``--back-translator trained=best.pt`` for one this pipeline trained,
``--back-translator slrtp=DIR`` for the SLRTP model directory), one row per system and back-translator.
Every value gets a bootstrap interval, and systems scored by the same back-translator paired tests
(``--out``'s ``_stats.csv`` sibling). The defaults are config/config.yaml's ``evaluation`` section.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "score prediction files against ground-truth skeletons with the SLRTP metrics"
SHOWN = ["system", "back_translator_kind", "DTW-MJE", "BLEU-1", "BLEU-4", "ROUGE", "chrF", "WER",
         "total_distance", "avg_duration"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pipelib.evaluation.back_translators import KINDS
    from pipelib.metrics.dtw import METHODS
    from pipelib.skeletons.layout import LAYOUTS

    parser.add_argument("skeletons", help="ground-truth skeletons.h5 of the dataset")
    parser.add_argument("predictions", nargs="+", metavar="[NAME=]FILE", help="prediction files")
    parser.add_argument("--back-translator", action="append", default=[], metavar="KIND=PATH",
                        help=f"KIND in {', '.join(KINDS)}: a trained checkpoint or the SLRTP model directory")
    parser.add_argument("--split", default="test", choices=("train", "dev", "test"))
    parser.add_argument("--layout", choices=list(LAYOUTS),
                        help="skeleton layout of prediction files that record none (default slrtp178)")
    parser.add_argument("--fps", type=float,
                        help="frame rate of prediction files that record none (default: the ground truth's)")
    parser.add_argument("--dtw", default="fastdtw", choices=list(METHODS))
    parser.add_argument("--dtw-radius", type=int, default=1)
    parser.add_argument("--beam", type=int, default=3, help="beam of the trained back-translator")
    # None: the library's default (evaluation.statistics, evaluation.layout_mismatch), which checks values
    parser.add_argument("--resamples", type=int, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, help="bootstrap seed (default 2025)")
    parser.add_argument("--confidence", type=float, help="interval confidence (default 0.95)")
    parser.add_argument("--min-sentences", type=int, help="warn below this many sentences (default 30)")
    parser.add_argument("--layout-mismatch", help="warn (default) or refuse to score poses of another layout")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--out", help="write the table here (CSV) and its statistics beside it (_stats.csv)")


def named_predictions(items: list[str]) -> dict[str, str]:
    """``[NAME=]FILE`` arguments as name -> file; a name defaults to the file's stem and must be unique."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).stem, item
        if not name or not path:
            raise ValueError(f"prediction {item!r}: give FILE or NAME=FILE")
        if name in out:
            raise ValueError(f"two predictions are named {name!r}; name them apart with NAME=FILE")
        out[name] = path
    return out


def back_translator_sources(items: list[str]) -> dict[str, str]:
    """``KIND=PATH`` arguments as kind -> path, one per kind."""
    out: dict[str, str] = {}
    for item in items:
        kind, sep, path = item.partition("=")
        if not sep or not path:
            raise ValueError(f"--back-translator {item!r}: give KIND=PATH, e.g. "
                             f"trained=results/ds/evaluation/back_translator/best.pt")
        if kind in out:
            raise ValueError(f"--back-translator {kind} is given twice")
        out[kind] = path
    return out


def evaluation_section(args: argparse.Namespace) -> dict:
    """The ``evaluation`` config section these arguments stand for."""
    stats = {"resamples": args.resamples, "seed": args.seed, "confidence": args.confidence,
             "min_sentences": args.min_sentences}
    section = {"split": args.split, "dtw": args.dtw, "dtw_radius": args.dtw_radius, "beam": args.beam,
               "statistics": {k: v for k, v in stats.items() if v is not None}}
    return section | ({"layout_mismatch": args.layout_mismatch} if args.layout_mismatch else {})


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from pipelib import provenance
    from pipelib.evaluation.back_translators import load_back_translators
    from pipelib.evaluation.predictions import PredictionSource
    from pipelib.evaluation.table import score_table, stats_path, write_stats, write_table
    from pipelib.io.atomic import write_text_atomic
    from pipelib.training.device import resolve_device

    if not Path(args.skeletons).is_file():
        raise FileNotFoundError(f"ground-truth skeletons {args.skeletons} do not exist; give a run's "
                                f"results/<ds>/production/skeletons.h5")
    section = evaluation_section(args)
    sources = {name: PredictionSource(path, args.layout, args.fps)
               for name, path in named_predictions(args.predictions).items()}
    bt_sources = back_translator_sources(args.back_translator)
    bts = (load_back_translators(bt_sources, section, device=str(resolve_device(args.device, "--device")))
           if bt_sources else [])
    table, stats = score_table(args.skeletons, sources, bts, section)
    shown = table[SHOWN].dropna(axis=1, how="all")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    warnings = sorted({w for w in table["warning"].fillna("") if w})
    for w in warnings:
        print(f"warning: {w}")
    if args.out:
        write_table(table, args.out)
        write_stats(stats, stats_path(args.out))
        prov = provenance.collect(section | {"back_translators": bt_sources}, inputs=[
            args.skeletons, *(s.path for s in sources.values()), *bt_sources.values()])
        for out in (args.out, stats_path(args.out)):
            write_text_atomic(provenance.sidecar_path(out), json.dumps(prov, indent=2, default=str) + "\n")
        print(f"wrote {args.out} and {stats_path(args.out)} (provenance in *.prov.json beside them)")
    return 0
