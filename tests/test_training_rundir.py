"""Run directories resume only for the same config and inputs."""

import logging
import sys
import types

from pipelib.training import rundir
from pipelib.training.rundir import code_fingerprint, fingerprint, prepare_run_dir


def test_same_fingerprint_resumes_changed_one_starts_over(tmp_path):
    data = tmp_path / "data.h5"
    data.write_bytes(b"v1")
    run = tmp_path / "run"
    fp = fingerprint({"lr": 1}, [data])
    assert prepare_run_dir(run, fp) is False
    (run / "last.pt").write_bytes(b"ckpt")
    assert prepare_run_dir(run, fingerprint({"lr": 1}, [data])) is True  # a requeued job resumes
    assert (run / "last.pt").exists()
    data.write_bytes(b"v2")  # upstream changed: the old run must not be reused
    assert prepare_run_dir(run, fingerprint({"lr": 1}, [data])) is False
    assert not (run / "last.pt").exists()
    (run / "last.pt").write_bytes(b"ckpt")
    assert prepare_run_dir(run, fingerprint({"lr": 2}, [data])) is False
    assert not (run / "last.pt").exists()


def test_code_fingerprint_follows_loaded_library_modules_only(tmp_path, monkeypatch):
    """A loaded pipelib module's source is part of the fingerprint; other packages' modules are not."""
    source = tmp_path / "probe.py"
    source.write_text("X = 1\n")
    probe = types.ModuleType("pipelib._fingerprint_probe")
    probe.__file__ = str(source)
    monkeypatch.setitem(sys.modules, probe.__name__, probe)
    other = types.ModuleType("not_pipelib_probe")
    other.__file__ = str(tmp_path / "other.py")
    (tmp_path / "other.py").write_text("Y = 1\n")
    monkeypatch.setitem(sys.modules, other.__name__, other)
    before = code_fingerprint()
    (tmp_path / "other.py").write_text("Y = 2\n")
    assert code_fingerprint() == before
    source.write_text("X = 2\n")
    assert code_fingerprint() != before


def test_a_finished_run_made_by_other_code_trains_again(tmp_path, monkeypatch, caplog):
    """The fault: a job re-run after a library edit (e.g. --forcerun after a fix) resumed the old
    finished run and handed back its weights. Now it starts over, and the log says why."""
    data = tmp_path / "data.h5"
    data.write_bytes(b"v1")
    run = tmp_path / "run"
    monkeypatch.setattr(rundir, "code_fingerprint", lambda: "code-v1")
    assert prepare_run_dir(run, fingerprint({"lr": 1}, [data])) is False
    for name in ("last.pt", "best.pt", "best-epoch003.pt"):
        (run / name).write_bytes(b"ckpt")
    assert prepare_run_dir(run, fingerprint({"lr": 1}, [data])) is True  # same code: reuse/resume
    monkeypatch.setattr(rundir, "code_fingerprint", lambda: "code-v2")
    with caplog.at_level(logging.INFO, logger="pipelib.training"):
        assert prepare_run_dir(run, fingerprint({"lr": 1}, [data])) is False
    assert not any((run / n).exists() for n in ("last.pt", "best.pt", "best-epoch003.pt"))
    assert "by other code" in caplog.text and "input data" not in caplog.text
