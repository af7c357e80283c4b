"""SignX adaptive feature pruning: per-dimension variance, threshold / keep_fraction, apply, save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pipelib.signx.pruning import (
    PruningConfig,
    PruningMask,
    dimension_variances,
    fit_from_config,
    fit_pruning,
)

STDS = np.array([3.0, 0.1, 1.0, 0.0, 2.0, 0.5, 1.5, 0.2])  # per-dim spread; dim 3 is constant


def videos(seed: int = 0, lengths=(30, 1, 45, 24)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(100.0 + rng.standard_normal((n, STDS.size)) * STDS).astype(np.float32) for n in lengths]


def test_variances_are_the_population_variance_of_all_frames_pooled():
    vids = videos()
    var, n = dimension_variances(vids)
    allf = np.concatenate(vids).astype(np.float64)
    assert n == 100
    np.testing.assert_allclose(var, allf.var(0), rtol=1e-10, atol=1e-12)
    assert var[3] == 0.0
    # (latents, valid) pairs drop the invalid frames; tensors are accepted
    junk = [np.vstack([v, np.full((5, STDS.size), 1e6, np.float32)]) for v in vids]
    masks = [np.r_[np.ones(len(v), bool), np.zeros(5, bool)] for v in vids]
    pairs = [(torch.from_numpy(x), torch.from_numpy(m)) for x, m in zip(junk, masks, strict=True)]
    var2, n2 = dimension_variances(pairs)
    assert n2 == 100
    np.testing.assert_allclose(var2, var, rtol=1e-10)
    with pytest.raises(ValueError, match="no valid latent frames"):
        dimension_variances([np.zeros((0, 8))])


def test_threshold_keeps_exactly_the_dims_at_or_above_it():
    vids = videos()
    var, _ = dimension_variances(vids)
    mask = fit_pruning(vids, threshold=0.6)
    np.testing.assert_array_equal(mask.keep, var >= 0.6)
    assert mask.kept_indices.tolist() == [0, 2, 4, 6]  # stds 3, 1, 2, 1.5 (the others <= 0.5)
    assert (mask.kept_width, mask.dim, mask.threshold) == (4, 8, 0.6)
    exact = fit_pruning(vids, threshold=float(var[5]))  # a dim whose variance equals tau is kept (eq. 8)
    assert exact.keep[5] and not exact.keep[1]


def test_keep_fraction_gives_the_requested_width_of_largest_variances():
    vids = videos()
    var, _ = dimension_variances(vids)
    for frac, width in ((0.5, 4), (0.25, 2), (1.0, 8), (0.01, 1)):
        mask = fit_pruning(vids, keep_fraction=frac)
        assert mask.kept_width == width
        assert set(mask.kept_indices.tolist()) == set(np.argsort(-var)[:width].tolist())
        assert mask.threshold == var[mask.keep].min()
    # ties at the cut: still exactly the requested width, lower indices first
    tied = [np.array([[0.0, 1.0, 1.0, 1.0]] * 2), np.array([[0.0, -1.0, -1.0, -1.0]] * 2)]  # var 0 1 1 1
    mask = fit_pruning(tied, keep_fraction=0.5)
    assert mask.kept_indices.tolist() == [1, 2]
    with pytest.raises(ValueError, match="exactly one of threshold and keep_fraction"):
        fit_pruning(vids, threshold=1.0, keep_fraction=0.5)
    with pytest.raises(ValueError, match="keep_fraction"):
        fit_pruning(vids, keep_fraction=1.5)


def test_apply_selects_and_mask_zeroes_for_numpy_and_torch():
    mask = fit_pruning(videos(), keep_fraction=0.5)
    lat = np.arange(2 * 3 * 8, dtype=np.float32).reshape(2, 3, 8)
    out = mask.apply(lat)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, lat[..., mask.kept_indices])
    t = torch.from_numpy(lat)
    torch.testing.assert_close(mask.apply(t), torch.from_numpy(out))
    masked = mask.mask(t)
    assert masked.shape == t.shape
    assert torch.all(masked[..., ~torch.from_numpy(mask.keep)] == 0)
    torch.testing.assert_close(masked[..., torch.from_numpy(mask.keep)], t[..., torch.from_numpy(mask.keep)])
    with pytest.raises(ValueError, match="fitted on 8"):
        mask.apply(np.zeros((3, 7)))


def test_save_load_round_trip_is_exact(tmp_path):
    mask = fit_pruning(videos(), keep_fraction=0.5)
    path = tmp_path / "sub" / "pruning.json"
    mask.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["pruning.json"]  # no temporary left behind
    data = json.loads(path.read_text())
    assert data["kept_width"] == 4 and data["dim"] == 8 and data["n_frames"] == 100
    back = PruningMask.load(path)
    np.testing.assert_array_equal(back.keep, mask.keep)
    np.testing.assert_array_equal(back.variances, mask.variances)
    assert (back.threshold, back.n_frames, back.kept_width) == (mask.threshold, 100, 4)
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="PruningMask.save"):
        PruningMask.load(path)


def test_config_defaults_to_half_and_rejects_unknown_keys():
    assert PruningConfig.from_dict(None) == PruningConfig(threshold=None, keep_fraction=0.5)
    assert PruningConfig.from_dict({"threshold": 1}) == PruningConfig(threshold=1.0, keep_fraction=None)
    with pytest.raises(ValueError, match=r"signx\.pruning\.quantile"):
        PruningConfig.from_dict({"quantile": 0.5})
    with pytest.raises(ValueError, match=r"signx\.pruning"):
        PruningConfig.from_dict({"threshold": 1.0, "keep_fraction": 0.5})
    assert fit_from_config(videos(), PruningConfig.from_dict({"keep_fraction": 0.25})).kept_width == 2
