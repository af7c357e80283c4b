"""The Sign Language Transformer back-translation model: config, masking, loss, and learning a toy mapping."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pipelib.batching import pad_sequences, pad_token_ids
from pipelib.models.back_translation import SignLanguageTransformer, SLTConfig
from pipelib.models.blocks import (
    DecoderLayer,
    EncoderLayer,
    MaskedBatchNorm,
    label_smoothed_cross_entropy,
)
from pipelib.text.vocab import Vocab

SENTENCES = [
    "morgen regen im norden",
    "morgen sonne im sueden",
    "heute wind",
    "heute schnee und regen im osten",
]


@pytest.fixture(autouse=True)
def _one_thread_for_every_test(one_thread):
    """One torch thread: on a shared 2-core machine two threads can stall each other for seconds."""


def tiny_config(vocab: Vocab, **over) -> SLTConfig:
    base = dict(vocab_size=len(vocab), d_model=32, enc_layers=2, dec_layers=2, heads=4, ffn=64,
                dropout=0.1, emb_dropout=0.1, pad_id=vocab.pad_id, bos_id=vocab.bos_id, eos_id=vocab.eos_id)
    base.update(over)
    return SLTConfig.from_dict(base)


def toy_data(n_per_class: int, seed: int):
    """Pose sequences (T in 6..10 frames) of 4 classes: a class pattern (the same for every ``seed``)
    moving between two key frames, plus noise and lengths drawn from ``seed``."""
    patterns = torch.randn(4, 2, 534, generator=torch.Generator().manual_seed(1234))  # (class, key, 534)
    g = torch.Generator().manual_seed(seed)
    poses, labels = [], []
    for i in range(n_per_class * 4):
        cls = i % 4
        t = int(torch.randint(6, 11, (1,), generator=g))
        w = torch.linspace(0, 1, t)[:, None]
        seq = (1 - w) * patterns[cls, 0] + w * patterns[cls, 1] + 0.1 * torch.randn(t, 534, generator=g)
        poses.append(seq.numpy())
        labels.append(cls)
    x, mask = pad_sequences(poses)
    return x, ~mask, labels


def test_config_rejects_unknown_and_bad_keys():
    with pytest.raises(ValueError, match=r"back_translation\.model\.n_layers: unknown key"):
        SLTConfig.from_dict({"vocab_size": 10, "n_layers": 2})
    with pytest.raises(ValueError, match=r"slt\.heads: expected int"):
        SLTConfig.from_dict({"vocab_size": 10, "heads": 2.5}, where="slt")
    with pytest.raises(ValueError, match=r"\.vocab_size"):
        SLTConfig.from_dict({})
    with pytest.raises(ValueError, match=r"\.d_model: must be even and divisible by heads"):
        SLTConfig.from_dict({"vocab_size": 10, "d_model": 36, "heads": 8})
    with pytest.raises(ValueError, match=r"\.emb_norm"):
        SLTConfig.from_dict({"vocab_size": 10, "emb_norm": "group"})
    cfg = SLTConfig.from_dict({"vocab_size": 10, "alpha": 1, "beam": 5})
    assert cfg.alpha == 1.0 and isinstance(cfg.alpha, float) and cfg.beam == 5
    assert SLTConfig.from_dict(cfg.to_dict()) == cfg
    # the documented defaults
    d = SLTConfig(vocab_size=10)
    assert (d.d_model, d.enc_layers, d.dec_layers, d.heads, d.ffn, d.input_dim) == (256, 3, 3, 8, 1024, 534)
    assert (d.beam, d.alpha, d.max_output_length, d.label_smoothing) == (3, 1.0, 30, 0.1)


def test_config_reaches_modules():
    cfg = SLTConfig(vocab_size=17, d_model=48, enc_layers=2, dec_layers=4, heads=6, ffn=80, input_dim=100,
                    emb_norm="layer")
    model = SignLanguageTransformer(cfg)
    enc = [m for m in model.modules() if isinstance(m, EncoderLayer)]
    dec = [m for m in model.modules() if isinstance(m, DecoderLayer)]
    assert len(enc) == 2 and len(dec) == 4
    mhas = [m for m in model.modules() if isinstance(m, torch.nn.MultiheadAttention)]
    assert len(mhas) == 2 + 2 * 4 and all(m.num_heads == 6 and m.embed_dim == 48 for m in mhas)
    assert all(layer.ff.net[0].out_features == 80 for layer in enc + dec)
    assert model.embed.proj.in_features == 100 and model.embed.proj.out_features == 48
    assert isinstance(model.embed.norm, torch.nn.LayerNorm)
    assert model.core.out.out_features == 17 and model.core.tok.emb.num_embeddings == 17
    assert isinstance(SignLanguageTransformer(SLTConfig(vocab_size=17)).embed.norm, MaskedBatchNorm)
    no_pad = torch.zeros(2, 5, dtype=torch.bool)
    logits = model(torch.randn(2, 5, 100), no_pad, torch.ones(2, 3, dtype=torch.long))
    assert logits.shape == (2, 3, 17)


@torch.no_grad()
def test_padding_and_future_tokens_do_not_leak():
    torch.manual_seed(0)
    model = SignLanguageTransformer(SLTConfig(vocab_size=12, d_model=32, heads=4, ffn=64)).eval()
    x = torch.randn(1, 5, 534)
    tgt = torch.tensor([[1, 5, 6, 7]])
    ref = model(x, torch.zeros(1, 5, dtype=torch.bool), tgt)
    # the same sequence padded with junk frames, batched beside a longer one
    xp = torch.cat([torch.cat([x, 100 * torch.randn(1, 4, 534)], 1), torch.randn(1, 9, 534)])
    pad = torch.tensor([[False] * 5 + [True] * 4, [False] * 9])
    out = model(xp, pad, tgt.expand(2, 4))
    torch.testing.assert_close(out[0], ref[0], atol=1e-5, rtol=1e-4)
    # changing the last target token leaves the logits of earlier positions unchanged
    out2 = model(x, torch.zeros(1, 5, dtype=torch.bool), torch.tensor([[1, 5, 6, 9]]))
    torch.testing.assert_close(out2[:, :3], ref[:, :3])
    assert not torch.allclose(out2[:, 3], ref[:, 3])
    # cross-attention puts no weight on padding frames
    memory = model.encode(xp, pad)
    _, attn = model.core.decode_with_attention(memory, pad, tgt.expand(2, 4))
    assert attn.shape == (2, 4, 9)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 4))
    assert float(attn[0, :, 5:].abs().max()) == 0.0
    step_out = model.core.step_fn(memory, pad, with_attention=True)(tgt.expand(2, 4), torch.tensor([0, 1]))
    torch.testing.assert_close(step_out.attention, attn[:, -1])


def test_label_smoothed_loss():
    logits = torch.randn(2, 3, 6)
    target = torch.tensor([[4, 5, 0], [3, 0, 0]])  # 0 = pad
    plain = label_smoothed_cross_entropy(logits, target, 0.0, pad_id=0)
    reference = F.cross_entropy(logits.reshape(-1, 6), target.reshape(-1), ignore_index=0)
    torch.testing.assert_close(plain, reference)
    eps = 0.2
    logp = logits.log_softmax(-1)
    expected = []
    for b, i in [(0, 0), (0, 1), (1, 0)]:
        q = torch.full((6,), eps / 4)
        q[0] = 0.0
        q[target[b, i]] = 1 - eps
        expected.append(-(q * logp[b, i]).sum())
    torch.testing.assert_close(label_smoothed_cross_entropy(logits, target, eps, pad_id=0),
                               torch.stack(expected).mean())


def test_loss_ignores_padding_tokens():
    vocab = Vocab.build(SENTENCES)
    model = SignLanguageTransformer(tiny_config(vocab)).eval()
    x, pad, labels = toy_data(1, seed=1)
    ids = [vocab.encode(SENTENCES[c], add_bos_eos=True) for c in labels]
    batch = {"poses": x, "pose_pad": pad, "tokens": pad_token_ids(ids, vocab.pad_id)}
    wider = dict(batch, tokens=F.pad(batch["tokens"], (0, 3), value=vocab.pad_id))
    torch.testing.assert_close(model.loss(batch), model.loss(wider))
    with pytest.raises(KeyError, match="pose_pad"):
        model.loss({"poses": x, "tokens": batch["tokens"]})


def test_tiny_slt_learns_toy_mapping():
    torch.manual_seed(0)
    vocab = Vocab.build(SENTENCES)
    model = SignLanguageTransformer(tiny_config(vocab))
    x, pad, labels = toy_data(4, seed=0)  # 16 training sequences
    tokens = pad_token_ids([vocab.encode(SENTENCES[c], add_bos_eos=True) for c in labels], vocab.pad_id)
    batch = {"poses": x, "pose_pad": pad, "tokens": tokens}
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(120):
        loss = model.loss(batch)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first / 3

    x_new, pad_new, labels_new = toy_data(2, seed=5)  # unseen noise and lengths, same patterns
    assert model.training
    for beam in (3, 1):
        out = model.translate(x_new, pad_new, beam=beam)
        assert [vocab.decode(o) for o in out] == [SENTENCES[c] for c in labels_new]
    assert model.training  # translate restores the mode
