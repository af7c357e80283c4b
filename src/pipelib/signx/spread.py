"""``results/<ds>/signx/spread.csv``: how far SignX's RGB-only recognition moves with Video2Pose's seed.

Video2Pose trained from another seed (``signx.spread.seeds``, beside ``signx.video2pose.train.seed``) makes
other latents from the same pixels, which the same recognisers (trained on estimator-made latents) read.
On the demo one seed's WER from pixels can differ from another's by more than the bootstrap interval over
sentences, so a single run's ratio to the estimator-made latents says little on its own.

Rows ``row = seed`` (one per seed, recogniser, reference kind, decoding and split; the first seed is the
run every other table uses, so its numbers are recognition.csv's ``SignX-video-*`` rows), then rows
``mean``, ``sd`` (sample standard deviation; empty with one seed), ``min``, ``max`` over the seeds of each
(recogniser, target, decoding, split). Columns:

- ``row``, ``seed`` (empty on summary rows), ``recognizer`` (``gloss`` or ``text``: which recogniser),
  ``target``, ``decoding``, ``split``, ``n_sequences``: as in recognition.csv
- ``WER_latent``: the recogniser on the estimators' latents (the same for every seed)
- ``WER_video``, ``WER_video_lo``, ``WER_video_hi``: on latents Video2Pose made from pixels, with the
  bootstrap interval over sentences (``evaluation.statistics``)
- ``WER_ratio``: ``WER_video / WER_latent`` (1: pixels lose nothing against the five estimators)
- ``latent_cos``: how close the seed's video-made latents come to the estimator-made ones on
  ``signx.closeness.split`` (closeness.csv's ``latent_cos`` for the first seed); WER from pixels follows it
- ``dev_latent_mse``: the seed's best dev latent MSE, Video2Pose's model-selection score (its history.csv)
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelib import provenance
from pipelib.io.atomic import atomic_path, write_text_atomic
from pipelib.signx.closeness_stage import closeness_table
from pipelib.signx.recognition import VideoCheckpoints, recognition_table

log = logging.getLogger("pipelib.signx")

KEYS = ["recognizer", "target", "decoding", "split"]
COLUMNS = ["row", "seed", *KEYS, "n_sequences", "WER_latent", "WER_video", "WER_video_lo", "WER_video_hi",
           "WER_ratio", "latent_cos", "dev_latent_mse"]
SUMMARIES = ("mean", "sd", "min", "max")
VALUES = ["WER_latent", "WER_video", "WER_ratio", "latent_cos", "dev_latent_mse"]


@dataclass(frozen=True)
class SpreadInputs:
    """What every seed is scored on: the corpus, the estimators' fused features and latents, the pruning
    mask, the recognisers (``{target: averaged.pt}``) and the frozen Pose2Gloss."""

    manifest: str | os.PathLike[str]
    fused_shards: Sequence[str | os.PathLike[str]]
    latent_shards: Sequence[str | os.PathLike[str]]
    pruning_json: str | os.PathLike[str]
    recognizers: Mapping[str, str | os.PathLike[str]]
    pose2gloss: str | os.PathLike[str]

    def paths(self) -> list[str]:
        """Every input file, for provenance."""
        return [str(self.manifest), *map(str, self.fused_shards), *map(str, self.latent_shards),
                str(self.pruning_json), *map(str, self.recognizers.values()), str(self.pose2gloss)]


def best_dev_latent_mse(video2pose_ckpt: str | os.PathLike[str]) -> float:
    """The lowest ``dev/latent_mse`` in the history.csv beside a Video2Pose checkpoint (NaN without one)."""
    history = Path(video2pose_ckpt).parent / "history.csv"
    if not history.is_file():
        return float("nan")
    column = pd.read_csv(history).get("dev/latent_mse")
    return float(column.min()) if column is not None and column.notna().any() else float("nan")


def seed_rows(table: pd.DataFrame, seed: int, latent_cos: float, dev_latent_mse: float) -> pd.DataFrame:
    """One seed's rows from its recognition table (recognition.csv's columns): each ``SignX-video-<r>`` row
    beside the ``SignX-latent-<r>`` row of the same target, decoding and split."""
    signx = table[table["system"].str.startswith("SignX-")].copy()
    parts = signx["system"].str.split("-", n=2, expand=True)          # SignX, latent|video, recogniser
    signx["source"], signx["recognizer"] = parts[1], parts[2]
    latent = signx[signx["source"] == "latent"].set_index(KEYS)
    video = signx[signx["source"] == "video"].set_index(KEYS)
    missing = video.index.difference(latent.index)
    if len(missing):
        raise ValueError(f"recognition rows from pixels without a latent row to compare: {list(missing)}")
    out = pd.DataFrame({
        "row": "seed", "seed": seed,
        "n_sequences": video["n_sequences"],
        "WER_latent": latent.loc[video.index, "WER"],
        "WER_video": video["WER"], "WER_video_lo": video["WER_lo"], "WER_video_hi": video["WER_hi"],
        "latent_cos": latent_cos, "dev_latent_mse": dev_latent_mse,
    }, index=video.index)
    out["WER_ratio"] = out["WER_video"] / out["WER_latent"].where(out["WER_latent"] > 0)
    return out.reset_index()[COLUMNS]


def summarise(per_seed: pd.DataFrame) -> pd.DataFrame:
    """``per_seed`` followed by mean, sd (ddof 1), min and max of :data:`VALUES` over seeds per key."""
    groups = per_seed.groupby(KEYS, sort=False)
    summaries = []
    for name in SUMMARIES:
        how = {"mean": "mean", "sd": lambda x: x.std(ddof=1), "min": "min", "max": "max"}[name]
        s = groups[VALUES].agg(how).reset_index()
        s["n_sequences"] = groups["n_sequences"].first().to_numpy()
        s["row"], s["seed"] = name, np.nan
        summaries.append(s)
    table = pd.concat([per_seed, *summaries], ignore_index=True)
    table["seed"] = table["seed"].astype("Int64")
    return table[COLUMNS]


def spread_table(inputs: SpreadInputs, video2pose: Mapping[int, str | os.PathLike[str]],
                 section: Mapping[str, Any], closeness_section: Mapping[str, Any],
                 stats_section: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """:data:`COLUMNS` rows for every seed of ``video2pose`` (``{seed: best.pt}``, the primary first) and
    their summaries; ``section`` is ``signx.recognition`` (splits, decoding, device), ``closeness_section``
    ``signx.closeness`` (split, device, frame_stride)."""
    if not video2pose:
        raise ValueError("spread table: no Video2Pose run given")
    rows = []
    split = str(dict(closeness_section).get("split", "test"))
    for seed, ckpt in video2pose.items():
        table = recognition_table(inputs.manifest, inputs.latent_shards, inputs.pruning_json,
                                  inputs.recognizers, section, stats_section,
                                  VideoCheckpoints(ckpt, inputs.pose2gloss))
        close = closeness_table(inputs.manifest, inputs.fused_shards, inputs.pose2gloss, ckpt,
                                closeness_section, split=split)
        cos = float(close["latent_cos"].iloc[0])
        rows.append(seed_rows(table, int(seed), cos, best_dev_latent_mse(ckpt)))
    return summarise(pd.concat(rows, ignore_index=True))


def write_spread(inputs: SpreadInputs, video2pose: Mapping[int, str | os.PathLike[str]],
                 out_csv: str | os.PathLike[str], section: Mapping[str, Any],
                 closeness_section: Mapping[str, Any],
                 stats_section: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Build :func:`spread_table` and write ``out_csv`` with its ``.prov.json``."""
    table = spread_table(inputs, video2pose, section, closeness_section, stats_section)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    prov = provenance.collect({"recognition": dict(section), "closeness": dict(closeness_section)},
                              inputs=[*inputs.paths(), *map(str, video2pose.values())],
                              extra={"columns": COLUMNS, "seeds": [int(s) for s in video2pose],
                                     "deterministic": True})
    write_text_atomic(provenance.sidecar_path(out_csv), json.dumps(prov, indent=2, default=str) + "\n")
    for r in table[table["row"] != "seed"].to_dict("records"):
        log.info("spread %s %s %s/%s %s over %d seeds: WER from pixels %.2f, ratio %.2f", r["row"],
                 r["split"], r["recognizer"], r["target"], r["decoding"], len(video2pose), r["WER_video"],
                 r["WER_ratio"])
    return table
