"""The cluster path a user takes: `snakemake --profile slurm` through a real (one-node) SLURM, and the
reproducibility audit of the same results (re-executions as SLURM jobs; a tampered output fails).

Needs a running SLURM (`.ci/local-slurm.sh start`, which `.ci/run` calls). Without one the test is skipped,
except under CI (`CI=true`), where a SLURM that did not come up is a failure, not a skip.
"""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import background
import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_helpers import CI_CONFIGS, copy_repo, run_snakemake, short_training_overlay

from pipelib.io import shards

TARGETS = ("results/ci/table5.csv", "results/ci/report.md")
# Compared between the SLURM run and a local run of the same config (the pipeline is deterministic on CPU).
H5_OUTPUTS = ("poses/mediapipe/shard000.h5", "poses/sapiens/shard001.h5", "fused/shard000.h5",
              "fused/shard001.h5", "production/systems/DARSLP/seed2/predictions.h5",
              "production/systems/DARSLP-KL/seed3/predictions.h5")
# Fast polling for seconds-long jobs (the plugin's default first check comes after 40 s); keep the logs.
# (No account: the plugin's guess via sacct fails without accounting and it submits without -A.)
SLURM_FLAGS = ("--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2",
               "--slurm-keep-successful-logs")


def slurm_problem() -> str | None:
    """Why SLURM cannot take jobs here, or None when `sinfo` shows a node that is up."""
    if shutil.which("sinfo") is None:
        return "sinfo is not installed (start a local SLURM with `.ci/local-slurm.sh start`, as root)"
    proc = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, timeout=30)
    states = proc.stdout.split()
    if proc.returncode != 0 or not {"idle", "mixed", "allocated"} & set(states):
        return f"SLURM is not taking jobs: sinfo rc={proc.returncode}, states={states}, {proc.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def slurm_up():
    problem = slurm_problem()
    if problem and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI expects a running SLURM (.ci/run starts it with .ci/local-slurm.sh): {problem}")
    if problem:
        pytest.skip(problem)


def no_gpu_overlay(repo: Path) -> str:
    """A config overlay asking no rule for a GPU (the CI node has none); returns its --configfile path."""
    cfg = yaml.safe_load((repo / "config/config.yaml").read_text())
    resources = {name: {"gpu": 0} for name, res in cfg["resources"].items() if "gpu" in res}
    assert resources, "config/config.yaml resources: no rule asks for a GPU any more; drop this overlay"
    path = repo / "config/no-gpu.yaml"
    path.write_text(yaml.safe_dump({"resources": resources}))
    return str(path.relative_to(repo))


def short_overlay(repo: Path) -> str:
    """The shared CI build's short training as a config overlay; returns its --configfile path."""
    path = repo / "config/short.yaml"
    path.write_text(yaml.safe_dump(short_training_overlay()))
    return str(path.relative_to(repo))


def build_and_audit_through_slurm(tmp_path_factory) -> dict | None:
    """The CI configuration (short training) built from nothing through SLURM, then
    `snakemake --profile slurm results/ci/audit.csv` on its results (timed, with a snapshot of results/
    taken between the two); None when SLURM is not up (`slurm_up` skips or fails the tests)."""
    if slurm_problem():
        return None
    repo = copy_repo(tmp_path_factory.mktemp("slurm"))
    configs = (*CI_CONFIGS, no_gpu_overlay(repo), short_overlay(repo))
    # Hang guards twice the default: the jobs share the machine with the rest of the suite.
    build = run_snakemake(repo, "--profile", "slurm", *SLURM_FLAGS, *TARGETS, "--configfile", *configs,
                          timeout=3600, in_background=True)
    before = snapshot(repo / "results")
    started = time.monotonic()
    audit = run_snakemake(repo, "--profile", "slurm", *SLURM_FLAGS, "results/ci/audit.csv", "--configfile",
                          *configs, audit_overlay(repo), timeout=3600, check=False, in_background=True)
    return {"repo": repo, "build": build, "audit": audit, "before": before,
            "seconds": time.monotonic() - started}


# Started when the session starts: the two runs mostly wait on SLURM's scheduling and status checks.
background.register("slurm", {"runs", "slurm_audit"}, build_and_audit_through_slurm)


