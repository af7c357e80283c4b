"""Padding and deterministic batch orders."""

import numpy as np

from pipelib.batching import batch_indices, pad_sequences, pad_token_ids


def test_pad_sequences_masks_and_truncates():
    x, m = pad_sequences([np.ones((3, 2)), 2 * np.ones((1, 2))])
    assert x.shape == (2, 3, 2) and m.tolist() == [[True, True, True], [True, False, False]]
    assert x[1, 1:].abs().sum() == 0
    x, m = pad_sequences([np.ones((5, 2))], max_len=4)
    assert x.shape == (1, 4, 2) and m.all()


def test_pad_token_ids():
    assert pad_token_ids([[5, 6, 7], [8]], pad_id=0).tolist() == [[5, 6, 7], [8, 0, 0]]


def test_batch_order_depends_on_seed_and_epoch_only():
    a = list(batch_indices(10, 4, shuffle=True, seed=1, epoch=2))
    assert a == list(batch_indices(10, 4, shuffle=True, seed=1, epoch=2))
    assert a != list(batch_indices(10, 4, shuffle=True, seed=1, epoch=3))
    assert sorted(i for b in a for i in b) == list(range(10)) and [len(b) for b in a] == [4, 4, 2]
    assert list(batch_indices(5, 2, shuffle=False)) == [[0, 1], [2, 3], [4]]
