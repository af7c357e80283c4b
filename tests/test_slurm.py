"""The cluster path a user takes: `snakemake --profile slurm` through a real (one-node) SLURM.

Needs a running SLURM (`.ci/local-slurm.sh start`, which `.ci/run` calls). Without one the test is skipped,
except under CI (`CI=true`), where a SLURM that did not come up is a failure, not a skip.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_helpers import CI_CONFIGS, copy_repo, run_snakemake

from pipelib.io import shards

TARGETS = ("results/ci/table5.csv", "results/ci/report.md")
# Compared between the SLURM run and a local run of the same config (the pipeline is deterministic on CPU).
H5_OUTPUTS = ("poses/mediapipe/shard000.h5", "poses/sapiens/shard001.h5", "fused/shard000.h5",
              "fused/shard001.h5", "production/predictions_phase1.h5", "production/predictions_phase2.h5")
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


@pytest.fixture(scope="module")
def runs(slurm_up, tmp_path_factory):
    """The CI configuration built twice from nothing: through SLURM, and locally as the reference."""
    out = {}
    for mode in ("local", "slurm"):
        repo = copy_repo(tmp_path_factory.mktemp(mode))
        configs = (*CI_CONFIGS, no_gpu_overlay(repo))
        how = ("--profile", "slurm", *SLURM_FLAGS) if mode == "slurm" else ("--cores", "2")
        proc = run_snakemake(repo, *how, *TARGETS, "--configfile", *configs)
        out[mode] = (repo, proc.stdout + proc.stderr)
    return out


@pytest.mark.slow
def test_jobs_run_as_slurm_jobs(runs):
    repo, log = runs["slurm"]
    slurm_ids = set(re.findall(r"Job \S+ has been submitted with SLURM jobid (\d+)", log))
    table = log.split("Job stats:")[1].split("\n\n")[0]
    rules = {ln.split()[0] for ln in table.strip().splitlines()[2:]} - {"total"}
    assert len(rules) > 10 and "poses_extract" in rules and "generator_phase2" in rules
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
