"""The ``signx.recognizer`` config section: its keys, and the model and train configs it gives.

``decoding`` (beam, entropy_penalty, max_output_length, length_alpha) sets the model's decoding fields;
``train.monitor``/``mode`` default to the target's dev metric (``wer`` for glosses, ``bleu4`` for text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipelib.signx.recognizer import RecognizerConfig
from pipelib.text.vocab import Vocab
from pipelib.training import TrainConfig

SECTION = "signx.recognizer"
SECTION_KEYS = ("batch_size", "dev_beam", "average_top_k", "model", "decoding", "train")
DECODING_KEYS = {"beam": "beam_size", "entropy_penalty": "entropy_weight",
                 "max_output_length": "max_output_length", "length_alpha": "length_alpha"}
DEFAULT_MONITOR = {"gloss": ("wer", "min"), "text": ("bleu4", "max")}


def check_section(section: Mapping[str, Any] | None, known: Sequence[str] = SECTION_KEYS,
                  where: str = SECTION) -> dict[str, Any]:
    """The section as a dict; unknown keys (also under ``decoding``) raise ValueError naming ``where.key``."""
    d = dict(section or {})
    for key in d:
        if key not in known:
            raise ValueError(f"{where}.{key}: unknown key; use one of {sorted(known)}")
    for key in d.get("decoding") or {}:
        if key not in DECODING_KEYS:
            raise ValueError(f"{where}.decoding.{key}: unknown key; use one of {sorted(DECODING_KEYS)}")
    return d


def model_config(section: Mapping[str, Any], target: str, input_dim: int, gloss_vocab: Vocab,
                 text_vocab: Vocab | None) -> RecognizerConfig:
    """``model`` + ``decoding`` of the section, with the data-given values filled in."""
    model = dict(section.get("model") or {})
    for key, value in (section.get("decoding") or {}).items():
        name = DECODING_KEYS[key]
        if name in model and model[name] != value:
            raise ValueError(f"{SECTION}.model.{name} ({model[name]}) and {SECTION}.decoding.{key} ({value}) "
                             f"disagree; set it in decoding only")
        model[name] = value
    if "input_dim" in model and int(model["input_dim"]) != input_dim:
        raise ValueError(f"{SECTION}.model.input_dim is {model['input_dim']} but the pruned latents have "
                         f"{input_dim} dims (signx/pruning.json); remove the key, it is set from the data")
    model.update(target=target, input_dim=input_dim, gloss_vocab_size=len(gloss_vocab),
                 text_vocab_size=len(text_vocab) if text_vocab is not None else 0,
                 pad_id=gloss_vocab.pad_id, bos_id=gloss_vocab.bos_id, eos_id=gloss_vocab.eos_id)
    return RecognizerConfig.from_dict(model, f"{SECTION}.model")


def train_config(section: Mapping[str, Any], target: str, d_model: int) -> TrainConfig:
    """``train`` of the section; monitor/mode default to the target's dev metric, a Noam schedule gets
    the model's ``d_model`` and ``keep_top_k`` defaults to ``average_top_k`` where the trainer has them."""
    train = dict(section.get("train") or {})
    if "monitor" not in train:
        train["monitor"], train["mode"] = DEFAULT_MONITOR[target]
    sched = dict(train.get("scheduler") or {})
    if sched.get("name") == "noam" and "d_model" not in sched:
        sched["d_model"] = d_model
        train["scheduler"] = sched
    if "keep_top_k" not in train:
        train["keep_top_k"] = int(section.get("average_top_k", 5))
    return TrainConfig.from_dict(train, f"{SECTION}.train")
