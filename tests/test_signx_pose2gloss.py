"""SignX stage-1 Pose2Gloss: config, slot fusion masking, padding independence, losses, overfitting."""

from __future__ import annotations

import math

import pytest
import torch

from pipelib.batching import pad_token_ids
from pipelib.estimators.base import FUSED_DIM, SLOT_DIMS, SLOT_ORDER
from pipelib.fusion.stats import slot_offsets
from pipelib.signx.pose2gloss import (
    Pose2Gloss,
    Pose2GlossConfig,
    info_nce,
    pose2gloss_loss,
    word_matching_loss,
)

TINY = dict(vocab_size=10, d_type=8, fusion_heads=2, pad_width=48, d_latent=32, vit_layers=1, vit_heads=2,
            vit_ffn=64, dropout=0.0, emb_dropout=0.0, codebook_dim=16, dec_layers=1, dec_heads=2, dec_ffn=32)
SEQS = [[4, 5, 6], [7, 8], [9, 4, 7], [5, 5, 8]]




def tiny(seed: int = 0, **over) -> Pose2Gloss:
    torch.manual_seed(seed)
    return Pose2Gloss(Pose2GlossConfig.from_dict({**TINY, **over})).eval()


def batch(b: int = 4, t: int = 12, lengths=(12, 10, 9, 12), seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths[:b])
    return {"features": torch.randn(b, t, FUSED_DIM, generator=g),
            "slot_mask": torch.ones(b, t, len(SLOT_ORDER), dtype=torch.bool),
            "pad": torch.arange(t)[None, :] >= lengths[:, None],
            "glosses": pad_token_ids(SEQS[:b], 0)}


def test_config_rejects_unknown_and_bad_keys():
    with pytest.raises(ValueError, match=r"signx\.pose2gloss\.model\.n_heads"):
        Pose2GlossConfig.from_dict({**TINY, "n_heads": 4})
    with pytest.raises(ValueError, match=r"signx\.pose2gloss\.model\.pad_width"):
        Pose2GlossConfig.from_dict({**TINY, "pad_width": 39})  # < 5 * d_type
    with pytest.raises(ValueError, match=r"signx\.pose2gloss\.model\.text_head"):
        Pose2GlossConfig.from_dict({**TINY, "text_head": "t5"})
    with pytest.raises(ValueError, match=r"signx\.pose2gloss\.model\.vocab_size"):
        Pose2GlossConfig.from_dict({})  # vocab_size must come from the gloss vocabulary
    cfg = Pose2GlossConfig.from_dict({"vocab_size": 50})
    assert (cfg.d_latent, cfg.pad_width, cfg.temperature) == (2048, 2048, 0.3)
    assert Pose2GlossConfig.from_dict(cfg.to_dict()) == cfg


def test_slot_encoders_take_their_slot_widths_and_wrong_width_is_rejected():
    model = tiny()
    widths = [enc.proj.in_features for enc in model.fusion.encoders]
    assert widths == [SLOT_DIMS[s] for s in SLOT_ORDER] == [384, 258, 165, 576, 576]
    assert model.fusion.pad_match.in_features == 48 and model.fusion.pad_match.out_features == 32
    b = batch(2)
    with pytest.raises(ValueError, match="1959"):
        model.encode(b["features"][..., :-1], b["slot_mask"], b["pad"])


def test_latent_width_from_config_and_padding_frames_are_zero():
    b = batch()
    for width in (32, 24):
        lat = tiny(d_latent=width).encode(b["features"], b["slot_mask"], b["pad"])
        assert lat.shape == (4, 12, width)
        assert torch.all(lat[b["pad"]] == 0) and torch.all(lat[~b["pad"]].abs().sum(-1) > 0)


def test_invalid_slots_do_not_influence_the_latents():
    model = tiny()
    b = batch()
    sm = b["slot_mask"].clone()
    sm[0, :, 1] = False          # MediaPipe missing for the whole first video
    sm[1, 3, [0, 2, 4]] = False  # three slots missing in one frame
    sm[2, 5, :] = False          # a frame with no valid slot at all
    ref = model.encode(b["features"], sm, b["pad"])
    junk = b["features"].clone()
    off = slot_offsets()
    junk[0, :, off["mediapipe"]] = 1e6
    junk[1, 3, off["dwpose"]] = float("nan")
    junk[1, 3, off["smplerx"]] = -3e4
    junk[1, 3, off["sapiens"]] = 27.0
    junk[2, 5, :] = float("nan")
    out = model.encode(junk, sm, b["pad"])
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)
    # control: the same change in a VALID slot does change the latents
    junk[3, :, off["mediapipe"]] = 5.0
    assert not torch.allclose(model.encode(junk, sm, b["pad"])[3], ref[3], atol=1e-3)


