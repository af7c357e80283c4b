"""Text encoders: learned embeddings (shapes, pad mask, positions) and a tiny local BERT loaded for real."""

from __future__ import annotations

import pytest
import torch

from pipelib.text.encoders import (
    BertTextEncoder,
    LearnedTextEncoder,
    PositionalEncoding,
    TextEncoderConfig,
    build_text_encoder,
)
from pipelib.text.vocab import Vocab

TEXTS = ["der hund ist gross", "die katze", "der regen ist klein und nass"]
WORDPIECES = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "der", "die", "hund", "katze", "ist", "gross",
              "klein", "regen", "und", "nass", "##e"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A randomly initialised 24-wide BERT saved the way a downloaded one looks (config, weights, vocab)."""
    from transformers import BertConfig, BertModel

    path = tmp_path_factory.mktemp("bert")
    (path / "vocab.txt").write_text("\n".join(WORDPIECES) + "\n", encoding="utf-8")
    cfg = BertConfig(vocab_size=len(WORDPIECES), hidden_size=24, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=48, max_position_embeddings=64)
    torch.manual_seed(0)
    model = BertModel(cfg).eval()
    model.save_pretrained(path)
    return path, model


def test_learned_encoder_shapes_pad_mask_and_positions():
    vocab = Vocab.build(TEXTS[:2])
    torch.manual_seed(0)
    enc = build_text_encoder({"kind": "learned", "d_text": 16, "dropout": 0.0}, vocab)
    assert isinstance(enc, LearnedTextEncoder) and enc.out_dim == 16
    feats, pad = enc.encode(TEXTS)
    assert feats.shape == (3, 6, 16) and feats.dtype == torch.float32
    assert pad.dtype == torch.bool and pad.sum(dim=1).tolist() == [2, 4, 0]
    assert torch.all(feats[pad] == 0) and torch.all(feats[~pad].abs().sum(-1) > 0)
    # the same word at two positions differs only by the positional table
    ids, _ = enc.token_ids(["der der"])
    x, _ = enc.encode(["der der"])
    assert ids[0, 0] == ids[0, 1] and not torch.allclose(x[0, 0], x[0, 1])
    assert torch.allclose(x[0, 0] - x[0, 1], enc.pos.table[0] - enc.pos.table[1], atol=1e-5)
    # words missing from the vocabulary share the <unk> row; gradients reach the embeddings
    ids3, _ = enc.token_ids(["regen nass"])
    assert ids3.tolist() == [[vocab.unk_id, vocab.unk_id]]
    feats.sum().backward()
    assert enc.embed.weight.grad is not None and enc.embed.weight.grad.abs().sum() > 0


def test_learned_encoder_truncates_and_keeps_empty_sentences_attendable():
    vocab = Vocab.build(TEXTS)
    enc = LearnedTextEncoder(vocab, d_text=8, max_tokens=3, dropout=0.0)
    feats, pad = enc.encode(["der regen ist klein und nass", ""])
    assert feats.shape == (2, 3, 8) and pad.tolist() == [[False, False, False], [False, True, True]]


def test_positional_encoding_is_sinusoidal_and_bounded():
    pe = PositionalEncoding(6, 10)
    assert torch.allclose(pe.table[:, 0], torch.sin(torch.arange(10.0)))
    assert torch.allclose(pe.table[:, 1], torch.cos(torch.arange(10.0)))
    with pytest.raises(ValueError, match="exceeds"):
        pe(torch.zeros(1, 11, 6))


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ValueError, match=r"production\.text_encoder\.freez"):
        TextEncoderConfig.from_dict({"kind": "bert", "path": "x", "freez": True})
    with pytest.raises(ValueError, match=r"production\.text_encoder\.kind"):
        TextEncoderConfig.from_dict({"kind": "gpt"})
    with pytest.raises(ValueError, match=r"production\.text_encoder\.path"):
        TextEncoderConfig.from_dict({"kind": "bert"})
    with pytest.raises(ValueError, match=r"production\.text_encoder\.d_text"):
        TextEncoderConfig.from_dict({"d_text": "wide"})
    with pytest.raises(ValueError, match="Vocab"):
        build_text_encoder({"kind": "learned"}, None)


def test_bert_loads_local_directory_through_transformers(tiny_bert):
    path, reference = tiny_bert
    enc = build_text_encoder({"kind": "bert", "path": str(path)}, None)
    assert isinstance(enc, BertTextEncoder) and enc.out_dim == 24
    feats, pad = enc.encode(TEXTS[:2])
    # [CLS] der hund ist gross [SEP] / [CLS] die katze [SEP] [PAD] [PAD]
    assert feats.shape == (2, 6, 24) and pad.tolist() == [[False] * 6, [False] * 4 + [True] * 2]
    ids = enc.tokenizer(TEXTS[:2], padding=True, return_tensors="pt")
    assert ids["input_ids"][1, :4].tolist() == [2, 6, 8, 3]  # the saved WordPiece vocabulary is used
    with torch.no_grad():
        want = reference(**ids).last_hidden_state
    assert torch.allclose(feats, want, atol=1e-5)  # the saved weights, not a fresh initialisation


def test_bert_frozen_stays_eval_and_fine_tuned_gets_gradients(tiny_bert):
    path, _ = tiny_bert
    frozen = build_text_encoder({"kind": "bert", "path": str(path), "freeze": True}, None)
    frozen.train()
    assert not frozen.model.training and not any(p.requires_grad for p in frozen.parameters())
    a, _ = frozen.encode(TEXTS)
    b, _ = frozen.encode(TEXTS)
    assert torch.equal(a, b) and not a.requires_grad  # dropout off, no graph
    tuned = build_text_encoder({"kind": "bert", "path": str(path), "freeze": False}, None)
    tuned.train()
    assert tuned.model.training
    feats, _ = tuned.encode(TEXTS)
    feats.sum().backward()
    grads = [p.grad for p in tuned.model.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_bert_missing_directory_names_the_config_key(tmp_path, tiny_bert):
    with pytest.raises(FileNotFoundError, match=r"production\.text_encoder\.path.*config\.json"):
        build_text_encoder({"kind": "bert", "path": str(tmp_path / "nowhere")}, None)
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_text((tiny_bert[0] / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match=r"text_encoder\.path: .*lacks weights, tokenizer"):
        build_text_encoder({"kind": "bert", "path": str(partial)}, None)
