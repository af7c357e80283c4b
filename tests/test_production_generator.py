"""DARSLP generator: config heads reach the modules, non-autoregressive shapes, masked losses, overfitting."""

from __future__ import annotations

import pytest
import torch

from pipelib.production.generator import (
    GeneratorConfig,
    LatentGenerator,
    TextToLatent,
    length_target_ratio,
    pad_latents,
    phase1_loss,
    phase2_loss,
    region_l1,
)
from pipelib.production.priors import masked_kl
from pipelib.text.encoders import LearnedTextEncoder
from pipelib.text.vocab import Vocab

REGIONS = {"body": slice(0, 8), "right_hand": slice(8, 36), "left_hand": slice(36, 64), "face": slice(64, 80)}
TINY = {"text_dim": 12, "d_model": 16, "enc_layers": 1, "enc_heads": 2, "dec_layers": 2, "dec_heads": 4,
        "ffn_dim": 32, "dropout": 0.0, "max_len": 10, "latent_dim": 80}


def tiny(**over) -> LatentGenerator:
    torch.manual_seed(0)
    gen = LatentGenerator(GeneratorConfig.from_dict({**TINY, **over}))
    gen.set_reference(torch.linspace(-1, 1, gen.cfg.latent_dim))
    return gen.eval()


def text_batch(lengths=(5, 3), dim=12, seed=1):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(len(lengths), max(lengths), dim, generator=g)
    pad = torch.arange(max(lengths)).unsqueeze(0) >= torch.tensor(lengths).unsqueeze(1)
    return feats, pad


def test_config_defaults_are_the_papers_and_unknown_keys_are_named():
    cfg = GeneratorConfig()
    assert (cfg.d_model, cfg.enc_layers, cfg.enc_heads, cfg.dec_layers, cfg.dec_heads) == (512, 3, 4, 6, 8)
    assert (cfg.ffn_dim, cfg.max_len, cfg.latent_dim, cfg.text_dim) == (1024, 300, 80, 768)
    # the reference code's fault: a misspelt head key must fail, not fall back to a default
    with pytest.raises(ValueError, match=r"production\.generator\.n_heads: unknown key"):
        GeneratorConfig.from_dict({"n_heads": 8})
    with pytest.raises(ValueError, match=r"production\.generator\.dec_heads"):
        GeneratorConfig.from_dict({"d_model": 30, "dec_heads": 8, "enc_heads": 2})
    with pytest.raises(ValueError, match=r"production\.generator\.max_len"):
        GeneratorConfig.from_dict({"max_len": 2.5})
    cfg = GeneratorConfig.from_dict({"dropout": "1e-1", "max_len": "120"})  # YAML strings convert
    assert cfg.dropout == 0.1 and cfg.max_len == 120
    assert GeneratorConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(("enc_heads", "dec_heads"), [(2, 8), (8, 2), (4, 4)])
def test_config_head_counts_reach_every_attention_module(enc_heads, dec_heads):
    gen = LatentGenerator(GeneratorConfig.from_dict({**TINY, "d_model": 32, "enc_layers": 2, "dec_layers": 3,
                                                     "enc_heads": enc_heads, "dec_heads": dec_heads}))
    assert len(gen.encoder.layers) == 2 and len(gen.decoder.layers) == 3
    assert [layer.self_attn.num_heads for layer in gen.encoder.layers] == [enc_heads] * 2
    assert [layer.self_attn.num_heads for layer in gen.decoder.layers] == [dec_heads] * 3
    assert [layer.multihead_attn.num_heads for layer in gen.decoder.layers] == [dec_heads] * 3


def test_paper_sized_model_has_paper_structure():
    gen = LatentGenerator(GeneratorConfig())
    assert [lay.self_attn.num_heads for lay in gen.encoder.layers] == [4, 4, 4]
    assert [lay.self_attn.num_heads for lay in gen.decoder.layers] == [8] * 6
    assert gen.decoder.layers[0].linear1.out_features == 1024 and gen.text_proj.in_features == 768
    assert gen.out.out_features == 80 and gen.query_proj.in_features == 80