@pytest.fixture(scope="module")
def runs(slurm_up, ci_build, tmp_path_factory):
    """The SLURM build; the session's local build of the same configuration (tests/conftest.py) is the
    reference."""
    done = background.result("slurm", tmp_path_factory)
    return {"slurm": (done["repo"], done["build"].stdout + done["build"].stderr), "local": (ci_build, "")}


@pytest.mark.slow
def test_jobs_run_as_slurm_jobs(runs):
    repo, log = runs["slurm"]
    slurm_ids = set(re.findall(r"Job \S+ has been submitted with SLURM jobid (\d+)", log))
    table = log.split("Job stats:")[1].split("\n\n")[0]
    rules = {ln.split()[0] for ln in table.strip().splitlines()[2:]} - {"total"}
    assert len(rules) > 10 and "poses_extract" in rules and "generator" in rules
    # Every rule ran as a SLURM job, alone (rule_<name>) or inside a group job (group_<id>_<rules>), and
    # every SLURM job left its log (--slurm-keep-successful-logs).
    log_dirs = [d.name for d in (repo / ".snakemake/slurm_logs").iterdir()]
    for rule in rules:
        assert f"rule_{rule}" in log_dirs or any(d.startswith("group_") and rule in d for d in log_dirs), rule
    assert slurm_ids and slurm_ids <= {p.stem for p in (repo / ".snakemake/slurm_logs").rglob("*.log")}
    # The profile's groups ran as one job each: rendering with generation, the report with the table.
    assert any(d.startswith("group_") and "render" in d for d in log_dirs), log_dirs
    assert any(d.startswith("group_") and "report_md" in d for d in log_dirs), log_dirs
    # Provenance written inside the jobs names their SLURM job: a table sidecar and a shard's attributes.
    table_prov = json.loads((repo / "results/ci/table5.csv.prov.json").read_text())
    shard_prov = shards.read_attrs(repo / "results/ci/poses/mediapipe/shard000.h5")["provenance"]
    assert table_prov["slurm_job_id"] in slurm_ids and shard_prov["slurm_job_id"] in slurm_ids
    assert table_prov["slurm_job_id"] != shard_prov["slurm_job_id"]
    local_prov = json.loads((runs["local"][0] / "results/ci/table5.csv.prov.json").read_text())
    assert local_prov["slurm_job_id"] is None


@pytest.mark.slow
def test_slurm_outputs_equal_local_outputs(runs):
    local, slurm = (runs[m][0] / "results/ci" for m in ("local", "slurm"))
    # Every score equal, and the back-translator's weights too (the column names them by their hash).
    ours, ref = (pd.read_csv(d / "table5.csv") for d in (slurm, local))
    assert ours["back_translator"].str.startswith("best.pt@weights-sha256:").all()
    pd.testing.assert_frame_equal(ours, ref)
    for rel in H5_OUTPUTS:
        a, b = shards.video_ids(slurm / rel), shards.video_ids(local / rel)
        assert a == b and a, rel
        for vid in a:
            va, vb = shards.read_video(slurm / rel, vid), shards.read_video(local / rel, vid)
            np.testing.assert_array_equal(va.features, vb.features, err_msg=f"{rel} {vid}")
            np.testing.assert_array_equal(va.mask, vb.mask, err_msg=f"{rel} {vid}")


# ---- the reproducibility audit of those results (issue 16) ------------------------------------------
# Three drawn jobs with three kinds of resources: manifest (2 CPUs), an extraction (per-slot resources:
# seed 0 draws a MediaPipe shard, 4 h), the autoencoder (resources.train: 16 GB, 12 h, a GPU on a real
# cluster). The table's job is audited by the tampering test.
AUDIT = {"rules": ["manifest", "poses_extract", "autoencoder"], "per_rule": 1, "seed": 0,
         "targets": ["table5.csv"]}
SUBMITTED = re.compile(r"Job \S+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")


def audit_overlay(repo: Path, **changes) -> str:
    """A config overlay with the audit section above (and ``changes``); returns its --configfile path."""
    path = repo / "config/audit.yaml"
    path.write_text(yaml.safe_dump({"audit": {**AUDIT, **changes}}))
    return str(path.relative_to(repo))


