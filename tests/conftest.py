"""Fixtures shared by the test files."""

import pytest


@pytest.fixture
def one_thread():
    """Tiny models train faster on one torch thread, and much faster on a busy 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
