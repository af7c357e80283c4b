"""``pipelib export SOURCE OUT``: poses of a skeletons or predictions file in other formats.

- ``OUT`` a folder (default): every sequence as a pose-format ``.pose`` file, with ``corpus.csv`` (so
  the folder is a ``pose_files`` dataset) and ``provenance.json`` (pipelib.skeletons.pose_io);
- ``OUT`` ending in ``.pt``: the sequences of one ``--split`` in the SLRTP 2025 challenge layout, for
  the official evaluator or a submission (pipelib.skeletons.export).

SOURCE: ``results/<ds>/production/skeletons.h5`` or ``predictions_phase{1,2}.h5``.
"""

from __future__ import annotations

import argparse

HELP = "a skeletons/predictions file to .pose files or an SLRTP .pt file"
SPLITS = ("train", "dev", "test")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="skeletons.h5 or predictions_phase*.h5 of a run")
    parser.add_argument("out", help="a folder for .pose files, or a file ending in .pt")
    parser.add_argument("--format", choices=("pose", "pt"), help="default: pt if OUT ends in .pt, else pose")
    parser.add_argument("--split", action="append", choices=SPLITS,
                        help="splits to export (repeatable; .pose default: all; .pt: exactly one)")
    parser.add_argument("--fps", type=float,
                        help=".pose: frame rate of sequences that record none (predictions; e.g. 25)")
    parser.add_argument("--drop-empty-frames", action="store_true",
                        help=".pt: leave out frames without a body (the evaluator has no mask)")


def run(args: argparse.Namespace) -> int:
    fmt = args.format or ("pt" if str(args.out).lower().endswith(".pt") else "pose")
    if fmt == "pt":
        from pipelib.skeletons.export import export_slrtp

        if not args.split or len(args.split) != 1:
            raise ValueError("an SLRTP .pt file holds one split: give exactly one --split (train, dev, test)")
        n = export_slrtp(args.source, args.split[0], args.out, drop_empty_frames=args.drop_empty_frames)
    else:
        from pipelib.skeletons.pose_io import export_pose_files

        n = export_pose_files(args.source, args.out, fps=args.fps, splits=args.split)
    print(f"exported {n} sequences of {args.source} to {args.out}")
    return 0