def snapshot(results: Path) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every file under results/ except the audit's own."""
    return {str(p.relative_to(results)): (p.stat().st_mtime_ns, p.stat().st_size) for p in results.rglob("*")
            if p.is_file() and "/audit" not in f"/{p.relative_to(results)}"}


def expected_resources(repo: Path, rule: str, output: str) -> dict:
    """The resources config gives the rule that wrote ``output`` (overlaid on resources.default)."""
    cfg = {}
    for name in (*CI_CONFIGS, "config/no-gpu.yaml"):
        for key, value in yaml.safe_load((repo / name).read_text()).get("resources", {}).items():
            cfg.setdefault(key, {}).update(value)
    name = {"autoencoder": "train"}.get(rule, rule)
    if rule == "poses_extract":
        slot = output.split("/")[3]
        name = "poses_extract" if slot == "mediapipe" else "poses_derive"  # the CI config's backends
    return {**cfg["default"], **cfg.get(name, {})}


@pytest.fixture(scope="module")
def slurm_audit(runs, tmp_path_factory):
    """The audit of the SLURM build, through SLURM: (repo, its log, results/ before it, its seconds)."""
    done = background.result("slurm", tmp_path_factory)
    proc = done["audit"]
    assert proc.returncode == 0, f"{' '.join(proc.args)}:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    return done["repo"], proc.stdout + proc.stderr, done["before"], done["seconds"]


@pytest.mark.slow
def test_audit_re_executes_drawn_jobs_as_slurm_jobs_with_their_rules_resources(slurm_audit):
    repo, log, before, seconds = slurm_audit
    table = pd.read_csv(repo / "results/ci/audit.csv")
    assert list(dict.fromkeys(table.rule)) == AUDIT["rules"]
    assert (table.status == "match").all(), table.to_string()
    assert set(table.tolerance) == {"bitwise"}  # the same CPU and threads, deterministic training
    assert set(table.recorded_on) == set(table.rerun_on) and table.recorded_on.str.startswith("cpu").all()
    # Every re-execution was its own SLURM job (the plugin's log folder names rule and wildcards), and it
    # got the resources of the rule it repeats.
    submitted = {log_path: job_id for job_id, log_path in SUBMITTED.findall(log)}
    reruns = {p: i for p, i in submitted.items() if "/rule_audit_rerun/" in p}
    drawn = json.loads((repo / "results/ci/audit/sample.json").read_text())["jobs"]
    assert len(reruns) == len(drawn) == len(AUDIT["rules"]), submitted
    assert any("/rule_audit_sample/" in p for p in submitted) and any("/rule_audit/" in p for p in submitted)
    for job in drawn:
        (job_id,) = [i for p, i in reruns.items() if f"_{job['rule']}_{job['id']}" in Path(p).parent.name]
        shown = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
        want = expected_resources(repo, job["rule"], job["outputs"][0])
        assert f"MinMemoryNode={want['mem_mb']}M" in shown, (job, shown)
        assert f"TimeLimit={want['runtime'] // 60:02d}:{want['runtime'] % 60:02d}:00" in shown, (job, shown)
        assert re.search(rf"\bCPUs/Task={want['cpus_per_task']}\b", shown), (job, shown)
    assert snapshot(repo / "results") == before  # no recorded output or input was rewritten
    for job in drawn:  # re-executions removed after a clean audit
        assert not (repo / "results/ci/audit" / job["rule"] / job["id"]).exists(), job
    print(f"audit through SLURM: {seconds:.0f} s wall, {len(submitted)} SLURM jobs "
          f"({len(reruns)} re-executions)")

    # On a cluster the training re-execution asks for the training rule's GPU: the plan without the
    # CI node's no-GPU overlay.
    plan = run_snakemake(repo, "-n", "results/ci/audit/autoencoder/00", "--configfile", *CI_CONFIGS,
                         "config/short.yaml", "config/audit.yaml")
    text = plan.stdout + plan.stderr
    assert "rule audit_rerun:" in text and re.search(r"resources: .*\bgpu=1\b", text), text[-3000:]
