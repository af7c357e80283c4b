"""``load_model``: every model kind comes back from a trainer-format checkpoint as it was saved.

Each case builds a tiny model (dropout on, so train and eval mode differ), saves it with
``save_checkpoint`` under the config layout the trainers write (``{"model": stored, "train": ...}``),
loads it with ``load_model`` and checks class, eval mode, vocabularies and identical outputs on a fixed
input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from pipelib.estimators.base import FUSED_DIM, SLOT_ORDER
from pipelib.models.back_translation import SignLanguageTransformer, SLTConfig
from pipelib.production.autoencoder import AEConfig, PoseAutoencoder, load_autoencoder
from pipelib.production.generator import TextToLatent, build_model, load_generator
from pipelib.signx.pose2gloss import Pose2Gloss, Pose2GlossConfig, load_pose2gloss
from pipelib.signx.recognizer import LatentRecognizer, RecognizerConfig
from pipelib.signx.recognizer_loading import load_recognizer
from pipelib.signx.video2pose import Video2Pose, Video2PoseConfig, load_video2pose
from pipelib.text.vocab import Vocab
from pipelib.training.checkpoint import CheckpointError, save_checkpoint
from pipelib.training.loading import KINDS, LoadedModel, load_model, model_class

GLOSSES = Vocab.build(["A B", "B C", "C A D"])
WORDS = Vocab.build(["the sun shines", "rain falls today"])


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def autoencoder() -> tuple[torch.nn.Module, dict[str, Any], Callable]:
    cfg = AEConfig.from_dict({"latent": {"body": 4, "right_hand": 6, "left_hand": 6, "face": 5}})
    model = PoseAutoencoder(cfg, seed=3)
    x = torch.randn(1, 4, 178, 3, generator=_gen(1))                          # (B, T, 178, 3)
    return model, cfg.to_dict(), lambda m: m.encode(x)                         # (B, T, C)


def generator() -> tuple[torch.nn.Module, dict[str, Any], Callable]:
    section = {"text_encoder": {"kind": "learned", "d_text": 12, "dropout": 0.3, "max_tokens": 8},
               "model": {"d_model": 16, "enc_layers": 1, "enc_heads": 2, "dec_layers": 1, "dec_heads": 2,
                         "ffn_dim": 32, "dropout": 0.3, "max_len": 10, "latent_dim": 80}}
    torch.manual_seed(4)
    model = build_model(section, WORDS)
    model.generator.set_reference(torch.randn(80, generator=_gen(2)))
    return model, {"section": section, "vocab": WORDS.to_json()}, \
        lambda m: m(["the sun falls", "rain"])                                 # (latents, ratio)


def pose2gloss() -> tuple[torch.nn.Module, dict[str, Any], Callable]:
    cfg = Pose2GlossConfig.from_dict({"vocab_size": len(GLOSSES), "d_type": 8, "fusion_heads": 2,
                                      "pad_width": 40, "d_latent": 16, "vit_layers": 1, "vit_heads": 2,
                                      "vit_ffn": 32, "codebook_dim": 8, "dropout": 0.3})
    torch.manual_seed(5)
    model = Pose2Gloss(cfg)
    feats = torch.randn(1, 5, FUSED_DIM, generator=_gen(3))                   # (B, T, 1959)
    slots = torch.ones(1, 5, len(SLOT_ORDER), dtype=torch.bool)               # (B, T, 5)
    pad = torch.zeros(1, 5, dtype=torch.bool)                                 # (B, T)
    return model, {"pose2gloss": cfg.to_dict(), "vocab": GLOSSES.to_json(), "section": {}}, \
        lambda m: m.encode(feats, slots, pad)                                  # (B, T, d_latent)


def video2pose() -> tuple[torch.nn.Module, dict[str, Any], Callable]:
    cfg = Video2PoseConfig.from_dict({"image_size": 8, "patch_size": 4, "spatial_dim": 8, "spatial_layers": 1,
                                      "spatial_heads": 2, "temporal_dim": 8, "temporal_layers": 1,
                                      "temporal_heads": 2, "ffn_mult": 2, "dropout": 0.3})
    model = Video2Pose(cfg, seed=6)
    frames = torch.randn(1, 3, 3, 8, 8, generator=_gen(4))                    # (B, T, 3, S, S)
    pad = torch.zeros(1, 3, dtype=torch.bool)
    return model, {"video2pose": cfg.to_dict(), "section": {"frame_stride": 2}, "pose2gloss": {}}, \
        lambda m: m(frames, pad)                                               # (B, T, 1959)


def recognizer(target: str = "text") -> tuple[torch.nn.Module, dict[str, Any], Callable]:
    cfg = RecognizerConfig.from_dict({
        "target": target, "input_dim": 12, "gloss_vocab_size": len(GLOSSES),
        "text_vocab_size": len(WORDS) if target == "text" else 0, "conv_channels": 8, "hidden": 16,
        "lstm_hidden": 8, "lstm_layers": 1, "d_model": 16, "enc_layers": 1, "dec_layers": 1, "heads": 2,
        "ffn": 32, "conv_dropout": 0.3, "embedding_dropout": 0.3})
    torch.manual_seed(7)
    model = LatentRecognizer(cfg)
    x = torch.randn(1, 9, 12, generator=_gen(5))                              # (B, T, input_dim)
    pad = torch.zeros(1, 9, dtype=torch.bool)
    stored = {"recognizer": cfg.to_dict(), "gloss_vocab": GLOSSES.to_json(),
              "text_vocab": WORDS.to_json() if target == "text" else None, "section": {"batch_size": 2}}
    return model, stored, lambda m: m.encode(x, pad).memory                   # (B, ceil(T / 4), d_model)


def back_translator() -> tuple[torch.nn.Module, dict[str, Any], Callable]:
    cfg = SLTConfig.from_dict({"vocab_size": len(WORDS), "d_model": 16, "heads": 2, "ffn": 32,
                               "enc_layers": 1, "dec_layers": 1, "dropout": 0.3})
    torch.manual_seed(8)
    model = SignLanguageTransformer(cfg)
    poses = torch.randn(2, 6, 534, generator=_gen(6))                         # (B, T, 534)
    pad = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    return model, {"slt": cfg.to_dict(), "vocab": WORDS.to_json(), "section": {}, "layout": None}, \
        lambda m: m.encode(poses, pad)                                         # (B, T, d_model)


CASES = {"autoencoder": (autoencoder, {}), "generator": (generator, {"text": WORDS}),
         "pose2gloss": (pose2gloss, {"gloss": GLOSSES}), "video2pose": (video2pose, {}),
         "recognizer": (recognizer, {"gloss": GLOSSES, "text": WORDS}),
         "back-translator": (back_translator, {"text": WORDS})}


def _save(tmp_path: Path, model: torch.nn.Module, stored: dict[str, Any], name: str = "best.pt") -> Path:
    return save_checkpoint(tmp_path / name, model, {"model": stored, "train": {"epochs": 1}}, epoch=1)


def _outputs(fn: Callable, model: torch.nn.Module) -> list[torch.Tensor]:
    with torch.no_grad():
        out = fn(model)
    return list(out) if isinstance(out, tuple) else [out]


def test_every_kind_is_covered() -> None:
    assert set(CASES) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_load_model_rebuilds_every_kind(tmp_path: Path, kind: str) -> None:
    make, vocabs = CASES[kind]
    model, stored, run = make()
    path = _save(tmp_path, model, stored)
    loaded = load_model(path)
    assert isinstance(loaded, LoadedModel)
    assert type(loaded.model) is type(model)
    assert f"{type(model).__module__}.{type(model).__qualname__}" == KINDS[kind] and loaded.kind == kind
    assert not any(m.training for m in loaded.model.modules())
    assert loaded.vocabs == vocabs
    assert loaded.config == stored
    model.eval()
    for want, got in zip(_outputs(run, model), _outputs(run, loaded.model), strict=True):
        assert torch.equal(want, got)


def test_typed_loaders_return_what_callers_use(tmp_path: Path) -> None:
    ae, ae_stored, _ = autoencoder()
    assert isinstance(load_autoencoder(_save(tmp_path, ae, ae_stored, "ae.pt")), PoseAutoencoder)
    gen, gen_stored, _ = generator()
    assert isinstance(load_generator(_save(tmp_path, gen, gen_stored, "gen.pt")), TextToLatent)
    p2g, p2g_stored, _ = pose2gloss()
    model, vocab = load_pose2gloss(_save(tmp_path, p2g, p2g_stored, "p2g.pt"))
    assert isinstance(model, Pose2Gloss) and vocab == GLOSSES
    v2p, v2p_stored, _ = video2pose()
    assert isinstance(load_video2pose(_save(tmp_path, v2p, v2p_stored, "v2p.pt")), Video2Pose)
    for target, text in (("gloss", None), ("text", WORDS)):
        rec, rec_stored, _ = recognizer(target)
        loaded = load_recognizer(_save(tmp_path, rec, rec_stored, f"rec_{target}.pt"))
        assert loaded.target == target and loaded.text_vocab == text and loaded.gloss_vocab == GLOSSES
        assert loaded.output_vocab == (text or GLOSSES) and loaded.section == {"batch_size": 2}


def test_a_loader_given_another_kind_names_the_file(tmp_path: Path) -> None:
    v2p, stored, _ = video2pose()
    path = _save(tmp_path, v2p, stored)
    with pytest.raises(CheckpointError, match=rf"{path}.*Video2Pose, not a Pose2Gloss"):
        load_pose2gloss(path)


class _Unregistered(torch.nn.Module):
    """A model class without ``from_checkpoint_config``."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(2))


