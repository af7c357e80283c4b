"""DARSLP's ablation tables (Tables 1-4 of the paper): systems scored on one split, the paper beside them.

``ablations.tables`` maps a table name to its rows, ``{row label: system}``. Each row's system (from
``production.systems`` or ``ablations.systems``) is scored like table5, on ``ablations.split`` (the
paper: dev), by every configured back-translator, with ``GT`` and ``mean-pose`` rows, intervals
(``<table>_stats.csv``) and runs (``<table>_seeds.csv``). Where the paper reports the corpus
(``config/reference/darslp_ablations.csv``: PHOENIX14T), its rows follow as ``reported`` rows with
their ``difference`` from ours, matched by row label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pipelib.production.systems import RESERVED as RESERVED_SYSTEMS
from pipelib.sections import SectionError

if TYPE_CHECKING:
    import pandas as pd

WHERE = "ablations.tables"


def check_ablation_tables(tables: Mapping[str, Mapping[str, str]], systems: Mapping[str, Any]) -> None:
    """Every row of every table names a configured system, under a label the table can use."""
    for table, rows in tables.items():
        if not isinstance(rows, Mapping) or not rows:
            raise SectionError(f"{WHERE}.{table}: give its rows as {{row label: system}}")
        for label, system in rows.items():
            if label in RESERVED_SYSTEMS:
                raise SectionError(f"{WHERE}.{table}.{label}: the label is taken by the table's own rows")
            if system not in systems:
                raise SectionError(f"{WHERE}.{table}.{label}: {system!r} is not a system of "
                                   f"production.systems or ablations.systems ({', '.join(systems)})")


def run_ablation_table(skeleton_h5: str, rows: Mapping[str, Mapping[int, str]],
                       back_translators: Mapping[str, str], evaluation: Mapping[str, Any], split: str,
                       dataset: Mapping[str, Any], reported_csv: str, table_path: str) -> pd.DataFrame:
    """Score ``rows`` (row label -> {seed: predictions.h5}) on ``split`` with the ``evaluation`` settings
    and write the table, its siblings and provenance (as :func:`pipelib.evaluation.stage.run_table`),
    the paper's rows for this table name added where it reports this dataset kind."""
    # here, not at module level: the workflow imports this module whenever it starts
    from pipelib.evaluation.stage import prediction_sources, run_table

    return run_table(skeleton_h5, prediction_sources(rows, None, split), back_translators,
                     {**evaluation, "split": split}, dataset, reported_csv, table_path, reported=True)
