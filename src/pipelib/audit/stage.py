"""The audit stage, in three kinds of job: draw the sample, re-execute one drawn job, compare.

1. :func:`run_sample` (a checkpoint): the jobs Snakemake recorded for the dataset's outputs, a seeded
   draw of ``per_rule`` jobs per listed rule -> ``results/<ds>/audit/sample.json``.
2. :func:`run_rerun` (one job per drawn job, with the resources of the rule it repeats): re-executes
   the job in ``results/<ds>/audit/<rule>/<id>/work`` and writes ``rerun.json`` beside it. The real
   outputs are never written.
3. :func:`run_compare` (the final job): compares every re-executed output with the recorded one,
   device-aware (:mod:`pipelib.audit.device`), and writes ``results/<ds>/audit.csv``.

Config section ``audit`` (every key optional)::

    rules: [manifest, fusion_apply, ...]   rules to sample (jobs of other rules are never re-run)
    per_rule: 1                            jobs drawn per rule when it ran several (wildcards)
    seed: 0                                seed of that draw
    targets: []                            outputs (relative to results/<ds>/) whose jobs are
                                           sampled; empty: all the dataset's final outputs
    tolerance: {rtol: 1.0e-5, atol: 1.0e-6}   where the setting promises no bitwise equality
    other_device: report                   a re-execution on another device class: report (not a
                                           failure) or refuse (a failure; not re-executed when
                                           the recorded device is absent)
    ignore: []                             extra attribute / key / column names to skip, beside
                                           the provenance-only ones (values.PROVENANCE_KEYS)
    keep_scratch: false                    keep the re-executions' folders after a clean audit
    in_report: false                       put the audit's table and summary into report.md

The table has one row per compared output: rule, job (``<rule>/<id>``), output, kind, status,
max_abs_diff, tolerance, recorded_on, rerun_on (device class and model), detail. Statuses: match,
skipped (provenance-only files, measurements), other-device (re-executed on another device class;
within or outside the tolerance, said in detail) and the failures mismatch, missing, precision (the
float precision differs), refused (another device class with ``other_device: refuse``) and error
(the re-execution itself failed). The table holds no times or absolute paths, so audits of two
faithful runs give identical tables; per-job wall times and hosts are in ``rerun.json`` and the log.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pipelib import provenance
from pipelib.audit.compare import MATCH, MISSING, SKIPPED, compare_paths
from pipelib.audit.device import OTHER_DEVICE, PRECISION, Setting, expect
from pipelib.audit.records import read_provenance
from pipelib.audit.rerun import AuditError, Job, recorded_jobs, rerun_job, sample_jobs
from pipelib.audit.values import PROVENANCE_KEYS, Tolerance
from pipelib.io.atomic import atomic_path, write_text_atomic
from pipelib.sections import SectionError, from_section

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("pipelib.audit")

ERROR, REFUSED = "error", "refused"
FAILURES = ("mismatch", MISSING, PRECISION, REFUSED, ERROR)
COLUMNS = ["rule", "job", "output", "kind", "status", "max_abs_diff", "tolerance", "recorded_on",
           "rerun_on", "detail"]
DEFAULT_RULES = ("manifest", "fusion_apply", "skeletons", "autoencoder", "priors", "table")
OTHER_DEVICE_CHOICES = ("report", "refuse")
SAMPLE_NAME, RECORD_NAME, WORK_NAME = "sample.json", "rerun.json", "work"


@dataclass(frozen=True)
class AuditTolerance(Tolerance):
    """``audit.tolerance``: the tolerance of re-executed training jobs; a key left out takes these."""

    rtol: float = 1e-5
    atol: float = 1e-6


@dataclass(frozen=True)
class AuditConfig:
    """The ``audit`` config section, checked: unknown keys and bad values fail naming the key."""

    rules: tuple[str, ...] = DEFAULT_RULES
    per_rule: int = 1
    seed: int = 0
    targets: tuple[str, ...] = ()
    tolerance: AuditTolerance = AuditTolerance()
    other_device: str = "report"
    ignore: tuple[str, ...] = ()
    keep_scratch: bool = False
    in_report: bool = False

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, key: str = "audit") -> AuditConfig:
        cfg = from_section(cls, d, key)
        cfg.tolerance.validate(f"{key}.tolerance")
        if not cfg.rules:
            raise SectionError(f"{key}.rules is empty; list at least one rule to re-execute")
        if cfg.per_rule < 1:
            raise SectionError(f"{key}.per_rule must be >= 1, got {cfg.per_rule}")
        if cfg.other_device not in OTHER_DEVICE_CHOICES:
            raise SectionError(f"{key}.other_device is {cfg.other_device!r}; choose report or refuse")
        return cfg


@dataclass(frozen=True)
class SampledJob:
    """A drawn job and its id among the drawn jobs of its rule (``00``, ``01``, ...)."""

    job: Job
    id: str

    @property
    def name(self) -> str:
        return f"{self.job.rule}/{self.id}"

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.job.rule, "id": self.id, "outputs": list(self.job.outputs),
                "inputs": list(self.job.inputs), "logs": list(self.job.logs)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SampledJob:
        job = Job(str(d["rule"]), tuple(d["outputs"]), tuple(d["inputs"]), tuple(d["logs"]))
        return cls(job, str(d["id"]))


def is_training_job(job: Job) -> bool:
    """A job that writes a torch checkpoint trains a model."""
    return any(o.endswith(".pt") for o in job.outputs)


def _write_config(config: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(json.loads(json.dumps(dict(config), default=str)), sort_keys=True))
    return path


# ---- 1. the sample ---------------------------------------------------------------------------

def run_sample(*, workdir: str | os.PathLike[str], snakefile: str | os.PathLike[str],
               config: Mapping[str, Any], section: Mapping[str, Any], targets: Sequence[str],
               out_json: str | os.PathLike[str]) -> list[SampledJob]:
    """Draw the jobs to re-execute among those recorded for ``targets``; write ``out_json``.

    ``config`` is the run's whole (validated) config, ``section`` its ``audit`` section.
    """
    cfg = AuditConfig.from_dict(section)
    workdir = Path(workdir).resolve()
    with tempfile.TemporaryDirectory(prefix="audit-config-") as tmp:
        configfile = _write_config(config, Path(tmp) / "config.yaml")
        recorded = recorded_jobs(workdir, snakefile, configfile, targets)
    drawn, counts = [], {}
    for job in sample_jobs(recorded, cfg.rules, cfg.per_rule, cfg.seed):
        counts[job.rule] = counts.get(job.rule, -1) + 1
        drawn.append(SampledJob(job, f"{counts[job.rule]:02d}"))
    record = {"rules": list(cfg.rules), "per_rule": cfg.per_rule, "seed": cfg.seed, "targets": list(targets),
              "recorded_jobs": len(recorded), "jobs": [s.as_dict() for s in drawn]}
    write_text_atomic(out_json, json.dumps(record, indent=2) + "\n")
    log.info("drew %d of %d recorded jobs: %s", len(drawn), len(recorded), ", ".join(s.name for s in drawn))
    return drawn


def read_sample(sample_json: str | os.PathLike[str]) -> list[SampledJob]:
    """The drawn jobs of a ``sample.json``."""
    return [SampledJob.from_dict(d) for d in json.loads(Path(sample_json).read_text())["jobs"]]


def rerun_dir(sample_json: str | os.PathLike[str], sampled: SampledJob) -> str:
    """Where the re-execution of ``sampled`` lives: ``<sample folder>/<rule>/<id>``."""
    return os.path.join(os.path.dirname(os.fspath(sample_json)), sampled.job.rule, sampled.id)


def rerun_dirs(sample_json: str | os.PathLike[str]) -> list[str]:
    """The re-execution folders of every drawn job, in draw order."""
    return [rerun_dir(sample_json, s) for s in read_sample(sample_json)]


def find_sampled(sample_json: str | os.PathLike[str], rule: str, job_id: str) -> SampledJob:
    """The drawn job ``<rule>/<job_id>``; an unknown one fails naming the drawn ones."""
    drawn = read_sample(sample_json)
    for s in drawn:
        if (s.job.rule, s.id) == (rule, job_id):
            return s
    raise AuditError(f"{sample_json} drew no job {rule}/{job_id}; it drew {[s.name for s in drawn]}")


# ---- 2. one re-execution ---------------------------------------------------------------------

def job_setting(paths: Iterable[str | os.PathLike[str]]) -> Setting | None:
    """The setting recorded by the first of ``paths`` that records one (a job's outputs share it)."""
    for p in paths:
        setting = Setting.from_provenance(read_provenance(p))
        if setting is not None:
            return setting
    return None


def _device_present(device: str) -> bool:
    if device == "cpu":
        return True
    if device == "cuda":
        import torch

        return bool(torch.cuda.is_available())
    return False


def run_rerun(*, workdir: str | os.PathLike[str], snakefile: str | os.PathLike[str],
              config: Mapping[str, Any], section: Mapping[str, Any], sampled: SampledJob,
              out_dir: str | os.PathLike[str], cores: int = 1) -> dict[str, Any]:
    """Re-execute ``sampled`` in ``out_dir/work``; write and return ``out_dir/rerun.json``.

    The record's ``status`` is ``done``, ``error`` (the re-execution failed; ``detail`` says why) or
    ``refused`` (``other_device: refuse`` and the recorded device class is absent here).
    """
    cfg = AuditConfig.from_dict(section)
    workdir, out_dir = Path(workdir).resolve(), Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {**sampled.as_dict(), "status": "done", "detail": "", "seconds": None,
                              "host": socket.gethostname(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
                              "cores": cores}
    recorded = job_setting(workdir / o for o in sampled.job.outputs)
    if cfg.other_device == "refuse" and recorded is not None and not _device_present(recorded.device):
        record.update(status=REFUSED, detail=f"recorded on {recorded.describe()}, which this node lacks; "
                                             f"audit.other_device is refuse")
    else:
        configfile = _write_config(config, out_dir / "config.yaml")
        started = time.monotonic()
        try:
            rerun_job(sampled.job, workdir=workdir, scratch=out_dir / WORK_NAME, snakefile=snakefile,
                      configfile=configfile, cores=cores)
        except AuditError as err:  # reported by the comparison; the other jobs are still audited
            record.update(status=ERROR, detail=str(err).splitlines()[0])
        record["seconds"] = round(time.monotonic() - started, 1)
    record["runtime"] = provenance.runtime_environment()
    log.info("re-execution of %s: %s %s (%s s, host %s, SLURM job %s)", sampled.name, record["status"],
             record["detail"], record["seconds"], record["host"], record["slurm_job_id"])
    write_text_atomic(out_dir / RECORD_NAME, json.dumps(record, indent=2, default=str) + "\n")
    return record


# ---- 3. the comparison -----------------------------------------------------------------------

def compare_job(sampled: SampledJob, *, workdir: Path, rerun_work: Path, cfg: AuditConfig,
                ignore: Iterable[str]) -> list[dict[str, Any]]:
    """Rows comparing each output of ``sampled`` with its re-execution under ``rerun_work``."""
    job = sampled.job
    recorded_job = job_setting(workdir / o for o in job.outputs)
    rerun_job_setting = job_setting(rerun_work / o for o in job.outputs)
    rows = []
    for out in job.outputs:
        rec = Setting.from_provenance(read_provenance(workdir / out)) or recorded_job
        new = Setting.from_provenance(read_provenance(rerun_work / out)) or rerun_job_setting
        plan = expect(rec, new, training=is_training_job(job), tolerance=cfg.tolerance)
        result = compare_paths(workdir / out, rerun_work / out, tolerance=plan.tolerance, name=out,
                               ignore=ignore, roots=(workdir, rerun_work))
        status, detail = result.status, result.detail
        if status not in (SKIPPED, MISSING):
            if plan.case == OTHER_DEVICE:
                within = "within" if status == MATCH else "outside"
                status = REFUSED if cfg.other_device == "refuse" else OTHER_DEVICE
                detail = _joined(f"{plan.reason}; {within} {plan.tolerance.label()}", detail)
            elif plan.case == PRECISION:
                status, detail = PRECISION, _joined(plan.reason, detail)
            elif not plan.tolerance.bitwise or status != MATCH:
                detail = _joined(plan.reason, detail)
        row = result.row(rule=job.rule, job=sampled.name)
        row.update(status=status, detail=detail, recorded_on=rec.describe() if rec else "",
                   rerun_on=new.describe() if new else "")
        log.info("%s %s: %s %s", sampled.name, out, status, detail)
        rows.append(row)
    return rows


def _joined(reason: str, detail: str) -> str:
    return f"{reason}: {detail}" if detail else reason


def _error_rows(sampled: SampledJob, status: str, detail: str) -> list[dict[str, Any]]:
    return [{"rule": sampled.job.rule, "job": sampled.name, "output": out, "kind": "", "status": status,
             "max_abs_diff": None, "tolerance": "", "recorded_on": "", "rerun_on": "", "detail": detail}
            for out in sampled.job.outputs]


def run_compare(*, workdir: str | os.PathLike[str], section: Mapping[str, Any],
                sample_json: str | os.PathLike[str], table_path: str | os.PathLike[str]) -> pd.DataFrame:
    """Compare every drawn job's outputs with its re-execution; write ``table_path``.

    Raises AuditError naming every failing output (module doc); the table is written first, and a
    copy stays beside ``sample_json`` with the re-executions.
    """
    import pandas as pd  # here, not at module level: the workflow imports this module whenever it starts

    cfg = AuditConfig.from_dict(section)
    workdir = Path(workdir).resolve()
    provenance.sidecar_path(table_path).unlink(missing_ok=True)  # a stale record of an earlier audit
    ignore = PROVENANCE_KEYS | set(cfg.ignore)
    drawn = read_sample(sample_json)
    rows = []
    for sampled in drawn:
        folder = Path(rerun_dir(sample_json, sampled)).resolve()
        record_path = folder / RECORD_NAME
        if not record_path.is_file():
            rows += _error_rows(sampled, ERROR, f"no {RECORD_NAME} in {folder}: the re-execution did not run")
            continue
        record = json.loads(record_path.read_text())
        log.info("%s was re-executed on host %s (SLURM job %s) in %s s: %s", sampled.name, record.get("host"),
                 record.get("slurm_job_id"), record.get("seconds"), record.get("status"))
        if record.get("status") != "done":
            rows += _error_rows(sampled, str(record.get("status")), str(record.get("detail")))
            continue
        rows += compare_job(sampled, workdir=workdir, rerun_work=folder / WORK_NAME, cfg=cfg, ignore=ignore)
    table = pd.DataFrame(rows, columns=COLUMNS)
    failed = table[table.status.isin(FAILURES)]
    kept = Path(sample_json).parent / "audit.csv"
    for path in (table_path, kept) if len(failed) else (table_path,):
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
    if len(failed):
        lines = [f"  {r.output} ({r.job}): {r.status} {r.detail}" for r in failed.itertuples()]
        message = (f"audit found {len(failed)} output(s) that the re-execution did not reproduce:\n"
                   + "\n".join(lines) + f"\nThe re-executions and this table are kept in {kept.parent}.")
        log.error(message)
        raise AuditError(message)
    kept.unlink(missing_ok=True)  # a failing table of an earlier audit
    _write_provenance(table_path, cfg, [workdir / o for s in drawn for o in s.job.outputs])
    return table


def _write_provenance(path: str | os.PathLike[str], cfg: AuditConfig, compared: list[Path]) -> None:
    section = {"rules": list(cfg.rules), "per_rule": cfg.per_rule, "seed": cfg.seed,
               "targets": list(cfg.targets), "tolerance": cfg.tolerance.label(),
               "other_device": cfg.other_device, "ignore": list(cfg.ignore)}
    prov = provenance.collect(section, inputs=[p for p in compared if p.exists()], seed=cfg.seed)
    write_text_atomic(provenance.sidecar_path(path), json.dumps(prov, indent=2, default=str) + "\n")
