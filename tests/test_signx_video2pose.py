"""SignX stage 2: Video2Pose model and loss, frame preparation, closeness metrics."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from pipelib.estimators.base import FUSED_DIM, SLOT_DIMS, SLOT_ORDER
from pipelib.fusion.stats import slot_offsets
from pipelib.signx.closeness import (
    FeatureCloseness,
    closeness_row,
    feature_closeness,
    latent_closeness,
)
from pipelib.signx.frames_input import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    entry_frames,
    prepare_frame,
    prepare_frames,
    read_frames,
)
from pipelib.signx.video2pose import (
    Video2Pose,
    Video2PoseConfig,
    expand_slot_mask,
    features_at_stride,
    freeze,
    latents_from_video,
    video2pose_loss,
)

TINY = {"image_size": 16, "patch_size": 8, "spatial_dim": 32, "spatial_layers": 1, "spatial_heads": 2,
        "temporal_dim": 32, "temporal_layers": 1, "temporal_heads": 2, "ffn_mult": 2, "dropout": 0.0}


def tiny(seed: int = 0, **changes) -> Video2Pose:
    return Video2Pose(Video2PoseConfig.from_dict({**TINY, **changes}), seed=seed).eval()


def frames(b: int, t: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, t, 3, size, size, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------------------------- config


def test_config_rejects_unknown_and_bad_keys():
    with pytest.raises(ValueError, match=r"signx\.video2pose\.model\.bogus"):
        Video2PoseConfig.from_dict({"bogus": 1})
    with pytest.raises(ValueError, match=r"signx\.video2pose\.model\.patch_size"):
        Video2PoseConfig.from_dict({"image_size": 64, "patch_size": 7})
    with pytest.raises(ValueError, match=r"signx\.video2pose\.model\.temporal_heads"):
        Video2PoseConfig.from_dict({"temporal_dim": 30, "temporal_heads": 4})
    with pytest.raises(ValueError, match=r"signx\.video2pose\.model\.spatial_dim"):
        Video2PoseConfig.from_dict({"spatial_dim": "big"})
    assert Video2PoseConfig.from_dict(None) == Video2PoseConfig()
    with pytest.raises(ValueError, match=r"signx\.video2pose\.model\.stem"):
        Video2PoseConfig.from_dict({"stem": "resnet"})
    with pytest.raises(ValueError, match=r"signx\.video2pose\.model\.patch_size.*power of two"):
        Video2PoseConfig.from_dict({"image_size": 48, "patch_size": 6, "stem": "conv"})


def test_conv_stem_reaches_the_patch_grid():
    m = tiny(stem="conv", image_size=32, patch_size=8)
    convs = [c for c in m.spatial.patch_embed if isinstance(c, torch.nn.Conv2d)]
    assert [c.stride for c in convs] == [(2, 2)] * 3 and convs[-1].out_channels == 32
    assert [c.out_channels for c in convs] == [8, 16, 32]
    grid = m.spatial.patch_embed(torch.zeros(2, 3, 32, 32))
    assert grid.shape == (2, 32, 4, 4) and tuple(m.spatial.pos_embed.shape) == (1, 4 * 4 + 1, 32)
    out = m(frames(2, 3, size=32), torch.zeros(2, 3, dtype=torch.bool))
    assert out.shape == (2, 3, FUSED_DIM) and torch.isfinite(out).all()


@pytest.mark.parametrize("stem", ["patch", "conv", "conv_norm"])
def test_stem_runs_channels_last_with_the_same_result(stem):
    # the speed-up (benchmarks/bench_video2pose_step.py) rests on the stem seeing channels-last frames
    m = tiny(stem=stem, image_size=32, patch_size=8).eval()
    seen = []
    m.spatial.patch_embed.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    x = frames(2, 3, size=32)
    images = x.flatten(0, 1)                                            # (6, 3, 32, 32), contiguous
    with torch.no_grad():
        out = m(x, torch.zeros(2, 3, dtype=torch.bool))
        assert len(seen) == 1 and seen[0].is_contiguous(memory_format=torch.channels_last)
        plain = m.spatial.patch_embed(images)
        last = m.spatial.patch_embed(images.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(plain, last, atol=1e-5)
    assert out.shape == (2, 3, FUSED_DIM) and torch.isfinite(out).all()


def test_conv_norm_stem_keeps_frames_apart_at_initialisation():
    # The demo's stem: 96 px to a 3x3 grid in five stride-2 convolutions. What tells frames apart is the
    # spread over frames of each output entry; the plain stack all but erases it at initialisation.
    images = torch.rand(16, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    spread = {}
    for stem in ("conv", "conv_norm"):
        m = Video2Pose(Video2PoseConfig.from_dict({**TINY, "image_size": 96, "patch_size": 32,
                                                   "spatial_dim": 64, "stem": stem}), seed=7)
        norms = [c for c in m.spatial.patch_embed if isinstance(c, torch.nn.BatchNorm2d)]
        assert len(norms) == (5 if stem == "conv_norm" else 0)
        with torch.no_grad():
            spread[stem] = m.spatial.patch_embed.train()(images).std(dim=0).mean().item()
    assert spread["conv"] < 0.02 and spread["conv_norm"] > 0.5, spread
    # eval mode uses the running statistics: one frame alone gives the features it gives in any batch
    m.eval()
    with torch.no_grad():
        one = m.spatial.patch_embed(images[:1])
        assert torch.allclose(one, m.spatial.patch_embed(images)[:1], atol=1e-6)


def test_config_reaches_modules():
    cfg = Video2PoseConfig.from_dict({"image_size": 32, "patch_size": 4, "spatial_dim": 24,
                                      "spatial_layers": 3, "spatial_heads": 3, "temporal_dim": 40,
                                      "temporal_layers": 2, "temporal_heads": 5, "ffn_mult": 3,
                                      "dropout": 0.25})
    m = Video2Pose(cfg)
    assert m.spatial.patch_embed.kernel_size == (4, 4) and m.spatial.patch_embed.stride == (4, 4)
    assert m.spatial.patch_embed.out_channels == 24
    assert tuple(m.spatial.pos_embed.shape) == (1, 8 * 8 + 1, 24)
    assert len(m.spatial.layers) == 3 and len(m.temporal.layers) == 2
    assert m.spatial.layers[0].attn.num_heads == 3 and m.temporal.layers[0].attn.num_heads == 5
    assert m.spatial.layers[0].ff.net[0].out_features == 72
    assert m.temporal.layers[0].ff.net[0].out_features == 120
    assert m.temporal.proj.in_features == 24 and m.temporal.proj.out_features == 40
    assert m.spatial.drop.p == 0.25 and m.temporal.layers[1].drop.p == 0.25
    assert {s: h.out_features for s, h in m.heads.items()} == SLOT_DIMS
    assert all(h.in_features == 40 for h in m.heads.values())


# --------------------------------------------------------------------------------------------- model


def test_shapes_and_wrong_frame_size():
    m = tiny()
    pad = torch.tensor([[False] * 5, [False, False, True, True, True]])
    out = m(frames(2, 5), pad)
    assert out.shape == (2, 5, FUSED_DIM) and out.dtype == torch.float32
    assert torch.all(out[1, 2:] == 0) and torch.all(out[0].abs().sum(-1) > 0)
    with pytest.raises(ValueError, match="image_size"):
        m(frames(2, 5, size=32), pad)
    with pytest.raises(ValueError, match="at least one real"):
        m(frames(2, 5), torch.tensor([[False] * 5, [True] * 5]))


def test_padding_frames_do_not_affect_real_frames():
    m = tiny(seed=3)
    x = frames(2, 6, seed=1)
    pad = torch.tensor([[False] * 6, [False, False, False, True, True, True]])
    with torch.no_grad():
        batched = m(x, pad)
        alone = m(x[1:, :3], torch.zeros(1, 3, dtype=torch.bool))
        x2 = x.clone()
        x2[1, 3:] = 1e3 * torch.randn(3, 3, 16, 16)
        garbage = m(x2, pad)
    assert torch.allclose(batched[1, :3], alone[0], atol=1e-5)
    assert torch.equal(garbage[1, :3], batched[1, :3]) and torch.equal(garbage[0], batched[0])
    # temporal attention does mix real frames: changing frame 0 moves frame 1's prediction
    x3 = x.clone()
    x3[1, 0] += 1.0
    with torch.no_grad():
        assert not torch.allclose(m(x3, pad)[1, 1], batched[1, 1])


def test_seed_makes_weights_reproducible():
    a, b, c = tiny(seed=5), tiny(seed=5), tiny(seed=6)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.spatial.pos_embed, c.spatial.pos_embed)


def test_features_at_stride_runs_each_phase_at_the_trained_spacing():
    m = tiny(seed=4)
    x = frames(2, 7, seed=2)
    pad = torch.tensor([[False] * 7, [False, False, False, True, True, True, True]])
    with torch.no_grad():
        assert torch.equal(features_at_stride(m, x, pad, 1), m(x, pad))
        out = features_at_stride(m, x, pad, 3)
        for k in range(3):  # frames k, k+3, ... of each video, as one sequence spaced like training
            assert torch.allclose(out[0, k::3], m(x[:1, k::3], pad[:1, k::3])[0], atol=1e-6)
            assert torch.allclose(out[1, k], m(x[1:, k:k + 1], pad[1:, k:k + 1])[0, 0], atol=1e-6)
        assert torch.all(out[1, 3:] == 0)                  # padding stays 0
        # a frame's features depend on its own phase only
        x2 = x.clone()
        x2[0, 1] += 1.0
        moved = features_at_stride(m, x2, pad, 3)
        assert torch.equal(moved[0, 0::3], out[0, 0::3]) and not torch.allclose(moved[0, 1::3], out[0, 1::3])


# --------------------------------------------------------------------------------------------- loss


def test_expand_slot_mask_widths():
    sm = torch.tensor([[True, False, True, False, True]])
    full = expand_slot_mask(sm)[0]
    for i, s in enumerate(SLOT_ORDER):
        assert bool(full[slot_offsets()[s]].all()) == bool(sm[0, i])
        assert int(full[slot_offsets()[s]].sum()) == (SLOT_DIMS[s] if sm[0, i] else 0)


def test_masked_slots_and_padding_do_not_contribute_to_loss():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(2, 4, FUSED_DIM, generator=g, requires_grad=True)
    target = torch.randn(2, 4, FUSED_DIM, generator=g)
    slot_mask = torch.rand(2, 4, 5, generator=g) > 0.4
    slot_mask[0, 0] = True
    pad = torch.tensor([[False] * 4, [False, False, True, True]])
    base = video2pose_loss(pred, target, slot_mask, pad)

    valid = expand_slot_mask(slot_mask) & ~pad[..., None]
    expect = ((pred - target)[valid] ** 2).mean()
    assert torch.allclose(base["loss"], expect)
    dw = slot_offsets()["dwpose"]
    dv = valid[..., dw]
    assert torch.allclose(base["mse_dwpose"], ((pred - target)[..., dw][dv] ** 2).mean())

    messy = target.clone()
    messy[~valid] = float("nan")
    messy_pred = pred.detach().clone()
    messy_pred[~valid] = 1e6
    messy_pred.requires_grad_(True)
    out = video2pose_loss(messy_pred, messy, slot_mask, pad)
    assert torch.allclose(out["loss"], base["loss"])
    out["loss"].backward()
    base["loss"].backward()
    assert torch.isfinite(messy_pred.grad).all()
    assert torch.all(messy_pred.grad[~valid] == 0)
    assert torch.allclose(messy_pred.grad, pred.grad)


def test_loss_with_no_valid_entry_in_a_slot_is_zero():
    pred = torch.ones(1, 2, FUSED_DIM)
    slot_mask = torch.zeros(1, 2, 5, dtype=torch.bool)
    slot_mask[..., 0] = True
    out = video2pose_loss(pred, torch.zeros_like(pred), slot_mask, torch.zeros(1, 2, dtype=torch.bool))
    assert out["loss"].item() == pytest.approx(1.0)
    assert out["mse_sapiens"].item() == 0.0


def test_balanced_loss_weighs_every_held_slot_the_same():
    target = torch.zeros(1, 2, FUSED_DIM)
    pred = torch.zeros_like(target)
    off = slot_offsets()
    pred[..., off["smplerx"]] = 2.0        # squared error 4 over the 165-d slot
    pred[..., off["sapiens"]] = 1.0        # squared error 1 over a 576-d slot
    slot_mask = torch.ones(1, 2, 5, dtype=torch.bool)
    slot_mask[..., SLOT_ORDER.index("primedepth")] = False   # a slot the batch does not hold
    pad = torch.zeros(1, 2, dtype=torch.bool)
    flat = video2pose_loss(pred, target, slot_mask, pad)
    held = FUSED_DIM - SLOT_DIMS["primedepth"]
    assert flat["loss"].item() == pytest.approx((4 * 165 + 576) / held)     # every entry the same
    balanced = video2pose_loss(pred, target, slot_mask, pad, balance_slots=True)
    assert balanced["loss"].item() == pytest.approx((4 + 1) / 4)            # every held slot the same
    assert balanced["mse_smplerx"].item() == pytest.approx(4.0) and balanced["mse_primedepth"].item() == 0


# --------------------------------------------------------------------------------------------- stage 1


class ToyEncoder(torch.nn.Module):
    """Stands in for Pose2Gloss.encode: masked linear map of the features plus dropout."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(FUSED_DIM, 6)
        self.drop = torch.nn.Dropout(0.5)
        self.seen: list[torch.Tensor] = []

    def encode(self, features, slot_mask, pad):
        self.seen.append(slot_mask)
        x = features * expand_slot_mask(slot_mask)
        return self.drop(self.lin(x)).masked_fill(pad[..., None], 0.0)


