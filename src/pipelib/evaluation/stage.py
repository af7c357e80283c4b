"""The evaluation stage as the pipeline runs it: the table with provenance, and the short report."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from pipelib import provenance
from pipelib.evaluation.back_translators import load_back_translators
from pipelib.evaluation.predictions import PredictionSource
from pipelib.evaluation.table import (
    SeedRuns,
    add_reported,
    score_tables,
    seeds_path,
    stats_path,
    write_report,
    write_seeds,
    write_stats,
    write_table,
)
from pipelib.io.atomic import write_text_atomic
from pipelib.production.priors import load_priors
from pipelib.training.device import resolve_device

TABLE_FOR_KIND = {"phoenix14t": "table5", "slrtp_poses": "table5", "csl_daily": "table6"}


def prediction_sources(ours: Mapping[str, Mapping[int, str]],
                       external: Mapping[str, Mapping[str, Any]] | None,
                       split: str) -> dict[str, PredictionSource | dict[int, PredictionSource]]:
    """Our systems (name -> {seed: prediction HDF5}) then the configured ``datasets.<ds>.predictions``
    entries (name -> {<split>: file, layout (default: what the file records, else slrtp178), fps
    (default: what the file records, else each ground-truth video's)}) for ``split``."""
    out: dict[str, PredictionSource | dict[int, PredictionSource]] = {
        name: {int(seed): PredictionSource(str(path)) for seed, path in runs.items()}
        for name, runs in ours.items()}
    for name, entry in (external or {}).items():
        if name in out:
            raise ValueError(f"datasets.<ds>.predictions.{name}: the name is taken by the pipeline's rows")
        if not entry.get(split):
            raise ValueError(f"datasets.<ds>.predictions.{name} has no file for split {split!r} "
                             f"(key {split})")
        out[name] = PredictionSource(str(entry[split]), entry.get("layout"), entry.get("fps"))
    return out


def run_table(skeleton_h5: str, predictions: Mapping[str, PredictionSource | str | SeedRuns],
              back_translators: Mapping[str, str], section: Mapping[str, Any], dataset: Mapping[str, Any],
              reported_csv: str, table_path: str, *, reported: bool | None = None) -> pd.DataFrame:
    """Score every system with every back-translator (kind -> checkpoint or SLRTP directory); add the
    paper's rows where it reports this corpus; write the table, its ``_stats.csv`` and ``_seeds.csv``
    siblings and their provenance sidecars. Frame rates come from the files.

    ``reported_csv`` rows are matched by table name (the file name's stem) and dataset kind; by default
    only for the headline table of the kind (TABLE_FOR_KIND), with ``reported=True`` for any table."""
    device = str(resolve_device(str(section.get("device", "auto")), "evaluation.device"))
    bts = load_back_translators(back_translators, section, device=device)
    table, stats, seeds = score_tables(skeleton_h5, predictions, bts, section)
    name = os.path.splitext(os.path.basename(table_path))[0]
    if reported or (reported is None and TABLE_FOR_KIND.get(dataset["kind"]) == name):
        table = add_reported(table, reported_csv, name, dataset["kind"])
    write_table(table, table_path)
    write_stats(stats, stats_path(table_path))
    write_seeds(seeds, seeds_path(table_path))
    runs = [run for p in predictions.values() for run in (p.values() if isinstance(p, Mapping) else [p])]
    inputs = [skeleton_h5, *(str(p.path if isinstance(p, PredictionSource) else p) for p in runs)]
    for bt in bts:
        files = getattr(bt, "files", None)
        inputs += [str(f) for f in files.inputs()] if files is not None else [back_translators[bt.kind]]
    prov = provenance.collect(dict(section), inputs=inputs)
    for out in (table_path, stats_path(table_path), seeds_path(table_path)):
        write_text_atomic(provenance.sidecar_path(out), json.dumps(prov, indent=2, default=str) + "\n")
    return table


def run_report(table_path: str, fusion_report: str | None, priors_h5: str, renders: Iterable[str],
               out_path: str, dataset: str, stats_csv: str | None = None) -> None:
    """``report.md``: the table with its intervals and paired tests (``stats_csv``), who scored it,
    layout notes, what made each feature slot (datasets with video; pose-only datasets have none),
    latent entropy, where the renders are."""
    table = pd.read_csv(table_path, dtype={"n_sequences": "Int64"})
    stats = pd.read_csv(stats_csv) if stats_csv else None
    measured = table[table["source"] == "measured"]
    entropy = load_priors(priors_h5).region_mean_entropy()
    scorers = measured[["back_translator_kind", "back_translator"]].drop_duplicates()
    notes = {
        "table": table_path,
        "back-translators": "; ".join(f"{r.back_translator_kind} = {r.back_translator}"
                                      for r in scorers.itertuples()),
    }
    mismatches = sorted({n for n in measured["layout_note"].fillna("") if n})
    notes["skeleton layouts"] = ("; ".join(mismatches) if mismatches else
                                 "every system's poses match the back-translators' and ground truth's layout")
    if fusion_report:
        fusion = pd.read_csv(fusion_report)
        notes["feature slots"] = "; ".join(f"{r.slot}={r.backend} (valid {r.valid_fraction:.3f})"
                                           for r in fusion.itertuples() if r.slot != "fused")
    else:
        notes["feature slots"] = "none: a pose-only dataset (no video, no pose extraction)"
    notes["latent entropy per region (bits)"] = ", ".join(f"{k} {v:.2f}" for k, v in entropy.items())
    notes["renders"] = ", ".join(renders)
    notes["mean-pose"] = "the mean training pose held for the median training length (the floor)"
    write_report(table, out_path, f"{Path(table_path).name} for dataset {dataset}", notes, stats)
