"""Channel priors from valid training latents, their file, the masked channel-prior KL, and the figure."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pipelib.production.figures import plot_channel_histograms, top_entropy_channels
from pipelib.production.priors import (
    DEFAULT_SLICES,
    channel_weights,
    collect_latents,
    compute_priors,
    histogram_entropy,
    load_priors,
    masked_kl,
    region_channel_mask,
    save_priors,
)

TINY = {"body": slice(0, 1), "right_hand": slice(1, 3), "left_hand": slice(3, 4), "face": slice(4, 5)}


def _videos(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Three videos of 5-channel latents; invalid frames hold garbage that must never count."""
    rng = np.random.default_rng(seed)
    out = []
    for t in (7, 4, 9):
        z = rng.normal(size=(t, 5)).astype(np.float32) * [1, 2, 3, 0.5, 0.1] + [0, 1, -1, 2, 0]
        m = rng.random(t) > 0.3
        m[0] = True
        z[~m] = 1e6
        out.append((z, m))
    return out


def test_stats_equal_numpy_over_valid_frames_only():
    videos = _videos()
    valid = np.concatenate([z[m] for z, m in videos]).astype(np.float64)
    pri = compute_priors(collect_latents(videos), TINY, provenance={"split": "train", "ae": "abc"})
    np.testing.assert_allclose(pri.mean, valid.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pri.std, valid.std(axis=0, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(pri.sd, pri.std)
    np.testing.assert_allclose(pri.logvar, np.log(valid.std(axis=0, ddof=1) ** 2), rtol=1e-6)
    np.testing.assert_array_equal(pri.n_valid, [len(valid)] * 5)
    q75, q25 = np.percentile(valid, [75, 25], axis=0)
    np.testing.assert_allclose(pri.iqr, q75 - q25, rtol=1e-6)
    assert pri.regions == ("body", "right_hand", "right_hand", "left_hand", "face")
    assert pri.hist_counts.sum(axis=1).tolist() == [len(valid)] * 5


def test_per_channel_mask_leaves_out_untracked_regions():
    z = np.arange(12, dtype=np.float32).reshape(4, 3)
    m = np.ones((4, 3), dtype=bool)
    m[1, 2] = False   # channel 2 untracked in frame 1
    m[3] = False      # frame 3 padding
    lat = collect_latents([(z, m)])
    assert lat.shape == (3, 3) and np.isnan(lat[1, 2])
    slices = {"body": slice(0, 1), "right_hand": slice(1, 2), "left_hand": slice(2, 3), "face": slice(3, 3)}
    with pytest.raises(ValueError, match="non-empty"):
        compute_priors(lat, slices)
    pri = compute_priors(np.concatenate([lat, lat[:, :1]], axis=1),
                         {**slices, "face": slice(3, 4)})
    assert pri.mean[2] == pytest.approx(np.mean([2, 8]))
    assert pri.n_valid.tolist() == [3, 3, 2, 3]


def test_region_channel_mask_follows_joint_mask():
    jm = np.ones((2, 178), dtype=bool)
    jm[0, 10] = False     # a right-hand joint
    jm[1, 2] = False      # a body wrist: not part of the body region
    cm = region_channel_mask(jm)
    assert cm.shape == (2, 80)
    assert not cm[0, 8:36].any() and cm[0, :8].all() and cm[0, 36:].all()
    assert cm[1].all()


def test_degenerate_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="channel 0 .*at least 2"):
        compute_priors(np.ones((1, 5)), TINY)
    with pytest.raises(ValueError, match="item 0: non-finite"):
        collect_latents([(np.full((2, 5), np.nan), np.ones(2, dtype=bool))])
    with pytest.raises(ValueError, match="training split is empty"):
        collect_latents([])


def test_entropy_iqr_sd_sanity():
    rng = np.random.default_rng(0)
    uniform = rng.random(200_000)                      # [0, 1): 10 equal bins of 0.1
    assert histogram_entropy(uniform, 0.1) == pytest.approx(math.log2(10), abs=1e-3)
    assert histogram_entropy(np.full(50, 3.0), 0.1) == 0.0
    assert histogram_entropy(np.r_[np.zeros(50), np.ones(50) * 5], 0.1) == pytest.approx(1.0)
    sd = 2.0
    gauss = rng.normal(0, sd, size=(200_000, 1))
    const = np.full((200_000, 1), 0.25)
    lat = np.concatenate([gauss, uniform[:, None], const, gauss * 0.001, gauss], axis=1)
    pri = compute_priors(lat, TINY, bin_width=0.05)
    # Differential entropy of N(0, sd^2) in bits: 0.5 * log2(2 pi e sd^2); of U[0, 1): 0.
    assert pri.diff_entropy[0] == pytest.approx(0.5 * math.log2(2 * math.pi * math.e * sd ** 2), abs=0.01)
    assert pri.diff_entropy[1] == pytest.approx(0.0, abs=0.01)
    assert pri.iqr[0] == pytest.approx(1.349 * sd, rel=0.01) and pri.sd[0] == pytest.approx(sd, rel=0.01)
    # A constant channel: no spread, zero entropy; its prior sd (the KL's) is floored at min_std, as is
    # the narrow channel's (sd 0.002); broad channels keep their own sd.
    assert pri.entropy[2] == 0 and pri.iqr[2] == 0 and pri.std[2] == 0
    assert pri.logvar[2] == pytest.approx(math.log(0.01 ** 2)) == pytest.approx(pri.logvar[3])
    assert pri.logvar[0] == pytest.approx(math.log(pri.std[0] ** 2))
    assert compute_priors(lat, TINY, bin_width=0.05, min_std=0.0).logvar[2] == pytest.approx(math.log(1e-16))
    with pytest.raises(ValueError, match="min_std"):
        compute_priors(lat, TINY, min_std=-1.0)
    # A narrow channel (the paper's face) has far less entropy than a broad one (its hands).
    assert pri.entropy[3] < 0.5 < 4 < pri.entropy[0]
    assert pri.region_mean_entropy()["right_hand"] == pytest.approx((pri.entropy[1] + pri.entropy[2]) / 2)


def test_save_load_round_trip(tmp_path):
    pri = compute_priors(collect_latents(_videos()), TINY, provenance={"split": "train", "seed": 3},
                         min_std=0.5)
    path = save_priors(pri, tmp_path / "sub" / "priors.h5")
    assert [p.name for p in path.parent.iterdir()] == ["priors.h5"]  # no temporary file left
    back = load_priors(path)
    for name in ("mean", "std", "logvar", "entropy", "iqr", "n_valid", "hist_counts", "hist_edges"):
        np.testing.assert_array_equal(getattr(back, name), getattr(pri, name))
    assert back.slices == TINY and back.bin_width == pri.bin_width and back.min_std == 0.5
    assert back.provenance == {"split": "train", "seed": 3}
    assert back.regions == pri.regions
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="bad.h5"):
        load_priors(tmp_path / "bad.h5")