def test_frozen_stage1_gets_no_gradient_and_stage2_does(one_thread):
    enc = ToyEncoder()
    assert freeze(enc) is enc
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    m = tiny().train()
    pad = torch.tensor([[False, False, False], [False, True, True]])
    z = latents_from_video(m, enc.encode, frames(2, 3), pad)
    assert z.shape == (2, 3, 6)
    assert torch.equal(enc.seen[-1], (~pad)[..., None].expand(2, 3, 5))
    z.pow(2).sum().backward()
    assert all(p.grad is None for p in enc.parameters())
    assert m.spatial.patch_embed.weight.grad is not None
    assert m.spatial.patch_embed.weight.grad.abs().sum() > 0
    # eval mode: dropout is off, so the latents are deterministic
    with torch.no_grad():
        a = latents_from_video(m.eval(), enc.encode, frames(2, 3), pad)
        b = latents_from_video(m, enc.encode, frames(2, 3), pad)
    assert torch.equal(a, b)


def test_latent_loss_adds_the_frozen_stage1_distance(one_thread):
    from pipelib.signx.train_video2pose import latent_mse, make_step, v2p_step

    assert make_step(None, 0.0) is v2p_step  # the paper's Eq. 14 alone
    with pytest.raises(ValueError, match="latent_weight"):
        make_step(None, 1.0)
    enc = freeze(ToyEncoder())
    enc.drop.p = 0.0
    m = tiny(seed=2).train()
    pad = torch.tensor([[False, False, False], [False, True, True]])
    slot_mask = torch.ones(2, 3, 5, dtype=torch.bool)
    slot_mask[0, 1, 3] = False                        # a frame without its depth slot
    batch = {"frames": frames(2, 3), "pad": pad, "slot_mask": slot_mask,
             "features": torch.randn(2, 3, FUSED_DIM, generator=torch.Generator().manual_seed(1))}
    out = make_step(enc, 2.5)(m, batch)
    assert torch.allclose(out["loss"], out["feature_mse"] + 2.5 * out["latent_mse"])
    assert torch.equal(enc.seen[-2], (~pad)[..., None].expand(2, 3, 5))  # predictions: every slot
    assert torch.equal(enc.seen[-1], slot_mask)                          # targets: their own mask
    with torch.no_grad():
        pred = m.eval()(batch["frames"], pad)
        z_p = enc.encode(pred, (~pad)[..., None].expand(2, 3, 5), pad)
        z_t = enc.encode(batch["features"], slot_mask, pad)
        manual = ((z_p - z_t) ** 2)[~pad].mean()
        assert torch.allclose(latent_mse(enc, pred, batch), manual)
    m.train()
    out["loss"].backward()
    assert all(p.grad is None for p in enc.parameters())
    assert m.spatial.patch_embed.weight.grad.abs().sum() > 0


