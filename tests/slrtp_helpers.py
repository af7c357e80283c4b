"""A tiny back-translator in exactly the SLRTP evaluation's directory layout, built from the facts of
neccam/slt (config keys, state-dict names and shapes, vocabulary files, a full-pickle checkpoint),
independently of pipelib's model code (``import slrtp_helpers``)."""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

H, FF, HEADS = 16, 32, 2
WORDS = ["regen", "sonne", "wind", "im", "norden", "sueden", "es", "wird"]
GLOSSES = ["REGEN", "SONNE", "WIND", "NORD"]


def slt_config(input_size: int = 534, enc_layers: int = 2, dec_layers: int = 2, max_sent_length: int = 12,
               recognition: bool = True) -> dict:
    emb = {"embedding_dim": H, "scale": False, "dropout": 0.1, "norm_type": "batch",
           "activation_type": "softsign"}
    stack = {"type": "transformer", "num_heads": HEADS, "embeddings": emb, "hidden_size": H, "ff_size": FF,
             "dropout": 0.1}
    return {
        "name": "sign_experiment",
        "data": {"feature_size": input_size, "max_sent_length": max_sent_length, "level": "word",
                 "skeleton_subsample": 2, "txt_lowercase": True},
        "training": {"recognition_loss_weight": 1.0 if recognition else 0.0, "translation_loss_weight": 1.0,
                     "use_cuda": True, "eval_metric": "bleu", "optimizer": "adam"},
        "model": {"initializer": "xavier", "tied_softmax": False,
                  "encoder": {**stack, "num_layers": enc_layers},
                  "decoder": {**stack, "num_layers": dec_layers}},
    }


def sinusoids(length: int, dim: int) -> torch.Tensor:
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * -(math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
    return pe[None]                                                          # (1, length, dim)


def official_state(cfg: dict, n_txt: int, n_gls: int, seed: int = 0) -> OrderedDict:
    """``model_state`` with slt's key names and shapes, random weights (BatchNorm statistics included)."""
    g = torch.Generator().manual_seed(seed)
    shapes: dict[str, tuple[int, ...]] = {}

    def lin(p, out, inp, bias=True):
        shapes[f"{p}.weight"] = (out, inp)
        if bias:
            shapes[f"{p}.bias"] = (out,)

    def norm(p):
        shapes[f"{p}.weight"], shapes[f"{p}.bias"] = (H,), (H,)

    def batchnorm(p):
        norm(p)
        shapes[f"{p}.running_mean"], shapes[f"{p}.running_var"] = (H,), (H,)
        shapes[f"{p}.num_batches_tracked"] = ()

    def att(p):
        for name in ("k_layer", "v_layer", "q_layer", "output_layer"):
            lin(f"{p}.{name}", H, H)

    def ff(p):
        norm(f"{p}.layer_norm")
        lin(f"{p}.pwff_layer.0", FF, H)
        lin(f"{p}.pwff_layer.3", H, FF)

    m = cfg["model"]
    lin("sgn_embed.ln", H, cfg["data"]["feature_size"])
    batchnorm("sgn_embed.norm.norm")
    for i in range(m["encoder"]["num_layers"]):
        norm(f"encoder.layers.{i}.layer_norm")
        att(f"encoder.layers.{i}.src_src_att")
        ff(f"encoder.layers.{i}.feed_forward")
    norm("encoder.layer_norm")
    if n_gls:
        lin("gloss_output_layer", n_gls, H)
    shapes["txt_embed.lut.weight"] = (n_txt, H)
    batchnorm("txt_embed.norm.norm")
    for i in range(m["decoder"]["num_layers"]):
        att(f"decoder.layers.{i}.trg_trg_att")
        att(f"decoder.layers.{i}.src_trg_att")
        ff(f"decoder.layers.{i}.feed_forward")
        norm(f"decoder.layers.{i}.x_layer_norm")
        norm(f"decoder.layers.{i}.dec_layer_norm")
    norm("decoder.layer_norm")
    lin("decoder.output_layer", n_txt, H, bias=False)

    state = OrderedDict()
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000)
        elif key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(shape, generator=g)
        elif key.endswith("layer_norm.weight") or key.endswith("norm.norm.weight"):
            state[key] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            scale = 0.05 if key == "sgn_embed.ln.weight" else 0.4
            state[key] = scale * torch.randn(shape, generator=g)
    state["encoder.pe.pe"] = sinusoids(5000, H)
    state["decoder.pe.pe"] = sinusoids(5000, H)
    return state


