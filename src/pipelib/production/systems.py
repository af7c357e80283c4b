"""Generator systems: the named rows of the production table, each a trained generator.

``production.systems`` maps a name to a system: its generator ``kind``, the system it initialises
from (``init_from``), its ``seeds`` (one training run each), the channel-prior ``kl`` term (or none),
its ``train`` section and ``generator`` keys it sets otherwise than ``production.generator``. DARSLP
is ``{kind: darslp, seeds: [2]}`` and DARSLP-KL ``{kind: darslp, init_from: DARSLP, seeds: [3],
kl: {...}}``; the paper's "L1 + w/ KL from the start" row is ``{kind: darslp, seeds: [2], kl: {...}}``.

A system that initialises from another trains its seed number ``i`` (in list order) from the other's
run ``i``, or from the other's only run when it has one; it may have fewer seeds than the other, so
adding seeds to DARSLP leaves the one-seed systems that start from it valid.
"""

from __future__ import annotations

import copy
import importlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelib.sections import SectionError

#: Generator kinds: kind -> the module whose ``train_generator`` trains it and whose checkpoints
#: :func:`pipelib.production.generate` reads.
KINDS = {"darslp": "pipelib.production.train_generator"}
#: Names the table gives its own rows.
RESERVED = ("GT", "mean-pose")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*$")
WHERE = "production.systems"


@dataclass(frozen=True)
class System:
    """One configured system (see the module doc); ``train`` has no seed (``seeds`` gives them)."""

    name: str
    seeds: tuple[int, ...]
    kind: str = "darslp"
    init_from: str | None = None
    kl: dict[str, Any] | None = None
    generator: dict[str, Any] = field(default_factory=dict)
    autoencoder: str | None = None
    train: dict[str, Any] = field(default_factory=dict)


def parse_systems(section: Mapping[str, Any], *, where: str = WHERE,
                  before: Mapping[str, System] | None = None,
                  autoencoders: Iterable[str] = ()) -> dict[str, System]:
    """``production.systems`` (or another section of systems at ``where``) checked: each entry
    (:func:`parse_system`); ``init_from`` naming a system of this section or of ``before``, with no
    cycle, whose seeds pair with these; ``autoencoder`` naming one of ``autoencoders``. Raises
    :class:`SectionError` naming the key."""
    if not isinstance(section, Mapping) or (not section and before is None):
        raise SectionError(f"{where}: must map at least one system name to its settings")
    earlier = dict(before or {})
    autoencoders = tuple(autoencoders)
    systems: dict[str, System] = {}
    for name, entry in section.items():
        if not NAME.match(str(name)) or name in RESERVED:
            raise SectionError(f"{where}.{name}: a system name is letters, digits and _+- starting with a "
                               f"letter, other than {', '.join(RESERVED)}")
        if name in earlier:
            raise SectionError(f"{where}.{name}: the name is taken by {WHERE}.{name}; choose another")
        systems[name] = parse_system(name, entry, f"{where}.{name}")
    known = {**earlier, **systems}
    for name, system in systems.items():
        parent = system.init_from
        if parent is not None:
            if parent not in known:
                raise SectionError(f"{where}.{name}.init_from: {parent!r} is not a configured system "
                                   f"({', '.join(known)})")
            n_parent = len(known[parent].seeds)
            if n_parent != 1 and len(system.seeds) > n_parent:
                raise SectionError(f"{where}.{name}.seeds: {len(system.seeds)} seeds cannot pair with the "
                                   f"{n_parent} seeds of {parent!r}; give at most as many, or one to "
                                   f"{parent!r}")
            chain = [name]
            while parent is not None:
                if parent in chain:
                    raise SectionError(f"{where}.{name}.init_from: systems initialise from each other in a "
                                       f"circle ({' -> '.join([*chain, parent])})")
                chain.append(parent)
                parent = known[parent].init_from
        if system.autoencoder is not None and system.autoencoder not in autoencoders:
            raise SectionError(f"{where}.{name}.autoencoder: {system.autoencoder!r} is not one of "
                               f"ablations.autoencoders ({', '.join(autoencoders) or 'none configured'}); "
                               f"null uses production.autoencoder")
    return systems


