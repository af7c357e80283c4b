"""Gap detection and linear filling on plain arrays."""

from __future__ import annotations

import numpy as np

from pipelib.skeletons.gaps import fill_short_gaps, short_gaps


def test_short_gaps_keep_only_bounded_runs_up_to_max_gap():
    valid = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0], bool)
    assert short_gaps(valid, 3) == [(2, 4)]
    assert short_gaps(valid, 4) == [(2, 4), (5, 9)]
    assert short_gaps(valid, 1) == []
    assert short_gaps(np.zeros(4, bool), 10) == []
    assert short_gaps(np.ones(4, bool), 0) == []


def test_fill_short_gaps_interpolates_each_element():
    x = np.zeros((6, 2, 3))
    x[0] = 1.0
    x[4] = 5.0
    x[4, 1, 2] = -3.0
    valid = np.array([1, 0, 0, 0, 1, 0], bool)
    out, ok = fill_short_gaps(x, valid, max_gap=3)
    np.testing.assert_allclose(out[1:4, 0, 0], [2.0, 3.0, 4.0])
    np.testing.assert_allclose(out[1:4, 1, 2], [0.0, -1.0, -2.0])
    assert ok.tolist() == [True, True, True, True, True, False]
    assert out[5].sum() == 0.0 and x[2].sum() == 0.0     # trailing frame untouched, input not modified


def test_fill_short_gaps_skips_frames_not_allowed():
    x = np.arange(5, dtype=float)[:, None]
    x[1:4] = 0.0
    allowed = np.array([1, 1, 0, 1, 1], bool)
    out, ok = fill_short_gaps(x, np.array([1, 0, 0, 0, 1], bool), max_gap=5, allowed=allowed)
    assert ok.tolist() == [True, True, False, True, True]
    np.testing.assert_allclose(out[[1, 3], 0], [1.0, 3.0])
    assert out[2, 0] == 0.0
