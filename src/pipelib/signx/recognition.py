"""``results/<ds>/recognition.csv``: SignX latent-space recognition scored on dev/test, with baselines.

Every row scores one system's outputs against one reference kind on one split. Columns:

- ``system``: ``SignX-latent-<target>`` (the averaged recogniser trained for ``target``, on the latents
  the estimators' fused features make), ``SignX-video-<target>`` (the same recogniser on latents made
  from pixels alone: frames -> Video2Pose -> Pose2Gloss encoder -> pruning, ``pipelib.signx.video_latents``;
  SignX's RGB-only inference; videos without frames count as missing) or ``most-frequent-train`` (the
  constant baseline: always the train split's most frequent gloss sequence, or most frequent sentence,
  ties to the alphabetically first)
- ``target``: what the row is scored against: ``gloss`` (manifest column gloss) or ``text`` (column text)
- ``decoding``: ``beam<B>+entropy<a>`` (decoder beam search with the attention-entropy penalty,
  Algorithm 3), ``ctc-greedy`` (the encoder's CTC head, glosses only), ``constant`` (baselines)
- ``split``, ``n_sequences`` (non-empty references scored), ``n_missing`` (videos of the split without
  latents, scored as empty outputs; 0 for baselines, which need no latents)
- ``WER``, ``SUB``, ``DEL``, ``INS``: corpus word error rate and its substitution / deletion / insertion
  parts, each in % of reference words (WER = SUB + DEL + INS), with the SLRTP normalisation of
  ``pipelib.metrics.slrtp.wer`` (lower-cased, punctuation removed)
- ``BLEU-1`` .. ``BLEU-4``, ``ROUGE``: ``pipelib.metrics.slrtp`` (SLRTP definitions, 0-100)
- ``sacreBLEU``: sacrebleu's default corpus BLEU (13a tokenisation, exp smoothing), for comparison
  with papers that report it
- ``checkpoint``: the recogniser file and the start of the sha256 of its weights (empty for baselines)
- ``warning``: set when the row scores fewer than ``evaluation.statistics.min_sentences`` sentences
- ``<metric>_lo``, ``<metric>_hi`` for every metric above: its bootstrap interval over sentences
  (``pipelib.metrics.statistics``; ``evaluation.statistics``: resamples, seed, confidence), corpus
  metrics recomputed on every resample
- ``WER_p_vs_baseline``, ``BLEU-4_p_vs_baseline``: two-sided paired bootstrap p-value of the row's
  difference from the ``most-frequent-train`` row of the same split and target (empty for that row)

Config section ``signx.recognition``::

    splits: [dev, test]    # manifest splits scored (or split: test for one)
    batch_size: 8
    decoding: {beam: 8, entropy_penalty: 0.1, max_output_length: 64}   # each key defaults to the
                           # checkpoint's own (signx.recognizer.decoding at training time)
    device: auto           # where Video2Pose makes the SignX-video rows' latents (auto: cuda if any)
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
import sacrebleu

from pipelib import provenance
from pipelib.datasets.manifest import read_manifest
from pipelib.io.atomic import atomic_path, write_text_atomic
from pipelib.metrics import catalog, slrtp, statistics
from pipelib.sections import from_section
from pipelib.signx.latent_data import SplitText, most_frequent, read_pruned_latents, split_text
from pipelib.signx.pruning import PruningMask
from pipelib.signx.recognition_section import SECTION, RecognitionSection
from pipelib.signx.recognizer_config import DecodingConfig
from pipelib.signx.recognizer_loading import LoadedRecognizer, decode, load_recognizer
from pipelib.signx.video_latents import VideoFrontEnd
from pipelib.training.checkpoint import weights_sha256
from pipelib.training.device import resolve_device

log = logging.getLogger("pipelib.signx")

METRICS = list(catalog.RECOGNITION)  # names and order: pipelib.metrics.catalog
INTERVAL_COLUMNS = [f"{m}_{end}" for m in METRICS for end in ("lo", "hi")]
P_COLUMNS = ["WER_p_vs_baseline", "BLEU-4_p_vs_baseline"]
COLUMNS = ["system", "target", "decoding", "split", "n_sequences", "n_missing", *METRICS, "checkpoint",
           "warning", *INTERVAL_COLUMNS, *P_COLUMNS]
BASELINE = "most-frequent-train"


@dataclass(frozen=True)
class VideoCheckpoints:
    """The RGB-only front end's checkpoints (``pipelib.signx.video_latents``)."""

    video2pose: str | os.PathLike[str]
    pose2gloss: str | os.PathLike[str]


