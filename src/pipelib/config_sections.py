"""Which dataclass reads each config section: one table, one check per workflow stage.

:data:`SECTIONS` maps every config section the library parses to the dataclass that holds its keys,
types and defaults (:mod:`pipelib.sections` parses them all alike) and to the workflow stage that uses
it. The workflow calls :func:`check_stage` once per stage of :data:`STAGES` when it starts, so a bad
section fails before any job runs, with the error the job itself would raise. The schema's
``default:`` of every key in these sections equals the dataclass field's default
(tests/test_config_sections.py holds them equal).

A path part ``*`` stands for every key at that level (``datasets.*.synthetic``: each dataset's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipelib.audit.stage import AuditConfig, AuditTolerance
from pipelib.metrics.statistics_config import StatisticsConfig
from pipelib.production.autoencoder_config import AEConfig
from pipelib.production.generator_config import GeneratorConfig
from pipelib.production.systems import System, parse_system
from pipelib.sections import from_section
from pipelib.signx.augment_section import AugmentationSection
from pipelib.signx.efficiency_section import EfficiencySection
from pipelib.signx.pose2gloss_config import Pose2GlossConfig, Pose2GlossSection
from pipelib.signx.pruning_config import PruningConfig
from pipelib.signx.recognition_section import RecognitionSection
from pipelib.signx.recognizer_config import RecognizerConfig
from pipelib.signx.recognizer_section import RecognizerSection, training_config
from pipelib.signx.spread_section import SpreadSection
from pipelib.signx.video2pose_config import Video2PoseConfig, Video2PoseSection
from pipelib.skeletons.config import SkeletonConfig
from pipelib.synth.config import SynthConfig
from pipelib.text.encoder_config import TextEncoderConfig
from pipelib.training.config import TrainConfig

#: vocabulary sizes come from the data; the start-up check builds model sections with these stand-ins
STAND_IN_VOCAB = 5

Build = Callable[[Mapping[str, Any] | None, str], Any]


@dataclass(frozen=True)
class Section:
    """One config section: its dotted ``path``, the dataclass ``cls`` holding its keys and defaults,
    the workflow ``stage`` that reads it, and ``build`` (``build(data, where)``: the parsed and checked
    section, as the library builds it; None: ``cls.from_dict`` where it exists, else ``from_section``)."""

    path: str
    cls: type
    stage: str
    build: Build | None = None

    def parse(self, data: Mapping[str, Any] | None, where: str | None = None) -> Any:
        """The section ``data`` parsed and checked; raises SectionError/ValueError naming ``where.key``."""
        where = where or self.path
        if self.build is not None:
            return self.build(data, where)
        if hasattr(self.cls, "from_dict"):
            return self.cls.from_dict(data, where)
        return from_section(self.cls, data, where)


def _pose2gloss_model(data: Mapping[str, Any] | None, where: str) -> Pose2GlossConfig:
    return Pose2GlossConfig.from_dict({"vocab_size": STAND_IN_VOCAB, **dict(data or {})}, where)


def _recognizer_model(data: Mapping[str, Any] | None, where: str) -> RecognizerConfig:
    sizes = {"gloss_vocab_size": STAND_IN_VOCAB, "text_vocab_size": STAND_IN_VOCAB}
    return RecognizerConfig.from_dict({**sizes, **dict(data or {})}, where)


def _recognizer(data: Mapping[str, Any] | None, where: str) -> RecognizerSection:
    """The section, and the train section each target's recogniser would train with."""
    sec = RecognizerSection.from_dict(data, where)
    d_model = _recognizer_model(sec.model, f"{where}.model").d_model
    for target in sec.targets:
        training_config(dict(data or {}), target, d_model)
    return sec


def _system(data: Mapping[str, Any] | None, where: str) -> System:
    return parse_system(where.rsplit(".", 1)[-1], data or {}, where)


def _synthetic(data: Mapping[str, Any] | None, where: str) -> SynthConfig:
    return SynthConfig.from_dict(data, where)


SECTIONS: tuple[Section, ...] = (
    Section("datasets.*.synthetic", SynthConfig, "synthetic", _synthetic),
    Section("skeletons", SkeletonConfig, "skeletons"),
    Section("datasets.*.skeletons", SkeletonConfig, "skeletons"),
    Section("production.autoencoder.model", AEConfig, "production"),
    Section("production.autoencoder.train", TrainConfig, "production"),
    Section("production.generator.text_encoder", TextEncoderConfig, "production"),
    Section("production.generator.model", GeneratorConfig, "production"),
    Section("production.systems.*", System, "production", _system),
    Section("production.systems.*.train", TrainConfig, "production"),
    Section("signx.pose2gloss", Pose2GlossSection, "signx"),
    Section("signx.pose2gloss.model", Pose2GlossConfig, "signx", _pose2gloss_model),
    Section("signx.pose2gloss.train", TrainConfig, "signx"),
    Section("signx.video2pose", Video2PoseSection, "signx"),
    Section("signx.video2pose.model", Video2PoseConfig, "signx"),
    Section("signx.video2pose.train", TrainConfig, "signx"),
    Section("signx.pruning", PruningConfig, "signx"),
    Section("signx.augmentation", AugmentationSection, "signx"),
    Section("signx.recognizer", RecognizerSection, "signx", _recognizer),
    Section("signx.recognizer.model", RecognizerConfig, "signx", _recognizer_model),
    Section("signx.recognition", RecognitionSection, "signx"),
    Section("signx.efficiency", EfficiencySection, "signx"),
    Section("signx.spread", SpreadSection, "signx"),
    Section("evaluation.back_translation.train", TrainConfig, "evaluation"),
    Section("evaluation.statistics", StatisticsConfig, "evaluation"),
    Section("audit", AuditConfig, "audit"),
    Section("audit.tolerance", AuditTolerance, "audit"),
)

#: the workflow stages, in the order the workflow checks them
STAGES: tuple[str, ...] = tuple(dict.fromkeys(s.stage for s in SECTIONS))


def entries(config: Mapping[str, Any], section: Section) -> Iterator[tuple[str, Mapping[str, Any] | None]]:
    """``(dotted key, value)`` of every entry of ``config`` at ``section.path`` (a ``*`` expands to each
    key at its level; an absent section is skipped: the schema fills in the defaults before this)."""
    found: list[tuple[list[str], Any]] = [([], config)]
    for part in section.path.split("."):
        nxt = []
        for keys, node in found:
            if not isinstance(node, Mapping):
                continue
            names = list(node) if part == "*" else [part] if part in node else []
            nxt += [([*keys, str(name)], node[name]) for name in names]
        found = nxt
    for keys, value in found:
        yield ".".join(keys), value


def check_stage(config: Mapping[str, Any], stage: str) -> None:
    """Parse every section of ``stage`` in ``config``; the first bad one raises (SectionError or
    ValueError naming the dotted key)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; the config sections belong to {list(STAGES)}")
    for section in SECTIONS:
        if section.stage == stage:
            for where, value in entries(config, section):
                section.parse(value, where)
