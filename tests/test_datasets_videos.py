"""Plain-video corpora: corpus.csv layout, container fps, frame counts, unreadable videos rejected."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelib.datasets import videos
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.manifest import build_manifest

HEADER = "name|split|video|speaker|orth|translation"


def _video(path: Path, n: int, fps: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (32, 24))
    for i in range(n):
        writer.write(np.full((24, 32, 3), 15 * i, np.uint8))
    writer.release()


def make_corpus(root: Path) -> Path:
    _video(root / "clips" / "a.mp4", 6, 25.0)
    _video(root / "clips" / "b.mp4", 9, 30.0)
    _video(root / "clips" / "c.mp4", 4, 25.0)
    (root / "clips" / "broken.mp4").write_bytes(b"\x00\x01" * 500)
    rows = [HEADER, "b|train|clips/b.mp4|s2|HALLO|hallo", "a|train|clips/a.mp4|s1||guten tag",
            "c|test|clips/c.mp4|s1|X Y|x y", "broken|dev|clips/broken.mp4|s3||kaputt",
            "absent|dev|clips/absent.mp4|s3||fehlt"]
    (root / "corpus.csv").write_text("\n".join(rows) + "\n")
    return root


def test_scan_reads_rows_and_container_fps(tmp_path):
    entries = {e.id: e for e in videos.scan(make_corpus(tmp_path), name="vid")}
    b = entries["b"]
    assert (b.split, b.media, b.fps) == ("train", "video", 30.0)
    assert (b.signer, b.gloss, b.text) == ("s2", "HALLO", "hallo")
    assert b.source == tmp_path / "clips" / "b.mp4"
    assert "could not be opened by OpenCV" in entries["broken"].reject
    assert entries["absent"].reject is None  # left to verification, which names the missing file
    assert all(e.fps == 12.5 for e in videos.scan(tmp_path, fps=12.5))


@pytest.mark.parametrize("mode", ["full", "quick"])
def test_manifest_counts_frames_and_rejects_unreadable_videos(tmp_path, mode):
    make_corpus(tmp_path)
    manifest, rejected = build_manifest("vid", "videos", tmp_path, n_shards=2, verify=mode)
    assert list(manifest["id"]) == ["a", "b", "c"]
    assert list(manifest["frame_count"]) == [6, 9, 4]
    assert list(manifest["fps"]) == [25.0, 30.0, 25.0]
    reasons = dict(zip(rejected["id"], rejected["reason"], strict=True))
    assert set(reasons) == {"absent", "broken"}
    assert reasons["absent"] == f"video file {tmp_path / 'clips' / 'absent.mp4'} does not exist"
    assert "broken.mp4 could not be opened by OpenCV" in reasons["broken"]


def test_bad_split_and_missing_corpus_file(tmp_path):
    with pytest.raises(DatasetError, match=r"corpus.csv does not exist.*datasets.vid.root"):
        videos.scan(tmp_path, name="vid")
    (tmp_path / "corpus.csv").write_text(HEADER + "\nx|validation|x.mp4|||\n")
    with pytest.raises(DatasetError, match="validation"):
        videos.scan(tmp_path)