def score_outputs(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """WER/SUB/DEL/INS, BLEU-1..4, ROUGE and sacreBLEU of outputs against references."""
    scores = slrtp.word_error_rates(hyps, refs)
    scores.update(slrtp.bleu(hyps, refs))
    scores["ROUGE"] = slrtp.rouge(hyps, refs)
    scores["sacreBLEU"] = float(sacrebleu.corpus_bleu(list(hyps), [list(refs)]).score)
    return scores


def output_statistics(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, statistics.MetricStats]:
    """Per-sentence statistics of every metric of :func:`score_outputs`, for the bootstrap."""
    wer_stats = slrtp.wer_sentence_stats(hyps, refs)
    wer_point = slrtp.word_error_rates(hyps, refs)
    out = {k: statistics.MetricStats(wer_point[k], wer_stats, lambda st, k=k: slrtp.wer_from_stats(st)[k])
           for k in ("WER", "SUB", "DEL", "INS")}
    bleu_stats = slrtp.bleu_sentence_stats(hyps, refs)
    bleu_point = slrtp.bleu_from_stats(bleu_stats.sum(axis=0))
    for n in range(1, 5):
        key = f"BLEU-{n}"
        out[key] = statistics.MetricStats(bleu_point[key], bleu_stats,
                                          lambda st, key=key: slrtp.bleu_from_stats(st)[key])
    out["ROUGE"] = statistics.MetricStats(slrtp.rouge(hyps, refs), slrtp.rouge_sentence_stats(hyps, refs),
                                          lambda st: float(st[0] / st[1]))
    sacre = sacrebleu.BLEU()  # the defaults of sacrebleu.corpus_bleu, its own sufficient statistics
    out["sacreBLEU"] = statistics.MetricStats(
        float(sacrebleu.corpus_bleu(list(hyps), [list(refs)]).score),
        np.asarray(sacre._extract_corpus_statistics(list(hyps), [list(refs)]), dtype=np.int64),
        lambda st: float(sacre._compute_score_from_stats([int(v) for v in st]).score))
    return out


def add_intervals(table: pd.DataFrame, outputs: Sequence[tuple[list[str], list[str]]],
                  stats_section: Mapping[str, Any] | None) -> pd.DataFrame:
    """Interval, p-value and warning columns for ``table``, whose row i scored ``outputs[i]`` (hyps, refs).

    Rows of one split and target share their references, so each such group is bootstrapped on one
    resampling plan and its rows are paired with the group's ``most-frequent-train`` row.
    """
    cfg = statistics.settings(stats_section)
    table = table.copy()
    table["warning"] = [statistics.few_sentences_warning(int(n), int(cfg["min_sentences"]))
                        for n in table["n_sequences"]]
    for (_split, _target), group in table.groupby(["split", "target"], sort=False):
        systems = {i: output_statistics(*outputs[i]) for i in group.index}
        rows = statistics.bootstrap(systems, int(cfg["resamples"]), int(cfg["seed"]),
                                    float(cfg["confidence"]))
        own = rows[rows["versus"] == ""]
        for r in own.itertuples():
            table.loc[r.system, [f"{r.metric}_lo", f"{r.metric}_hi"]] = [r.ci_low, r.ci_high]
        base = [i for i in group.index if table.loc[i, "system"] == BASELINE]
        if base:
            pairs = rows[rows["versus"] != ""]
            for r in pairs.itertuples():
                other = r.versus if r.system == base[0] else r.system
                if base[0] in (r.system, r.versus) and f"{r.metric}_p_vs_baseline" in P_COLUMNS:
                    table.loc[other, f"{r.metric}_p_vs_baseline"] = r.p_value
    return table[COLUMNS]


def _scored(refs: SplitText, target: str) -> list[int]:
    """Rows with a non-empty reference (WER is undefined on empty ones)."""
    keep = [k for k, r in enumerate(refs.references(target)) if r.strip()]
    if len(keep) < len(refs):
        log.warning("%d of %d videos have an empty %s reference; they are not scored", len(refs) - len(keep),
                    len(refs), target)
    return keep


def _row(system: str, target: str, decoding: str, split: str, hyps: list[str], refs: list[str],
         n_missing: int, checkpoint: str = "") -> dict[str, Any]:
    return {"system": system, "target": target, "decoding": decoding, "split": split,
            "n_sequences": len(refs), "n_missing": n_missing, **score_outputs(hyps, refs),
            "checkpoint": checkpoint, "_outputs": (list(hyps), list(refs))}


def decoding_options(section: Mapping[str, Any], rec: LoadedRecognizer) -> dict[str, Any]:
    """Beam, entropy weight, length exponent and output length from ``section.decoding``, else the
    checkpoint's config."""
    dec = from_section(DecodingConfig, section.get("decoding"), f"{SECTION}.decoding").given()
    cfg = rec.model.cfg
    return {"beam": int(dec.get("beam", cfg.beam_size)),
            "entropy_weight": float(dec.get("entropy_penalty", cfg.entropy_weight)),
            "alpha": float(dec.get("length_alpha", cfg.length_alpha)),
            "max_len": int(dec.get("max_output_length", cfg.max_output_length))}


def recognise_split(rec: LoadedRecognizer, latents: Mapping[str, Any], split: SplitText,
                    section: Mapping[str, Any], label: str, checkpoint: str,
                    source: str = "latent") -> list[dict[str, Any]]:
    """Rows of one recogniser on one split: decoder beam search on its target, CTC greedy on glosses;
    ``source`` names where the latents came from (``latent``: the estimators, ``video``: pixels)."""
    opts = decoding_options(section, rec)
    batch_size = int(section.get("batch_size", 8))
    present = [v for v in split.ids if v in latents]
    x = [latents[v] for v in present]
    n_missing = len(split) - len(present)
    rows = []
    target = rec.target
    keep = _scored(split, target)
    if keep:
        ids = decode(rec.model, x, "decoder", batch_size, **opts) if x else []
        by_id = {v: rec.output_vocab.decode(h) for v, h in zip(present, ids, strict=True)}
        hyps = [by_id.get(split.ids[k], "") for k in keep]
        refs = [split.references(target)[k] for k in keep]
        how = f"beam{opts['beam']}+entropy{opts['entropy_weight']:g}"
        rows.append(_row(f"SignX-{source}-{target}", target, how, label, hyps, refs, n_missing, checkpoint))
    gkeep = _scored(split, "gloss")
    if rec.model.cfg.ctc_weight > 0 and gkeep:
        ids = decode(rec.model, x, "ctc", batch_size) if x else []
        by_id = {v: rec.gloss_vocab.decode(h) for v, h in zip(present, ids, strict=True)}
        hyps = [by_id.get(split.ids[k], "") for k in gkeep]
        rows.append(_row(f"SignX-{source}-{target}", "gloss", "ctc-greedy", label, hyps,
                         [split.glosses[k] for k in gkeep], n_missing, checkpoint))
    return rows


def baseline_rows(train: SplitText, split: SplitText, label: str,
                  targets: Sequence[str]) -> list[dict[str, Any]]:
    """The constant most-frequent-train output for each reference kind in ``targets``."""
    rows = []
    for target in targets:
        keep = _scored(split, target)
        sentences = [s for s in train.references(target) if s.strip()]
        if not keep or not sentences:
            continue
        constant = most_frequent(sentences)
        rows.append(_row(BASELINE, target, "constant", label, [constant] * len(keep),
                         [split.references(target)[k] for k in keep], 0))
    return rows


def recognition_table(manifest: str | os.PathLike[str], latent_shards: Sequence[str | os.PathLike[str]],
                      pruning_json: str | os.PathLike[str], checkpoints: Mapping[str, str | os.PathLike[str]],
                      section: Mapping[str, Any],
                      stats_section: Mapping[str, Any] | None = None,
                      video: VideoCheckpoints | None = None) -> pd.DataFrame:
    """Rows (``COLUMNS``) for every checkpoint and baseline on every configured split, with bootstrap
    intervals and paired tests against the baseline (``stats_section``: ``evaluation.statistics``);
    with ``video``, also every checkpoint on latents made from the split's pixels."""
    section = dict(section or {})
    splits = list(RecognitionSection.from_dict(section).splits)
    frame = read_manifest(manifest)
    mask = PruningMask.load(pruning_json)
    train = split_text(frame, "train")
    front = None
    if video is not None:
        device = resolve_device(RecognitionSection.from_dict(section).device, f"{SECTION}.device")
        front = VideoFrontEnd.load(video.video2pose, video.pose2gloss, mask, device)
    loaded = {}
    for target, path in checkpoints.items():
        rec = load_recognizer(path)
        if rec.target != target:
            raise ValueError(f"checkpoint {path} was trained for target {rec.target!r}, given as {target!r}")
        loaded[target] = (rec, f"{Path(path).name}@weights-sha256:{weights_sha256(path)[:16]}")
    rows: list[dict[str, Any]] = []
    for split_name in splits:
        split = split_text(frame, split_name)
        if not len(split):
            raise ValueError(f"{SECTION}.splits: the manifest has no {split_name!r} videos")
        latents = read_pruned_latents(latent_shards, split.ids, mask, f"recognition {split_name}")
        for rec, ckpt in loaded.values():
            rows += recognise_split(rec, latents, split, section, split_name, ckpt)
        if front is not None:
            made = front.of_videos(frame[frame["split"] == split_name].to_dict("records"))
            log.info("recognition %s: latents from pixels for %d of %d videos", split_name, len(made),
                     len(split))
            for rec, ckpt in loaded.values():
                rows += recognise_split(rec, made, split, section, split_name, ckpt, source="video")
        rows += baseline_rows(train, split, split_name, ["gloss"] + (["text"] if "text" in loaded else []))
    outputs = [r.pop("_outputs") for r in rows]
    return add_intervals(pd.DataFrame(rows, columns=COLUMNS), outputs, stats_section)


def write_recognition(manifest: str | os.PathLike[str], latent_shards: Sequence[str | os.PathLike[str]],
                      pruning_json: str | os.PathLike[str], checkpoints: Mapping[str, str | os.PathLike[str]],
                      out_csv: str | os.PathLike[str], section: Mapping[str, Any],
                      stats_section: Mapping[str, Any] | None = None,
                      video: VideoCheckpoints | None = None) -> pd.DataFrame:
    """Score the recognisers (``{target: averaged.pt}``) and write ``out_csv`` + its ``.prov.json``."""
    table = recognition_table(manifest, latent_shards, pruning_json, checkpoints, section, stats_section,
                              video)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    inputs = [str(manifest), str(pruning_json), *map(str, latent_shards), *map(str, checkpoints.values()),
              *([str(video.video2pose), str(video.pose2gloss)] if video is not None else [])]
    prov = provenance.collect(dict(section), inputs=inputs,
                              extra={"columns": COLUMNS, "deterministic": True,
                                     "statistics": statistics.settings(stats_section)})
    write_text_atomic(provenance.sidecar_path(out_csv), json.dumps(prov, indent=2, default=str) + "\n")
    for r in table.to_dict("records"):
        log.info("%s %s %s %s: WER %.2f BLEU-4 %.2f (n=%d)", r["split"], r["system"], r["target"],
                 r["decoding"], r["WER"], r["BLEU-4"], r["n_sequences"])
    return table