def test_unknown_model_class_names_the_file_and_the_known_kinds(tmp_path: Path) -> None:
    path = _save(tmp_path, _Unregistered(), {})
    with pytest.raises(CheckpointError) as err:
        load_model(path)
    msg = str(err.value)
    assert str(path) in msg and "_Unregistered" in msg and "from_checkpoint_config" not in msg
    assert all(name in msg for name in KINDS)  # test modules are not pipelib modules
    for name, why in [("pipelib.production.nowhere.Model", "cannot be imported"),
                      ("pipelib.production.generator.NoSuchModel", "defines no model class"),
                      ("pipelib.production.generator.LatentGenerator", "does not declare how it is rebuilt")]:
        with pytest.raises(CheckpointError, match=why) as err:
            model_class(name, path)
        assert str(path) in str(err.value) and "autoencoder" in str(err.value)


def test_a_stored_config_without_its_keys_is_reported(tmp_path: Path) -> None:
    p2g, stored, _ = pose2gloss()
    path = _save(tmp_path, p2g, {k: v for k, v in stored.items() if k != "vocab"})
    with pytest.raises(CheckpointError, match=rf"{path}.*lacks 'vocab'"):
        load_model(path)


def test_generation_takes_any_model_with_generate_latents_and_names_a_checkpoint_without(tmp_path):
    """Generation is kind-agnostic (docs/systems.md): it asks the loaded model for generate_latents."""
    from pipelib.production.generate import generate_poses

    gen, gen_stored, _ = generator()
    cfg = AEConfig.from_dict({})                                               # 80 latent channels
    ae, ae_stored = PoseAutoencoder(cfg, seed=3), cfg.to_dict()
    gen_path, ae_path = _save(tmp_path, gen, gen_stored, "gen.pt"), _save(tmp_path, ae, ae_stored, "ae.pt")
    gen.eval()
    latents, lengths = gen.generate_latents(["the sun falls"])
    assert latents.shape[0] == 1 and 1 <= int(lengths[0]) <= 10
    poses = generate_poses(gen_path, ae_path, ["the sun falls", "rain"])
    assert [p.shape[1:] for p in poses] == [(178, 3), (178, 3)] and len(poses[0]) == int(lengths[0])
    with pytest.raises(TypeError, match=r"ae\.pt: its model \(PoseAutoencoder\) has no generate_latents"):
        generate_poses(ae_path, ae_path, ["rain"])