def test_forward_is_non_autoregressive_with_lengths_in_range():
    gen = tiny()
    feats, pad = text_batch()
    with torch.no_grad():
        latents, ratio = gen(feats, pad)
    assert latents.shape == (2, 10, 80) and ratio.shape == (2,)
    assert torch.all((ratio > 0) & (ratio < 1))
    lengths = gen.predict_lengths(ratio)
    assert lengths.dtype == torch.long and torch.all((lengths >= 1) & (lengths <= 10))
    ratios = torch.tensor([0.0, 0.04, 0.26, 0.5, 1.0, 1.3])
    assert gen.predict_lengths(ratios).tolist() == [1, 1, 3, 5, 10, 10]
    # frame 0 sees later frames (no causal mask): changing the last query changes the first output
    with torch.no_grad():
        gen.query_pos.table[9] += 1.0
        moved, _ = gen(feats, pad)
    assert not torch.allclose(moved[:, 0], latents[:, 0])
    _, lengths2, mask = gen.generate(feats, pad)
    assert mask.shape == (2, 10) and mask.sum(1).tolist() == lengths2.tolist()


def test_padded_text_positions_do_not_matter():
    gen = tiny()
    feats, pad = text_batch()
    noisy = feats.clone()
    noisy[pad] = 1e3 * torch.randn(int(pad.sum()), 12)
    with torch.no_grad():
        a, ra = gen(feats, pad)
        b, rb = gen(noisy, pad)
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(ra, rb, atol=1e-6)
    with pytest.raises(ValueError, match="unpadded"):
        gen(feats, torch.ones_like(pad))
    with pytest.raises(ValueError, match=r"production\.generator\.text_dim"):
        gen(torch.zeros(2, 5, 7), pad)
    with pytest.raises(ValueError, match=r"production\.generator\.text_dim \(12\)"):
        TextToLatent(LearnedTextEncoder(Vocab.build(["a b"]), d_text=8), gen)


def test_reference_latent_drives_the_queries_and_is_saved():
    torch.manual_seed(0)
    gen = LatentGenerator(GeneratorConfig.from_dict(TINY)).eval()
    feats, pad = text_batch()
    with pytest.raises(RuntimeError, match="set_reference"):
        gen(feats, pad)
    gen.set_reference(torch.zeros(80))
    with torch.no_grad():
        a, _ = gen(feats, pad)
        gen.set_reference(torch.full((80,), 2.0))
        b, _ = gen(feats, pad)
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match="80"):
        gen.set_reference(torch.zeros(79))
    other = LatentGenerator(GeneratorConfig.from_dict(TINY)).eval()
    other.load_state_dict(gen.state_dict())
    with torch.no_grad():
        assert torch.equal(other(feats, pad)[0], b)


def test_latent_box_clamps_axes_the_training_latents_do_not_use():
    # Training latents of one region vary along one axis only (direction u); the other region is free.
    g = torch.Generator().manual_seed(3)
    u = torch.nn.functional.normalize(torch.randn(40, generator=g), dim=0)
    train = torch.zeros(500, 80)
    train[:, :40] = (2 * torch.rand(500, 1, generator=g) - 1) * u + 0.5  # within 1.8 sd of the mean
    train[:, 40:] = torch.randn(500, 40, generator=g)
    regions = {"a": slice(0, 40), "b": slice(40, 80)}
    gen = tiny(latent_box=3.0)
    assert torch.equal(gen.keep_in_box(train), train)  # before set_latent_box: unchanged
    gen.set_latent_box(train, regions)
    kept = gen.keep_in_box(train)
    assert torch.allclose(kept[:, :40], train[:, :40], atol=1e-4)  # training latents lie in their box
    assert (kept[:, 40:] - train[:, 40:]).abs().mean() < 0.01  # Gaussian region: only rare extremes move
    off = train[:3].clone()
    off[:, :40] += 2.0 * torch.linalg.qr(torch.stack([u, torch.randn(40, generator=g)], 1))[0][:, 1]
    inside = gen.keep_in_box(off)
    assert torch.allclose(inside[:, :40], train[:3, :40], atol=1e-3)  # the unused axis is pulled back
    far = train[:1].clone()
    far[:, :40] += 100.0 * u
    assert float(((gen.keep_in_box(far)[:, :40] - 0.5) @ u).abs()) <= 3.0 * float(train[:, 0:40].sub(0.5)
                                                                                 .matmul(u).std()) + 1e-3
    other = tiny(latent_box=3.0)
    other.load_state_dict(gen.state_dict())  # the box travels with the checkpoint
    assert torch.equal(other.keep_in_box(off), inside)
    assert torch.equal(tiny(latent_box=0.0).keep_in_box(off), off)
    with pytest.raises(ValueError, match="latent_box"):
        GeneratorConfig.from_dict({"latent_box": -1})


