"""Run directories resume only for the same config and inputs."""

from pipelib.training.rundir import fingerprint, prepare_run_dir


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
