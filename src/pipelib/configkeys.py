"""Which config keys can change an output, as the config schema says (`x-affects-results`).

A key whose schema entry carries ``x-affects-results: false`` cannot change the content of any output
(threads, devices, inference batch sizes, logging, tracking, pass/fail limits). The workflow hands each
rule its config section as a :class:`TrackedSection`: the job receives every key, but Snakemake's
`params` re-run trigger sees only the keys that can change a result, so editing the others re-runs
nothing. Adding a key therefore takes one annotation in the schema, nothing else.

``python -m pipelib.configkeys [config/README.md]`` prints (or rewrites in place) the table of
non-result keys that config/README.md carries.
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ANNOTATION = "x-affects-results"
SCHEMA_PATH = Path("workflow/schemas/config.schema.yaml")
README_BEGIN = "<!-- BEGIN keys that never re-run: python -m pipelib.configkeys config/README.md -->"
README_END = "<!-- END keys that never re-run -->"


def load_schema(path: str | Path) -> dict[str, Any]:
    """The YAML config schema at ``path``."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def resolve(schema: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``node`` with a local ``$ref`` (``#/definitions/x``) followed; sibling keys win over the target's."""
    if node is None:
        return None
    node = dict(node)
    seen = set()
    while "$ref" in node:
        ref = node.pop("$ref")
        if ref in seen or not ref.startswith("#/"):
            raise ValueError(f"config schema: cannot follow $ref {ref!r}")
        seen.add(ref)
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part]
        node = {**target, **node}
    return node


def child(schema: Mapping[str, Any], node: Mapping[str, Any] | None, key: str) -> dict[str, Any] | None:
    """The schema of ``key`` inside the object schema ``node`` (None where the schema says nothing)."""
    node = resolve(schema, node)
    if not node:
        return None
    props = node.get("properties") or {}
    if key in props:
        return resolve(schema, props[key])
    for pattern, sub in (node.get("patternProperties") or {}).items():
        if re.search(pattern, key):
            return resolve(schema, sub)
    extra = node.get("additionalProperties")
    return resolve(schema, extra) if isinstance(extra, Mapping) else None


def node_at(schema: Mapping[str, Any], path: Sequence[str]) -> dict[str, Any] | None:
    """The schema of the config entry at ``path`` (e.g. ``["datasets", "ci", "synthetic"]``)."""
    node = resolve(schema, schema)
    for key in path:
        node = child(schema, node, key)
        if node is None:
            return None
    return node


def affects_results(node: Mapping[str, Any] | None) -> bool:
    """False only where the schema annotates ``x-affects-results: false``."""
    return not (node is not None and node.get(ANNOTATION) is False)


def result_view(schema: Mapping[str, Any], value: Any, node: Mapping[str, Any] | None) -> Any:
    """A key-sorted deep copy of ``value`` without the keys whose schema says they cannot change results."""
    node = resolve(schema, node)
    if isinstance(value, Mapping):
        out = {}
        for key in sorted(value):
            sub = child(schema, node, key)
            if affects_results(sub):
                out[key] = result_view(schema, value[key], sub)
        return out
    if isinstance(value, list | tuple):
        items = node.get("items") if node else None
        return [result_view(schema, v, items if isinstance(items, Mapping) else None) for v in value]
    return copy.deepcopy(value)


