"""The SLRTP back-translator directory: loading without unpickling code, decoding as the evaluator does,
clear errors for wrong weights, the explicit conversion of untrusted-format checkpoints."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import slrtp_helpers as sh
import torch

from pipelib.evaluation import slrtp_model
from pipelib.evaluation.slrtp_model import SlrtpBackTranslator, find_model_files, read_vocab
from pipelib.training.checkpoint import CheckpointMismatchError

TXT = ["<unk>", "<pad>", "<s>", "</s>", *sh.WORDS]


class _Payload:
    """Unpickling this runs os.mkdir(marker): what a weights-only loader must refuse."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def reference_beam(state, frames, beam=3, max_len=12):
    """The evaluator's beam rules written plainly for one sequence, on reference logits."""
    bos, eos = 2, 3
    beams = [([bos], torch.tensor(0.0))] + [([bos], torch.tensor(float("-inf")))] * (beam - 1)
    found = []
    for step in range(max_len):
        cands = []
        for b, (seq, score) in enumerate(beams):
            logp = sh.reference_logits(state, frames, seq)[-1].log_softmax(-1)
            cands += [(score + logp[t], b, t) for t in range(len(logp))]
        top = sorted(cands, key=lambda c: (-float(c[0]), c[1] * len(TXT) + c[2]))[:beam]
        beams = [(beams[b][0] + [t], s) for s, b, t in top]
        ended = top[0][2] == eos or step + 1 == max_len
        for (seq, score), (_, _, t) in zip(beams, top, strict=True):
            if (t == eos or ended) and seq[1:].count(eos) < 2:
                found.append((float(score), seq[1:]))
        if ended:
            best = max(found, key=lambda h: h[0])[1]
            return best[: best.index(eos)] if eos in best else best
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return sh.write_model_dir(tmp_path_factory.mktemp("slrtp") / "backTranslation_PHIX_model")


def test_official_directory_loads_and_decodes_like_the_evaluator(model_dir, one_thread):
    bt = SlrtpBackTranslator(model_dir)
    assert bt.kind == "slrtp" and bt.layout == "slrtp178" and bt.max_len == 12
    assert bt.identity.startswith("backTranslation_PHIX_model/best.ckpt@weights-sha256:")
    assert bt.txt_itos == TXT
    g = torch.Generator().manual_seed(3)
    inputs = [torch.randn(n, 534, generator=g).numpy() for n in (5, 9, 3)]
    hyps = bt.translate(inputs)
    state = sh.official_state(sh.slt_config(), len(TXT), 3 + len(sh.GLOSSES))
    expected = [" ".join(TXT[i] for i in reference_beam(state, torch.from_numpy(x))) for x in inputs]
    assert hyps == expected
    assert any(h for h in hyps) and all(w in TXT for h in hyps for w in h.split())
    bt.batch_size = 1  # batching and padding do not change the answers
    assert bt.translate(inputs) == hyps


def test_wrong_state_dict_names_missing_and_unexpected_keys(tmp_path):
    d = sh.write_model_dir(tmp_path / "m")
    ckpt = torch.load(d / "best.ckpt", weights_only=False)
    state = ckpt["model_state"]
    renamed = state.pop("encoder.layers.0.src_src_att.q_layer.weight")
    state["encoder.layers.0.src_src_att.query.weight"] = renamed
    state.pop("decoder.output_layer.weight")
    torch.save(ckpt, d / "best.ckpt")
    with pytest.raises(CheckpointMismatchError) as err:
        SlrtpBackTranslator(d)
    text = str(err.value)
    assert "best.ckpt" in text and "missing (2)" in text and "unexpected (1)" in text
    assert "decoder.output_layer.weight" in text and "encoder.layers.0.src_src_att.q_layer.weight" in text
    assert "encoder.layers.0.src_src_att.query.weight" in text


def test_config_with_fewer_layers_than_the_weights_is_reported(tmp_path):
    d = sh.write_model_dir(tmp_path / "m")
    cfg = sh.slt_config(enc_layers=1)
    (d / "config.yaml").write_text(__import__("yaml").safe_dump(cfg))
    with pytest.raises(CheckpointMismatchError, match=r"unexpected \(\d+\): encoder\.layers\.1\."):
        SlrtpBackTranslator(d)


def test_pickled_code_is_refused_until_the_user_converts_the_file(tmp_path):
    marker = tmp_path / "ran"
    d = sh.write_model_dir(tmp_path / "m", extra_pickled=_Payload(marker))
    with pytest.raises(ValueError) as err:
        SlrtpBackTranslator(d)
    assert not marker.exists()  # nothing ran
    assert "posix.mkdir" in str(err.value) or "os.mkdir" in str(err.value)
    assert "python -m pipelib.evaluation.slrtp_model convert" in str(err.value)

    assert slrtp_model.main(["convert", str(d)]) == 0  # the user's explicit choice: runs the pickle
    assert marker.exists() and (d / "best.weights.pt").is_file()
    bt = SlrtpBackTranslator(d)
    assert bt.identity.startswith("m/best.weights.pt@weights-sha256:")
    clean = SlrtpBackTranslator(sh.write_model_dir(tmp_path / "clean"))
    assert bt.identity.split(":")[-1] == clean.identity.split(":")[-1]  # same weights, same hash

    sh.write_model_dir(d, seed=5)  # the checkpoint changes: the converted file no longer matches
    with pytest.raises(ValueError, match="converted from another checkpoint"):
        SlrtpBackTranslator(d)


def test_newest_checkpoint_is_used_without_best_and_vocab_files_are_required(tmp_path):
    d = sh.write_model_dir(tmp_path / "m", ckpt_name="1000.ckpt", seed=1)
    time.sleep(0.05)
    sh.write_model_dir(d, ckpt_name="2000.ckpt", seed=2)
    (d / "best.ckpt").unlink(missing_ok=True)
    assert find_model_files(d).checkpoint.name == "2000.ckpt"
    (d / "txt.vocab").unlink()
    with pytest.raises(FileNotFoundError, match="no txt.vocab"):
        find_model_files(d)


def test_vocab_files_put_the_specials_first_and_skip_repeats(tmp_path):
    path = tmp_path / "txt.vocab"
    path.write_text("<unk>\n<pad>\n<s>\n</s>\nwetter\nregen\nwetter\n")
    assert read_vocab(path, slrtp_model.TEXT_SPECIALS) == ["<unk>", "<pad>", "<s>", "</s>", "wetter", "regen"]
    path.write_text("wetter\n<s>\n")
    assert read_vocab(path, slrtp_model.GLOSS_SPECIALS) == ["<si>", "<unk>", "<pad>", "wetter", "<s>"]


def test_missing_max_sent_length_and_other_feature_sizes_are_named(tmp_path):
    cfg = sh.slt_config()
    del cfg["data"]["max_sent_length"]
    d = sh.write_model_dir(tmp_path / "m", cfg=cfg)
    with pytest.raises(ValueError, match="data.max_sent_length"):
        SlrtpBackTranslator(d)
    d = sh.write_model_dir(tmp_path / "f", cfg=sh.slt_config(input_size=1024))
    with pytest.raises(ValueError, match="data.feature_size is 1024"):
        SlrtpBackTranslator(d)


def test_numpy_inputs_of_any_float_type(model_dir, one_thread):
    bt = SlrtpBackTranslator(model_dir)
    x = np.random.default_rng(0).normal(size=(4, 534))
    assert bt.translate([x]) == bt.translate([x.astype(np.float32)])
