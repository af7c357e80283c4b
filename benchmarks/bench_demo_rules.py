"""Where a finished demo run spent its time: job seconds per rule from Snakemake's own records.

    .venv/bin/python benchmarks/bench_demo_rules.py [--directory .] [--dataset demo] [--jobs 15]

Reads ``<directory>/.snakemake/metadata/*`` (one JSON record per output file, written by Snakemake when a
job finishes: ``rule``, ``job_hash``, ``starttime``, ``endtime``, ``log``) and groups the records into jobs
by ``job_hash``: a job's time is its last ``endtime`` minus its first ``starttime`` (seconds of wall clock
the job held, "job time"; a job that ran with two threads still counts once). Only the latest run of each
output is on record, so run it after one complete build (a fresh clone, or after ``rm -r .snakemake
results``). Prints:

1. per rule: jobs, job seconds in all, mean and longest job, share of all job time, sorted by job time;
   the stage of each rule is the rule file (``workflow/rules/<stage>.smk``) that defines it;
2. per stage, with totals: all job time, the span from the first start to the last end (wall), and
   their ratio (how many jobs ran side by side on average);
3. the slowest ``--jobs`` jobs, named by their log file (which says the shard, slot or target);
4. every ``history.csv`` under ``results/<dataset>/``: epochs, epoch seconds in all and, where the trainer
   recorded it, ``train/data_wait_fraction`` (the part of training step time spent waiting for data;
   mean over epochs, weighted by epoch seconds; target <= 0.05), and the seconds of the job that wrote
   the run (the one whose outputs lie in the run's folder) outside its epochs: imports, data loading,
   the MLflow run's start and end, the final save.

With ``--retrain RUN[,RUN...]`` (``video2pose``, ``pose2gloss``, ``recognizer_gloss``, ``recognizer_text``)
it instead trains those SignX runs again, with the library on ``PYTHONPATH``, from the finished build's
inputs (``results/<dataset>/``: manifest, fused shards, stage-1 checkpoint, augmentation and latent shards,
pruning mask; only read) and each run's recorded section (its ``config.json``) with ``train.epochs`` set
to ``--epochs`` (0: as recorded) and tracking off, into ``--workdir``; it prints per epoch the seconds
and the data-wait fraction, and the ``weights_sha256`` of the last epoch's weights (with ``--epochs 0``
also whether they equal the build's own ``last.pt``). Run it once per code version on the
same build (``PYTHONPATH=<old>/src`` then ``<new>/src``): the fractions compare the versions, the hashes
say whether they train the same weights.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

WAIT_COLUMN = "train/data_wait_fraction"


@dataclass
class Job:
    """One finished job: rule, stage (rule file), first log file, start and end (epoch seconds), and the
    outputs on record (paths relative to the working directory)."""

    rule: str
    stage: str
    log: str
    start: float
    end: float
    outputs: tuple[str, ...] = ()

    @property
    def seconds(self) -> float:
        return self.end - self.start


def rule_stages(rules_dir: Path) -> dict[str, str]:
    """rule name -> the stem of the ``.smk`` file that defines it."""
    out = {}
    for smk in sorted(rules_dir.glob("*.smk")):
        for name in re.findall(r"^(?:rule|checkpoint)\s+(\w+)\s*:", smk.read_text(), flags=re.MULTILINE):
            out[name] = smk.stem
    return out


def read_jobs(directory: Path) -> list[Job]:
    """The jobs on record in ``directory/.snakemake/metadata``, grouped by job hash."""
    meta = directory / ".snakemake" / "metadata"
    if not meta.is_dir():
        raise SystemExit(f"{meta} does not exist: run the demo in {directory} first (snakemake --cores 2)")
    stages = rule_stages(directory / "workflow" / "rules")
    if not stages:  # the tests' copies run with -s <repo>/Snakefile from a bare work directory
        stages = rule_stages(Path(__file__).resolve().parents[1] / "workflow" / "rules")
    groups: dict[tuple[str, int], list[tuple[str, dict]]] = defaultdict(list)
    for path in meta.iterdir():
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if record.get("incomplete") or record.get("starttime") is None or record.get("endtime") is None:
            continue
        groups[(record["rule"], record.get("job_hash", 0))].append((output_path(path.name), record))
    jobs = []
    for (rule, _), found in groups.items():
        records = [r for _, r in found]
        logs = sorted({str(lg) for r in records for lg in r.get("log") or []})
        jobs.append(Job(rule, stages.get(rule, "?"), logs[0] if logs else "",
                        min(r["starttime"] for r in records), max(r["endtime"] for r in records),
                        tuple(sorted(out for out, _ in found if out))))
    if not jobs:
        raise SystemExit(f"{meta} holds no finished job")
    return jobs


def output_path(name: str) -> str:
    """The output path a metadata record's file name encodes (URL-safe base64), "" if it is not one."""
    try:
        return base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def per_rule(jobs: list[Job]) -> pd.DataFrame:
    """One row per rule: stage, jobs, job seconds (sum, mean, max), share of all job time; slowest first."""
    frame = pd.DataFrame([{"rule": j.rule, "stage": j.stage, "seconds": j.seconds} for j in jobs])
    table = frame.groupby(["rule", "stage"])["seconds"].agg(["count", "sum", "mean", "max"]).reset_index()
    table.columns = ["rule", "stage", "jobs", "job_s", "mean_s", "max_s"]
    table["share"] = table["job_s"] / table["job_s"].sum()
    return table.sort_values("job_s", ascending=False).reset_index(drop=True)


