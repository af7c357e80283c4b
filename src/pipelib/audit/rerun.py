"""Find the jobs a run recorded and re-execute one of them in a scratch directory.

Jobs come from ``snakemake --detailed-summary`` in the real working directory: one row per output
with its rule, log files and the input files Snakemake recorded when the job ran. A job is re-run by
a nested Snakemake in ``scratch/`` whose recorded inputs are symlinks to the real files (link mtimes
set to the targets' so nothing looks outdated) and which may use only that job's rule
(``--allowed-rules``); the real outputs are never written, and a changed real input is an error.
"""

from __future__ import annotations

import logging
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("pipelib.audit")


class AuditError(RuntimeError):
    """The audit could not run or found mismatches; the message names the files and the fix."""


@dataclass(frozen=True)
class Job:
    """One recorded rule job: paths relative to the working directory (absolute ones stay absolute)."""

    rule: str
    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    logs: tuple[str, ...]


def snakemake_command() -> list[str]:
    """The Snakemake of this interpreter's environment."""
    return [sys.executable, "-m", "snakemake"]


def _split(field: str) -> tuple[str, ...]:
    return tuple(p for p in field.split(",") if p and p != "-")


def parse_detailed_summary(text: str) -> list[Job]:
    """Jobs from ``--detailed-summary`` output; outputs of one job share rule, logs and inputs.

    Rows whose output has no recorded metadata (input column ``-``) raise AuditError naming them.
    """
    lines = text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.startswith("output_file\t"))
    except StopIteration:
        raise AuditError("snakemake --detailed-summary printed no table; run it by hand to see why") from None
    header = lines[start].split("\t")
    col = {name: header.index(name) for name in ("output_file", "rule", "log-file(s)", "input-file(s)")}
    grouped: dict[tuple, list[str]] = {}
    unrecorded = []
    for ln in lines[start + 1:]:
        cells = ln.split("\t")
        if len(cells) != len(header):
            continue
        out, rule = cells[col["output_file"]], cells[col["rule"]]
        if cells[col["input-file(s)"]] == "-":
            unrecorded.append(out)
            continue
        key = (rule, _split(cells[col["log-file(s)"]]), _split(cells[col["input-file(s)"]]))
        grouped.setdefault(key, []).append(out)
    if unrecorded:
        raise AuditError(f"no Snakemake record of the job that wrote {', '.join(unrecorded[:5])}: build the "
                         f"run with this workflow first (snakemake --cores N), then audit it")
    return [Job(rule, tuple(sorted(outs)), inputs, logs)
            for (rule, logs, inputs), outs in sorted(grouped.items(), key=lambda kv: sorted(kv[1]))]


def recorded_jobs(workdir: str | os.PathLike[str], snakefile: str | os.PathLike[str],
                  configfile: str | os.PathLike[str], targets: Sequence[str]) -> list[Job]:
    """Every job of the DAG of ``targets`` in ``workdir``, as Snakemake recorded it."""
    cmd = [*snakemake_command(), "--snakefile", str(snakefile), "--directory", str(workdir),
           "--configfile", str(configfile), "--detailed-summary", "--nolock", *targets]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_nested_env())
    if proc.returncode != 0:
        raise AuditError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return parse_detailed_summary(proc.stdout)


def sample_jobs(jobs: Iterable[Job], rules: Sequence[str], per_rule: int, seed: int) -> list[Job]:
    """Up to ``per_rule`` jobs of each rule in ``rules``, drawn with ``seed``; rules in config order.

    A rule with no recorded job fails naming the `audit.rules` key and the rules that have jobs.
    """
    by_rule: dict[str, list[Job]] = {}
    for job in jobs:
        by_rule.setdefault(job.rule, []).append(job)
    missing = [r for r in rules if r not in by_rule]
    if missing:
        raise AuditError(f"audit.rules lists {missing}, which ran no job for this target; choose among "
                         f"{sorted(by_rule)}")
    rng = random.Random(seed)
    picked = []
    for rule in rules:
        candidates = sorted(by_rule[rule], key=lambda j: j.outputs)
        chosen = rng.sample(range(len(candidates)), min(per_rule, len(candidates)))
        picked += [candidates[i] for i in sorted(chosen)]
    return picked


def _nested_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SNAKEMAKE_PROFILE", None)  # the re-run is local, never submitted to a cluster
    return env


def _link_inputs(job: Job, workdir: Path, scratch: Path) -> dict[Path, tuple[int, int]]:
    """Symlink the job's relative inputs into ``scratch``; return each real input's (mtime_ns, size)."""
    seen = {}
    for rel in job.inputs:
        real = Path(rel) if os.path.isabs(rel) else workdir / rel
        if not real.exists():
            raise AuditError(f"recorded input {rel} of rule {job.rule} is gone from {workdir}; "
                             f"rebuild the run before auditing it")
        st = real.stat()
        seen[real] = (st.st_mtime_ns, st.st_size)
        if os.path.isabs(rel):
            continue
        link = scratch / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(real.resolve())
        os.utime(link, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    return seen


_DONE = re.compile(r"(\d+) of (\d+) steps \(100%\) done")


def rerun_job(job: Job, *, workdir: str | os.PathLike[str], scratch: str | os.PathLike[str],
              snakefile: str | os.PathLike[str], configfile: str | os.PathLike[str],
              cores: int = 1) -> float:
    """Re-execute ``job`` in the empty folder ``scratch`` (created; replaced if present).

    Returns the wall seconds of the nested Snakemake. Its output goes to ``scratch/snakemake.log``.
    Raises AuditError if the run fails, runs other jobs than this one, or changed a real input.
    """
    workdir, scratch = Path(workdir).resolve(), Path(scratch).resolve()
    if scratch == workdir or scratch in workdir.parents:
        raise AuditError(f"audit.scratch {scratch} holds the run's directory {workdir}; give a folder of "
                         f"its own (it is deleted and re-created)")
    if scratch.exists():
        shutil.rmtree(scratch)
    (scratch / "config").mkdir(parents=True)
    shutil.copyfile(configfile, scratch / "config/config.yaml")
    before = _link_inputs(job, workdir, scratch)
    cmd = [*snakemake_command(), "--snakefile", str(snakefile), "--directory", str(scratch),
           "--configfile", str(scratch / "config/config.yaml"), "--cores", str(max(1, cores)),
           "--allowed-rules", job.rule, "--rerun-triggers", "mtime", "--", *job.outputs]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_nested_env())
    seconds = time.monotonic() - started
    (scratch / "snakemake.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise AuditError(f"re-running rule {job.rule} for {', '.join(job.outputs)} failed (exit "
                         f"{proc.returncode}); see {scratch / 'snakemake.log'}:\n{proc.stderr[-2000:]}")
    done = _DONE.search(proc.stdout + proc.stderr)
    if done is None or done.group(2) != "1":
        raise AuditError(f"re-running rule {job.rule} in {scratch} planned {done.group(2) if done else 'no'} "
                         f"jobs instead of exactly one; see {scratch / 'snakemake.log'}")
    changed = [str(p) for p, sig in before.items() if (p.stat().st_mtime_ns, p.stat().st_size) != sig]
    if changed:
        raise AuditError(f"re-running rule {job.rule} changed the real input(s) {changed}: the rule writes "
                         f"into its inputs, which it must not; rebuild them")
    log.info("re-ran %s (%s) in %.1fs", job.rule, ", ".join(job.outputs), seconds)
    return seconds