def test_invalid_slots_are_masked_out_of_the_fusion_attention():
    model = tiny()
    b = batch(1)
    sm = b["slot_mask"].clone()
    sm[0, 2] = torch.tensor([True, False, False, False, False])  # one valid slot: softmax over 1 key
    sm[0, 4] = torch.tensor([True, False, True, False, False])   # control: two valid slots
    ref = model.encode(b["features"], sm, b["pad"])
    d = TINY["d_type"]
    with torch.no_grad():  # new key projection: only frames attending over >= 2 keys can notice
        model.fusion.attn.in_proj_weight[d : 2 * d] = torch.randn(d, d)
    fused = model.fusion(b["features"], sm)  # (1, T, d_latent)
    ref_fused = tiny().fusion(b["features"], sm)
    torch.testing.assert_close(fused[0, 2], ref_fused[0, 2], rtol=0, atol=1e-6)
    assert not torch.allclose(fused[0, 4], ref_fused[0, 4], atol=1e-4)
    assert not torch.allclose(model.encode(b["features"], sm, b["pad"])[0, 4], ref[0, 4], atol=1e-4)


def test_padding_frames_do_not_influence_real_frames():
    model = tiny()
    b = batch()
    ref = model.encode(b["features"], b["slot_mask"], b["pad"])
    junk = b["features"].clone()
    junk[b["pad"]] = 1e4 * torch.randn(int(b["pad"].sum()), FUSED_DIM)
    out = model.encode(junk, b["slot_mask"], b["pad"])
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    # a sequence encoded alone, without its padding, gives the same frames
    alone = model.encode(b["features"][2:3, :9], b["slot_mask"][2:3, :9], b["pad"][2:3, :9])
    torch.testing.assert_close(alone[0], ref[2, :9], rtol=1e-4, atol=1e-5)
    # control: a change in one REAL frame reaches the other real frames (attention over time)
    junk[2, 0] += 3.0
    assert not torch.allclose(model.encode(junk, b["slot_mask"], b["pad"])[2, 5], ref[2, 5], atol=1e-4)


def test_an_all_padding_sequence_gives_zeros_and_finite_gradients():
    model = tiny().train()
    b = batch()
    b["pad"][1] = True
    assert torch.all(model.encode(b["features"], b["slot_mask"], b["pad"])[1] == 0)
    pose2gloss_loss(model, b)["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_info_nce_is_lower_for_aligned_pairs_than_for_shuffled_ones():
    g = torch.Generator().manual_seed(1)
    text = torch.randn(6, 16, generator=g)
    pose = text + 0.1 * torch.randn(6, 16, generator=g)
    aligned = info_nce(pose, text, 0.3)
    shuffled = info_nce(pose[torch.tensor([1, 2, 3, 4, 5, 0])], text, 0.3)
    assert aligned < 0.5 < math.log(6) < shuffled  # log(6): the loss of uninformative similarities
    # symmetric, and a lower temperature sharpens the aligned case
    torch.testing.assert_close(info_nce(text, pose, 0.3), aligned)
    assert info_nce(pose, text, 0.1) < aligned


def test_word_matching_loss_is_zero_for_the_right_tokens_and_grows_for_wrong_ones():
    book = torch.eye(6)
    glosses = torch.tensor([[4, 5, 0]])
    right = torch.zeros(1, 4, 6)
    right[0, 0, 4] = right[0, 1, 4] = right[0, 2, 5] = 1.0  # 4 4 5 blank-ish frame ignored by weight
    weight = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    wrong = torch.zeros(1, 4, 6)
    wrong[0, :, 3] = 1.0
    half = 0.5 * (right + wrong)
    l_right, l_half, l_wrong = (word_matching_loss(p, weight, book, glosses, 0) for p in (right, half, wrong))
    assert float(l_right) < 0.06  # 4 twice, 5 once vs the mean of 4 and 5: cos = 0.949
    assert float(l_right) < float(l_half) < float(l_wrong) == pytest.approx(1.0)


@pytest.mark.parametrize("head", ["ctc", "decoder"])
def test_loss_terms_are_finite_weighted_and_all_get_gradients(head):
    model = tiny(text_head=head, word_weight=0.5, contrast_weight=2.0).train()
    out = pose2gloss_loss(model, batch())
    assert set(out) == {"loss", "text", "word", "contrast"}
    assert all(torch.isfinite(v) and v.dim() == 0 for v in out.values())
    torch.testing.assert_close(out["loss"], out["text"] + 0.5 * out["word"] + 2.0 * out["contrast"])
    for name in ("text", "word", "contrast"):
        model.zero_grad()
        out = pose2gloss_loss(model, batch())
        out[name].backward()
        pose_grad = model.fusion.encoders[0].proj.weight.grad
        assert pose_grad is not None and pose_grad.abs().sum() > 0, name
        book_grad = model.codebook.grad  # word: through the logits only (e_pred / e_true rows are detached)
        assert book_grad is not None and book_grad.abs().sum() > 0, name


@pytest.mark.parametrize("head, steps", [("ctc", 150), ("decoder", 150)])
def test_tiny_model_overfits_four_sequences(head, steps, one_thread):
    model = tiny(seed=0, text_head=head).train()
    b = batch()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        loss = pose2gloss_loss(model, b)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.recognise(b["features"], b["slot_mask"], b["pad"]) == SEQS  # [5, 5, 8] needs a CTC blank
    assert model.training  # recognise restores the mode
    # the trained contrastive term tells true (video, glosses) pairs from shuffled ones
    with torch.no_grad():
        aligned = pose2gloss_loss(model, b)["contrast"]
        rolled = {**b, "glosses": b["glosses"][torch.tensor([1, 2, 3, 0])]}
        shuffled = pose2gloss_loss(model, rolled)["contrast"]
    assert aligned < 0.5 * shuffled
