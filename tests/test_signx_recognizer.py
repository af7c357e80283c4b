"""SignX latent-space recogniser: config, T -> ceil(T/4) masking, padding independence, losses, the
attention-entropy beam penalty and a toy latent -> gloss overfit."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from pipelib.batching import pad_token_ids
from pipelib.metrics.slrtp import wer
from pipelib.models.decoding import StepOutput, beam_search
from pipelib.signx.entropy_penalty import attention_entropy, entropy_penalty
from pipelib.signx.recognizer import (
    LatentRecognizer,
    RecognizerConfig,
    ctc_gloss_loss,
    recognizer_loss,
)

D = 8
NO_DROPOUT = dict(conv_dropout=0.0, lstm_dropout=0.0, attn_dropout=0.0, relu_dropout=0.0,
                  residual_dropout=0.0, embedding_dropout=0.0)
TINY = dict(gloss_vocab_size=9, input_dim=D, conv_channels=8, hidden=16, lstm_hidden=8, lstm_layers=2,
            d_model=16, enc_layers=1, dec_layers=1, heads=2, ffn=32, **NO_DROPOUT)




def tiny(seed: int = 0, **over) -> LatentRecognizer:
    torch.manual_seed(seed)
    return LatentRecognizer(RecognizerConfig.from_dict({**TINY, **over})).eval()


def padded(lengths: list[int], t: int | None = None, seed: int = 0, fill: float = 0.0):
    """Random latents (B, T, D) whose padding frames hold ``fill`` (garbage the model must ignore)."""
    g = torch.Generator().manual_seed(seed)
    t = t or max(lengths)
    lengths_t = torch.tensor(lengths)
    pad = torch.arange(t)[None] >= lengths_t[:, None]  # (B, T)
    x = torch.randn(len(lengths), t, D, generator=g)
    return x.masked_fill(pad[..., None], fill), pad


# --------------------------------------------------------------------------------------------- config


def test_config_rejects_unknown_and_bad_keys():
    with pytest.raises(ValueError, match=r"signx\.recognizer\.model\.lstm_size"):
        RecognizerConfig.from_dict({**TINY, "lstm_size": 3})
    with pytest.raises(ValueError, match=r"signx\.recognizer\.model\.conv_kernels"):
        RecognizerConfig.from_dict({**TINY, "conv_kernels": [3, 4]})
    with pytest.raises(ValueError, match=r"signx\.recognizer\.model\.text_vocab_size"):
        RecognizerConfig.from_dict({**TINY, "target": "text"})
    with pytest.raises(ValueError, match=r"signx\.recognizer\.model\.target"):
        RecognizerConfig.from_dict({**TINY, "target": "pose"})
    cfg = RecognizerConfig.from_dict({**TINY, "conv_kernels": [3, 9]})
    assert cfg.conv_kernels == (3, 9) and cfg.to_dict()["conv_kernels"] == [3, 9]
    assert RecognizerConfig.from_dict(cfg.to_dict()) == cfg


def test_config_reaches_modules():
    over = dict(conv_kernels=[5, 9], conv_channels=6, conv_blocks=3, hidden=12, lstm_hidden=7, lstm_layers=3,
                enc_layers=2, dec_layers=3, conv_dropout=0.15, lstm_dropout=0.25, attn_dropout=0.3,
                relu_dropout=0.5, residual_dropout=0.4, embedding_dropout=0.05, target="text",
                text_vocab_size=11)
    m = tiny(**over)
    blocks = m.temporal.blocks
    assert len(blocks) == 3
    assert [c.kernel_size[0] for c in blocks[0].convs] == [5, 9]
    assert [c.padding[0] for c in blocks[0].convs] == [2, 4]
    assert blocks[0].convs[0].in_channels == D and blocks[1].convs[0].in_channels == 12
    assert blocks[0].proj.in_features == 12 and blocks[0].proj.out_features == 12  # 2 branches x 6
    assert all(b.drop.p == 0.15 for b in blocks)
    lstm = m.bilstm.lstm
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.bidirectional) == (12, 7, 3, True)
    assert lstm.dropout == 0.25 and m.bilstm.drop.p == 0.25
    assert m.src_proj.in_features == 14
    s2s = m.seq2seq
    assert len(s2s.encoder_layers) == 2 and len(s2s.decoder_layers) == 3
    assert s2s.src_drop.p == 0.05 and s2s.tgt_drop.p == 0.05
    for layer in [*s2s.encoder_layers, *s2s.decoder_layers]:
        attns = [mod for mod in layer.modules() if isinstance(mod, nn.MultiheadAttention)]
        assert attns and all(a.dropout == 0.3 for a in attns)
        assert [d.p for d in layer.ff.modules() if isinstance(d, nn.Dropout)] == [0.5]
        assert layer.drop.p == 0.4
    assert m.ctc_head.out_features == 9  # CTC on the gloss vocabulary (blank = pad id 0)
    assert s2s.out.out_features == 11  # decoder generates text


# --------------------------------------------------------------------------------------------- masking


def test_lengths_and_masks_are_ceil_quarter_for_odd_lengths():
    lengths = [1, 2, 3, 5, 7, 9, 13, 17]
    x, pad = padded(lengths, t=19)
    enc = tiny().encode(x, pad)
    expected = [math.ceil(n / 4) for n in lengths]
    assert enc.lengths.tolist() == expected
    assert enc.memory.shape == (len(lengths), math.ceil(19 / 4), TINY["d_model"])
    want_pad = torch.arange(enc.pad.size(1))[None] >= torch.tensor(expected)[:, None]
    assert torch.equal(enc.pad, want_pad)
    # each block alone halves with ceil: 19 -> 10 -> 5 frames, 7 -> 4 -> 2
    h, p = tiny().temporal.blocks[0](x, pad)
    assert h.size(1) == 10 and (~p).sum(1).tolist() == [math.ceil(n / 2) for n in lengths]
    assert bool((h[p] == 0).all())


@pytest.mark.parametrize("train_mode", [False, True])
def test_padding_does_not_change_valid_outputs(train_mode):
    m = tiny(seed=3)
    m.train(train_mode)  # no dropout: train mode differs only by BatchNorm batch statistics (real frames)
    lengths = [11, 6, 3]
    x, pad = padded(lengths, seed=1)
    ref = m.encode(x, pad)
    # 9 more padding frames holding large garbage; same real frames
    x2, pad2 = padded(lengths, t=20, seed=1, fill=0.0)
    x2[:, :11] = x
    x2 = x2.masked_fill(pad2[..., None], 50.0)
    out = m.encode(x2, pad2)
    assert torch.equal(out.lengths, ref.lengths)
    for b, n in enumerate(ref.lengths.tolist()):
        torch.testing.assert_close(out.memory[b, :n], ref.memory[b, :n], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(m.ctc_logits(out)[0, :3], m.ctc_logits(ref)[0, :3], atol=1e-5, rtol=1e-5)
    if not train_mode:  # running statistics: an item alone gives what it gives inside a batch
        for b, n in enumerate(lengths):
            alone = m.encode(x[b : b + 1, :n], pad[b : b + 1, :n])
            k = alone.lengths.item()
            torch.testing.assert_close(alone.memory[0, :k], ref.memory[b, :k], atol=1e-5, rtol=1e-5)


def test_rejects_wrong_width_and_empty_sequences():
    m = tiny()
    with pytest.raises(ValueError, match="input_dim"):
        m.encode(torch.zeros(1, 4, D + 1), torch.zeros(1, 4, dtype=torch.bool))
    x, pad = padded([4, 4])
    pad[1] = True
    with pytest.raises(ValueError, match="no real frame"):
        m.encode(x, pad)


# --------------------------------------------------------------------------------------------- losses


def test_ctc_loss_finite_with_short_and_infeasible_targets():
    m = tiny().train()
    x, pad = padded([5, 8, 16, 2])  # T' = 2, 2, 4, 1
    glosses = pad_token_ids([[4], [5, 6], [7, 8, 4], [5, 6, 7]], 0)  # last: 3 glosses in 1 step
    out = recognizer_loss(m, {"latents": x, "pad": pad, "glosses": glosses})
    assert all(torch.isfinite(v) for v in out.values())
    assert out["ctc"] > 0 and out["ce"] > 0
    torch.testing.assert_close(out["loss"], out["ctc"] + out["ce"])
    out["loss"].backward()
    grads = [p.grad for p in m.parameters() if p.grad is not None]
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads)
    # an empty target is fine too (all blanks)
    logits = torch.randn(2, 3, 9)
    val = ctc_gloss_loss(logits, torch.tensor([3, 1]), torch.zeros(2, 1, dtype=torch.long), blank=0)
    assert torch.isfinite(val)


def test_text_target_uses_text_and_weights_apply():
    m = tiny(target="text", text_vocab_size=12, ce_weight=0.5, ctc_weight=2.0, smooth_weight=0.3,
             smooth_radius=0.0).train()
    x, pad = padded([9, 6])
    batch = {"latents": x, "pad": pad, "glosses": pad_token_ids([[4, 5], [6]], 0)}
    with pytest.raises(KeyError, match="text"):
        recognizer_loss(m, batch)
    batch["text"] = pad_token_ids([[10, 11, 4], [5]], 0)  # ids beyond the gloss vocabulary
    out = recognizer_loss(m, batch)
    assert out["smooth"] > 0
    torch.testing.assert_close(out["loss"], 2.0 * out["ctc"] + 0.5 * out["ce"] + 0.3 * out["smooth"])


# ------------------------------------------------------------------------------------- entropy penalty


def test_attention_entropy_values():
    attn = torch.tensor([[0.25, 0.25, 0.25, 0.25, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(attention_entropy(attn), torch.tensor([math.log(4), 0.0, math.log(2)]))
    term = entropy_penalty(2.0)
    pen = term(torch.zeros(3, 1, dtype=torch.long), StepOutput(torch.zeros(3, 6), attn))
    assert pen.shape == (3, 1)
    torch.testing.assert_close(pen[:, 0], -2.0 * torch.tensor([math.log(4), 0.0, math.log(2)]))
    with pytest.raises(ValueError, match="with_attention=True"):
        term(torch.zeros(1, 1, dtype=torch.long), StepOutput(torch.zeros(1, 6)))
    with pytest.raises(ValueError, match=">= 0"):
        entropy_penalty(-1.0)


def test_entropy_penalty_changes_the_beam_choice():
    """After <bos>, A (p .6) is likelier than B (p .4); both then end. A's decoder state attends uniformly
    over 8 source steps (entropy log 8), B's attends to one step. The penalty must pick B."""
    bos, eos, tok_a, tok_b, v = 1, 2, 3, 4, 5
    uniform, peaked = torch.full((8,), 1 / 8), torch.eye(8)[2]

    def step(prefix: torch.Tensor, rows: torch.Tensor) -> StepOutput:
        logp = torch.full((prefix.size(0), v), -1e4)
        attn = torch.empty(prefix.size(0), 8)
        for i, last in enumerate(prefix[:, -1].tolist()):
            if last == bos:
                logp[i, tok_a], logp[i, tok_b] = math.log(0.6), math.log(0.4)
                attn[i] = torch.full((8,), 1 / 8)
            else:
                logp[i, eos] = 0.0
                attn[i] = uniform if last == tok_a else peaked
        return StepOutput(logp, attn)

    kw = dict(beam=2, bos_id=bos, eos_id=eos, max_len=4, alpha=0.0)
    assert beam_search(step, 1, **kw) == [[tok_a]]
    assert beam_search(step, 1, score_terms=[entropy_penalty(0.0)], **kw) == [[tok_a]]
    assert beam_search(step, 1, score_terms=[entropy_penalty(1.0)], **kw) == [[tok_b]]