def per_stage(jobs: list[Job]) -> pd.DataFrame:
    """One row per stage and a total: job seconds, wall span (first start to last end), their ratio."""
    rows = []
    by_stage: dict[str, list[Job]] = defaultdict(list)
    for j in jobs:
        by_stage[j.stage].append(j)
    for stage, group in [*sorted(by_stage.items()), ("TOTAL", jobs)]:
        job_s = sum(j.seconds for j in group)
        span = max(j.end for j in group) - min(j.start for j in group)
        rows.append({"stage": stage, "jobs": len(group), "job_s": job_s, "job_min": job_s / 60,
                     "span_s": span, "side_by_side": job_s / span if span > 0 else float("nan")})
    return pd.DataFrame(rows)


def training_runs(results: Path, jobs: Sequence[Job] = (), directory: Path = Path(".")) -> pd.DataFrame:
    """Every history.csv under ``results``: epochs, seconds and the data-wait fraction when recorded, and,
    given the build's ``jobs``, the seconds of the job that wrote the run and its seconds outside the
    epochs (start-up, tracking, data loading, the final save)."""
    job_of_dir = {str((directory / out).parent.resolve()): j for j in jobs for out in j.outputs}
    rows = []
    for hist in sorted(results.rglob("history.csv")):
        if "mlartifacts" in hist.relative_to(results).parts:  # MLflow's copy of a run's own history.csv
            continue
        h = pd.read_csv(hist)
        seconds = h["seconds"] if "seconds" in h else pd.Series(1.0, index=h.index)
        wait = float("nan")
        if WAIT_COLUMN in h and seconds.sum() > 0:
            ok = h[WAIT_COLUMN].notna()
            wait = float((h.loc[ok, WAIT_COLUMN] * seconds[ok]).sum() / max(seconds[ok].sum(), 1e-12))
        epoch_s = float(seconds.sum()) if "seconds" in h else float("nan")
        job = job_of_dir.get(str(hist.parent.resolve()))
        job_s = job.seconds if job is not None else float("nan")
        rows.append({"run": str(hist.parent.relative_to(results)), "epochs": len(h), "epoch_s": epoch_s,
                     "job_s": job_s, "outside_epochs_s": job_s - epoch_s, "data_wait_fraction": wait})
    return pd.DataFrame(rows, columns=["run", "epochs", "epoch_s", "job_s", "outside_epochs_s",
                                       "data_wait_fraction"])


RETRAINABLE = ("video2pose", "pose2gloss", "recognizer_gloss", "recognizer_text")


def _section(results: Path, run: str, epochs: int) -> dict[str, Any]:
    """The section a finished run was trained with, with ``epochs`` epochs (0: as recorded) and tracking
    off."""
    recorded = results / "signx" / run / "config.json"
    if not recorded.exists():
        raise SystemExit(f"{recorded} does not exist: --retrain needs a finished build of the run")
    section = json.loads(recorded.read_text())["model"]["section"]
    train = dict(section.get("train") or {})
    train.update(tracking={"enabled": False}, **({"epochs": epochs} if epochs > 0 else {}))
    return {**section, "train": train}


def retrain(results: Path, run: str, epochs: int, run_dir: Path) -> Path:
    """Train one SignX run again from the build's inputs into ``run_dir`` (started over); returns last.pt."""
    shutil.rmtree(run_dir, ignore_errors=True)
    section = _section(results, run, epochs)
    manifest = results / "manifest.parquet"
    fused = sorted((results / "fused").glob("shard*.h5"))
    signx = results / "signx"
    if run == "video2pose":
        from pipelib.signx.train_video2pose import train_video2pose
        train_video2pose(manifest, fused, signx / "pose2gloss" / "best.pt", run_dir, section)
    elif run == "pose2gloss":
        from pipelib.signx.train_pose2gloss import train_pose2gloss
        train_pose2gloss(manifest, fused, run_dir, section)
    else:
        from pipelib.signx.train_recognizer import train_recognizer
        train_recognizer(manifest, sorted((signx / "aug").glob("shard*.h5")),
                         sorted((signx / "latents").glob("shard*.h5")), signx / "pruning.json", run_dir,
                         section, run.removeprefix("recognizer_"))
    return run_dir / "last.pt"


