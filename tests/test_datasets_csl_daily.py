"""CSL-Daily reader: label files, signer ids, word text, JPEG frames and rejects."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelib.datasets import csl_daily
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.manifest import build_manifest

MAP_HEADER = "index|name|length|gloss|char|word|postag"


def make_csl(root: Path, label_dir: str = "sentence_label") -> Path:
    frames = root / "sentence" / "frames_512x512"
    names = {"S000001_P0003_T00": ("train", 3), "S000002_P0010_T00": ("dev", 2),
             "S000003_P0003_T01": ("test", 4), "S000004_P0001_T00": ("train", 0)}
    for name, (_, n) in names.items():
        (frames / name).mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(frames / name / f"{i:06d}.jpg"), np.full((16, 16, 3), 50 * i, np.uint8))
    labels = root / label_dir
    labels.mkdir(parents=True, exist_ok=True)
    rows = [MAP_HEADER]
    for i, (name, (_, n)) in enumerate(sorted(names.items())):
        rows.append(f"{i}|{name}|{n}|你 好|你 好 吗|你好 吗|r v")
    (labels / "video_map.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    split = ["name|split"] + [f"{n}|{s}" for n, (s, _) in names.items()] + ["S000099_P0002_T00|dev"]
    (labels / "split_1.txt").write_text("\n".join(split) + "\n")
    return root


def test_scan_reads_splits_signers_and_word_text(tmp_path):
    root = make_csl(tmp_path)
    entries = {e.id: e for e in csl_daily.scan(root, name="csl")}
    e = entries["S000002_P0010_T00"]
    assert (e.split, e.signer, e.gloss, e.text) == ("dev", "P0010", "你 好", "你好 吗")
    assert (e.fps, e.media) == (30.0, "frames")
    assert e.source == tmp_path / "sentence" / "frames_512x512" / "S000002_P0010_T00"
    assert entries["S000099_P0002_T00"].reject.startswith("S000099_P0002_T00 has no row in")
    assert csl_daily.scan(root, fps=25)[0].fps == 25.0


def test_label_files_in_root_are_found(tmp_path):
    make_csl(tmp_path, label_dir=".")
    assert len(csl_daily.scan(tmp_path)) == 5


def test_manifest_counts_jpgs_and_rejects_empty_and_unlisted(tmp_path):
    make_csl(tmp_path)
    manifest, rejected = build_manifest("csl", "csl_daily", tmp_path, n_shards=2, verify="quick")
    assert list(manifest["id"]) == ["S000001_P0003_T00", "S000002_P0010_T00", "S000003_P0003_T01"]
    assert list(manifest["frame_count"]) == [3, 2, 4]
    assert list(manifest["shard"]) == [1, 1, 0]  # longest (4 frames) alone on shard 0, 3 + 2 on shard 1
    reasons = dict(zip(rejected["id"], rejected["reason"], strict=True))
    assert "holds no .png/.jpg frames" in reasons["S000004_P0001_T00"]
    assert "no row in" in reasons["S000099_P0002_T00"]


def test_missing_label_file_names_places_and_key(tmp_path):
    make_csl(tmp_path)
    (tmp_path / "sentence_label" / "split_1.txt").unlink()
    with pytest.raises(DatasetError) as info:
        csl_daily.scan(tmp_path, name="csl")
    assert str(tmp_path / "sentence_label" / "split_1.txt") in str(info.value)
    assert "datasets.csl.root" in str(info.value)


def test_unknown_split_value_is_an_error(tmp_path):
    make_csl(tmp_path)
    (tmp_path / "sentence_label" / "split_1.txt").write_text("name|split\nS000001_P0003_T00|holdout\n")
    with pytest.raises(DatasetError, match="holdout"):
        csl_daily.scan(tmp_path)