def write_model_dir(root: Path, cfg: dict | None = None, seed: int = 0, ckpt_name: str = "best.ckpt",
                    extra_pickled: object = None) -> Path:
    """config.yaml, txt.vocab, gls.vocab and a full-pickle checkpoint as the slt trainer writes it."""
    cfg = cfg or slt_config()
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(yaml.safe_dump(cfg))
    # slt writes every token, specials included, one per line
    (root / "txt.vocab").write_text("\n".join(["<unk>", "<pad>", "<s>", "</s>", *WORDS]) + "\n")
    (root / "gls.vocab").write_text("\n".join(["<si>", "<unk>", "<pad>", *GLOSSES]) + "\n")
    n_gls = 3 + len(GLOSSES) if cfg["training"]["recognition_loss_weight"] > 0 else 0
    state = official_state(cfg, 4 + len(WORDS), n_gls, seed)
    ckpt = {"steps": 1200, "total_txt_tokens": 5000, "total_gls_tokens": 4000,
            "best_ckpt_score": np.float64(12.5), "best_all_ckpt_scores": {"bleu4": np.float64(12.5)},
            "best_ckpt_iteration": 1200, "model_state": state,
            "optimizer_state": {"state": {},
                                "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.998), "params": [0]}]},
            "scheduler_state": {"mode": "max", "best": np.float64(12.5), "num_bad_epochs": 2, "factor": 0.7}}
    if extra_pickled is not None:
        ckpt["extra"] = extra_pickled
    torch.save(ckpt, root / ckpt_name)
    return root


def reference_logits(s: dict, frames: torch.Tensor, tgt: list[int], layers=(2, 2)) -> torch.Tensor:
    """One unpadded sequence (T, in) and decoder inputs -> logits (L, V), straight from the state dict."""
    def lin(x, p, bias=True):
        return x @ s[f"{p}.weight"].T + (s[f"{p}.bias"] if bias else 0)

    def lnorm(x, p):
        return F.layer_norm(x, (H,), s[f"{p}.weight"], s[f"{p}.bias"], eps=1e-6)

    def bnorm(x, p):  # eval-mode BatchNorm with running statistics, eps 1e-5
        return (x - s[f"{p}.running_mean"]) / torch.sqrt(s[f"{p}.running_var"] + 1e-5) * s[f"{p}.weight"] \
            + s[f"{p}.bias"]

    def mha(kv, q, p, allowed):
        d = H // HEADS
        k = lin(kv, f"{p}.k_layer").reshape(-1, HEADS, d).transpose(0, 1)
        v = lin(kv, f"{p}.v_layer").reshape(-1, HEADS, d).transpose(0, 1)
        qq = lin(q, f"{p}.q_layer").reshape(-1, HEADS, d).transpose(0, 1) / math.sqrt(d)
        w = (qq @ k.transpose(1, 2)).masked_fill(~allowed, float("-inf")).softmax(-1)
        return lin((w @ v).transpose(0, 1).reshape(-1, H), f"{p}.output_layer")

    def ff(x, p):
        h = lnorm(x, f"{p}.layer_norm")
        return x + lin(torch.relu(lin(h, f"{p}.pwff_layer.0")), f"{p}.pwff_layer.3")

    t, n = frames.shape[0], len(tgt)
    x = F.softsign(bnorm(lin(frames, "sgn_embed.ln"), "sgn_embed.norm.norm")) + s["encoder.pe.pe"][0, :t]
    everything = torch.ones(t, t, dtype=torch.bool)
    for i in range(layers[0]):
        p = f"encoder.layers.{i}"
        h = lnorm(x, f"{p}.layer_norm")
        x = ff(x + mha(h, h, f"{p}.src_src_att", everything), f"{p}.feed_forward")
    memory = lnorm(x, "encoder.layer_norm")
    y = F.softsign(bnorm(s["txt_embed.lut.weight"][tgt], "txt_embed.norm.norm")) + s["decoder.pe.pe"][0, :n]
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    for i in range(layers[1]):
        p = f"decoder.layers.{i}"
        h = lnorm(y, f"{p}.x_layer_norm")
        y = y + mha(h, h, f"{p}.trg_trg_att", causal)
        cross = torch.ones(n, t, dtype=torch.bool)
        y = y + mha(memory, lnorm(y, f"{p}.dec_layer_norm"), f"{p}.src_trg_att", cross)
        y = ff(y, f"{p}.feed_forward")
    return lin(lnorm(y, "decoder.layer_norm"), "decoder.output_layer", bias=False)
