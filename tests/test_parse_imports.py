"""Parsing the workflow imports no heavy library (issue 13: every Snakemake start, SLURM job and dry run
parses the Snakefile, and torch, pandas, OpenCV and the metric libraries took ~3 s of each parse).

The probe runs in a fresh interpreter: exactly the import statements of ``workflow/rules/common.smk``
(read from the file, also those inside its helpers, which run while the DAG is built), then the start-up
check of every config section on the project config, as the Snakefile does.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMON = ROOT / "workflow" / "rules" / "common.smk"

#: modules that cost a parse seconds together; the library imports them where the work needs them
HEAVY = ("torch", "pandas", "cv2", "sacrebleu", "mlflow", "h5py", "pyarrow", "jiwer", "mediapipe",
         "onnxruntime", "transformers", "matplotlib")

_IMPORT = re.compile(r"^(\s*)(from\s+[\w.]+\s+import\s+|import\s+[\w.])")


def import_statements(text: str) -> list[str]:
    """Every ``import`` / ``from ... import`` statement of a rule file, dedented, in file order
    (parenthesised continuation lines joined)."""
    lines, found, i = text.splitlines(), [], 0
    while i < len(lines):
        if _IMPORT.match(lines[i]):
            stmt = [lines[i]]
            while "(" in stmt[0] and ")" not in stmt[-1]:
                i += 1
                stmt.append(lines[i])
            found.append(textwrap.dedent("\n".join(stmt)))
        i += 1
    for stmt in found:
        ast.parse(stmt)  # each is a whole statement
    return found


def heavy_after(code: str) -> list[str]:
    """The HEAVY modules loaded after running ``code`` in a fresh interpreter with this repository's src."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_import_statements_of_common_smk_are_found():
    stmts = import_statements(COMMON.read_text(encoding="utf-8"))
    assert "from pipelib import config_sections, configkeys, limits" in stmts
    assert any(s.startswith("from pipelib.production.systems import") for s in stmts)
    # a helper's own import counts too, and a parenthesised one is joined
    text = "x = 1\n\ndef f():\n    from a.b import (\n        c,\n        d,\n    )\n    import e\n"
    assert import_statements(text) == ["from a.b import (\n    c,\n    d,\n)", "import e"]


def test_parsing_the_workflow_imports_no_heavy_module():
    """Importing what common.smk imports and checking every config section, as each parse does, loads
    none of HEAVY: a model config that moves back beside its torch model fails here."""
    stmts = import_statements(COMMON.read_text(encoding="utf-8"))
    check = ("import yaml\nconfig = yaml.safe_load(open('config/config.yaml'))\n"
             "for stage in config_sections.STAGES:\n    config_sections.check_stage(config, stage)")
    loaded = heavy_after("\n".join([*stmts, check]))
    assert loaded == [], (f"parsing the workflow imports {loaded}: keep config sections in light modules "
                          f"and import heavy libraries inside the functions that use them")


def test_the_probe_sees_a_heavy_import():
    """The probe is not blind: the HDF5 shard module's import shows h5py."""
    assert heavy_after("import pipelib.io.shards") == ["h5py"]