def _colour_videos(rng: np.random.Generator, n_vid: int, t: int, proj: np.ndarray):
    """Frames of uniform noisy colours; the dwpose slot's 384 targets are a fixed linear map of the
    frame's mean RGB, every other slot holds NaN garbage (masked out)."""
    colours = rng.integers(0, 256, size=(n_vid, t, 3))  # BGR per frame
    vids, targets = [], []
    for v in range(n_vid):
        noisy = [colours[v, i] + rng.normal(0, 8, (20, 24, 3)) for i in range(t)]
        raw = [np.clip(f, 0, 255).astype(np.uint8) for f in noisy]
        vids.append(prepare_frames(raw, 16))
        tgt = np.full((t, FUSED_DIM), np.nan, dtype=np.float32)
        tgt[:, slot_offsets()["dwpose"]] = ((colours[v, :, ::-1] / 255.0 - 0.5) * 3.0) @ proj  # RGB -> 384
        targets.append(tgt)
    slot_mask = torch.zeros(n_vid, t, 5, dtype=torch.bool)
    slot_mask[..., SLOT_ORDER.index("dwpose")] = True
    return torch.from_numpy(np.stack(vids)), torch.from_numpy(np.stack(targets)), slot_mask


def test_tiny_model_learns_mean_colour(one_thread):
    rng = np.random.default_rng(0)
    proj = rng.normal(size=(3, SLOT_DIMS["dwpose"])) / np.sqrt(3)
    x, y, slot_mask = _colour_videos(rng, 16, 4, proj)
    pad = torch.zeros(16, 4, dtype=torch.bool)
    pad[::2, 3] = True
    dw = slot_offsets()["dwpose"]
    spread = y[..., dw][~pad].var(dim=0).mean().item()  # MSE of the best constant prediction

    m = tiny(seed=0)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3, weight_decay=0.0)
    with torch.no_grad():
        first = video2pose_loss(m(x, pad), y, slot_mask, pad)["loss"].item()
    m.train()
    for _ in range(150):
        loss = video2pose_loss(m(x, pad), y, slot_mask, pad)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    with torch.no_grad():
        last = video2pose_loss(m(x, pad), y, slot_mask, pad)["loss"].item()
        x_new, y_new, sm_new = _colour_videos(rng, 4, 4, proj)
        held_out = video2pose_loss(m(x_new, torch.zeros(4, 4, dtype=torch.bool)), y_new, sm_new,
                                   torch.zeros(4, 4, dtype=torch.bool))["loss"].item()
    assert np.isfinite(last) and last < 0.02 * first and last < 0.05 * spread
    assert held_out < 0.2 * spread  # a function of the pixels, not a memorised table