def sorted_copy(value: Any) -> Any:
    """A deep copy with every mapping key-sorted."""
    if isinstance(value, Mapping):
        return {k: sorted_copy(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [sorted_copy(v) for v in value]
    return copy.deepcopy(value)


class TrackedSection(dict):
    """A config section for a rule's ``params:``: a plain, key-sorted dict holding every key, whose
    ``repr`` (what Snakemake records and compares to decide a re-run) shows only the keys that can
    change a result. It pickles as a plain dict, so a job's script receives an ordinary dict."""

    __slots__ = ("tracked",)

    def __init__(self, full: Mapping[str, Any], tracked: Mapping[str, Any]):
        super().__init__(sorted_copy(full))
        self.tracked = sorted_copy(tracked)

    def __repr__(self) -> str:
        return repr(self.tracked)

    def __reduce__(self):
        return (dict, (dict(self),))

    def __copy__(self) -> TrackedSection:
        return TrackedSection(self, self.tracked)

    def __deepcopy__(self, memo: dict) -> TrackedSection:
        return TrackedSection(copy.deepcopy(dict(self), memo), copy.deepcopy(self.tracked, memo))


def tracked(schema: Mapping[str, Any], value: Mapping[str, Any], path: Sequence[str]) -> TrackedSection:
    """``value`` (the config entry at ``path``) as a :class:`TrackedSection` for ``params:``."""
    return TrackedSection(value, result_view(schema, value, node_at(schema, path)))


# ---- coercion of --config values -------------------------------------------------------------

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def coerce_scalar(value: str, node: Mapping[str, Any] | None) -> Any:
    """A string from ``--config`` read as YAML would read it (``0.5``, ``1e-4``, ``true``, ``null``),
    unless the schema wants a string there."""
    types = (node or {}).get("type")
    if types == "string" or types == ["string"] or (node or {}).get("enum") and value in node["enum"]:
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    if isinstance(parsed, str) and _NUMBER.match(parsed.strip()):
        return float(parsed)
    return parsed if parsed is None or isinstance(parsed, bool | int | float) else value


def coerce_overrides(schema: Mapping[str, Any], overrides: Any, path: Sequence[str] = ()) -> Any:
    """``--config`` values with every string scalar coerced by :func:`coerce_scalar`.

    Snakemake reads nested ``--config`` values as YAML with every scalar a string
    (``'0.5' is not of type 'number'`` would follow); this gives them their YAML types back.
    """
    node = node_at(schema, path)
    if isinstance(overrides, Mapping):
        return {k: coerce_overrides(schema, v, [*path, str(k)]) for k, v in overrides.items()}
    if isinstance(overrides, list):
        items = (node or {}).get("items")
        return [coerce_scalar(v, items) if isinstance(v, str) else v for v in overrides]
    if isinstance(overrides, str):
        return coerce_scalar(overrides, node)
    return overrides


# ---- the classification, for config/README.md -------------------------------------------------

@dataclass(frozen=True)
class KeyClass:
    """One config key the schema names: its dotted name (``<name>`` for a free key), whether it can
    change an output, the schema's description, and the definition it belongs to with its name there
    (``("train", "device")`` for every ``train:`` section's ``device``; ``("", key)`` outside any)."""

    key: str
    affects_results: bool
    description: str
    definition: str = ""
    local: str = ""


def _ref_name(node: Mapping[str, Any]) -> str:
    ref = node.get("$ref", "") if isinstance(node, Mapping) else ""
    return ref.rsplit("/", 1)[-1] if ref.startswith("#/") else ""


def iter_keys(schema: Mapping[str, Any], node: Mapping[str, Any] | None = None, prefix: str = "",
              definition: str = "", local: str = "", depth: int = 0) -> Iterator[KeyClass]:
    """Every key the schema names, depth first, with its classification; keys below a key that
    cannot change results are not listed (they inherit its class)."""
    node = resolve(schema, schema if node is None else node) or {}
    if depth > 12:
        return
    subs = [(key, sub, f"{prefix}{key}") for key, sub in (node.get("properties") or {}).items()]
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):
        subs.append(("<name>", extra, f"{prefix}<name>"))
    for key, raw, name in subs:
        ref = _ref_name(raw)
        defn, rel = (ref, "") if ref else (definition, f"{local}{key}")
        sub = resolve(schema, raw) or {}
        if key != "<name>":
            yield KeyClass(name, affects_results(sub), " ".join(str(sub.get("description", "")).split()),
                           defn if rel else "", rel)
        if affects_results(sub):
            yield from iter_keys(schema, sub, f"{name}.", defn, f"{rel}." if rel else "", depth + 1)


def readme_table(schema: Mapping[str, Any]) -> str:
    """The markdown table of keys that cannot change an output, as config/README.md carries it: keys
    of a shared definition once, as ``<definition>.key``, with the places that definition is used."""
    keys = list(iter_keys(schema))
    used: dict[str, list[str]] = {}
    rows: dict[str, str] = {}
    for k in keys:
        if k.definition and not k.local.count("."):
            used.setdefault(k.definition, [])
            where = k.key[: -len(k.local) - 1]
            if where not in used[k.definition]:
                used[k.definition].append(where)
        if not k.affects_results:
            rows[f"<{k.definition}>.{k.local}" if k.definition else k.key] = k.description
    lines = ["| key | what it sets |", "| --- | --- |"]
    lines += [f"| `{key}` | {rows[key]} |" for key in sorted(rows)]
    shared = sorted({key.split(">.")[0][1:] for key in rows if key.startswith("<")})
    for defn in shared:
        lines.append("")
        lines.append(f"`<{defn}>` is any of: " + ", ".join(f"`{w}`" for w in used.get(defn, [])) + ".")
    return "\n".join([README_BEGIN, *lines, README_END])


def replace_table(text: str, table: str) -> str:
    """``text`` with the block between the README markers replaced by ``table``."""
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no block between {README_BEGIN!r} and {README_END!r}")
    return text[:start] + table + text[end + len(README_END):]


def main(argv: Sequence[str]) -> int:
    table = readme_table(load_schema(SCHEMA_PATH))
    if not argv:
        print(table)
        return 0
    readme = Path(argv[0])
    readme.write_text(replace_table(readme.read_text(encoding="utf-8"), table), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