def _kl_by_hand(values: list[float], pm: float, plv: float) -> float:
    mu = sum(values) / len(values)
    var = sum((v - mu) ** 2 for v in values) / len(values)
    pv = math.exp(plv)
    return 0.5 * (math.log(pv / var) + (var + (mu - pm) ** 2) / pv - 1)


def test_masked_kl_equals_hand_computation():
    mu_pred = torch.tensor([[[1.0, 0.0], [2.0, 1.0], [9.0, 9.0]],
                            [[4.0, 2.0], [-5.0, 7.0], [-5.0, 7.0]]], dtype=torch.float64)  # (2, 3, 2)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    prior_mean = torch.tensor([1.0, -1.0], dtype=torch.float64)
    prior_logvar = torch.tensor([0.5, -0.2], dtype=torch.float64)
    weights = torch.tensor([2.0, 3.0])
    got = masked_kl(mu_pred, mask, prior_mean, prior_logvar, weights)
    want = 2.0 * _kl_by_hand([1.0, 2.0, 4.0], 1.0, 0.5) + 3.0 * _kl_by_hand([0.0, 1.0, 2.0], -1.0, -0.2)
    assert got.item() == pytest.approx(want, rel=1e-12)
    # Predictions that match the prior exactly give 0.
    vals = torch.tensor([-1.0, 1.0], dtype=torch.float64)[None, :, None].expand(1, 2, 2)  # mean 0, var 1
    assert masked_kl(vals, torch.ones(1, 2, dtype=torch.bool), torch.zeros(2), torch.zeros(2),
                     torch.ones(2)).item() == pytest.approx(0.0, abs=1e-12)


def test_masked_kl_ignores_padding_values_and_gradients():
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(3, 5, 80, generator=gen)
    lengths = [5, 3, 2]
    mask = torch.arange(5)[None, :] < torch.tensor(lengths)[:, None]                    # (3, 5)
    prior_mean, prior_logvar = torch.randn(80, generator=gen), torch.randn(80, generator=gen) * 0.3
    # The same batch padded to 9 frames, with garbage everywhere outside the valid frames.
    padded = torch.full((3, 9, 80), float("nan"))
    padded[:, 5:7] = 1e8
    padded[:, 7:] = -float("inf")
    padded[:, :5] = torch.where(mask[..., None], pred, torch.full_like(pred, 3e4))
    pmask = torch.arange(9)[None, :] < torch.tensor(lengths)[:, None]                   # (3, 9)
    a = pred.clone().requires_grad_(True)
    b = padded.clone().requires_grad_(True)
    ka = masked_kl(a, mask, prior_mean, prior_logvar)
    kb = masked_kl(b, pmask, prior_mean, prior_logvar)
    assert torch.isfinite(kb) and kb.item() == pytest.approx(ka.item(), rel=1e-6)
    ka.backward()
    kb.backward()
    torch.testing.assert_close(b.grad[:, :5][mask], a.grad[mask])
    assert not b.grad[~pmask].any() and torch.isfinite(b.grad).all()
    # Default weights are 1-10-6-1 over the default 8 | 28 | 28 | 16 channels.
    w = channel_weights(DEFAULT_SLICES)
    assert w.tolist() == [1.0] * 8 + [10.0] * 28 + [6.0] * 28 + [1.0] * 16
    assert ka.item() == pytest.approx(masked_kl(pred, mask, prior_mean, prior_logvar, w).item())
    with pytest.raises(ValueError, match="region_weights"):
        masked_kl(pred[..., :10], mask, prior_mean[:10], prior_logvar[:10])


def test_figure_is_written(tmp_path):
    rng = np.random.default_rng(0)
    lat = rng.normal(size=(400, 80)) * np.linspace(0.05, 2.0, 80)
    pri = compute_priors(lat)
    top = top_entropy_channels(pri, "right_hand", 3)
    assert top == sorted(range(8, 36), key=lambda c: -pri.entropy[c])[:3] and top[0] >= 30
    out = plot_channel_histograms(pri, tmp_path / "figs" / "priors.png", top_k=4, dpi=40)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    assert [p.name for p in out.parent.iterdir()] == ["priors.png"]
