"""The evaluation stage as the pipeline runs it: the table with provenance, and the short report."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from pipelib import provenance
from pipelib.evaluation.table import add_reported, score_table, write_report, write_table
from pipelib.io.atomic import write_text_atomic
from pipelib.production.priors import load_priors

TABLE_FOR_KIND = {"phoenix14t": "table5", "csl_daily": "table6"}


def run_table(skeleton_h5: str, predictions: Mapping[str, str], back_translator: str,
              section: Mapping[str, Any], dataset: Mapping[str, Any], reported_csv: str,
              table_path: str) -> pd.DataFrame:
    """Score every system; add the paper's rows where it reports this corpus; write table + sidecar."""
    table = score_table(skeleton_h5, predictions, back_translator, section,
                        fps=float(dataset.get("fps", 25.0)))
    name = os.path.splitext(os.path.basename(table_path))[0]
    if TABLE_FOR_KIND.get(dataset["kind"]) == name:
        table = add_reported(table, reported_csv, name, dataset["kind"])
    write_table(table, table_path)
    prov = provenance.collect(dict(section), inputs=[skeleton_h5, back_translator, *predictions.values()])
    write_text_atomic(provenance.sidecar_path(table_path), json.dumps(prov, indent=2, default=str) + "\n")
    return table


def run_report(table_path: str, fusion_report: str, priors_h5: str, renders: Iterable[str],
               out_path: str, dataset: str) -> None:
    """``report.md``: the table, what made each feature slot, latent entropy, where the renders are."""
    table = pd.read_csv(table_path)
    fusion = pd.read_csv(fusion_report)
    entropy = load_priors(priors_h5).region_mean_entropy()
    notes = {
        "table": table_path,
        "back-translator": str(table["back_translator"].dropna().iloc[0]),
        "feature slots": "; ".join(f"{r.slot}={r.backend} (valid {r.valid_fraction:.3f})"
                                   for r in fusion.itertuples() if r.slot != "fused"),
        "latent entropy per region (bits)": ", ".join(f"{k} {v:.2f}" for k, v in entropy.items()),
        "renders": ", ".join(renders),
        "mean-pose": "the mean training pose held for the median training length (the floor)",
    }
    write_report(table, out_path, f"{os.path.basename(table_path)} for dataset {dataset}", notes)
