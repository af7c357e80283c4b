"""The config sections table: every section parses alike, and its defaults live in one place.

The schema's ``default:`` of each key equals the field default of the dataclass that reads the section
(the schema fills defaults in before jobs run, the dataclass when the library is called directly);
every section refuses unknown keys and bools as numbers and reads YAML's ``1e-1`` as a float.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path

import pytest
import yaml

from pipelib import configkeys
from pipelib.config_sections import SECTIONS, STAGES, Section, check_stage, entries
from pipelib.sections import SectionError, field_types

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = configkeys.load_schema(ROOT / configkeys.SCHEMA_PATH)
BY_PATH = {s.path: s for s in SECTIONS}


def _default(f: dataclasses.Field) -> object:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _plain(value: object) -> object:
    """Tuples as lists, as YAML writes them."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _schema_node(section: Section) -> dict:
    return configkeys.node_at(SCHEMA, ["x" if p == "*" else p for p in section.path.split(".")]) or {}


def _fields_of(section: Section, *kinds: type) -> list[str]:
    """Fields typed as one of ``kinds`` (alone or with None), in declaration order."""
    out = []
    for name, kind in field_types(section.cls).items():
        union = typing.get_origin(kind) in (typing.Union, types.UnionType)
        options = typing.get_args(kind) if union else (kind,)
        if any(o in kinds for o in options if o is not type(None)):
            out.append(name)
    return out


def test_the_table_covers_each_section_once_and_every_stage_is_checked():
    assert len(BY_PATH) == len(SECTIONS)
    assert set(STAGES) == {"synthetic", "skeletons", "production", "signx", "evaluation", "audit"}
    for section in SECTIONS:
        assert _schema_node(section), f"{section.path} is not in the config schema"


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.path)
def test_schema_defaults_equal_the_dataclass_defaults(section):
    props = _schema_node(section).get("properties") or {}
    fields = {f.name: f for f in dataclasses.fields(section.cls)}
    unread = sorted(set(props) - set(fields))
    assert not unread, f"{section.path}: schema keys {unread} are not fields of {section.cls.__name__}"
    for key, node in props.items():
        node = configkeys.resolve(SCHEMA, node)
        default = _default(fields[key])
        if "default" not in node or dataclasses.is_dataclass(default):
            continue   # no schema default, or a nested section with its own table entry
        assert _plain(default) == node["default"], (
            f"{section.path}.{key}: schema default {node['default']!r}, "
            f"{section.cls.__name__}.{key} default {default!r}")


def test_defaults_are_compared_where_the_schema_gives_them():
    """The comparison above has work to do: these sections' keys all carry schema defaults."""
    for path in ("signx.recognizer", "signx.recognition", "signx.efficiency", "signx.augmentation",
                 "evaluation.statistics", "audit", "audit.tolerance", "signx.video2pose"):
        props = _schema_node(BY_PATH[path]).get("properties") or {}
        with_default = [k for k, v in props.items() if "default" in configkeys.resolve(SCHEMA, v)]
        assert len(with_default) >= 2, path


# Sections with a required key (no default), and the smallest valid entry of each.
MINIMAL = {"production.systems.*": {"seeds": [2]}}
# Sections without a number field, and where a bool must be refused instead.
BOOL_PROBES = {"production.systems.*": ("seeds", [True]), "signx.spread": ("seeds", True)}


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.path)
def test_every_section_refuses_unknown_keys_and_bools_naming_the_dotted_key(section):
    where = f"x.{section.path}"
    minimal = MINIMAL.get(section.path, {})
    with pytest.raises(SectionError, match=rf"{re.escape(where)}\.dropuot: unknown key"):
        section.parse({**minimal, "dropuot": 1}, where)
    key, value = BOOL_PROBES.get(section.path) or (_fields_of(section, int, float)[0], True)
    with pytest.raises(SectionError, match=rf"{re.escape(where)}\.{key}: expected"):
        section.parse({**minimal, key: value}, where)
    assert section.parse(minimal or None, where) is not None   # every default works


FLOAT_SECTIONS = [s for s in SECTIONS if _fields_of(s, float)]


@pytest.mark.parametrize("section", FLOAT_SECTIONS, ids=lambda s: s.path)
def test_every_float_reads_yaml_numeric_strings(section):
    key = _fields_of(section, float)[0]
    built = section.parse({key: "1e-1"}, section.path)   # PyYAML reads 1e-1 as a string
    value = getattr(built, key)
    assert isinstance(value, float) and value == pytest.approx(0.1), (section.path, key, value)


def test_float_sections_are_most_of_the_table():
    assert len(FLOAT_SECTIONS) >= 15


def _project_config() -> dict:
    return yaml.safe_load((ROOT / "config/config.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("stage", STAGES)
def test_the_project_config_passes_each_stage_check(stage):
    check_stage(_project_config(), stage)


def test_a_bad_key_fails_its_stage_check_only_naming_where_it_sits():
    config = _project_config()
    config["datasets"]["demo"]["synthetic"]["n_trian"] = 5
    with pytest.raises(SectionError, match=r"datasets\.demo\.synthetic\.n_trian: unknown key"):
        check_stage(config, "synthetic")
    check_stage(config, "signx")
    with pytest.raises(ValueError, match="unknown stage"):
        check_stage(config, "sinx")


def test_entries_expand_stars_and_skip_absent_sections():
    config = {"datasets": {"a": {"synthetic": {"seed": 1}}, "b": {"kind": "phoenix14t"}}}
    assert list(entries(config, BY_PATH["datasets.*.synthetic"])) == [("datasets.a.synthetic", {"seed": 1})]
    assert list(entries(config, BY_PATH["audit"])) == []