# --------------------------------------------------------------------------------------------- frames


def test_prepare_frame_resize_rgb_normalisation():
    frame = np.zeros((30, 50, 3), dtype=np.uint8)
    frame[..., 0], frame[..., 1], frame[..., 2] = 255, 128, 0  # B, G, R
    out = prepare_frame(frame, 12)
    assert out.shape == (3, 12, 12) and out.dtype == np.float32
    rgb = np.array([0.0, 128 / 255, 1.0], dtype=np.float32)
    expect = (rgb - IMAGENET_MEAN) / IMAGENET_STD
    assert np.allclose(out.reshape(3, -1), expect[:, None], atol=1e-5)
    grad = np.tile(np.linspace(0, 255, 40).astype(np.uint8)[None, :, None], (40, 1, 3))
    up = prepare_frame(grad, 96)
    assert up[0, 0, 0] < up[0, 0, 95]  # left stays left after resizing
    with pytest.raises(ValueError, match="image_size"):
        prepare_frame(frame, 0)
    with pytest.raises(ValueError, match="BGR uint8"):
        prepare_frame(frame[..., 0], 12)
    with pytest.raises(ValueError, match="zero frames"):
        prepare_frames([], 12)


def test_read_frames_from_folder_and_manifest_entry(tmp_path):
    folder = tmp_path / "vid"
    folder.mkdir()
    for i in range(3):
        img = np.full((24, 32, 3), 40 * i, dtype=np.uint8)
        cv2.imwrite(str(folder / f"images{i + 1:04d}.png"), img)
    x = read_frames(folder, "frames", 16)
    assert x.shape == (3, 3, 16, 16) and x.dtype == np.float32
    grey = (np.array([40 * i for i in range(3)]) / 255.0)[:, None] - IMAGENET_MEAN[None, :]
    assert np.allclose(x.mean(axis=(2, 3)), grey / IMAGENET_STD[None, :], atol=1e-5)
    row = {"id": "v1", "source": str(folder), "media": "frames"}
    assert np.array_equal(entry_frames(row, 16), x)
    with pytest.raises(ValueError, match="v1.*media is 'poses'"):
        entry_frames({"id": "v1", "source": str(folder), "media": "poses"}, 16)


