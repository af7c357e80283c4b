"""Fixtures shared by the test files."""

from pathlib import Path

import background
import pytest
from test_workflow import _workdir, edit_config, smk
from workflow_helpers import CI_TARGETS, ci_build_settings


def pytest_collection_modifyitems(items):
    """Tests that wait for a background build run last (tests/background.py)."""
    items[:] = background.readers_last(items)


@pytest.fixture(scope="session", autouse=True)
def background_builds(request, tmp_path_factory):
    """Start the end-to-end builds the selected tests read (tests/background.py) before the first test."""
    needed = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    background.start_needed(needed, tmp_path_factory)
    yield
    background.stop_all()


@pytest.fixture(scope="session")
def ci_build(tmp_path_factory) -> Path:
    """The CI dataset built once, with :func:`ci_build_settings`, to :data:`CI_TARGETS`. Read it, or
    take a private copy with :func:`copy_build` before running Snakemake in it."""
    wd = _workdir(tmp_path_factory.mktemp("ci_build"))
    edit_config(wd, ci_build_settings)
    smk(wd, "--cores", "2", *CI_TARGETS)
    return wd


@pytest.fixture
def one_thread():
    """Tiny models train faster on one torch thread, and much faster on a busy 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
