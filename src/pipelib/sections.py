"""Config sections to dataclasses: one parser, the same behaviour for every section.

:func:`from_section` builds a dataclass from the mapping a config section holds. The dataclass is
the home of the section's defaults (a missing key takes the field's default) and of its types:

* unknown keys are refused, naming the dotted key (``signx.pose2gloss.model.dropuot``) and the
  keys that are known;
* numbers may be written as YAML reads them: ``1e-1`` (a string to PyYAML) is a float, an int is a
  float where a float is declared, ``4.0`` is an int where an int is declared (``4.5`` is not);
* ``true``/``false`` only where a bool is declared, and never as a number;
* ``null`` only where the type allows None;
* lists become the declared tuples (``tuple[float, ...]``, ``tuple[int, int]``), element by element;
* a field typed as another dataclass takes a nested section, built the same way.

This module is a leaf: of the library it imports only :mod:`pipelib.errors`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from pipelib.errors import DataError

T = TypeVar("T")


class SectionError(DataError, ValueError):
    """A config section that does not fit its dataclass; the message names the dotted key."""


def from_section(cls: type[T], data: Mapping[str, Any] | None, where: str) -> T:
    """Instance of dataclass ``cls`` from config section ``data`` (None: all defaults); ``where`` is
    the section's dotted path, used in errors. Raises :class:`SectionError` (see the module doc)."""
    return cls(**coerce_fields(cls, data, where))


def coerce_fields(cls: type, data: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    """The keys of ``data`` checked against ``cls``'s fields and converted to their declared types
    (nested dataclass sections built); missing keys are left out, for the defaults to fill."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SectionError(f"{where}: must be a mapping of keys to values, got {data!r}")
    hints = field_types(cls)
    unknown = [k for k in data if k not in hints]
    if unknown:
        raise SectionError(f"{where}.{unknown[0]}: unknown key; remove it or use one of {sorted(hints)}")
    return {key: convert(value, hints[key], f"{where}.{key}") for key, value in data.items()}


def field_types(cls: type) -> dict[str, Any]:
    """``{field name: resolved type}`` of dataclass ``cls`` (string annotations resolved)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def convert(value: Any, kind: Any, where: str) -> Any:
    """``value`` as type ``kind``; raises :class:`SectionError` naming ``where``."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise SectionError(f"{where}: must not be null (expected {type_name(kind)})")
        for option in (a for a in args if a is not type(None)):
            try:
                return convert(value, option, where)
            except SectionError:
                continue
        raise SectionError(f"{where}: expected {type_name(kind)}, got {value!r}")
    if value is None:
        raise SectionError(f"{where}: must not be null (expected {type_name(kind)})")
    if dataclasses.is_dataclass(kind):
        return from_section(kind, value, where)
    if origin is typing.Literal:
        if value not in args:
            raise SectionError(f"{where}: must be one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        return _tuple(value, args, where)
    if origin in (list, dict) or kind in (list, dict):
        expected = origin or kind
        if not isinstance(value, expected):
            what = "list" if expected is list else "mapping"
            raise SectionError(f"{where}: expected a {what}, got {value!r}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise SectionError(f"{where}: expected bool (true or false), got {value!r}")
        return value
    if kind in (int, float):
        return _number(value, kind, where)
    if kind is str:
        if not isinstance(value, str):
            raise SectionError(f"{where}: expected str, got {value!r}")
        return value
    return value


def _number(value: Any, kind: type, where: str) -> int | float:
    bad = SectionError(f"{where}: expected {kind.__name__}, got {value!r}")
    if isinstance(value, bool | list | dict | tuple):
        raise bad
    try:
        number = float(value)           # also YAML's numeric strings ("1e-1")
    except (TypeError, ValueError):
        raise bad from None
    if kind is float:
        return number
    if not number.is_integer():
        raise bad
    return int(number)


def _tuple(value: Any, args: tuple[Any, ...], where: str) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise SectionError(f"{where}: expected a list, got {value!r}")
    if len(args) == 2 and args[1] is Ellipsis:
        kinds = [args[0]] * len(value)
    elif args:
        if len(value) != len(args):
            raise SectionError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        kinds = list(args)
    else:
        return tuple(value)
    return tuple(convert(v, k, f"{where}[{i}]") for i, (v, k) in enumerate(zip(value, kinds, strict=True)))


def type_name(kind: Any) -> str:
    """A short readable name of a type annotation (``float | None``, ``tuple[int, ...]``)."""
    if isinstance(kind, type) and not typing.get_args(kind):
        return kind.__name__
    return str(kind).replace("typing.", "")