def test_masked_loss_ignores_padded_frames():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(2, 10, 80, generator=g, requires_grad=True)
    target = torch.randn(2, 6, 80, generator=g)  # shorter than max_len: compared with pred[:, :6]
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[0, :6], mask[1, :3] = True, True
    ratio_t = torch.tensor([0.6, 0.3])
    kw = {"length_pred": torch.tensor([0.5, 0.5]), "length_target_ratio": ratio_t}
    clean = phase1_loss(pred, target, mask, REGIONS, **kw)
    garbage = target.clone()
    garbage[1, 3:] = float("nan")
    garbage[1, 4] = 1e6
    dirty = phase1_loss(pred, garbage, mask, REGIONS, **kw)
    assert torch.isfinite(dirty["loss"]) and torch.equal(dirty["loss"], clean["loss"])
    dirty["loss"].backward()
    assert torch.all(pred.grad[1, 3:] == 0) and torch.all(pred.grad[0, 6:] == 0)
    assert pred.grad[0, :6].abs().sum() > 0
    assert torch.allclose(clean["length"], torch.tensor(0.15))  # mean(|0.5-0.6|, |0.5-0.3|)
    assert torch.allclose(clean["loss"], clean["latent"] + clean["length"])


def test_region_weights_apply_per_region():
    target = torch.zeros(1, 4, 80)
    mask = torch.tensor([[True, True, False, False]])
    pred = torch.zeros(1, 4, 80)
    pred[..., 8:36] = 0.5     # right hand off by 0.5 in each of its 28 channels
    pred[..., 64:80] = 1.0    # face off by 1.0 in each of its 16 channels
    total, parts = region_l1(pred, target, mask, REGIONS, (1, 14, 10, 2))
    # per region: sum over channels, mean over the 2 valid frames
    assert [round(float(p), 4) for p in parts] == [0.0, 14.0, 0.0, 16.0]
    assert torch.isclose(total, torch.tensor(14 * 14.0 + 2 * 16.0))
    heavier, _ = region_l1(pred, target, mask, list(REGIONS.values()), (1, 28, 10, 2))
    assert torch.isclose(heavier - total, torch.tensor(14 * 14.0))
    out = phase1_loss(pred, target, mask, REGIONS, length_pred=torch.tensor([0.2]),
                      length_target_ratio=torch.tensor([0.2]), length_weight=3.0)
    assert torch.isclose(out["loss"], total) and torch.isclose(out["latent/face"], torch.tensor(16.0))
    with pytest.raises(ValueError, match="region weights"):
        region_l1(pred, target, mask, REGIONS, (1, 2, 3))


