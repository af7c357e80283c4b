"""A training job SIGKILLed after its best epoch (the job process alone, as a SLURM time limit, OOM kill
or requeue does) is failed by Snakemake, which deletes its declared output; re-running the same command
completes it, with outputs equal to an uninterrupted run's. On the CI dataset with short training, for
each way the workflow uses the trainer: a best.pt output (back_translator) and an average of the top-k
epoch checkpoints (signx_recognizer)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from workflow_helpers import CI_EPOCHS, copy_build

from pipelib.training import read_checkpoint
from pipelib.training.checkpoint import weights_sha256
from pipelib.training.trainer import TIMING_KEYS

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
ROOT = Path(__file__).resolve().parents[1]

# (rule, script, declared output, epochs as the shared CI build trains them). With these epochs the CI
# data gives a best epoch before the last: back-translator dev loss rises after epoch 1; recogniser dev
# WER ties (earlier epoch wins).
CASES = {
    "back_translator": ("evaluation_back_translator.py", "results/ci/evaluation/back_translator/best.pt",
                        CI_EPOCHS["back_translator"]),
    "signx_recognizer": ("signx_recognizer.py", "results/ci/signx/recognizer_gloss/averaged.pt",
                         CI_EPOCHS["signx_recognizer"]),
}


def snakemake(workdir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, timeout: float = 1200) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def job_pid(driver: int, script: str) -> int | None:
    """The pid of the job process the Snakemake ``driver`` runs ``script`` in (its direct child)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == driver and "/.snakemake/scripts/" in cmdline and f".{script}" in cmdline:
            return int(entry.name)
    return None


def epochs_done(run_dir: Path) -> int:
    try:
        return len(pd.read_csv(run_dir / "history.csv"))
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return 0


def run_and_kill(workdir: Path, script: str, output: str, kill_at: int) -> tuple[int, str]:
    """Run ``output``'s job from scratch and SIGKILL its job process once ``kill_at`` epochs are in
    history.csv; returns (epochs done when killed, Snakemake's output)."""
    run_dir = workdir / Path(output).parent
    driver = snakemake(workdir, "--cores", "1", output)
    deadline = time.monotonic() + 900
    pid = None
    while pid is None:  # the job process first, so that the kill follows the epoch within milliseconds
        assert driver.poll() is None, f"the job ended before it was seen:\n{finish(driver)[1][-4000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for the job running {script}"
        pid = job_pid(driver.pid, script)
        time.sleep(0.01)
    while epochs_done(run_dir) < kill_at:
        assert driver.poll() is None, f"the job ended before epoch {kill_at}:\n{finish(driver)[1][-4000:]}"
        assert time.monotonic() < deadline, "timed out waiting for the epoch to kill at"
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    code, out = finish(driver)
    assert code != 0, out[-4000:]
    return read_checkpoint(run_dir / "last.pt")["epoch"], out


def history(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "history.csv").drop(columns=list(TIMING_KEYS))


@pytest.fixture(scope="module")
def ci(ci_build, tmp_path_factory):
    """A copy of the session's CI build, and its uninterrupted training outputs' weights and histories."""
    wd = copy_build(ci_build, tmp_path_factory.mktemp("resume") / "wd")
    reference = {}
    for rule, (_, output, _) in CASES.items():
        run_dir = wd / Path(output).parent
        reference[rule] = (weights_sha256(wd / output), history(run_dir),
                           read_checkpoint(run_dir / "last.pt")["best_epoch"])
    return wd, reference


@pytest.mark.slow
@pytest.mark.parametrize("rule", list(CASES))
def test_job_killed_after_its_best_epoch_completes_on_rerun_with_equal_outputs(ci, rule):
    wd, reference = ci
    script, output, epochs = CASES[rule]
    ref_weights, ref_history, best_epoch = reference[rule]
    assert best_epoch < epochs - 1, f"{rule}: best epoch {best_epoch} leaves no epoch to kill after"
    run_dir = wd / Path(output).parent
    shutil.rmtree(run_dir)  # train it again from scratch, and kill it after its best epoch
    killed_at, out = run_and_kill(wd, script, output, kill_at=best_epoch + 1)
    assert best_epoch < killed_at < epochs, out[-4000:]
    assert not (wd / output).exists()  # Snakemake removed the failed job's output (or it was never made)

    code, out = finish(snakemake(wd, "--cores", "1", output))  # the README's "re-run the same command"
    assert code == 0, out[-6000:]
    assert weights_sha256(wd / output) == ref_weights
    pd.testing.assert_frame_equal(history(run_dir), ref_history)
    assert f"epoch {killed_at} done" in (wd / "logs/ci" / _log_name(rule)).read_text()  # it resumed
    assert not list(run_dir.glob(".tmp-*"))


@pytest.mark.slow
def test_killed_snakemake_needs_unlock_then_the_same_command(ci):
    """Snakemake itself SIGKILLed mid-training: its job runs on and finishes, the lock and the
    incomplete marker stay. `--unlock` and the same command (rerun-incomplete comes from
    profiles/default) redo the job, which finds its epochs done and writes equal outputs."""
    wd, reference = ci
    script, output, epochs = CASES["back_translator"]
    run_dir = wd / Path(output).parent
    shutil.rmtree(run_dir)
    driver = snakemake(wd, "--cores", "1", output)
    while epochs_done(run_dir) < 1:
        assert driver.poll() is None, finish(driver)[1][-4000:]
        time.sleep(0.02)
    job = job_pid(driver.pid, script)
    assert job is not None
    os.kill(driver.pid, signal.SIGKILL)
    driver.communicate(timeout=60)
    while Path(f"/proc/{job}").exists() and "zombie" not in _state(job):
        time.sleep(0.1)  # the orphaned job trains on to the end

    assert (wd / output).is_file()  # written by the orphan, and marked incomplete
    code, out = finish(snakemake(wd, "--cores", "1", output))
    assert code != 0 and "LockException" in out, out[-4000:]
    code, out = finish(snakemake(wd, "--unlock", output))
    assert code == 0, out[-4000:]
    code, out = finish(snakemake(wd, "-n", "--workflow-profile", "none", output))
    assert code != 0 and "IncompleteFilesException" in out, out[-4000:]  # what the profile spares users
    code, out = finish(snakemake(wd, "--cores", "1", output))
    assert code == 0, out[-6000:]
    log = (wd / "logs/ci" / _log_name("back_translator")).read_text()
    assert f"is already complete (epoch {epochs} of {epochs})" in log
    assert weights_sha256(wd / output) == reference["back_translator"][0]
    pd.testing.assert_frame_equal(history(run_dir), reference["back_translator"][1])


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"


def _log_name(rule: str) -> str:
    return {"back_translator": "evaluation/back_translator.log",
            "signx_recognizer": "signx/recognizer_gloss.log"}[rule]
