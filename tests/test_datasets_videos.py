"""Plain-video corpora: corpus.csv layout, container fps, frame counts, unreadable videos rejected."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelib.datasets import videos
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.frames import iter_frames, verify_source
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


def _atoms(buf: bytes, start: int, end: int):
    """(position, size, type) of the MP4 boxes between start and end."""
    while start < end:
        size, kind = struct.unpack(">I4s", buf[start:start + 8])
        yield start, size, kind
        start += size


def _box(buf: bytes, start: int, end: int, path: list[bytes]) -> int:
    for pos, size, kind in _atoms(buf, start, end):
        if kind == path[0]:
            return pos if len(path) == 1 else _box(buf, pos + 8, pos + size, path[1:])
    raise AssertionError(f"no {path[0]} box")


def cut_mp4(path: Path, n: int, keep: int) -> Path:
    """An mp4v file of ``n`` frames whose header (moov, moved to the front) still promises ``n`` but
    whose data stop after the first ``keep`` frames: a download or copy cut short."""
    _video(path, n, 25.0)
    data = path.read_bytes()
    top = {kind: (pos, size) for pos, size, kind in _atoms(data, 0, len(data))}
    (mdat, _), (mpos, msize) = top[b"mdat"], top[b"moov"]
    moov = bytearray(data[mpos:mpos + msize])
    stbl = [b"trak", b"mdia", b"minf", b"stbl"]
    stco, stsz = _box(moov, 8, msize, [*stbl, b"stco"]), _box(moov, 8, msize, [*stbl, b"stsz"])
    for k in range(struct.unpack(">I", moov[stco + 12:stco + 16])[0]):   # chunk offsets move by msize
        o = stco + 16 + 4 * k
        moov[o:o + 4] = struct.pack(">I", struct.unpack(">I", moov[o:o + 4])[0] + msize)
    count = struct.unpack(">I", moov[stsz + 16:stsz + 20])[0]
    sizes = struct.unpack(f">{count}I", moov[stsz + 20:stsz + 20 + 4 * count])
    first = struct.unpack(">I", moov[stco + 16:stco + 20])[0]
    path.write_bytes((data[:mdat] + bytes(moov) + data[mdat:mpos])[:first + sum(sizes[:keep])])
    return path


@pytest.mark.parametrize("mode", ["full", "quick"])
def test_truncated_video_is_rejected_alike_in_both_modes(tmp_path, mode):
    cut = cut_mp4(tmp_path / "cut.mp4", 40, 22)
    assert int(cv2.VideoCapture(str(cut)).get(cv2.CAP_PROP_FRAME_COUNT)) == 40   # the header's promise
    count, reason = verify_source(cut, "video", mode)
    assert count == 22
    assert reason == (f"video {cut} is truncated: its container promises 40 frames but only 22 decode; "
                      f"copy it again from its source or re-encode it")
    whole = cut_mp4(tmp_path / "whole.mp4", 40, 40)          # the same surgery, nothing cut: kept
    assert verify_source(whole, "video", mode) == (40, None)


@pytest.mark.parametrize("mode", ["full", "quick"])
def test_empty_video_is_called_empty(tmp_path, mode):
    make_corpus(tmp_path)
    (tmp_path / "clips" / "broken.mp4").write_bytes(b"")
    entries = {e.id: e for e in videos.scan(tmp_path, name="vid")}
    expected = f"video {tmp_path / 'clips' / 'broken.mp4'} is empty (0 bytes); copy it again from its source"
    assert entries["broken"].reject == expected
    assert verify_source(tmp_path / "clips" / "broken.mp4", "video", mode) == (0, expected)
    _, rejected = build_manifest("vid", "videos", tmp_path, n_shards=1, verify=mode, fps=25.0)
    assert dict(zip(rejected["id"], rejected["reason"], strict=True))["broken"] == expected
    with pytest.raises(DatasetError, match="broken.mp4 is empty"):
        next(iter_frames(tmp_path / "clips" / "broken.mp4", "video"))
