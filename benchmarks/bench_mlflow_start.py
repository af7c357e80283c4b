"""Start-up of a training job's MLflow run on a new SQLite store: MLflow's own initialisation vs a copy
of the migrated template, in one run.

    .venv/bin/python benchmarks/bench_mlflow_start.py [--repeats 3] [--dir D]

Each repeat starts a run (``MlflowTracker.start``: database, experiment, run) on a new store twice, in
a fresh subprocess each time so that MLflow's per-URI store cache and import state do not carry over:
(a) "in place": the store is created by MLflow's own table creation and migrations, as every job did
before templates; (b) "template": the store is a copy of the empty, migrated template (made once per
cache directory, before the timing; its one-off cost is printed too). Times exclude the
``import mlflow`` that both pay; the best of the repeats is kept and the ratio printed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import sys, time
import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  (import excluded from the timing)
from mlflow.tracking import MlflowClient  # noqa: F401
from pipelib.training import mlflow_tracker
from pathlib import Path

db = Path(sys.argv[1])
use_template = sys.argv[2] == "template"
started = time.perf_counter()
with mlflow_tracker.file_lock(db.with_name(db.name + ".lock")):
    mlflow_tracker.prepare_sqlite_store(db, use_template=use_template)
    tracker = mlflow_tracker.MlflowTracker(f"sqlite:///{db}", "bench")
    tracker._start("bench", None)
print(time.perf_counter() - started)
"""


def start_seconds(db: Path, how: str, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, str(db), how], capture_output=True, text=True,
                         env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        root = Path(scratch)
        env = {**os.environ, "PIPELIB_CACHE_DIR": str(root / "cache")}
        src = str(Path(__file__).resolve().parents[1] / "src")
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        one_off = start_seconds(root / "first" / "mlflow.db", "template", env)
        print(f"first store (template made, then copied): {one_off:.2f} s")
        times: dict[str, list[float]] = {"in place": [], "template": []}
        for i in range(args.repeats):
            for how, label in (("in-place", "in place"), ("template", "template")):
                times[label].append(start_seconds(root / f"{how}{i}" / "mlflow.db", how, env))
        best = {k: min(v) for k, v in times.items()}
        for label, values in times.items():
            print(f"{label:>9}: best {best[label]:.2f} s of {', '.join(f'{v:.2f}' for v in values)}")
        print(f"start-up per job, in place / template: {best['in place'] / best['template']:.1f}x")


if __name__ == "__main__":
    main()
