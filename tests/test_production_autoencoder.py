"""Region split / merge, the region-wise pose autoencoder's shapes and config, and its masked loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipelib.production.autoencoder import AEConfig, PoseAutoencoder, ae_loss
from pipelib.production.regions import (
    REGION_DIMS,
    REGION_JOINTS,
    REGIONS,
    merge_regions,
    split_joint_mask,
    split_regions,
)


def _poses(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Random skeletons whose body wrists equal the hand roots (what merge_regions rebuilds)."""
    x = np.random.default_rng(seed).normal(size=(*shape, 178, 3)).astype(np.float32)
    x[..., 2, :] = x[..., 8, :]
    x[..., 5, :] = x[..., 29, :]
    return x


def test_region_tables_match_the_skeleton_layout():
    assert REGIONS == ("body", "right_hand", "left_hand", "face")
    assert REGION_JOINTS["body"] == (0, 1, 3, 4, 6, 7)
    assert {r: len(j) for r, j in REGION_JOINTS.items()} == {"body": 6, "right_hand": 21, "left_hand": 21,
                                                            "face": 128}
    assert REGION_DIMS == {"body": 18, "right_hand": 63, "left_hand": 63, "face": 384}
    every = sorted(j for r in REGIONS for j in REGION_JOINTS[r])
    assert every == [j for j in range(178) if j not in (2, 5)]


@pytest.mark.parametrize("as_torch", [False, True])
def test_split_merge_round_trip(as_torch):
    x = _poses((2, 4))
    xs = torch.from_numpy(x) if as_torch else x
    parts = split_regions(xs)
    assert {r: tuple(p.shape) for r, p in parts.items()} == {
        "body": (2, 4, 6, 3), "right_hand": (2, 4, 21, 3), "left_hand": (2, 4, 21, 3), "face": (2, 4, 128, 3)}
    np.testing.assert_array_equal(np.asarray(parts["body"]), x[..., [0, 1, 3, 4, 6, 7], :])
    np.testing.assert_array_equal(np.asarray(parts["face"]), x[..., 50:, :])
    back = merge_regions(parts)
    assert type(back) is type(xs)
    np.testing.assert_array_equal(np.asarray(back), x)


def test_merge_takes_wrists_from_hand_roots():
    x = _poses((3,))
    x[..., 2, :] = 99.0  # body wrists that disagree with the hands are not kept
    x[..., 5, :] = -99.0
    back = merge_regions(split_regions(x))
    np.testing.assert_array_equal(back[..., 2, :], x[..., 8, :])
    np.testing.assert_array_equal(back[..., 5, :], x[..., 29, :])
    mask = np.ones((3, 178), dtype=bool)
    mask[:, 60] = False
    assert split_joint_mask(mask)["face"].shape == (3, 128)
    assert not split_joint_mask(mask)["face"][:, 10].any()


def test_default_latent_width_and_slices():
    model = PoseAutoencoder(seed=0)
    assert model.latent_dim == 80
    assert model.latent_slices() == {"body": slice(0, 8), "right_hand": slice(8, 36),
                                     "left_hand": slice(36, 64), "face": slice(64, 80)}
    x = torch.from_numpy(_poses((2, 5)))
    z = model.encode(x)
    assert z.shape == (2, 5, 80)
    assert model.decode(z).shape == (2, 5, 178, 3)
    # Each region's channels depend only on that region's joints.
    x2 = x.clone()
    x2[..., 8:29, :] += 1.0
    dz = (model.encode(x2) - z).abs().amax(dim=(0, 1))
    assert dz[8:36].min() > 0 and dz[:8].max() == 0 and dz[36:].max() == 0
    # Reference sizes: body one Linear(18->8); hands 63->40->28; face 384->96->16; decoders mirrored.
    shapes = {r: [tuple(m.weight.shape) for m in model.encoders[r] if isinstance(m, torch.nn.Linear)]
              for r in REGIONS}
    assert shapes == {"body": [(8, 18)], "right_hand": [(40, 63), (28, 40)],
                      "left_hand": [(40, 63), (28, 40)], "face": [(96, 384), (16, 96)]}
    dec = [tuple(m.weight.shape) for m in model.decoders["face"] if isinstance(m, torch.nn.Linear)]
    assert dec == [(96, 16), (384, 96)]


