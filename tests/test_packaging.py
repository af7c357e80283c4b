"""What a lab needs to cite and deploy the workflow: licence, CITATION.cff, the catalog file, a conda
environment with exactly pyproject's pins, and workflow files that `snakefmt --check` accepts."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = ROOT / "workflow/envs/pipelib.yaml"
CFF_REFERENCE_TYPES = {"article", "conference-paper", "generic", "software", "unpublished", "report"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _norm(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(requirements: list[str]) -> dict[str, str]:
    """``{name: version}`` of the ``name==version`` requirements (environment markers not allowed)."""
    pins = {}
    for req in requirements:
        m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;,]+)\s*", req)
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def _env() -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(conda pins, pip pins, other pip lines) of the rule environment."""
    env = yaml.safe_load(ENV_FILE.read_text())
    conda, pip, other = {}, {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if "==" in line:
                    pip.update(_pins([line]))
                else:
                    other.append(line)
        elif "=" in dep:
            name, version = re.split(r"=+", dep, maxsplit=1)
            conda[_norm(name)] = version
        else:
            conda[_norm(dep)] = ""
    return conda, pip, other


def test_every_pinned_dependency_is_in_the_conda_env_at_the_same_version():
    """The rule environment (`--sdm conda`) installs what `pip install -e .` installs, pin for pin."""
    project = _pyproject()["project"]
    declared = project["dependencies"]
    pins = _pins(declared)
    assert len(pins) == len(declared), "every runtime dependency in pyproject.toml is pinned with =="
    conda, pip, other = _env()
    env_pins = {**conda, **pip}
    wrong = {name: (version, env_pins.get(name)) for name, version in pins.items()
             if env_pins.get(name) != version}
    assert not wrong, f"pyproject pin vs {ENV_FILE.name} (None: missing there): {wrong}"
    extra = sorted(set(pip) - set(pins))
    assert not extra, f"{ENV_FILE.name} pip-installs {extra}, which pyproject.toml does not pin"
    assert other == ["-e ../.."], "the env installs this checkout (workflow scripts import pipelib)"
    low, high = re.fullmatch(r">=(3\.\d+),<(3\.\d+)", project["requires-python"]).groups()
    version = tuple(map(int, conda["python"].split(".")))
    assert tuple(map(int, low.split("."))) <= version < tuple(map(int, high.split(".")))


def test_every_rule_runs_in_the_pinned_env():
    """Every rule that runs code (a script or shell; target rules such as `ablations` run none, and
    `use rule ... with:` keeps its parent's env) declares the pinned env."""
    rules, envs = 0, []
    for smk in sorted((ROOT / "workflow/rules").glob("*.smk")):
        text = smk.read_text()
        rules += len(re.findall(r"^    (?:script|shell|run):", text, flags=re.M))
        envs += re.findall(r"^    conda:\n        \"([^\"]+)\"", text, flags=re.M)
    assert rules > 20 and envs == ["../envs/pipelib.yaml"] * rules


def test_licence_is_mit_everywhere():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    project = _pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert yaml.safe_load((ROOT / "CITATION.cff").read_text())["license"] == "MIT"


def test_citation_file_is_valid_cff_and_cites_both_papers():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    for key in ("cff-version", "message", "title", "authors"):
        assert cff.get(key), f"CITATION.cff lacks the required key {key}"
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert str(cff["version"]) == _pyproject()["project"]["version"]
    refs = cff["references"]
    for entry in [cff, *refs]:
        assert entry["authors"] and all("name" in a or "family-names" in a for a in entry["authors"])
    titles = {r["title"].split(":")[0] for r in refs}
    assert {"Disentangle and Regularize", "SignX", "pose-format"} <= titles
    for ref in refs:
        assert ref["type"] in CFF_REFERENCE_TYPES and isinstance(ref["year"], int)
        assert re.fullmatch(r"10\.\d{4,}/\S+", str(ref.get("doi", "10.0000/x")))
    darslp = next(r for r in refs if r["title"].startswith("Disentangle"))
    assert [a["family-names"] for a in darslp["authors"]] == ["Taşyürek", "Kızıltepe", "Keleş"]


def test_catalog_file_uses_the_documented_keys():
    cat = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())
    usage = cat["usage"]
    assert set(cat) == {"usage"} and set(usage) <= {"mandatory-flags", "software-stack-deployment", "report"}
    deploy = usage["software-stack-deployment"]
    assert set(deploy) <= {"conda", "apptainer", "apptainer+conda", "singularity", "singularity+conda"}
    assert deploy["conda"] is True and usage["report"] is True
    assert set(usage["mandatory-flags"]) == {"desc", "flags"}


def test_workflow_files_are_snakefmt_clean():
    files = ["Snakefile", "workflow/Snakefile",
             *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "workflow/rules").glob("*.smk"))]
    snakefmt = str(Path(sys.executable).with_name("snakefmt"))
    proc = subprocess.run([snakefmt, "--check", *files], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, (
        f"snakefmt --check failed; run `snakefmt Snakefile workflow/rules/` (settings in pyproject.toml):\n"
        f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    )


def test_the_workflow_sits_in_the_catalog_location_and_the_root_snakefile_only_forwards():
    """`workflow/Snakefile` holds the workflow (the catalog's and snakedeploy's location, which Snakemake
    also finds by itself); the root `Snakefile` includes it, taking its default target `rule all`."""
    main = (ROOT / "workflow/Snakefile").read_text()
    assert re.search(r"^rule all:\n(.*\n)*?    default_target: True", main, flags=re.M)
    assert 'report: "report/workflow.rst"' in main and (ROOT / "workflow/report/workflow.rst").is_file()
    included = re.findall(r'^include: "([^"]+)"', main, flags=re.M)
    assert included and all((ROOT / "workflow" / path).is_file() for path in included)
    root = (ROOT / "Snakefile").read_text().splitlines()
    code = [ln for ln in root if ln.strip() and not ln.startswith("#")]
    assert code == ['workflow.include("workflow/Snakefile", overwrite_default_target=True)']
