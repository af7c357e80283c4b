"""``python -m pipelib.audit compare A/results B/results [--out table.csv]``: compare two runs file by file.

Absolute paths of the two working directories (the folders' parents) compare equal inside strings.
Exit status 0 when every file matches (or is skipped as provenance-only), 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pipelib.audit.compare import MATCH, SKIPPED, compare_trees
from pipelib.audit.values import BITWISE, PROVENANCE_KEYS, Tolerance
from pipelib.io.atomic import atomic_path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelib.audit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser("compare", help="compare two results folders file by file")
    cmp.add_argument("recorded", help="results folder of the first run, e.g. runA/results")
    cmp.add_argument("rerun", help="results folder of the second run")
    cmp.add_argument("--out", help="write the table (CSV) here")
    cmp.add_argument("--rtol", type=float, default=0.0, help="training-run files only (default bitwise)")
    cmp.add_argument("--atol", type=float, default=0.0, help="training-run files only (default bitwise)")
    cmp.add_argument("--ignore", nargs="*", default=[], help="more attribute/key/column names to skip")
    args = parser.parse_args(argv)

    training = Tolerance(rtol=args.rtol, atol=args.atol)
    roots = (Path(args.recorded).resolve().parent, Path(args.rerun).resolve().parent)
    results = compare_trees(args.recorded, args.rerun, tolerance=BITWISE,
                            training_tolerance=None if training.bitwise else training,
                            ignore=PROVENANCE_KEYS | set(args.ignore), roots=roots)
    table = pd.DataFrame([r.row() for r in results],
                         columns=["output", "kind", "status", "max_abs_diff", "tolerance", "detail"])
    if args.out:
        with atomic_path(args.out) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
    bad = table[~table.status.isin([MATCH, SKIPPED])]
    counts = table.status.value_counts().to_dict()
    print(f"{len(table)} files: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    for r in bad.itertuples():
        print(f"  {r.status}: {r.output} {r.detail}")
    return 1 if len(bad) else 0


if __name__ == "__main__":
    sys.exit(main())