def test_pad_latents_targets_masks_and_ratios():
    seqs = [torch.ones(3, 80), 2 * torch.ones(12, 80)]
    targets, mask, ratio = pad_latents(seqs, max_len=10)
    assert targets.shape == (2, 10, 80) and mask.sum(1).tolist() == [3, 10]
    assert torch.all(targets[0, 3:] == 0) and torch.all(targets[1] == 2)
    assert torch.allclose(ratio, torch.tensor([0.3, 1.0]))
    assert torch.allclose(length_target_ratio(torch.tensor([150, 300, 450]), 300), torch.tensor([0.5, 1, 1]))


def test_tiny_generator_overfits_four_sentences():
    texts = ["der hund bellt laut", "die katze schläft", "morgen regnet es im norden", "heute sonne"]
    lengths = [7, 4, 9, 5]
    g = torch.Generator().manual_seed(0)
    t = torch.linspace(0, 1, 10).unsqueeze(-1)
    seqs = [torch.sin(6 * t[:n] * torch.rand(1, 80, generator=g) + torch.randn(1, 80, generator=g))
            for n in lengths]
    targets, mask, ratio = pad_latents(seqs, max_len=10)
    torch.manual_seed(0)
    vocab = Vocab.build(texts)
    gen = LatentGenerator(GeneratorConfig.from_dict({**TINY, "d_model": 32, "text_dim": 32, "ffn_dim": 64}))
    gen.set_reference(targets[mask].mean(0))
    model = TextToLatent(LearnedTextEncoder(vocab, d_text=32, dropout=0.0), gen).train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest and robust on a busy machine
    losses = []
    try:
        for _ in range(200):
            pred, pred_ratio = model(texts)
            out = phase1_loss(pred, targets, mask, REGIONS, length_pred=pred_ratio, length_target_ratio=ratio)
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
            losses.append(out["loss"].item())
    finally:
        torch.set_num_threads(threads)
    assert losses[-1] < 0.1 * losses[0], (losses[0], losses[-1])
    model.eval()
    with torch.no_grad():
        _, lens, _ = model.generator.generate(*model.text_encoder.encode(texts))
    assert lens.tolist() == lengths


def test_phase2_adds_the_masked_channel_prior_kl():
    g = torch.Generator().manual_seed(3)
    pred = torch.randn(2, 10, 80, generator=g)
    target = torch.randn(2, 8, 80, generator=g)
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[0, :8], mask[1, :5] = True, True
    prior_mean, prior_logvar = torch.randn(80, generator=g), 0.3 * torch.randn(80, generator=g)
    kw = {"length_pred": torch.tensor([0.7, 0.4]), "length_target_ratio": torch.tensor([0.8, 0.5])}
    p1 = phase1_loss(pred, target, mask, REGIONS, **kw)
    p2 = phase2_loss(pred, target, mask, REGIONS, **kw, prior_mean=prior_mean, prior_logvar=prior_logvar,
                     kl_weight=0.5)
    weights = torch.cat([torch.full((n,), w) for n, w in zip((8, 28, 28, 16), (1.0, 10.0, 6.0, 1.0),
                                                             strict=True)])
    want_kl = masked_kl(pred[:, :8], mask, prior_mean, prior_logvar, weights)
    assert p2["kl"] > 0 and torch.isclose(p2["kl"], want_kl)
    assert torch.isclose(p2["loss"], p1["loss"] + 0.5 * want_kl)
    # predictions at padded frames change neither the KL statistics nor the loss
    moved = pred.clone()
    moved[1, 5:] += 100.0
    again = phase2_loss(moved, target, mask, REGIONS, **kw, prior_mean=prior_mean, prior_logvar=prior_logvar,
                        kl_weight=0.5)
    assert torch.equal(again["loss"], p2["loss"])
    # the KL region weights apply: weighting only the face leaves the face channels' share
    face = phase2_loss(pred, target, mask, REGIONS, **kw, prior_mean=prior_mean, prior_logvar=prior_logvar,
                       kl_region_weights=(0, 0, 0, 1))
    face_w = torch.zeros(80)
    face_w[64:] = 1.0
    assert torch.isclose(face["kl"], masked_kl(pred[:, :8], mask, prior_mean, prior_logvar, face_w))
