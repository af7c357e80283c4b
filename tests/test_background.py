"""tests/background.py: builds started for the fixtures that selected tests use, waited for by result()."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import background
import pytest


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(background, "_BUILDS", {})
    return background._BUILDS


class Factory:
    """Stands in for pytest's tmp_path_factory: records the thread of each getbasetemp() call."""

    def __init__(self, basetemp: Path):
        self.basetemp, self.callers = basetemp, []

    def getbasetemp(self) -> Path:
        self.callers.append(threading.current_thread())
        return self.basetemp


def test_only_builds_a_selected_test_reads_start_and_result_waits_for_them(registry, tmp_path):
    factory = Factory(tmp_path)
    release, calls = threading.Event(), []

    def slow(factory):
        release.wait(10)
        calls.append(factory)
        return "built"

    background.register("wanted", {"wanted_fixture"}, slow)
    background.register("unused", {"other_fixture"}, lambda factory: calls.append("unused"))
    assert background.start_needed({"tmp_path", "wanted_fixture"}, factory) == ["wanted"]
    assert background.start_needed({"wanted_fixture"}, factory) == []  # started once
    assert registry["unused"].thread is None and calls == []  # still running: result() must wait
    release.set()
    assert background.result("wanted", factory) == "built" and calls == [factory]


def test_the_base_temporary_directory_is_made_before_any_build_thread_starts(registry, tmp_path):
    # Two builds whose first mktemp() raced each other (and the first test) to create pytest's
    # unlocked base directory failed CI with "demo is not a normalized and relative path".
    factory = Factory(tmp_path)
    for name in ("demo", "slurm"):
        background.register(name, {name}, lambda f: f.getbasetemp())
    assert background.start_needed({"demo", "slurm"}, factory) == ["demo", "slurm"]
    assert background.result("demo", factory) == background.result("slurm", factory) == tmp_path
    assert factory.callers[0] is threading.main_thread() and len(factory.callers) == 3
    assert background.start_needed({"demo"}, factory) == [] and len(factory.callers) == 3


def test_a_build_that_was_not_started_runs_when_read_and_errors_reach_the_fixture(registry, tmp_path):
    factory = Factory(tmp_path)
    background.register("direct", {"f"}, lambda f: ("ran", f))
    assert background.result("direct", factory) == ("ran", factory)

    def broken(factory):
        raise RuntimeError("snakemake failed")

    background.register("broken", {"g"}, broken)
    background.start_needed({"g"}, factory)
    with pytest.raises(RuntimeError, match="snakemake failed"):
        background.result("broken", factory)


def test_commands_run_at_lower_priority_and_stop_all_ends_them():
    proc = background.run([sys.executable, "-c", "import os; print(os.nice(0))"], timeout=60)
    assert proc.returncode == 0 and int(proc.stdout) >= background.NICE
    # stop_all() in a process of its own: here it would also stop this session's background builds.
    script = """
import sys, threading, time
import background
out = {}
thread = threading.Thread(target=lambda: out.update(proc=background.run(
    [sys.executable, "-c", "import time; time.sleep(60)"], timeout=120)))
thread.start()
while not background._RUNNING:
    time.sleep(0.05)
started = time.monotonic()
background.stop_all()
thread.join(30)
print(thread.is_alive(), out["proc"].returncode, round(time.monotonic() - started))
"""
    tests = str(Path(__file__).parent)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": tests})
    alive, returncode, seconds = done.stdout.split()
    assert (alive, int(returncode)) == ("False", -15) and int(seconds) < 30, done.stderr


class Item:
    """Stands in for a pytest item: a name and the fixtures it uses."""

    def __init__(self, name: str, *fixtures: str):
        self.name, self.fixturenames = name, list(fixtures)


def test_tests_that_read_a_build_move_last_and_both_groups_keep_their_order(registry):
    # Run after the builds, the tests that read none of them left one of two cores idle for 5 minutes.
    background.register("demo", {"demo_run"}, lambda f: None)
    background.register("slurm", {"runs", "slurm_audit"}, lambda f: None)
    items = [Item("a", "tmp_path"), Item("demo1", "demo_run"), Item("b"), Item("slurm", "slurm_audit", "ci"),
             Item("demo2", "tmp_path", "demo_run"), Item("c", "ci_build")]
    assert [i.name for i in background.readers_last(items)] == ["a", "b", "c", "demo1", "slurm", "demo2"]
    background._BUILDS.clear()
    assert [i.name for i in background.readers_last(items)] == [i.name for i in items]
