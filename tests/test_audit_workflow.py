"""The audit rule on a CI-sized run: a clean run audits clean without touching results/, and a
silently altered output (same mtime, different bytes) fails the audit naming that file."""

import os
from pathlib import Path

import pandas as pd
import pytest
from test_workflow import _workdir, edit_config, smk

AUDIT = {"rules": ["manifest", "fusion_apply", "autoencoder", "table"], "per_rule": 1, "seed": 0,
         "tolerance": {"rtol": 1.0e-5, "atol": 1.0e-6}}


def _short_training(cfg):
    prod = cfg["production"]
    for train in (prod["autoencoder"]["train"], prod["generator"]["phase1"]["train"],
                  prod["generator"]["phase2"]["train"], cfg["evaluation"]["back_translation"]["train"],
                  *(cfg["signx"][name]["train"] for name in ("pose2gloss", "video2pose", "recognizer"))):
        train["epochs"] = 2


def _snapshot(results: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(results)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in results.rglob("*") if p.is_file() and not p.name.startswith("audit.csv")}


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    """The CI dataset built to all its outputs with two-epoch training and the audit config set."""
    wd = _workdir(tmp_path_factory.mktemp("audit"), {"audit": AUDIT})
    edit_config(wd, _short_training)
    smk(wd, "--cores", "2", "results/ci/table5.csv", "results/ci/report.md", "results/ci/recognition.csv",
        "results/ci/efficiency.csv", "results/ci/signx/closeness.csv")
    return wd


@pytest.mark.slow
def test_clean_run_audits_clean_and_results_are_left_alone(ci_run):
    results = ci_run / "results"
    before = _snapshot(results)
    smk(ci_run, "--cores", "2", "results/ci/audit.csv")
    table = pd.read_csv(results / "ci/audit.csv")
    assert list(dict.fromkeys(table.rule)) == AUDIT["rules"]
    assert (table.status == "match").all(), table.to_string()
    assert set(table.output[table.rule == "manifest"]) == {"results/ci/manifest.parquet",
                                                            "results/ci/rejected.parquet"}
    assert table.loc[table.rule == "autoencoder", "tolerance"].item() == "rtol=1e-05,atol=1e-06"
    assert set(table.loc[table.rule != "autoencoder", "tolerance"]) == {"bitwise"}
    assert (results / "ci/audit.csv.prov.json").is_file()
    assert _snapshot(results) == before  # no recorded output or input was rewritten
    assert not (results / "ci/audit").exists()  # scratch removed after a clean audit


@pytest.mark.slow
def test_tampered_output_fails_the_audit_naming_it(ci_run):
    table = ci_run / "results/ci/table5.csv"
    st = table.stat()
    lines = table.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",measured,", ",measured,9", 1)  # one cell, same mtime
    table.write_text("".join(lines))
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns))
    edit_config(ci_run, lambda c: c["audit"].update(rules=["table"]))
    proc = smk(ci_run, "--cores", "2", "results/ci/audit.csv", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "results/ci/table5.csv (table): mismatch" in text
    kept = pd.read_csv(ci_run / "results/ci/audit/audit.csv")  # the failing table stays with the scratch
    assert kept.status.tolist() == ["mismatch"]
