"""Dry-run DAG time for a PHOENIX-sized manifest (8,247 videos) over the time for 100 videos, in one run.

    .venv/bin/python benchmarks/bench_dryrun_scale.py [--videos 100 8247] [--repeats 3] [--shards 64]

For each size, a scratch working directory gets the repository's config with `datasets.phoenix.root`
pointed at an (empty) scratch root, and `results/phoenix/manifest.parquet` with that many videos, as
the manifest job would have left it (the state in which a cluster user re-plans after the manifest
is built; the first plan, before it exists, is timed too). Then `snakemake -n --quiet
results/phoenix/table5.csv results/phoenix/report.md` (every stage, all five estimators) is timed
``--repeats`` times per size, alternating sizes, best kept.
Prints the planned job counts (which must not depend on the number of videos), the times and the
ratio largest / smallest (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from pipelib.datasets.manifest import write_tables
from pipelib.datasets.records import REJECTED_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TARGETS = ["results/phoenix/table5.csv", "results/phoenix/report.md"]  # all five estimators
SPLITS = {"train": 7096, "dev": 519, "test": 642}  # PHOENIX-2014-T: 8,247 videos


def fake_manifest(n: int, shards: int, seed: int = 0) -> pd.DataFrame:
    """``n`` PHOENIX-like manifest rows split in PHOENIX-2014-T's proportions, round-robin shards."""
    rng = np.random.default_rng(seed)
    total = sum(SPLITS.values())
    split = np.repeat(list(SPLITS), [round(n * v / total) for v in SPLITS.values()])[:n]
    split = np.concatenate([split, np.full(n - len(split), "train")])
    ids = [f"{i:05d}April_2010_Thursday_tagesschau-{i}" for i in range(n)]
    return pd.DataFrame({
        "id": ids, "split": split,
        "source": [f"features/fullFrame-210x260px/{s}/{v}" for s, v in zip(split, ids, strict=True)],
        "media": "frames", "frame_count": rng.integers(40, 300, n), "fps": 25.0,
        "signer": [f"Signer{k:02d}" for k in rng.integers(1, 10, n)],
        "gloss": "REGEN NORD MORGEN", "text": "im norden regnet es morgen", "shard": np.arange(n) % shards,
    })


def workdir(base: Path, n: int, shards: int) -> Path:
    """A working directory with the repo config pointing phoenix at a scratch root, no manifest yet."""
    wd = base / f"n{n}"
    (wd / "config").mkdir(parents=True)
    (wd / "phoenix_root").mkdir()
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    cfg["datasets"]["phoenix"].update(root=str(wd / "phoenix_root"), shards=shards)
    (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    return wd


def add_manifest(wd: Path, n: int, shards: int) -> None:
    out = wd / "results/phoenix"
    out.mkdir(parents=True)
    rejected = pd.DataFrame({c: [] for c in REJECTED_COLUMNS})
    write_tables(fake_manifest(n, shards), rejected, out / "manifest.parquet", out / "rejected.parquet",
                 {"benchmark": "bench_dryrun_scale"})


def dry_run(wd: Path) -> tuple[float, int]:
    """Seconds of one `snakemake -n` and the number of jobs it planned."""
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(wd), *TARGETS,
           "-n", "--quiet", "rules"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"dry run failed in {wd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    text = proc.stdout + proc.stderr
    total = [ln.split()[1] for ln in text.splitlines() if ln.strip().startswith("total")]
    return seconds, int(total[0]) if total else 0


def timed(dirs: dict[int, Path], repeats: int) -> dict[int, tuple[float, int]]:
    best: dict[int, tuple[float, int]] = {}
    for _ in range(repeats):
        for n, wd in dirs.items():
            seconds, jobs = dry_run(wd)
            if n not in best or seconds < best[n][0]:
                best[n] = (seconds, jobs)
    return best


def report(title: str, best: dict[int, tuple[float, int]]) -> float:
    print(title)
    for n, (seconds, jobs) in best.items():
        print(f"  {n:>6} videos: {seconds:6.2f} s, {jobs} jobs planned")
    small, large = min(best), max(best)
    ratio = best[large][0] / best[small][0]
    print(f"  ratio {large} / {small} videos: {ratio:.3f} (target <= 1.5); "
          f"same job count: {best[large][1] == best[small][1]}")
    return ratio


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, nargs="+", default=[100, 8247])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shards", type=int, default=64)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {n: workdir(Path(tmp), n, args.shards) for n in args.videos}
        report("first plan (no manifest yet):", timed(dirs, args.repeats))
        for n, wd in dirs.items():
            add_manifest(wd, n, args.shards)
        report("re-plan with the manifest built:", timed(dirs, args.repeats))


if __name__ == "__main__":
    main()
