"""The README's set-up commands stay the ones CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^ {4}\$ (.+)$", text, flags=re.M)


def test_readme_has_exactly_two_setup_commands():
    cmds = readme_commands()
    assert len(cmds) == 2
    assert "snakemake" in cmds[0] and "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci_lines = [ln.strip() for ln in (ROOT / ".ci/run").read_text().splitlines()]
    assert readme_commands()[1] in ci_lines


def test_ci_starts_slurm_before_the_tests():
    """tests/test_slurm.py needs the SLURM that .ci/run starts; CI=true turns its skip into a failure."""
    ci_lines = [ln.strip() for ln in (ROOT / ".ci/run").read_text().splitlines()]
    start = next(i for i, ln in enumerate(ci_lines) if ln.startswith(".ci/local-slurm.sh start"))
    assert start < ci_lines.index(readme_commands()[1])
    assert 'export CI="${CI:-true}"' in ci_lines[:start]
