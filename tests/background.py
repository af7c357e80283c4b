"""End-to-end builds that tests read, started in the background when the session starts.

pytest runs one test at a time, mostly on one core, while the longest fixtures are whole-workflow builds:
the README's demo (CPU-bound, 8-18 min on 2 cores) and the build through SLURM (which mostly waits on the
scheduler). A test module registers such a build with :func:`register`; ``tests/conftest.py`` starts every
registered build whose fixture a selected test uses, each in a thread, and its commands at a lower CPU
priority (:data:`NICE`), so that they fill the cores the tests leave idle, and runs the tests that read a
build last (:func:`readers_last`), so that the others run while the builds do. The fixture then returns
:func:`result`, which waits for its build (or runs it there and then when it was not started).
"""

import os
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

NICE = 5  # background commands yield the CPU to the test that runs in the foreground


@dataclass
class Build:
    """A registered build: ``work(tmp_path_factory)`` returns what its fixture hands to the tests."""

    name: str
    fixtures: frozenset[str]
    work: Callable[[Any], Any]
    thread: threading.Thread | None = None
    outcome: dict[str, Any] = field(default_factory=dict)


_BUILDS: dict[str, Build] = {}
_RUNNING: set[subprocess.Popen] = set()
_LOCK = threading.Lock()


def register(name: str, fixtures: Iterable[str], work: Callable[[Any], Any]) -> None:
    """Make ``work`` a background build, started when a selected test uses one of ``fixtures``."""
    _BUILDS[name] = Build(name, frozenset(fixtures), work)


def readers_last(items: list[Any]) -> list[Any]:
    """``items`` (pytest items) with those that read a registered build moved to the end, each group in
    its own order. The other tests then run while the builds do, instead of on one core after them."""
    reading = frozenset().union(*(build.fixtures for build in _BUILDS.values()))

    def reads(item: Any) -> bool:
        return bool(reading & set(getattr(item, "fixturenames", ())))

    return [item for item in items if not reads(item)] + [item for item in items if reads(item)]


def start_needed(fixture_names: Iterable[str], tmp_path_factory: Any) -> list[str]:
    """Start (once) each registered build that one of ``fixture_names`` reads; returns their names."""
    wanted = set(fixture_names)
    to_start = [build for build in _BUILDS.values() if build.thread is None and build.fixtures & wanted]
    if to_start:
        # pytest creates its base temporary directory on first use, unlocked: two threads that both
        # call mktemp() first can each create one, and mktemp() then fails its own check with
        # "... is not a normalized and relative path". Create it here, before any thread starts.
        tmp_path_factory.getbasetemp()
    for build in to_start:
        build.thread = threading.Thread(target=_run, args=(build, tmp_path_factory), daemon=True,
                                        name=f"background-{build.name}")
        build.thread.start()
    return [build.name for build in to_start]


def _run(build: Build, tmp_path_factory: Any) -> None:
    try:
        build.outcome["value"] = build.work(tmp_path_factory)
    except BaseException as exc:  # handed to the fixture that waits for it
        build.outcome["error"] = exc


def result(name: str, tmp_path_factory: Any) -> Any:
    """What build ``name`` returned: waits for the background build, or runs it now if none started."""
    build = _BUILDS[name]
    if build.thread is None:
        return build.work(tmp_path_factory)
    build.thread.join()
    if "error" in build.outcome:
        raise build.outcome["error"]
    return build.outcome["value"]


def run(cmd: list[str], *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True)`` at :data:`NICE`, stopped by :func:`stop_all`
    if the session ends first."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_lower_priority, **kwargs)
    with _LOCK:
        _RUNNING.add(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"{' '.join(cmd)} ran past {timeout} s:\n{out[-4000:]}\n{err[-6000:]}") from None
    finally:
        with _LOCK:
            _RUNNING.discard(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _lower_priority() -> None:
    os.nice(NICE)


def stop_all() -> None:
    """Terminate the commands of builds still running (a session that ended before it read them)."""
    with _LOCK:
        running = list(_RUNNING)
    for proc in running:
        proc.terminate()
    for proc in running:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
