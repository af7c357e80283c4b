"""The library's layering: arrows only point downward (docs: README "Layout").

``pipelib``'s packages (and top-level modules) in layers, bottom first::

    0  errors, lazy_exports
    1  io, provenance, batching, runlog, configkeys, sections
    2  text
    3  training, models, estimators, synth, audit, report
    4  datasets
    5  skeletons
    6  metrics, poses, fusion, limits
    7  production, signx
    8  evaluation, config_sections
    9  cli
   10  __main__

A module may import its own package and packages of lower layers, never one of its own layer (siblings
stay independent) or above. ``metrics`` is the leaf the stages score with; ``evaluation``, the final
table stage, sits on top of the stages it scores. Every import counts: module level, inside functions,
under ``TYPE_CHECKING``, and ``importlib.import_module("pipelib...")`` with a literal name. The library
never imports from ``workflow/`` (its rules and scripts call the library, not the reverse).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pipelib"

LAYERS: list[tuple[str, ...]] = [
    ("errors", "lazy_exports"),
    ("io", "provenance", "batching", "runlog", "configkeys", "sections"),
    ("text",),
    ("training", "models", "estimators", "synth", "audit", "report"),
    ("datasets",),
    ("skeletons",),
    ("metrics", "poses", "fusion", "limits"),
    ("production", "signx"),
    ("evaluation", "config_sections"),
    ("cli",),
    ("__main__",),
]
LAYER = {pkg: i for i, names in enumerate(LAYERS) for pkg in names}

#: Known upward imports, each with its reason; the test below fails once one is gone, so the list shrinks.
KNOWN_UPWARD = {
    # pose-file corpora are read into skeletons while the manifest is built; the reader belongs below.
    ("pipelib.datasets.pose_files", "pipelib.skeletons.pose_io"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str | None:
    """``pipelib.x.y`` -> ``x``; ``pipelib`` itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "pipelib" else None


