"""``pipelib``: the command line of the pipeline's library, for results outside Snakemake.

Subcommands (``pipelib <command> --help`` for each):

- ``export``: a skeletons or predictions file to a folder of pose-format ``.pose`` files, or one split
  of it to an SLRTP challenge ``.pt`` file;
- ``score``: prediction files against a dataset's ground-truth skeletons with the pipeline's SLRTP
  metrics (pose metrics, plus BLEU/ROUGE/chrF/WER through any back-translator given) and bootstrap
  intervals;
- ``audit``: ``audit compare A/results B/results``, two runs compared file by file;
- ``info``: what a results file holds and what made it (its provenance).

Exit status: 0 on success, 1 when ``audit compare`` finds a mismatch, 2 for a bad argument or an
input that cannot be used (the message names the file and what to do).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipelib.cli import audit, export, info, score

COMMANDS = {"export": export, "score": score, "audit": audit, "info": info}


def parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per command module (each adds its own arguments)."""
    top = argparse.ArgumentParser(
        prog="pipelib", description="Export, score and inspect results of the sign-language pose pipeline.")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.__doc__,
                                            formatter_class=argparse.RawDescriptionHelpFormatter))
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status. Expected input problems print one line and give 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["audit"]:  # the audit's own parser owns its options
        return audit.run_argv(argv[1:])
    args = parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command].run(args) or 0)
    except (ValueError, FileNotFoundError, KeyError, OSError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"pipelib {args.command}: {message}", file=sys.stderr)
        return 2
