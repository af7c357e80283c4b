"""The audit on a finished CI-sized run, without SLURM: an output altered with its mtime kept (Snakemake
sees nothing) fails the audit, naming that file; the re-execution stays for inspection."""

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_workflow import smk
from workflow_helpers import copy_build


@pytest.mark.slow
def test_audit_fails_naming_an_output_altered_with_its_mtime_kept(ci_build: Path, tmp_path: Path):
    wd = copy_build(ci_build, tmp_path / "wd")
    table = wd / "results/ci/table5.csv"
    st = table.stat()
    lines = table.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",measured,", ",measured,9", 1)  # one cell
    table.write_text("".join(lines))
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: Snakemake sees nothing
    (wd / "audit.yaml").write_text(yaml.safe_dump(
        {"audit": {"rules": ["table"], "per_rule": 1, "seed": 0, "targets": ["table5.csv"]}}))
    proc = smk(wd, "--cores", "2", "results/ci/audit.csv", "--configfile", str(wd / "config/config.yaml"),
               str(wd / "audit.yaml"), check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "results/ci/table5.csv (table/00): mismatch" in text, text[-3000:]
    assert not (wd / "results/ci/audit.csv").exists()
    kept = pd.read_csv(wd / "results/ci/audit/audit.csv").set_index("output")  # stays with the re-execution
    assert kept.loc["results/ci/table5.csv", "status"] == "mismatch"
    assert (kept.drop(index="results/ci/table5.csv").status == "match").all(), kept.to_string()
    assert (wd / "results/ci/audit/table/00").is_dir()