def parse_system(name: str, entry: Mapping[str, Any], where: str | None = None) -> System:
    """One ``production.systems`` entry checked on its own (keys, kind, seeds, no ``train.seed``);
    ``where`` (default ``production.systems.<name>``) names it in errors."""
    where = where or f"{WHERE}.{name}"
    if not isinstance(entry, Mapping):
        raise SectionError(f"{where}: must be a mapping (kind, init_from, seeds, kl, generator, autoencoder, "
                           f"train)")
    known = {"kind", "init_from", "seeds", "kl", "generator", "autoencoder", "train"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise SectionError(f"{where}.{unknown[0]}: unknown key; remove it or use one of {sorted(known)}")
    kind = entry.get("kind") or "darslp"
    if kind not in KINDS:
        raise SectionError(f"{where}.kind: unknown generator kind {kind!r}; known: {sorted(KINDS)}")
    seeds = entry.get("seeds")
    if (not isinstance(seeds, list | tuple) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
            or len(set(seeds)) != len(seeds)):
        raise SectionError(f"{where}.seeds: expected a list of distinct integer seeds, e.g. [2]")
    train = dict(entry.get("train") or {})
    if "seed" in train:
        raise SectionError(f"{where}.train.seed: a system's seeds are {where}.seeds; remove train.seed")
    kl = entry.get("kl")
    if kl is not None and not isinstance(kl, Mapping):
        raise SectionError(f"{where}.kl: null (no KL term) or {{region_weights, weight}}")
    return System(name=name, seeds=tuple(seeds), kind=kind, init_from=entry.get("init_from"),
                  kl=None if kl is None else {"region_weights": [1, 10, 6, 1], "weight": 1.0, **dict(kl)},
                  generator=dict(entry.get("generator") or {}), autoencoder=entry.get("autoencoder"),
                  train=train)


def init_run(systems: Mapping[str, System], name: str, seed: int) -> tuple[str, int] | None:
    """The (system, seed) run that run ``seed`` of system ``name`` initialises from, or None."""
    system = systems[name]
    if system.init_from is None:
        return None
    parent = systems[system.init_from]
    index = system.seeds.index(seed)
    return parent.name, parent.seeds[index if len(parent.seeds) > 1 else 0]


def merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied key by key (nested mappings merged, the rest replaced)."""
    out = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def training_section(generator: Mapping[str, Any], system: System, seed: int) -> dict[str, Any]:
    """What one training run of ``system`` reads: the generator section with the system's changes,
    ``kl`` (None: no KL term) and ``train`` with ``seed``."""
    if seed not in system.seeds:
        raise ValueError(f"{WHERE}.{system.name}: seed {seed} is not one of its seeds {list(system.seeds)}")
    return {**merged(generator, system.generator), "kl": copy.deepcopy(system.kl),
            "train": {**copy.deepcopy(system.train), "seed": seed}}


def trainer(kind: str) -> Callable[..., Path]:
    """The ``train_generator`` function of generator ``kind`` (see :data:`KINDS`)."""
    if kind not in KINDS:
        raise SectionError(f"{WHERE}: unknown generator kind {kind!r}; known: {sorted(KINDS)}")
    return importlib.import_module(KINDS[kind]).train_generator


def train_run(latents_h5: str | os.PathLike[str], generator: Mapping[str, Any], name: str,
              entry: Mapping[str, Any], seed: int, run_dir: str | os.PathLike[str], *,
              priors_h5: str | os.PathLike[str] | None = None,
              init_from: str | os.PathLike[str] | None = None) -> Path:
    """Train run ``seed`` of system ``name`` (its ``production.systems`` ``entry``) with its kind's
    trainer; returns the best checkpoint."""
    system = parse_system(name, entry)
    return trainer(system.kind)(latents_h5, training_section(generator, system, seed), run_dir,
                                priors_h5=priors_h5, init_from=init_from, where=f"{WHERE}.{name}")
