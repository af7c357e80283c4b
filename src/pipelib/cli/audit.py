"""``pipelib audit compare A/results B/results [--out table.csv] [--rtol R --atol A] [--ignore ...]``

Compares two runs file by file, as ``python -m pipelib.audit`` does (its options, its exit status: 0
when every file matches, 1 otherwise).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

HELP = "compare two runs' results file by file (python -m pipelib.audit)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("args", nargs=argparse.REMAINDER, help="compare RECORDED RERUN [options]")


def run_argv(argv: Sequence[str]) -> int:
    """Hand the arguments to the audit's own command line."""
    from pipelib.audit.__main__ import main as audit_main

    return int(audit_main(list(argv)) or 0)


def run(args: argparse.Namespace) -> int:
    return run_argv(args.args)
