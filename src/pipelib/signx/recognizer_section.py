"""The ``signx.recognizer`` config section: its keys, and the model and train configs it gives.

``decoding`` (beam, entropy_penalty, max_output_length, length_alpha) sets the model's decoding fields;
``train.monitor``/``mode`` default to the target's dev metric (``wer`` for glosses, ``bleu4`` for text).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelib.sections import SectionError, from_section
from pipelib.signx.recognizer_config import DECODING_FIELDS, TARGETS, DecodingConfig, RecognizerConfig
from pipelib.text.vocab import Vocab
from pipelib.training.config import TrainConfig

SECTION = "signx.recognizer"
DEFAULT_MONITOR = {"gloss": ("wer", "min"), "text": ("bleu4", "max")}


@dataclass(frozen=True)
class RecognizerSection:
    """The ``signx.recognizer`` section: which recognisers exist (``targets``, chosen by the workflow),
    batch size, the per-epoch dev beam, how many best checkpoints are averaged, and the ``model``,
    ``decoding`` and ``train`` sub-sections (``model`` and ``train`` are read with their data-given
    values by :func:`model_config` and :func:`training_config`)."""

    targets: tuple[str, ...] = TARGETS
    batch_size: int = 8
    dev_beam: int = 1
    average_top_k: int = 5
    model: dict[str, Any] = field(default_factory=dict)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    train: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = SECTION) -> RecognizerSection:
        """Parse and check the section; bad keys and values raise SectionError naming ``where.key``."""
        sec = from_section(cls, data, where)
        bad = [t for t in sec.targets if t not in TARGETS]
        if bad or not sec.targets:
            raise SectionError(f"{where}.targets: must be a non-empty list of {list(TARGETS)}, got "
                               f"{list(sec.targets)}")
        for key in ("batch_size", "dev_beam", "average_top_k"):
            if getattr(sec, key) < 1:
                raise SectionError(f"{where}.{key}: must be >= 1, got {getattr(sec, key)}")
        return sec


def model_config(section: Mapping[str, Any], target: str, input_dim: int, gloss_vocab: Vocab,
                 text_vocab: Vocab | None) -> RecognizerConfig:
    """``model`` + ``decoding`` of the section, with the data-given values filled in."""
    model = dict(section.get("model") or {})
    for key, value in RecognizerSection.from_dict(section).decoding.given().items():
        name = DECODING_FIELDS[key]
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


def training_config(section: Mapping[str, Any], target: str, d_model: int) -> TrainConfig:
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
        train["keep_top_k"] = RecognizerSection.from_dict(section).average_top_k
    return TrainConfig.from_dict(train, f"{SECTION}.train")
