"""Helpers for tests that drive Snakemake on a copy of this repository (`import workflow_helpers`)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
CI_CONFIGS = ("config/config.yaml", "config/ci.yaml")  # the CI-sized dataset `ci`, as --configfile


def copy_repo(dest: Path) -> Path:
    """Copy the checkout's tracked and unignored files (no results/, .snakemake/, .venv/) to ``dest``."""
    try:
        listing = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. an unpacked archive)
        shutil.copytree(ROOT, dest, dirs_exist_ok=True, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", "results", "resources", "logs", ".snakemake", "__pycache__", "*.egg-info"))
        return dest
    for rel in filter(None, listing.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def run_snakemake(cwd: Path, *args: str, timeout: float = 1800, env: dict | None = None,
                  check: bool = True) -> subprocess.CompletedProcess:
    """`snakemake *args` run in ``cwd`` (a repository copy); on failure, raise with the output tail.

    Targets go before `--configfile`, which takes every following word as a config file.
    """
    cmd = [SNAKEMAKE, *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} (in {cwd}) failed:\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-8000:]}")
    return proc
