"""The audit stage: re-execute a seeded sample of recorded jobs and write ``results/<ds>/audit.csv``.

Config section ``audit`` (every key optional)::

    rules: [manifest, fusion_apply, ...]   rules to sample (jobs of other rules are never re-run)
    per_rule: 1                            jobs drawn per rule when it ran several (wildcards)
    seed: 0                                seed of that draw
    tolerance: {rtol: 1.0e-5, atol: 1.0e-6}   for the outputs of training jobs (those writing a .pt
                                           checkpoint; both 0 = bitwise); other outputs: bitwise
    ignore: []                             extra attribute / key / column names to skip, beside
                                           the provenance-only ones (values.PROVENANCE_KEYS)
    keep_scratch: false                    keep the scratch folder after a clean audit

The table has one row per compared output: rule, output, kind, status (match, mismatch, missing,
skipped, error: the re-execution failed), max_abs_diff, tolerance, detail. It holds no times or
absolute paths, so audits of two faithful runs give identical tables; per-job wall times go to the log.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipelib import provenance
from pipelib.audit.compare import MATCH, SKIPPED, compare_paths
from pipelib.audit.rerun import AuditError, Job, recorded_jobs, rerun_job, sample_jobs
from pipelib.audit.values import BITWISE, PROVENANCE_KEYS, Tolerance
from pipelib.io.atomic import atomic_path, write_text_atomic

log = logging.getLogger("pipelib.audit")

ERROR = "error"  # the re-execution itself failed
COLUMNS = ["rule", "output", "kind", "status", "max_abs_diff", "tolerance", "detail"]
DEFAULT_RULES = ("manifest", "fusion_apply", "skeletons", "autoencoder", "priors", "table")
DEFAULT_TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


@dataclass(frozen=True)
class AuditConfig:
    """The ``audit`` config section, checked: unknown keys and bad values fail naming the key."""

    rules: tuple[str, ...] = DEFAULT_RULES
    per_rule: int = 1
    seed: int = 0
    tolerance: Tolerance = Tolerance(**DEFAULT_TOLERANCE)
    ignore: tuple[str, ...] = ()
    keep_scratch: bool = False

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, key: str = "audit") -> AuditConfig:
        d = dict(d or {})
        allowed = {"rules", "per_rule", "seed", "tolerance", "ignore", "keep_scratch"}
        unknown = set(d) - allowed
        if unknown:
            raise ValueError(f"{key}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        cfg = cls(
            rules=tuple(d.get("rules", DEFAULT_RULES)),
            per_rule=int(d.get("per_rule", 1)),
            seed=int(d.get("seed", 0)),
            tolerance=Tolerance.from_dict({**DEFAULT_TOLERANCE, **(d.get("tolerance") or {})},
                                          f"{key}.tolerance"),
            ignore=tuple(d.get("ignore", ())),
            keep_scratch=bool(d.get("keep_scratch", False)),
        )
        if not cfg.rules:
            raise ValueError(f"{key}.rules is empty; list at least one rule to re-execute")
        if cfg.per_rule < 1:
            raise ValueError(f"{key}.per_rule must be >= 1, got {cfg.per_rule}")
        return cfg


def is_training_job(job: Job) -> bool:
    """A job that writes a torch checkpoint trains a model: its outputs get the training tolerance."""
    return any(o.endswith(".pt") for o in job.outputs)


def run_audit(*, workdir: str | os.PathLike[str], snakefile: str | os.PathLike[str],
              config: Mapping[str, Any], section: Mapping[str, Any], targets: Sequence[str],
              table_path: str | os.PathLike[str], scratch: str | os.PathLike[str],
              cores: int = 1) -> pd.DataFrame:
    """Audit the run in ``workdir`` whose final files are ``targets``; write ``table_path``.

    ``config`` is the run's whole (validated) config; ``section`` its ``audit`` section. Raises
    AuditError naming every mismatching or missing output (the table is written first, and a copy
    stays in ``scratch`` with the re-executed files).
    """
    cfg = AuditConfig.from_dict(section)
    workdir, scratch = Path(workdir).resolve(), Path(scratch).resolve()
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    provenance.sidecar_path(table_path).unlink(missing_ok=True)  # a stale record of an earlier audit
    configfile = scratch / "config.yaml"
    configfile.write_text(yaml.safe_dump(json.loads(json.dumps(dict(config))), sort_keys=True))
    recorded = recorded_jobs(workdir, snakefile, configfile, targets)
    jobs = sample_jobs(recorded, cfg.rules, cfg.per_rule, cfg.seed)
    ignore = PROVENANCE_KEYS | set(cfg.ignore)
    rows = []
    for i, job in enumerate(jobs):
        job_dir = scratch / f"{i:02d}-{job.rule}"
        try:
            rerun_job(job, workdir=workdir, scratch=job_dir, snakefile=snakefile, configfile=configfile,
                      cores=cores)
        except AuditError as err:  # recorded as rows; the other jobs are still audited
            log.error("%s", err)
            rows += [{"rule": job.rule, "output": out, "kind": "", "status": ERROR, "max_abs_diff": None,
                      "tolerance": "", "detail": str(err).splitlines()[0]} for out in job.outputs]
            continue
        tol = cfg.tolerance if is_training_job(job) else BITWISE
        for out in job.outputs:
            result = compare_paths(workdir / out, job_dir / out, tolerance=tol, name=out, ignore=ignore,
                                   roots=(workdir, job_dir))
            log.info("%s %s: %s %s", job.rule, out, result.status, result.detail)
            rows.append(result.row(rule=job.rule))
    table = pd.DataFrame(rows, columns=COLUMNS)
    bad = table[~table.status.isin([MATCH, SKIPPED])]
    for path in (table_path, scratch / "audit.csv") if len(bad) else (table_path,):
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
    if len(bad):
        lines = [f"  {r.output} ({r.rule}): {r.status} {r.detail}" for r in bad.itertuples()]
        message = (f"audit found {len(bad)} output(s) that the re-execution did not reproduce:\n"
                   + "\n".join(lines) + f"\nThe re-executed files and this table are kept in {scratch}.")
        log.error(message)
        raise AuditError(message)
    _write_provenance(table_path, cfg, [workdir / o for j in jobs for o in j.outputs])
    if not cfg.keep_scratch:
        shutil.rmtree(scratch)
    return table


def _write_provenance(path: str | os.PathLike[str], cfg: AuditConfig, compared: list[Path]) -> None:
    section = {"rules": list(cfg.rules), "per_rule": cfg.per_rule, "seed": cfg.seed,
               "tolerance": cfg.tolerance.label(), "ignore": list(cfg.ignore)}
    prov = provenance.collect(section, inputs=[p for p in compared if p.exists()], seed=cfg.seed)
    write_text_atomic(provenance.sidecar_path(path), json.dumps(prov, indent=2, default=str) + "\n")
