"""A `pose_files` dataset in the workflow: the plan up to its table has production and evaluation jobs
only (no extraction, fusion or SignX). Reading the files into a manifest and skeletons is tested on the
library in test_pose_format.py; a dry run keeps this test to seconds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def test_pose_files_dataset_plans_production_and_evaluation_only(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus/corpus.csv").write_text("name|split|text|gloss|speaker|file\n")
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    cfg["datasets"]["pf"] = {"kind": "pose_files", "root": str(tmp_path / "corpus"), "shards": 1}
    (tmp_path / "work/config").mkdir(parents=True)
    (tmp_path / "work/config/config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path / "work"), "-n",
           "results/pf/table5.csv", "--quiet", "rules"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    table = (proc.stdout + proc.stderr).split("Job stats:")[1].split("\n\n")[0]
    rules = {ln.split()[0] for ln in table.strip().splitlines()[2:]} - {"total"}
    assert rules == {"manifest", "skeletons", "autoencoder", "latents", "priors", "generator",
                     "generate", "back_translator", "table"}
