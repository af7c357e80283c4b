"""The synth stage as the pipeline runs it: generate the corpus atomically, record provenance."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from pipelib import provenance
from pipelib.io.atomic import atomic_dir
from pipelib.synth.config import SynthConfig
from pipelib.synth.corpus import generate

log = logging.getLogger("pipelib.synth")


def run(out_dir: str | os.PathLike[str], section: Mapping[str, Any], workers: int = 1) -> dict[str, Any]:
    """Render the synthetic corpus configured by ``section`` into ``out_dir`` (replaced whole) with
    ``workers`` processes (the output does not depend on their number)."""
    cfg = SynthConfig.from_dict(dict(section))
    with atomic_dir(out_dir) as tmp:
        summary = generate(tmp, cfg, workers=workers)
        record = provenance.collect(dict(section), seed=cfg.seed, extra={"summary": summary})
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
    log.info("synthetic corpus written to %s: %s", out_dir, summary)
    return summary
