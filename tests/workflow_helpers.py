"""Helpers for tests that drive Snakemake on a copy of this repository (`import workflow_helpers`)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import background

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
                  check: bool = True, in_background: bool = False) -> subprocess.CompletedProcess:
    """`snakemake *args` run in ``cwd`` (a repository copy); on failure, raise with the output tail.
    ``in_background``: at a lower priority, beside the other tests (tests/background.py).

    Targets go before `--configfile`, which takes every following word as a config file.
    """
    cmd = [SNAKEMAKE, *args]
    env = {**os.environ, **(env or {})}
    if in_background:
        proc = background.run(cmd, cwd=cwd, timeout=timeout, env=env)
    else:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} (in {cwd}) failed:\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-8000:]}")
    return proc


# Outputs of the CI dataset that the workflow tests read, built once per session by `ci_build`.
CI_TARGETS = ("results/ci/table5.csv", "results/ci/report.md", "results/ci/recognition.csv",
              "results/ci/efficiency.csv", "results/ci/signx/closeness.csv", "results/ci/report/table5.html",
              "results/ci/report/summary.html", "results/ci/report/fusion_report.html",
              "results/ci/report/comparison_DARSLP.html", "results/ci/report/comparison_DARSLP-KL.html")
# Short training for the shared CI build. The back-translator and the gloss recogniser get a few epochs
# more, so that their best epoch comes before the last
# (tests/test_training_resume_workflow.py kills after it).
CI_EPOCHS = {"back_translator": 3, "signx_recognizer": 4, "other": 2}


TRAINED = {("production", "autoencoder"): "other", ("production", "systems", "DARSLP"): "other",
           ("production", "systems", "DARSLP-KL"): "other", ("signx", "pose2gloss"): "other",
           ("signx", "video2pose"): "other", ("evaluation", "back_translation"): "back_translator",
           ("signx", "recognizer"): "signx_recognizer"}


def short_training_overlay() -> dict:
    """A config overlay (a second --configfile) with every `train.epochs` set to :data:`CI_EPOCHS`."""
    overlay: dict = {}
    for path, which in TRAINED.items():
        node = overlay
        for key in path:
            node = node.setdefault(key, {})
        node["train"] = {"epochs": CI_EPOCHS[which]}
    return overlay


def short_training(cfg: dict) -> None:
    """Every `train.epochs` of ``cfg`` set to :data:`CI_EPOCHS`, in place."""
    for path, which in TRAINED.items():
        node = cfg
        for key in path:
            node = node[key]
        node["train"]["epochs"] = CI_EPOCHS[which]


def copy_build(build: Path, dest: Path) -> Path:
    """A copy of a finished work directory that Snakemake sees as finished too (mtimes and
    .snakemake/ metadata kept)."""
    shutil.copytree(build, dest, symlinks=True)
    return dest