# --------------------------------------------------------------------------------------------- closeness


def test_closeness_identical_is_perfect_and_masked_slots_ignored():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(2, 5, FUSED_DIM)).astype(np.float32)
    slot_mask = rng.random((2, 5, 5)) > 0.3
    frame_mask = np.ones((2, 5), dtype=bool)
    frame_mask[1, 3:] = False
    same = feature_closeness(ref, ref.copy(), slot_mask, frame_mask)
    assert same["mse"] == 0.0 and same["cos"] == pytest.approx(1.0)
    for s in SLOT_ORDER:
        assert same[f"mse_{s}"] == 0.0 and same[f"cos_{s}"] == pytest.approx(1.0)
        i = SLOT_ORDER.index(s)
        assert same[f"frames_{s}"] == int((slot_mask[..., i] & frame_mask).sum())

    junk = ref.copy()
    for i, s in enumerate(SLOT_ORDER):
        off = slot_offsets()[s]
        bad = ~(slot_mask[..., i] & frame_mask)
        junk[..., off][bad] = 1e6
    assert feature_closeness(junk, ref, slot_mask, frame_mask) == same


def test_closeness_values_on_constructed_inputs():
    off = slot_offsets()
    ref = np.zeros((2, FUSED_DIM), dtype=np.float32)
    pred = np.zeros_like(ref)
    ref[:, off["dwpose"]] = 1.0
    pred[0, off["dwpose"]] = 1.0
    pred[1, off["dwpose"]] = -1.0  # opposite: cosine -1, squared error 4 per entry
    ref[:, off["mediapipe"]] = 2.0
    pred[:, off["mediapipe"]] = 1.0  # same direction: cosine 1, squared error 1 per entry
    slot_mask = np.zeros((2, 5), dtype=bool)
    slot_mask[:, :2] = True
    r = feature_closeness(pred, ref, slot_mask)
    assert r["mse_dwpose"] == pytest.approx(2.0) and r["cos_dwpose"] == pytest.approx(0.0)
    assert r["mse_mediapipe"] == pytest.approx(1.0) and r["cos_mediapipe"] == pytest.approx(1.0)
    assert np.isnan(r["mse_sapiens"]) and r["frames_sapiens"] == 0
    n_dw, n_mp = SLOT_DIMS["dwpose"], SLOT_DIMS["mediapipe"]
    assert r["mse"] == pytest.approx((4 * n_dw + 2 * n_mp) / (2 * (n_dw + n_mp)))
    # fused cosine per frame: dot = +-n_dw + 2 n_mp over norms sqrt(n_dw + n_mp) sqrt(n_dw + 4 n_mp)
    norms = np.sqrt((n_dw + n_mp) * (n_dw + 4 * n_mp))
    assert r["cos"] == pytest.approx(((n_dw + 2 * n_mp) / norms + (-n_dw + 2 * n_mp) / norms) / 2)
    assert r["frames"] == 2

    # accumulating videos one by one equals scoring them together
    acc = FeatureCloseness()
    acc.add(pred[:1], ref[:1], slot_mask[:1])
    acc.add(pred[1:], ref[1:], slot_mask[1:])
    assert acc.result() == pytest.approx(r, nan_ok=True)


def test_latent_closeness_and_row():
    z = torch.randn(3, 4, 8)
    mask = torch.tensor([[True] * 4, [True, True, False, False], [True, False, False, False]])
    other = z.clone()
    other[~mask] = 5.0
    lat = latent_closeness(other, z, mask)
    assert lat == {"latent_mse": 0.0, "latent_cos": pytest.approx(1.0), "latent_frames": 7}
    neg = latent_closeness(-z, z, mask)
    assert neg["latent_cos"] == pytest.approx(-1.0)
    assert neg["latent_mse"] == pytest.approx(float((4 * z[mask] ** 2).mean()), rel=1e-5)
    row = closeness_row({"mse": 0.5}, lat, dataset="demo", split="dev")
    assert list(row.columns[:3]) == ["dataset", "split", "mse"] and len(row) == 1
    assert row.loc[0, "latent_frames"] == 7
