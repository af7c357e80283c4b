"""The audit's three steps (draw, re-execute each drawn job, compare) on a two-rule toy workflow: clean
audits match and repeat identically; a silently altered output fails naming it; the real files are
never rewritten."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelib.audit.rerun import AuditError
from pipelib.audit.stage import read_sample, rerun_dir, run_compare, run_rerun, run_sample

SNAKEFILE = """
configfile: "config/config.yaml"

rule all:
    input: "results/b.txt"

rule a:
    output: "results/a.txt"
    log: "logs/a.log"
    params: n=config["n"]
    shell: "echo {params.n} > {output}"

rule b:
    input: "results/a.txt"
    output: "results/b.txt", "results/c.csv"
    log: "logs/b.log"
    shell: "cat {input} {input} > {output[0]}; printf 'x,y\\\\n1,2.5\\\\n' > {output[1]}"
"""


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    wd = tmp_path_factory.mktemp("toy")
    (wd / "Snakefile").write_text(SNAKEFILE)
    (wd / "config").mkdir()
    (wd / "config/config.yaml").write_text("n: 3\n")
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--directory", str(wd), "-s",
                    str(wd / "Snakefile")], check=True, capture_output=True)
    return wd


def _audit(wd: Path, rules: list[str]) -> pd.DataFrame:
    """What the workflow's audit jobs do, one after another: draw, re-execute each, compare."""
    section, sample = {"rules": rules}, wd / "results/audit/sample.json"
    run_sample(workdir=wd, snakefile=wd / "Snakefile", config={"n": 3}, section=section,
               targets=["results/b.txt"], out_json=sample)
    for drawn in read_sample(sample):
        record = run_rerun(workdir=wd, snakefile=wd / "Snakefile", config={"n": 3}, section=section,
                           sampled=drawn, out_dir=rerun_dir(sample, drawn))
        assert record["status"] == "done", record
    return run_compare(workdir=wd, section=section, sample_json=sample, table_path=wd / "results/audit.csv")


def _mtimes(wd: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (wd / "results").glob("[abc].*")}


def test_clean_audit_matches_and_repeats_identically(toy_run):
    before = _mtimes(toy_run)
    table = _audit(toy_run, ["a", "b"])
    assert table[["rule", "job", "output", "kind", "status", "tolerance"]].values.tolist() == [
        ["a", "a/00", "results/a.txt", "bytes", "match", "bitwise"],
        ["b", "b/00", "results/b.txt", "bytes", "match", "bitwise"],
        ["b", "b/00", "results/c.csv", "csv", "match", "bitwise"]]
    assert (toy_run / "results/audit/b/00/work/results/b.txt").read_text() == "3\n3\n"  # re-executed there
    first = (toy_run / "results/audit.csv").read_bytes()
    assert (toy_run / "results/audit.csv.prov.json").is_file()
    assert not (toy_run / "results/audit/audit.csv").exists()  # no failing copy after a clean audit
    _audit(toy_run, ["a", "b"])
    assert (toy_run / "results/audit.csv").read_bytes() == first  # two audits, identical tables
    assert _mtimes(toy_run) == before


def test_altered_output_fails_naming_it(toy_run):
    out = toy_run / "results/b.txt"
    st = out.stat()
    out.write_text("3\n4\n")
    os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: Snakemake sees nothing
    with pytest.raises(AuditError, match=r"results/b.txt \(b/00\): mismatch .*bytes differ"):
        _audit(toy_run, ["b"])
    kept = pd.read_csv(toy_run / "results/audit/audit.csv")
    assert kept.set_index("output").status.to_dict() == {"results/b.txt": "mismatch",
                                                         "results/c.csv": "match"}
    assert not (toy_run / "results/audit.csv.prov.json").exists()


def test_a_failed_re_execution_is_an_error_row_not_a_crash(toy_run):
    sample = toy_run / "results/audit/sample.json"
    run_sample(workdir=toy_run, snakefile=toy_run / "Snakefile", config={"n": 3}, section={"rules": ["a"]},
               targets=["results/b.txt"], out_json=sample)
    (drawn,) = read_sample(sample)
    record = run_rerun(workdir=toy_run, snakefile=toy_run / "Snakefile", config={"n": "x; exit 3"},
                       section={}, sampled=drawn, out_dir=rerun_dir(sample, drawn))
    assert record["status"] == "error" and "failed" in record["detail"]
    with pytest.raises(AuditError, match=r"results/a.txt \(a/00\): error re-running rule a"):
        run_compare(workdir=toy_run, section={"rules": ["a"]}, sample_json=sample,
                    table_path=toy_run / "results/audit.csv")
