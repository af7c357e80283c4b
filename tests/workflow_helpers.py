"""Helpers for tests that drive Snakemake on a copy of this repository (`import workflow_helpers`)."""

import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import background
import yaml

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


def ci_build_settings(cfg: dict) -> None:
    """The shared CI build's config, in place: :func:`short_training`, and the efficiency table timed on one
    thread. That build runs beside the background demo, so its timings measure nothing, and two OpenMP
    threads on busy cores wait at every barrier: the job took 78 s there against 12 s on a quiet machine."""
    short_training(cfg)
    cfg["signx"]["efficiency"]["threads"] = 1


def copy_build(build: Path, dest: Path) -> Path:
    """A copy of a finished work directory that Snakemake sees as finished too (mtimes and
    .snakemake/ metadata kept)."""
    shutil.copytree(build, dest, symlinks=True)
    return dest


# Dry runs fork from one process that imported Snakemake, torch and the library once (multiprocessing's
# forkserver), a fresh process per run: about 2 s of CPU each instead of 6 s for a new `snakemake`.
PRELOAD = ["snakemake.cli", "torch", "pipelib.configkeys", "pipelib.limits", "pipelib.training",
           "pipelib.production.autoencoder", "pipelib.production.generator", "pipelib.text.encoders",
           "pipelib.signx.pose2gloss", "pipelib.signx.recognizer", "pipelib.signx.video2pose",
           "pipelib.signx.train_recognizer", "workflow_helpers"]


def snakemake_in_this_process(argv: list[str]) -> tuple[int, str]:
    """`snakemake *argv` run here (a fresh worker process); its exit code and output."""
    import snakemake.cli

    with tempfile.TemporaryFile() as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            snakemake.cli.main(argv)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        fh.seek(0)
        return code, fh.read().decode(errors="replace")


def job_stats(text: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run, per rule ({} when nothing is to be done)."""
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("\n\n")[0]
    return {r[0]: int(r[1]) for r in (ln.split() for ln in table.strip().splitlines()[2:]) if r[0] != "total"}


def plans(workdir: Path, runs: dict[str, tuple]) -> dict[str, dict[str, int]]:
    """Dry runs, two at a time: ``runs[name] = (overlay, targets (none: :data:`CI_TARGETS`), extra args)``;
    the overlay is merged over the config as a second --configfile. Returns the jobs each plans, per rule."""
    argvs = {}
    for i, (name, (overlay, targets, extra)) in enumerate(runs.items()):
        path = workdir / f"overlay_{i}.yaml"
        path.write_text(yaml.safe_dump(overlay))
        argvs[name] = ["-s", str(ROOT / "Snakefile"), "--directory", str(workdir), *(targets or CI_TARGETS),
                       "-n", "--nolock", "--quiet", "rules", *extra,
                       "--configfile", str(workdir / "config/config.yaml"), str(path)]
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    with ProcessPoolExecutor(2, mp_context=ctx, max_tasks_per_child=1) as pool:
        futures = {name: pool.submit(snakemake_in_this_process, argv) for name, argv in argvs.items()}
        results = {name: future.result() for name, future in futures.items()}
    for name, (code, text) in results.items():
        assert code == 0, f"{SNAKEMAKE} {' '.join(argvs[name])} failed:\n{text[-4000:]}"
    return {name: job_stats(text) for name, (_, text) in results.items()}
