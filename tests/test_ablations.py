"""DARSLP's ablation tables: rows name configured systems; the target shares upstream work."""

import subprocess
from pathlib import Path

import pytest
import yaml

from pipelib.evaluation.ablations import check_ablation_tables
from pipelib.production.systems import parse_systems
from pipelib.sections import SectionError

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(__import__("sys").executable).with_name("snakemake"))


def test_table_rows_must_name_configured_systems_under_free_labels():
    systems = parse_systems({"DARSLP": {"seeds": [2]}, "L1": {"seeds": [2]}})
    check_ablation_tables({"table3": {"Heavy": "DARSLP", "Moderate": "L1"}}, systems)
    with pytest.raises(SectionError, match=r"ablations.tables.table3.Uniform: 'L1-uniform' is not a system"):
        check_ablation_tables({"table3": {"Uniform": "L1-uniform"}}, systems)
    with pytest.raises(SectionError, match="ablations.tables.table1.GT: the label is taken"):
        check_ablation_tables({"table1": {"GT": "DARSLP"}}, systems)
    with pytest.raises(SectionError, match=r"ablations.tables.table2: give its rows"):
        check_ablation_tables({"table2": {}}, systems)


def test_the_config_grid_covers_the_papers_four_tables_row_for_row():
    with open(ROOT / "config/config.yaml") as fh:
        tables = yaml.safe_load(fh)["ablations"]["tables"]
    reported = (ROOT / "config/reference/darslp_ablations.csv").read_text().splitlines()
    rows = {tuple(ln.split(",")[:3:2]) for ln in reported if ln and not ln.startswith(("#", "table,"))}
    ours = {(table, label) for table, labels in tables.items() for label in labels}
    assert ours == {r for r in rows if r[1] != "GT"}  # every paper row has ours, and no more
    assert tables["table3"]["Heavy Hand Emphasis (1-14-10-2)"] == "DARSLP"   # shared with table5
    assert tables["table4"]["Heavy Hand Emphasis (1-10-6-1)"] == "DARSLP-KL"


def test_the_four_tables_plan_one_skeletons_and_one_back_translator(tmp_path):
    """A dry run of `snakemake ablations` on the CI dataset: upstream work once, each autoencoder
    variant once for every generator on it."""
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    ci = yaml.safe_load((ROOT / "config/ci.yaml").read_text())
    cfg["default_dataset"] = ci["default_dataset"]
    cfg["datasets"].update(ci["datasets"])
    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "-n",
                           "ablations", "--quiet", "rules"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    table = (proc.stdout + proc.stderr).split("Job stats:")[1].split("\n\n")[0]
    plan = {r[0]: int(r[1]) for r in (ln.split() for ln in table.strip().splitlines()[2:]) if r[0] != "total"}
    n_systems = len(cfg["production"]["systems"]) + len(cfg["ablations"]["systems"])
    assert plan["skeletons"] == 1 and plan["back_translator"] == 1
    assert plan["autoencoder"] == 1 and plan["ablation_autoencoder"] == 2 and plan["ablation_latents"] == 2
    assert "ablation_priors" not in plan  # the systems on the variants train without the KL term
    assert plan["generator"] == plan["generate"] == n_systems == 10
    assert plan["ablation_table"] == 4 and "table" not in plan and "render" not in plan
