"""One parser for config sections: the same keys, numbers and nulls behave alike in every section."""

from __future__ import annotations

import dataclasses

import pytest

from pipelib.models.back_translation import SLTConfig
from pipelib.sections import SectionError, from_section
from pipelib.signx.augment import AugmentConfig, augment_config
from pipelib.signx.pose2gloss import Pose2GlossConfig
from pipelib.signx.recognizer import RecognizerConfig
from pipelib.signx.video2pose import Video2PoseConfig
from pipelib.training.config import TrainConfig

# how the library builds the section, its dataclass, a float key, an int key, and what the section needs
# besides (vocabulary sizes come from the data)
SECTIONS = {
    "training": (TrainConfig.from_dict, TrainConfig, "grad_clip", "epochs", {}),
    "pose2gloss": (Pose2GlossConfig.from_dict, Pose2GlossConfig, "dropout", "d_type", {"vocab_size": 9}),
    "recognizer": (RecognizerConfig.from_dict, RecognizerConfig, "conv_dropout", "hidden",
                   {"gloss_vocab_size": 9}),
    "video2pose": (Video2PoseConfig.from_dict, Video2PoseConfig, "dropout", "temporal_dim", {}),
    "back_translation": (SLTConfig.from_dict, SLTConfig, "dropout", "d_model", {"vocab_size": 9}),
}


@pytest.mark.parametrize("name", SECTIONS)
def test_every_section_reads_numbers_as_yaml_writes_them(name):
    build, cls, float_key, int_key, base = SECTIONS[name]
    cfg = build({**base, float_key: "1e-1", int_key: 64.0}, f"x.{name}")  # PyYAML reads 1e-1 as a string
    assert getattr(cfg, float_key) == pytest.approx(0.1) and isinstance(getattr(cfg, float_key), float)
    assert getattr(cfg, int_key) == 64 and isinstance(getattr(cfg, int_key), int)


@pytest.mark.parametrize("name", SECTIONS)
def test_every_section_refuses_the_same_mistakes_naming_the_key(name):
    build, cls, float_key, int_key, base = SECTIONS[name]
    with pytest.raises(ValueError, match=rf"x\.{name}\.dropuot: unknown key; remove it or use one of"):
        build({**base, "dropuot": 0.1}, f"x.{name}")
    with pytest.raises(ValueError, match=rf"x\.{name}\.{int_key}: expected int, got 64\.5"):
        build({**base, int_key: 64.5}, f"x.{name}")
    with pytest.raises(ValueError, match=rf"x\.{name}\.{int_key}: expected int, got True"):
        build({**base, int_key: True}, f"x.{name}")
    with pytest.raises(ValueError, match=rf"x\.{name}\.{float_key}: expected float"):
        build({**base, float_key: "a lot"}, f"x.{name}")


@pytest.mark.parametrize("name", SECTIONS)
def test_missing_keys_take_the_dataclass_defaults(name):
    build, cls, _, _, base = SECTIONS[name]
    built = build(dict(base), f"x.{name}")
    for f in dataclasses.fields(cls):
        if f.name not in base:
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            assert getattr(built, f.name) == default, f.name


@dataclasses.dataclass(frozen=True)
class Inner:
    rate: float = 0.5
    size: tuple[int, int] = (2, 3)


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str = "a"
    limit: float | None = None
    scales: tuple[float, ...] = ()
    flag: bool = False
    inner: Inner = dataclasses.field(default_factory=Inner)


def test_nested_sections_tuples_and_nulls():
    cfg = from_section(Outer, {"limit": "2e3", "scales": [1, "0.5"], "inner": {"size": [4, 5.0]}}, "top")
    assert cfg == Outer(limit=2000.0, scales=(1.0, 0.5), inner=Inner(size=(4, 5)))
    assert from_section(Outer, {"limit": None}, "top").limit is None
    with pytest.raises(SectionError, match=r"top\.name: must not be null"):
        from_section(Outer, {"name": None}, "top")
    with pytest.raises(SectionError, match=r"top\.inner\.size: expected a list of 2 values"):
        from_section(Outer, {"inner": {"size": [1, 2, 3]}}, "top")
    with pytest.raises(SectionError, match=r"top\.inner\.rte: unknown key"):
        from_section(Outer, {"inner": {"rte": 1}}, "top")
    with pytest.raises(SectionError, match=r"top\.flag: expected bool"):
        from_section(Outer, {"flag": 1}, "top")
    with pytest.raises(SectionError, match=r"top\.scales\[1\]: expected float"):
        from_section(Outer, {"scales": [1, "x"]}, "top")


def test_augmentation_section_uses_the_same_parser():
    assert augment_config({"noise_std": "2e-2"}) == dataclasses.replace(AugmentConfig(), noise_std=0.02)
    with pytest.raises(ValueError, match=r"signx\.augmentation\.sed: unknown key"):
        augment_config({"sed": 1})