def test_config_sizes_reach_the_modules():
    cfg = AEConfig.from_dict({"latent": {"face": 32}, "hidden": {"body": 12, "right_hand": 50},
                              "loss_weights": {"face": 2}, "encoder_l1": "1e-3"})
    assert cfg.latent == {"body": 8, "right_hand": 28, "left_hand": 28, "face": 32}
    assert cfg.encoder_l1 == 1e-3 and cfg.loss_weights["face"] == 2.0
    model = PoseAutoencoder(cfg, seed=0)
    assert model.latent_dim == 96 and model.latent_slices()["face"] == slice(64, 96)
    assert model.encoders["body"][0].weight.shape == (12, 18)
    assert model.encoders["right_hand"][0].weight.shape == (50, 63)
    assert model.encoders["face"][-1].weight.shape == (32, 96)
    assert model.encode(torch.zeros(1, 2, 178, 3)).shape == (1, 2, 96)
    assert AEConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("bad, key", [
    ({"latnet": {}}, "production.autoencoder.latnet"),
    ({"latent": {"torso": 4}}, "production.autoencoder.latent.torso"),
    ({"latent": {"face": 0}}, "production.autoencoder.latent.face"),
    ({"hidden": {"face": 1.5}}, "production.autoencoder.hidden.face"),
    ({"loss_norm": "joint"}, "production.autoencoder.loss_norm"),
])
def test_config_errors_name_the_key(bad, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        AEConfig.from_dict(bad)


def test_seed_makes_initial_weights_reproducible():
    a, b = PoseAutoencoder(seed=3), PoseAutoencoder(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(PoseAutoencoder(seed=4).encoders["face"][0].weight, a.encoders["face"][0].weight)


def _mask(shape: tuple[int, ...], seed: int = 1) -> torch.Tensor:
    m = torch.from_numpy(np.random.default_rng(seed).random((*shape, 178)) > 0.3)
    m[-1, -2:] = False  # padded frames
    return m


def test_masked_joints_do_not_change_loss_or_gradients():
    model = PoseAutoencoder(seed=0)
    x = torch.from_numpy(_poses((2, 6)))
    m = _mask((2, 6))
    clean = torch.where(m[..., None], x, torch.zeros(()))
    garbage = x.clone()
    garbage[~m] = torch.tensor([1e6, float("nan"), -float("inf")])
    out_a = ae_loss(model, clean, m)
    grads_a = torch.autograd.grad(out_a["loss"], list(model.parameters()))
    out_b = ae_loss(model, garbage, m)
    grads_b = torch.autograd.grad(out_b["loss"], list(model.parameters()))
    for k in out_a:
        assert torch.equal(out_a[k], out_b[k]), k
    assert all(torch.equal(g, h) for g, h in zip(grads_a, grads_b, strict=True))
    assert torch.isfinite(out_b["loss"])
    with torch.no_grad():  # encode() with a joint mask zeroes masked joints the same way
        torch.testing.assert_close(model.encode(garbage, m), model.encode(clean), rtol=0, atol=0)
        frames = m.any(dim=-1)                                                 # (B, T) frame mask
        padded = torch.where(frames[..., None, None], clean, garbage)
        assert torch.isfinite(model.encode(padded, frames)).all()


def test_region_errors_are_means_over_valid_values_and_weighted():
    model = PoseAutoencoder(seed=0)
    x = torch.from_numpy(_poses((2, 6)))
    m = _mask((2, 6))
    out = ae_loss(model, x, m)
    xz = torch.where(m[..., None], x, torch.zeros(()))
    with torch.no_grad():
        rec = model.decode(model.encode(xz)).numpy()
    for r in REGIONS:
        j = list(REGION_JOINTS[r])
        err = np.abs(rec[..., j, :] - xz.numpy()[..., j, :])
        valid = np.broadcast_to(m.numpy()[..., j, None], err.shape)
        assert out[f"recon_{r}"].item() == pytest.approx(err[valid].mean(), rel=1e-5)
    weights = {"body": 0.5, "right_hand": 1.5, "left_hand": 1.5, "face": 1.0}
    expected = sum(w * out[f"recon_{r}"].item() for r, w in weights.items())
    assert out["recon"].item() == pytest.approx(expected, rel=1e-6)
    # Other weights, same network: only the weighted sum changes.
    other = PoseAutoencoder(AEConfig.from_dict({"loss_weights": {"body": 0, "right_hand": 0, "left_hand": 0,
                                                                 "face": 3}}))
    other.load_state_dict(model.state_dict())
    out2 = ae_loss(other, x, m)
    assert out2["recon"].item() == pytest.approx(3 * out["recon_face"].item(), rel=1e-6)


def test_frame_normalisation_sums_a_frame_before_averaging():
    cfg = AEConfig.from_dict({"loss_norm": "frame"})
    a, b = PoseAutoencoder(seed=0), PoseAutoencoder(cfg)
    b.load_state_dict(a.state_dict())
    x = torch.from_numpy(_poses((2, 3)))
    m = torch.ones(2, 3, dtype=torch.bool)  # a (B, T) frame mask is accepted too
    va, vb = ae_loss(a, x, m), ae_loss(b, x, m)
    assert vb["recon_face"].item() == pytest.approx(384 * va["recon_face"].item(), rel=1e-5)
    assert vb["recon_body"].item() == pytest.approx(18 * va["recon_body"].item(), rel=1e-5)


def test_encoder_weight_l1_term():
    model = PoseAutoencoder(seed=0)
    x = torch.from_numpy(_poses((1, 4)))
    m = torch.ones(1, 4, 178, dtype=torch.bool)
    out = ae_loss(model, x, m)
    by_hand = sum(p.abs().sum() for n, p in model.named_parameters()
                  if n.startswith("encoders.") and n.endswith("weight") and p.dim() == 2)
    assert out["reg"].item() == pytest.approx(1e-4 * by_hand.item(), rel=1e-6)
    assert out["reg"].item() > 0
    assert out["loss"].item() == pytest.approx(out["recon"].item() + out["reg"].item(), rel=1e-6)
    # The L1 term pushes encoder weights only: its gradient on the decoders is zero.
    grads = torch.autograd.grad(out["reg"], list(model.parameters()), allow_unused=True)
    named = dict(zip([n for n, _ in model.named_parameters()], grads, strict=True))
    w = model.encoders["face"][0].weight
    torch.testing.assert_close(named["encoders.face.0.weight"], 1e-4 * torch.sign(w))
    assert all(g is None or not g.any() for n, g in named.items() if n.startswith("decoders."))
    off = PoseAutoencoder(AEConfig.from_dict({"encoder_l1": 0}))
    off.load_state_dict(model.state_dict())
    assert ae_loss(off, x, m)["reg"].item() == 0.0




def test_tiny_autoencoder_learns_synthetic_poses(one_thread):
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(178, 3, generator=gen) * 0.5
    basis = torch.randn(3, 178, 3, generator=gen) * 0.3
    t = torch.linspace(0, 6.28, 16)
    phase = torch.rand(8, 1, 3, generator=gen) * 6.28
    coeff = torch.sin(t[None, :, None] * torch.tensor([1.0, 2.0, 3.0]) + phase)       # (8, 16, 3)
    poses = base + torch.einsum("btk,kjc->btjc", coeff, basis)                         # (8, 16, 178, 3)
    mask = torch.ones(8, 16, 178, dtype=torch.bool)
    mask[4:, 12:] = False
    model = PoseAutoencoder(seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.5, 0.9))
    with torch.no_grad():
        first = ae_loss(model, poses, mask)["recon"].item()
    for _ in range(300):
        out = ae_loss(model, poses, mask)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    with torch.no_grad():
        last = ae_loss(model, poses, mask)["recon"].item()
    assert last < 0.1 * first, (first, last)