# --------------------------------------------------------------------------------------------- learning


def toy_data(seed: int = 0):
    """Each gloss 4..8 is a prototype latent held for 6-9 noisy frames; no gloss repeats back to back."""
    g = torch.Generator().manual_seed(seed)
    proto = torch.randn(9, D, generator=g) * 2.0
    seqs = [[4, 5, 6], [7, 8], [5, 4], [6, 7, 8], [8], [4, 6, 5], [7, 4], [5, 8, 6, 7]]
    clips = []
    for seq in seqs:
        parts = []
        for tok in seq:
            n = int(torch.randint(6, 10, (1,), generator=g))
            parts.append(proto[tok].repeat(n, 1) + 0.3 * torch.randn(n, D, generator=g))
        clips.append(torch.cat(parts))  # (T_i, D)
    lengths = torch.tensor([len(c) for c in clips])
    latents = torch.zeros(len(clips), int(lengths.max()), D)
    for i, c in enumerate(clips):
        latents[i, : len(c)] = c
    pad = torch.arange(latents.size(1))[None] >= lengths[:, None]
    return latents, pad, seqs


def test_tiny_recognizer_learns_toy_glosses(one_thread):
    latents, pad, seqs = toy_data()
    m = tiny(seed=0, conv_channels=16, hidden=32, lstm_hidden=16, lstm_layers=1, d_model=32, ffn=64,
             ce_weight=0.5).train()
    batch = {"latents": latents, "pad": pad, "glosses": pad_token_ids(seqs, 0)}
    names = {i: f"G{i}" for i in range(9)}
    refs = [" ".join(names[t] for t in s) for s in seqs]
    assert wer([" ".join(names[t] for t in h) for h in m.recognise_glosses(latents, pad)], refs) > 50
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    for step in range(300):
        out = recognizer_loss(m, batch)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        if step % 20 == 19 and m.recognise_glosses(latents, pad) == seqs:
            break
    assert m.training  # decoding restores the mode
    hyps = m.recognise_glosses(latents, pad)
    assert wer([" ".join(names[t] for t in h) for h in hyps], refs) == 0.0
    assert m.recognise_glosses(latents, pad, beam=3) == seqs  # CTC prefix beam agrees
    out = m.generate(latents[:2], pad[:2], max_len=6)  # 8-beam decoder with the entropy penalty
    assert len(out) == 2 and all(t not in (0, 1, 2) for h in out for t in h)