def imports(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports (absolute names, relative imports resolved), with its line."""
    module = _module_name(path)
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*here[: len(here) - node.level + 1], *([base] if base else [])])
            # ``from pipelib import x`` imports the package x
            found += [(f"{base}.{a.name}" if base == "pipelib" else base, node.lineno) for a in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            found.append((node.args[0].value, node.lineno))
    return found


def upward_imports() -> list[str]:
    """``module:line imports target`` for every import of a package of the same or a higher layer."""
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        pkg = _package(module)
        if pkg is None:
            continue
        for target, line in sorted(set(imports(path)), key=lambda t: (t[1], t[0])):
            other = _package(target)
            if other is None or other == pkg or (module, target) in KNOWN_UPWARD:
                continue
            if LAYER[other] >= LAYER[pkg]:
                bad.append(f"{module}:{line} imports {target} ({pkg}, layer {LAYER[pkg]} -> {other}, "
                           f"layer {LAYER[other]})")
    return bad


def test_every_package_has_a_layer() -> None:
    found = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert found - set(LAYER) == set(), "place every new package in LAYERS (and the docs' order)"
    assert set(LAYER) - found == set(), "LAYERS names a package that does not exist"


def test_no_package_imports_its_own_layer_or_above() -> None:
    bad = upward_imports()
    assert not bad, "imports against the layering (arrows only point downward):\n" + "\n".join(bad)


def test_known_upward_imports_still_exist() -> None:
    """An exception nobody needs any more must leave ``KNOWN_UPWARD``."""
    for module, target in KNOWN_UPWARD:
        path = SRC.parent / (module.replace(".", "/") + ".py")
        assert target in {t for t, _ in imports(path)}, f"{module} no longer imports {target}"


def test_the_library_never_imports_the_workflow() -> None:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        for target, line in imports(path):
            if target.split(".")[0] in ("workflow", "scripts", "rules", "snakemake"):
                bad.append(f"{_module_name(path)}:{line} imports {target}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and any(s in node.value for s in ("workflow/scripts", "workflow/rules", ".smk"))
                    and not _is_docstring_text(node.value)):
                bad.append(f"{_module_name(path)}:{node.lineno} names {node.value!r}")
    assert not bad, "the library reaches into workflow/:\n" + "\n".join(bad)


def _is_trainer(module: str) -> bool:
    """``pipelib.x.train_y`` (a training module) or anything in ``pipelib.training``."""
    return module.rsplit(".", 1)[-1].startswith("train_") or _package(module) == "training"


def inference_imports_of_trainers() -> list[str]:
    """``module:line imports target`` for every library module that is no training module (not named
    ``train_*``, not in ``pipelib.training``) and imports a ``train_*`` module."""
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        if _is_trainer(module):
            continue
        found = set(imports(path))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom):  # ``from pipelib.signx import train_x`` names the module
                found |= {(f"{node.module or '.'}.{a.name}", node.lineno) for a in node.names
                          if a.name.startswith("train_") and not _is_trainer(node.module or "")}
        for target, line in sorted(found, key=lambda t: (t[1], t[0])):
            if _is_trainer_module_name(target):
                bad.append(f"{module}:{line} imports {target}")
    return bad


def _is_trainer_module_name(module: str) -> bool:
    return module.rsplit(".", 1)[-1].startswith("train_")


def workflow_imports_of_trainers(workflow: Path) -> list[str]:
    """Where ``workflow/`` reaches a ``train_*`` module other than to call its trainer: any import of one
    in a rule file (``*.smk``), and in a script any name imported from one that is not a ``train_*``
    function (a training rule's script imports ``train_x`` from it and nothing else)."""
    bad = []
    for path in sorted((workflow / "rules").glob("*.smk")):
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"^\s*(from\s+[\w.]*\btrain_\w+\s+import|import\s+[\w.]*\btrain_\w+)", text):
                bad.append(f"{path.relative_to(workflow.parent)}:{n}: {text.strip()}")
    for path in sorted((workflow / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.rsplit(".", 1)[-1].startswith("train_")]
            elif isinstance(node, ast.ImportFrom) and _is_trainer_module_name(node.module or ""):
                names = [f"{node.module}.{a.name}" for a in node.names if not a.name.startswith("train_")]
            else:
                continue
            bad += [f"{path.relative_to(workflow.parent)}:{node.lineno} imports {name}" for name in names]
    return bad


def test_no_inference_module_imports_a_training_module() -> None:
    """Loaders, data helpers and decoding live beside their models, so inference never needs a trainer."""
    bad = inference_imports_of_trainers()
    assert not bad, "inference modules importing training modules:\n" + "\n".join(bad)


def test_the_workflow_imports_trainers_only_to_train() -> None:
    bad = workflow_imports_of_trainers(SRC.parents[1] / "workflow")
    assert not bad, "workflow files reaching into training modules:\n" + "\n".join(bad)


def test_trainer_imports_are_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An inference module importing a trainer is reported, a trainer importing another is not; in the
    workflow a rule file's import and a script's non-trainer name are reported, a trainer call is not."""
    root = tmp_path / "src" / "pipelib"
    (root / "signx").mkdir(parents=True)
    (root / "signx" / "__init__.py").write_text("")
    (root / "signx" / "recognition.py").write_text("from pipelib.signx.train_recognizer import decode\n"
                                                   "from pipelib.signx import train_pose2gloss\n")
    (root / "signx" / "train_video2pose.py").write_text("from pipelib.signx import train_pose2gloss\n")
    monkeypatch.setitem(globals(), "SRC", root)
    assert inference_imports_of_trainers() == [
        "pipelib.signx.recognition:1 imports pipelib.signx.train_recognizer",
        "pipelib.signx.recognition:2 imports pipelib.signx.train_pose2gloss"]
    wf = tmp_path / "workflow"
    (wf / "rules").mkdir(parents=True)
    (wf / "scripts").mkdir()
    (wf / "rules" / "common.smk").write_text("def f():\n    from pipelib.signx.train_recognizer import x\n")
    (wf / "scripts" / "a.py").write_text("from pipelib.signx.train_recognizer import train_recognizer\n")
    (wf / "scripts" / "b.py").write_text("from pipelib.signx.train_recognizer import load_recognizer\n")
    assert workflow_imports_of_trainers(wf) == [
        "workflow/rules/common.smk:2: from pipelib.signx.train_recognizer import x",
        "workflow/scripts/b.py:1 imports pipelib.signx.train_recognizer.load_recognizer",
    ]


def _is_docstring_text(text: str) -> bool:
    return " " in text.strip()  # prose mentions the workflow; a path to load has no spaces


@pytest.mark.parametrize(("source", "expected"), [
    ("from pipelib.evaluation import metrics\n", ["pipelib.evaluation"]),
    ("def f():\n    from pipelib.production.priors import load_priors\n", ["pipelib.production.priors"]),
    ("import importlib\nimportlib.import_module('pipelib.signx.recognition')\n",
     ["importlib", "pipelib.signx.recognition"]),
    ("from ..evaluation.table import COLUMNS\n", ["pipelib.evaluation.table"]),
])
def test_imports_sees_every_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str,
                                 expected: list[str]) -> None:
    """The parser finds module-level, function-level, importlib and relative imports."""
    pkg = tmp_path / "pipelib" / "metrics"
    pkg.mkdir(parents=True)
    mod = pkg / "m.py"
    mod.write_text(source)
    monkeypatch.setitem(globals(), "SRC", tmp_path / "pipelib")
    assert [t for t, _ in imports(mod)] == expected


def test_upward_and_sibling_imports_are_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A leaf importing the table stage, and one stage importing its sibling, are both reported."""
    root = tmp_path / "pipelib"
    for pkg, source in [("metrics", "def f():\n    from pipelib.evaluation import table\n"),
                        ("signx", "from pipelib.production import generate\nfrom pipelib.io import shards\n"),
                        ("evaluation", "from pipelib.metrics import slrtp\n")]:
        (root / pkg).mkdir(parents=True)
        (root / pkg / "__init__.py").write_text("")
        (root / pkg / "m.py").write_text(source)
    monkeypatch.setitem(globals(), "SRC", root)
    assert upward_imports() == [
        "pipelib.metrics.m:2 imports pipelib.evaluation (metrics, layer 6 -> evaluation, layer 8)",
        "pipelib.signx.m:1 imports pipelib.production (signx, layer 7 -> production, layer 7)",
    ]
