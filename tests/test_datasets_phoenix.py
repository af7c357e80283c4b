"""PHOENIX-2014-T reader: both on-disk frame layouts, root resolution and annotation-file errors."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelib.datasets import phoenix
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.manifest import build_manifest

HEADER = "name|video|start|end|speaker|orth|translation"


def _write_frames(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for i in range(1, n + 1):
        cv2.imwrite(str(folder / f"images{i:04d}.png"), np.full((13, 7, 3), i, np.uint8))


def make_corpus(parent: Path, rows: dict[str, list[tuple[str, int, bool]]]) -> Path:
    """PHOENIX tree under ``parent/PHOENIX-2014-T``; rows[split] = (name, n_frames, with_1_level)."""
    corpus = parent / "PHOENIX-2014-T"
    ann = corpus / "annotations" / "manual"
    ann.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        lines = [HEADER]
        (corpus / "features" / "fullFrame-210x260px" / split).mkdir(parents=True)
        for name, n, nested in rows.get(split, []):
            lines.append(f"{name}|{name}/1/*.png|-1|-1|Signer0{len(name) % 9}|HEUTE REGEN|heute regnet es")
            folder = corpus / "features" / "fullFrame-210x260px" / split / name
            if n:
                _write_frames(folder / "1" if nested else folder, n)
        (ann / f"PHOENIX-2014-T.{split}.corpus.csv").write_text("\n".join(lines) + "\n")
    return corpus


ROWS = {"train": [("b_flat", 3, False), ("a_nested", 4, True)], "dev": [("c", 2, False)],
        "test": [("d", 5, True)]}


def test_scan_accepts_both_frame_layouts(tmp_path):
    corpus = make_corpus(tmp_path, ROWS)
    entries = {e.id: e for e in phoenix.scan(corpus, name="p")}
    base = corpus / "features" / "fullFrame-210x260px"
    assert entries["b_flat"].source == base / "train" / "b_flat"
    assert entries["a_nested"].source == base / "train" / "a_nested" / "1"
    assert entries["d"].source == base / "test" / "d" / "1"
    e = entries["c"]
    assert (e.split, e.media, e.fps) == ("dev", "frames", 25.0)
    assert (e.gloss, e.text) == ("HEUTE REGEN", "heute regnet es")
    assert e.signer == "Signer01"


def test_root_may_be_the_corpus_folder_or_its_parent(tmp_path):
    corpus = make_corpus(tmp_path, ROWS)
    from_parent = [(e.id, e.source) for e in phoenix.scan(tmp_path)]
    from_corpus = [(e.id, e.source) for e in phoenix.scan(corpus)]
    assert from_parent == from_corpus and len(from_parent) == 4
    assert all(src.is_absolute() for _, src in from_parent)


def test_missing_root_error_says_what_was_looked_for(tmp_path):
    with pytest.raises(DatasetError) as info:
        phoenix.scan(tmp_path / "nowhere", name="ph")
    msg = str(info.value)
    assert str(tmp_path / "nowhere" / "annotations" / "manual") in msg
    assert str(tmp_path / "nowhere" / "PHOENIX-2014-T" / "annotations" / "manual") in msg
    assert "datasets.ph.root" in msg


def test_manifest_counts_frames_in_both_layouts_and_rejects_missing_folder(tmp_path):
    rows = {**ROWS, "dev": [("c", 2, False), ("gone", 0, False)]}
    make_corpus(tmp_path, rows)
    manifest, rejected = build_manifest("p", "phoenix14t", tmp_path, n_shards=2, verify="full", threads=2)
    assert list(manifest["id"]) == ["a_nested", "b_flat", "c", "d"]
    assert list(manifest["frame_count"]) == [4, 3, 2, 5]
    assert list(rejected["id"]) == ["gone"]
    folder = tmp_path / "PHOENIX-2014-T" / "features" / "fullFrame-210x260px" / "dev" / "gone"
    assert rejected["reason"][0] == f"frame folder {folder} does not exist"
    assert rejected["source"][0] == str(folder)


def test_corrupt_png_goes_to_rejected(tmp_path):
    corpus = make_corpus(tmp_path, ROWS)
    bad = corpus / "features" / "fullFrame-210x260px" / "train" / "a_nested" / "1" / "images0002.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage")
    manifest, rejected = build_manifest("p", "synthetic", tmp_path, n_shards=1, verify="full")
    assert "a_nested" not in set(manifest["id"])
    reason = rejected.set_index("id").loc["a_nested", "reason"]
    assert reason.startswith("images0002.png is not a readable PNG")


def test_header_only_csv_gives_zero_entries_and_a_warning(tmp_path, caplog):
    corpus = make_corpus(tmp_path, {**ROWS, "dev": []})
    with caplog.at_level(logging.WARNING):
        entries = phoenix.scan(corpus, name="p")
    assert {e.split for e in entries} == {"train", "test"}
    dev_file = str(corpus / "annotations" / "manual" / "PHOENIX-2014-T.dev.corpus.csv")
    assert any(dev_file in r.getMessage() and "'dev'" in r.getMessage() for r in caplog.records)


def test_zero_byte_and_wrong_header_csv_are_errors_naming_file_and_header(tmp_path):
    corpus = make_corpus(tmp_path, ROWS)
    csv = corpus / "annotations" / "manual" / "PHOENIX-2014-T.test.corpus.csv"
    csv.write_bytes(b"")
    with pytest.raises(DatasetError) as info:
        phoenix.scan(corpus)
    assert str(csv) in str(info.value) and "0 bytes" in str(info.value) and HEADER in str(info.value)
    csv.write_text("id|video\nx|y\n")
    with pytest.raises(DatasetError) as info:
        phoenix.scan(corpus)
    assert str(csv) in str(info.value) and HEADER in str(info.value)


def test_missing_annotation_file_names_file_and_config_key(tmp_path):
    corpus = make_corpus(tmp_path, ROWS)
    csv = corpus / "annotations" / "manual" / "PHOENIX-2014-T.train.corpus.csv"
    csv.unlink()
    with pytest.raises(DatasetError) as info:
        phoenix.scan(corpus, name="phx")
    assert str(csv) in str(info.value) and "datasets.phx.root" in str(info.value)