def same_weights(a: Path, b: Path) -> bool | None:
    """Whether two checkpoints hold the same weights (None when ``a`` does not exist)."""
    from pipelib.training.checkpoint import weights_sha256

    return weights_sha256(a) == weights_sha256(b) if a.exists() else None


def retrain_runs(directory: Path, dataset: str, runs: list[str], epochs: int, workdir: Path) -> None:
    """Retrain ``runs`` (see the module docstring) and print their per-epoch data-wait fractions."""
    from pipelib.training.checkpoint import weights_sha256

    unknown = sorted(set(runs) - set(RETRAINABLE))
    if unknown:
        raise SystemExit(f"--retrain: unknown run(s) {unknown}; choose from {list(RETRAINABLE)}")
    results = (directory / "results" / dataset).resolve()
    workdir = workdir.resolve()
    if workdir.is_relative_to(directory.resolve()):
        raise SystemExit(f"--workdir {workdir} lies inside --directory {directory}; pick a scratch folder")
    rows = []
    for run in runs:
        started = time.monotonic()
        last = retrain(results, run, epochs, workdir / run)
        wall = time.monotonic() - started
        h = pd.read_csv(workdir / run / "history.csv")
        print(f"\n== {run}: {len(h)} epochs, job {wall:.1f} s")
        print(h[["epoch", "seconds", WAIT_COLUMN]].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        summary = training_runs(workdir / run).iloc[0]
        later = float(h[WAIT_COLUMN].iloc[1:].mean()) if len(h) > 1 else float("nan")
        rows.append({"run": run, "epochs": len(h), "job_s": wall, "epoch_s": summary["epoch_s"],
                     "data_wait_fraction": summary["data_wait_fraction"],
                     "later_epochs_wait": later,
                     "weights_sha256": weights_sha256(last)[:16],
                     "same_as_build": same_weights(results / "signx" / run / "last.pt", last) if epochs == 0
                     else None})
    print(f"\n== retrained under {workdir} (data_wait_fraction: weighted by epoch seconds; "
          f"later_epochs_wait: mean of epochs 2..)")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.4f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--directory", default=".", help="the Snakemake working directory of the run")
    parser.add_argument("--dataset", default="demo", help="results/<dataset>/ holds the training runs")
    parser.add_argument("--jobs", type=int, default=15, help="how many of the slowest jobs to list")
    parser.add_argument("--retrain", help=f"comma-separated runs of {', '.join(RETRAINABLE)} to train again "
                        "(see the module docstring) instead of reading the build's records")
    parser.add_argument("--epochs", type=int, default=5,
                        help="epochs per retrained run (0: as the build trained it, so that the weights "
                        "can be compared with the build's last.pt)")
    parser.add_argument("--workdir", default=None, help="where retrained runs go (outside --directory)")
    args = parser.parse_args()
    directory = Path(args.directory)
    if args.retrain:
        if not args.workdir:
            parser.error("--retrain needs --workdir")
        retrain_runs(directory, args.dataset, [r for r in args.retrain.split(",") if r], args.epochs,
                     Path(args.workdir))
        return
    jobs = read_jobs(directory)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", 70)
    fmt = {"float_format": lambda x: f"{x:.2f}", "index": False}
    print(f"== job time per rule ({len(jobs)} jobs on record in {directory / '.snakemake/metadata'})")
    print(per_rule(jobs).to_string(**fmt))
    print("\n== per stage (job_s: summed job time; span_s: first start to last end)")
    print(per_stage(jobs).to_string(**fmt))
    print(f"\n== the {args.jobs} slowest jobs")
    slow = sorted(jobs, key=lambda j: j.seconds, reverse=True)[:args.jobs]
    print(pd.DataFrame([{"rule": j.rule, "job_s": j.seconds, "log": j.log} for j in slow]).to_string(**fmt))
    runs = training_runs(directory / "results" / args.dataset, jobs, directory)
    print(f"\n== training runs under results/{args.dataset} ({WAIT_COLUMN}: weighted by epoch seconds; "
          f"outside_epochs_s: the job's seconds before, between and after its epochs; NaN = not recorded)")
    print(runs.to_string(**fmt) if len(runs) else "(none)")


if __name__ == "__main__":
    main()
