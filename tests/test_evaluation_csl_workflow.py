"""A 30 fps corpus in the CSL-Daily layout runs through Snakemake to table6.csv, frame rates read from the
data at every step (no 25 fps assumed anywhere)."""

from pathlib import Path

import cv2
import pandas as pd
import pytest
import yaml
from workflow_helpers import copy_repo, run_snakemake

from pipelib.datasets.records import SPLITS
from pipelib.io import shards
from pipelib.synth.config import SynthConfig
from pipelib.synth.corpus import CORPUS_DIR, csv_path, frames_dir, generate

FPS = 30


def make_csl_fixture(root: Path, sizes: dict[str, int]) -> dict[str, str]:
    """A tiny CSL-Daily corpus at 30 fps: the synthetic signer rendered at 30 frames/s, its frames as
    ``sentence/frames_512x512/<name>/NNNNNN.jpg`` and its labels in ``sentence_label/video_map.txt`` and
    ``split_1.txt``. Returns CSL name -> split."""
    synth = root / "synth"
    generate(synth, SynthConfig.from_dict({"seed": 11, "fps": FPS, "n_signers": 2,
                                           **{f"n_{s}": n for s, n in sizes.items()}}))
    csl = root / "CSL-Daily"
    labels = csl / "sentence_label"
    labels.mkdir(parents=True)
    video_map, split_rows, names = ["index|name|length|gloss|char|word|postag"], ["name|split"], {}
    for split in SPLITS:
        lines = (synth / CORPUS_DIR / csv_path(split)).read_text(encoding="utf-8").splitlines()[1:]
        for line in lines:
            name, _, _, _, speaker, orth, translation = line.split("|")
            signer = int("".join(c for c in speaker if c.isdigit()) or 1)  # "Signer02" -> P0002
            csl_name = f"S{len(names):06d}_P{signer:04d}_T00"
            src = sorted((synth / CORPUS_DIR / frames_dir(split) / name).glob("*.png"))
            out = csl / "sentence" / "frames_512x512" / csl_name
            out.mkdir(parents=True)
            for t, png in enumerate(src):
                cv2.imwrite(str(out / f"{t:06d}.jpg"), cv2.imread(str(png)), [cv2.IMWRITE_JPEG_QUALITY, 95])
            video_map.append(f"{len(names)}|{csl_name}|{len(src)}|{orth}|{translation}|{translation}|x")
            split_rows.append(f"{csl_name}|{split}")
            names[csl_name] = split
    (labels / "video_map.txt").write_text("\n".join(video_map) + "\n", encoding="utf-8")
    (labels / "split_1.txt").write_text("\n".join(split_rows) + "\n", encoding="utf-8")
    return names


@pytest.mark.slow
def test_csl_daily_at_30_fps_runs_to_table6(tmp_path):
    names = make_csl_fixture(tmp_path, {"train": 6, "dev": 2, "test": 2})
    work = copy_repo(tmp_path / "repo")
    short = {"train": {"epochs": 4}}  # learning is not under test here: few epochs keep the run short
    overlay = {"default_dataset": "csl",
               "datasets": {"csl": {"kind": "csl_daily", "root": str(tmp_path / "CSL-Daily"), "shards": 2}},
               "production": {"autoencoder": short, "systems": {"DARSLP": short, "DARSLP-KL": short}},
               "evaluation": {"back_translation": short}}
    (work / "config" / "csl.yaml").write_text(yaml.safe_dump(overlay))
    run_snakemake(work, "--cores", "2", "results/csl/table6.csv", "--configfile", "config/config.yaml",
                  "config/csl.yaml")

    res = work / "results" / "csl"
    skeletons = list(shards.iter_videos(res / "production" / "skeletons.h5", extras=False))
    assert {v.video_id for v in skeletons} == set(names)
    assert {v.attrs["fps"] for v in skeletons} == {float(FPS)}  # the reader's 30 fps, carried through
    phase2 = res / "production/systems/DARSLP-KL/seed3/predictions.h5"
    predictions = list(shards.iter_videos(phase2, extras=False))
    assert {v.attrs["fps"] for v in predictions} == {float(FPS)}

    text = (res / "table6.csv").read_text()
    table = pd.read_csv(res / "table6.csv", dtype={"n_sequences": "Int64"})
    measured = table[table["source"] == "measured"].set_index("system")
    assert list(measured.index) == ["GT", "DARSLP", "DARSLP-KL", "mean-pose"]
    assert (measured["n_sequences"] == 2).all() and ',2,"fastdtw' in text  # an integer in the file
    assert measured.loc["GT", "DTW-MJE"] == 0.0 and measured.loc["GT", "avg_duration"] == 1.0
    assert (measured.loc[["DARSLP", "DARSLP-KL", "mean-pose"], "DTW-MJE"] > 0).all()
    assert measured["warning"].str.startswith("only 2 sentences").all()
    assert {"reported", "difference"} <= set(table["source"])  # the paper's CSL-Daily rows (table 6)
    stats = pd.read_csv(res / "table6_stats.csv")
    own = stats[stats["versus"].isna()]
    assert len(own) == 4 * 10 and (stats["n_sequences"] == 2).all()
    assert ("DARSLP-KL", "DARSLP") in set(zip(stats["system"], stats["versus"], strict=True))
