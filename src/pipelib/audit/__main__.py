"""``python -m pipelib.audit compare A/results B/results [--out table.csv]``: compare two runs file by file.

Each output is compared bitwise where the two runs' provenance promises it, else within the tolerance,
and every difference is named as explained (by device, precision, config, inputs or software) or
unexplained (``pipelib.audit.runs``). Absolute paths of the two working directories (the folders'
parents) compare equal inside strings. Exit status 1 when a difference is unexplained or the float
precision differs, else 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from pipelib.audit.runs import compare_runs, failing
from pipelib.audit.stage import AuditTolerance
from pipelib.audit.values import PROVENANCE_KEYS, Tolerance
from pipelib.io.atomic import atomic_path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelib.audit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser("compare", help="compare two results folders file by file")
    cmp.add_argument("recorded", help="results folder of the first run, e.g. cluster/results")
    cmp.add_argument("rerun", help="results folder of the second run, e.g. local/results")
    for name, default in sorted(dataclasses.asdict(AuditTolerance()).items()):
        cmp.add_argument(f"--{name}", type=float, default=default,
                         help=f"where the settings promise no bitwise equality (default {default:g})")
    cmp.add_argument("--ignore", nargs="*", default=[], help="more attribute/key/column names to skip")
    cmp.add_argument("--out", help="write the table (CSV) here")
    args = parser.parse_args(argv)

    tolerance = Tolerance.from_dict({"rtol": args.rtol, "atol": args.atol}, "--rtol/--atol")
    table = compare_runs(args.recorded, args.rerun, tolerance=tolerance,
                         ignore=PROVENANCE_KEYS | set(args.ignore))
    if args.out:
        with atomic_path(args.out) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
    counts = table.status.value_counts().to_dict()
    causes = table.explained_by[table.explained_by != ""].value_counts().to_dict()
    print(f"{len(table)} files: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if causes:
        print("differences explained by: " + ", ".join(f"{c} {n}" for c, n in sorted(causes.items())))
    for r in table[table.explained_by != ""].itertuples():
        print(f"  {r.status}: {r.output} {r.detail} [{r.explained_by}: {r.explanation}]")
    return 1 if len(failing(table)) else 0


if __name__ == "__main__":
    sys.exit(main())
