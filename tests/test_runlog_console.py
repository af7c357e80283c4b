"""A quiet console: a job's log keeps everything (its records, native libraries' stderr and stdout,
third-party loggers and warnings); the console shows only warnings, errors and one-sentence data errors."""

import importlib
import io
import subprocess
import sys
import textwrap

import pytest

from pipelib import runlog

JOB = textwrap.dedent("""
    import logging, os, sys, warnings
    from pipelib import runlog
    from pipelib.errors import DataError

    with runlog.job(sys.argv[1]) as log:
        log.info("progress of the job")
        os.write(2, b"W0000 00:00:1.0 1 inference_feedback_manager.cc:114] native glog line\\n")
        os.write(1, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n")
        print("a print from a library")
        third = logging.getLogger("mlflow.store.db.utils")
        third.addHandler(logging.StreamHandler(sys.stderr))
        third.warning("Creating initial MLflow database tables...")
        warnings.warn("a third-party warning")
        log.warning("a pipelib warning the user should see")
        if sys.argv[2] == "data":
            raise DataError("results/x/manifest.parquet: 3 of 10 videos were rejected; raise the limit.")
        if sys.argv[2] == "bug":
            raise KeyError("slot")
""")
NOISE = ("progress of the job", "native glog line", "XNNPACK", "a print from a library",
         "Creating initial MLflow", "a third-party warning")


def _run(tmp_path, how):
    log = tmp_path / how / "job.log"
    proc = subprocess.run([sys.executable, "-c", JOB, str(log), how], capture_output=True, text=True,
                          timeout=120)
    return proc, log.read_text()


def test_the_log_keeps_everything_and_the_console_only_warnings(tmp_path):
    proc, log = _run(tmp_path, "ok")
    assert proc.returncode == 0
    console = proc.stdout + proc.stderr
    assert "a pipelib warning the user should see" in console
    assert not [n for n in NOISE if n in console], console
    assert all(n in log for n in NOISE) and "a pipelib warning the user should see" in log


def test_a_data_error_is_one_sentence_on_the_console_and_the_log_ends_with_it(tmp_path):
    proc, log = _run(tmp_path, "data")
    assert proc.returncode == 1
    sentence = "ERROR: results/x/manifest.parquet: 3 of 10 videos were rejected; raise the limit."
    assert proc.stderr.splitlines()[-1] == sentence and "Traceback" not in proc.stderr
    assert not [n for n in NOISE if n in proc.stderr + proc.stdout]
    tail = log[log.index(sentence):]
    assert "Traceback" in tail and all(n in log for n in NOISE)
    assert log.rstrip().endswith("raise the limit.")


def test_an_unexpected_error_shows_its_traceback_on_the_console(tmp_path):
    proc, log = _run(tmp_path, "bug")
    assert proc.returncode == 1
    assert "ERROR: KeyError: 'slot'" in proc.stderr and "Traceback" in proc.stderr
    assert log.rstrip().endswith("KeyError: 'slot'")


@pytest.mark.parametrize("error", [
    "pipelib.poses.extract:ExtractionError", "pipelib.estimators.base:MissingWeightsError",
    "pipelib.estimators.placement:MissingGpuError", "pipelib.estimators.torch_program:ProgramLoadError",
    "pipelib.sections:SectionError",
])
def test_user_fixable_errors_print_their_sentence_alone(error, tmp_path):
    """Too many failed videos, a weight file that is missing or not a model, a GPU asked for but absent,
    a bad config key: the user fixes their data or config, so the console shows the sentence that
    names the file or key, not a traceback (the job's log keeps it)."""
    module, name = error.split(":")
    cls = getattr(importlib.import_module(module), name)
    sentence = "config key estimators.sapiens.weights points to /x.pt2, which does not exist; copy it there"
    try:
        raise cls(sentence)
    except Exception as exc:  # noqa: BLE001 - the point is what report_failure does with it
        console = io.StringIO()
        runlog.report_failure(exc, tmp_path / "job.log", console)
    assert console.getvalue() == f"ERROR: {sentence}\n"
    assert "Traceback" in (tmp_path / "job.log").read_text()
