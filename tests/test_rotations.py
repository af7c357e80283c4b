"""Rotation conversions: Rodrigues, matrix -> axis-angle near 0 and pi, 6D Gram-Schmidt layouts."""

from __future__ import annotations

import numpy as np
import pytest

from pipelib.estimators.rotations import (
    ROT6D_LAYOUTS,
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_rot6d,
    rot6d_to_axis_angle,
    rot6d_to_matrix,
)


def _random_axis_angle(n: int, seed: int, angles: np.ndarray | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    if angles is None:
        angles = rng.uniform(0.0, np.pi, size=n)
    return axes * np.asarray(angles)[:, None]


def _assert_rotation(r: np.ndarray) -> None:
    eye = np.broadcast_to(np.eye(3), r.shape)
    np.testing.assert_allclose(r @ np.swapaxes(r, -1, -2), eye, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)


def test_known_matrix():
    r = axis_angle_to_matrix(np.array([0.0, 0.0, np.pi / 2]))
    np.testing.assert_allclose(r, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-15)
    np.testing.assert_allclose(matrix_to_axis_angle(r), [0, 0, np.pi / 2], atol=1e-15)


def test_random_round_trip():
    aa = _random_axis_angle(2000, seed=0)
    r = axis_angle_to_matrix(aa)
    _assert_rotation(r)
    # the rotation axis is fixed and the angle matches the trace
    axes = aa / np.linalg.norm(aa, axis=1, keepdims=True)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", r, axes), axes, atol=1e-12)
    np.testing.assert_allclose(matrix_to_axis_angle(r), aa, atol=1e-10)


@pytest.mark.parametrize("angle", [0.0, 1e-12, 1e-8, 1e-6, 1e-4, 1e-2])
def test_small_angles(angle):
    aa = _random_axis_angle(50, seed=1, angles=np.full(50, angle))
    r = axis_angle_to_matrix(aa)
    _assert_rotation(r)
    back = matrix_to_axis_angle(r)
    np.testing.assert_allclose(back, aa, atol=1e-15 + 1e-9 * angle)
    assert np.all(np.isfinite(back))


@pytest.mark.parametrize("gap", [0.0, 1e-10, 1e-7, 1e-4, 0.05, 0.2])
def test_angles_near_pi(gap):
    aa = _random_axis_angle(200, seed=2, angles=np.full(200, np.pi - gap))
    r = axis_angle_to_matrix(aa)
    back = matrix_to_axis_angle(r)
    np.testing.assert_allclose(np.linalg.norm(back, axis=1), np.pi - gap, atol=1e-9)
    if gap == 0.0:  # axis * pi and -axis * pi are the same rotation
        sign = np.sign(np.sum(back * aa, axis=1))[:, None]
        np.testing.assert_allclose(back * sign, aa, atol=1e-9)
    else:
        np.testing.assert_allclose(back, aa, atol=1e-7)
    np.testing.assert_allclose(axis_angle_to_matrix(back), r, atol=1e-12)


def test_batch_shapes_are_kept():
    aa = _random_axis_angle(12, seed=3).reshape(2, 2, 3, 3)
    assert axis_angle_to_matrix(aa).shape == (2, 2, 3, 3, 3)
    assert matrix_to_axis_angle(axis_angle_to_matrix(aa)).shape == (2, 2, 3, 3)
    assert rot6d_to_matrix(np.zeros((4, 5, 6)) + [1, 0, 0, 1, 0, 0]).shape == (4, 5, 3, 3)


def test_rot6d_layouts_are_what_they_say():
    r = axis_angle_to_matrix(np.array([0.3, -1.1, 0.7]))
    np.testing.assert_allclose(matrix_to_rot6d(r, "interleaved"), r[:, :2].reshape(6))  # SMPLer-X view(3, 2)
    np.testing.assert_allclose(matrix_to_rot6d(r, "columns"), np.r_[r[:, 0], r[:, 1]])
    np.testing.assert_allclose(matrix_to_rot6d(r, "rows"), np.r_[r[0], r[1]])
    for layout in ROT6D_LAYOUTS:
        np.testing.assert_allclose(rot6d_to_matrix(matrix_to_rot6d(r, layout), layout), r, atol=1e-14)
    with pytest.raises(ValueError, match="layout"):
        rot6d_to_matrix(np.zeros(6), "diagonal")


@pytest.mark.parametrize("layout", ROT6D_LAYOUTS)
def test_gram_schmidt_on_unnormalised_6d(layout):
    aa = _random_axis_angle(500, seed=4)
    r = axis_angle_to_matrix(aa)
    rng = np.random.default_rng(5)
    if layout == "rows":
        a1, b1, b2 = r[:, 0, :], r[:, 0, :], r[:, 1, :]
    else:
        a1, b1, b2 = r[:, :, 0], r[:, :, 0], r[:, :, 1]
    # scale the first vector and add some of it to the second: Gram-Schmidt undoes both
    a1 = a1 * rng.uniform(0.2, 5.0, size=(500, 1))
    a2 = b2 * rng.uniform(0.2, 5.0, size=(500, 1)) + b1 * rng.normal(size=(500, 1))
    if layout == "interleaved":
        x = np.stack([a1, a2], axis=-1).reshape(500, 6)
    else:
        x = np.concatenate([a1, a2], axis=-1)
    out = rot6d_to_matrix(x, layout)
    _assert_rotation(out)
    np.testing.assert_allclose(out, r, atol=1e-12)
    np.testing.assert_allclose(rot6d_to_axis_angle(x, layout), aa, atol=1e-9)
