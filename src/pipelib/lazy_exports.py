"""A package's public names loaded from their modules on first use (PEP 562 module ``__getattr__``).

The workflow imports light modules such as ``pipelib.training.config`` whenever it starts; a package
``__init__`` that imported its heavy modules eagerly would bring torch or OpenCV along with them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(package: str, sources: Mapping[str, str], public: Sequence[str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: a name of ``sources`` is read from the module
    ``f"{package}.{sources[name]}"`` and cached in the package's ``namespace`` (its ``globals()``)."""

    def getattr_(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{sources[name]}"), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *public})

    return getattr_, dir_
