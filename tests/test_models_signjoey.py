"""The slt Sign Language Transformer: official key names, the forward pass against a functional
reference written from the facts, padding invariance, config errors."""

from __future__ import annotations

import pytest
import slrtp_helpers as sh
import torch

from pipelib.models.signjoey import SignJoeyConfig, SignJoeyModel

N_TXT, N_GLS = 4 + len(sh.WORDS), 3 + len(sh.GLOSSES)


def build(cfg=None, seed=0):
    cfg = cfg or sh.slt_config(input_size=12)
    model = SignJoeyModel(SignJoeyConfig.from_slt_config(cfg, txt_vocab_size=N_TXT, txt_pad_id=1,
                                                         gls_vocab_size=N_GLS))
    state = sh.official_state(cfg, N_TXT, N_GLS, seed)
    model.load_state_dict(state, strict=True)
    return model.eval(), state


def test_state_dict_has_exactly_the_official_names_and_shapes():
    cfg = sh.slt_config(input_size=12)
    model = SignJoeyModel(SignJoeyConfig.from_slt_config(cfg, txt_vocab_size=N_TXT, txt_pad_id=1,
                                                         gls_vocab_size=N_GLS))
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    official = {k: tuple(v.shape) for k, v in sh.official_state(cfg, N_TXT, N_GLS).items()}
    assert ours == official


def test_forward_matches_a_functional_reference_of_the_official_layers(one_thread):
    model, state = build()
    g = torch.Generator().manual_seed(1)
    frames = torch.randn(7, 12, generator=g)
    tgt = [2, 5, 9, 4]
    ours = model(frames[None], torch.ones(1, 7, dtype=torch.bool), torch.tensor([tgt]))[0]
    torch.testing.assert_close(ours, sh.reference_logits(state, frames, tgt), rtol=1e-4, atol=1e-5)


def test_padding_changes_nothing(one_thread):
    model, _ = build()
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(9, 12, generator=g), torch.randn(4, 12, generator=g)
    frames = torch.zeros(2, 9, 12)
    frames[0], frames[1, :4] = a, b
    valid = torch.zeros(2, 9, dtype=torch.bool)
    valid[0], valid[1, :4] = True, True
    both = model.translate(frames, valid, bos_id=2, eos_id=3, max_len=10)
    alone = model.translate(b[None], torch.ones(1, 4, dtype=torch.bool), bos_id=2, eos_id=3, max_len=10)
    assert both[1] == alone[0]
    assert all(3 not in seq and len(seq) <= 10 for seq in both)


def test_tied_softmax_shares_the_embedding_and_group_norm_prelu_build():
    cfg = sh.slt_config(input_size=12)
    cfg["model"]["tied_softmax"] = True
    cfg["model"]["encoder"]["embeddings"].update(norm_type="group", activation_type="prelu", scale=True)
    model = SignJoeyModel(SignJoeyConfig.from_slt_config(cfg, txt_vocab_size=N_TXT, txt_pad_id=1,
                                                         gls_vocab_size=0))
    assert model.decoder.output_layer.weight is model.txt_embed.lut.weight
    keys = set(model.state_dict())
    assert {"sgn_embed.activation.weight", "sgn_embed.norm.norm.weight"} <= keys
    assert "sgn_embed.norm.norm.running_mean" not in keys and "gloss_output_layer.weight" not in keys
    x = model.sgn_embed(torch.ones(1, 3, 12), torch.ones(1, 3, dtype=torch.bool))
    assert x.shape == (1, 3, sh.H)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["model"]["encoder"].update(type="recurrent"), "only the Transformer"),
    (lambda c: c["model"]["decoder"]["embeddings"].update(embedding_dim=8), "must equal"),
    (lambda c: c["model"]["encoder"].pop("num_heads"), "model.encoder.num_heads: missing"),
    (lambda c: c["data"].pop("feature_size"), "data.feature_size: missing"),
    (lambda c: c["training"].update(translation_loss_weight=0.0), "no translation decoder"),
    (lambda c: c["model"]["encoder"]["embeddings"].update(norm_type="instance"), "norm_type 'instance'"),
])
def test_config_errors_name_the_key(edit, message):
    cfg = sh.slt_config()
    edit(cfg)
    with pytest.raises(ValueError, match=message):
        SignJoeyConfig.from_slt_config(cfg, txt_vocab_size=N_TXT, txt_pad_id=1, gls_vocab_size=N_GLS,
                                       where="dir/config.yaml")


def test_feature_size_list_is_summed_and_recognition_off_drops_the_gloss_head():
    cfg = sh.slt_config()
    cfg["data"]["feature_size"] = [500, 34]
    cfg["training"]["recognition_loss_weight"] = 0.0
    c = SignJoeyConfig.from_slt_config(cfg, txt_vocab_size=N_TXT, txt_pad_id=1, gls_vocab_size=N_GLS)
    assert c.input_size == 534 and c.gls_vocab_size == 0
