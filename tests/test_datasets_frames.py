"""Frame folders and video files: ordering, decoding, and the reasons verification gives."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelib.datasets.errors import DatasetError
from pipelib.datasets.frames import iter_frames, list_frames, probe_video, read_strided, verify_source


def _image(i: int, h: int = 12, w: int = 10) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = 10 * i  # blue channel carries the frame index
    img[..., 2] = 200
    return img


def _folder(root: Path, n: int, pattern: str = "images{:04d}.png") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        assert cv2.imwrite(str(root / pattern.format(i)), _image(i))
    return root


def _video(path: Path, n: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (32, 24))
    for i in range(n):
        writer.write(np.full((24, 32, 3), 20 * i, np.uint8))
    writer.release()
    return path


def test_list_frames_orders_numbers_numerically_and_skips_other_files(tmp_path):
    for name in ["10.jpg", "2.jpg", "1.jpg", "notes.txt", ".hidden.jpg"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in list_frames(tmp_path)] == ["1.jpg", "2.jpg", "10.jpg"]
    assert list_frames(tmp_path / "absent") == []


def test_list_frames_keeps_zero_padded_order(tmp_path):
    _folder(tmp_path, 12)
    assert [p.name for p in list_frames(tmp_path)] == [f"images{i:04d}.png" for i in range(1, 13)]


def test_iter_frames_yields_bgr_frames_in_order(tmp_path):
    folder = _folder(tmp_path / "f", 5)
    frames = list(iter_frames(folder, "frames"))
    assert len(frames) == 5
    assert all(f.shape == (12, 10, 3) and f.dtype == np.uint8 for f in frames)
    assert [int(f[0, 0, 0]) for f in frames] == [10, 20, 30, 40, 50]  # B channel, PNG is lossless
    assert int(frames[0][0, 0, 2]) == 200  # R stays in channel 2: BGR order


def test_verify_good_folder_both_modes(tmp_path):
    folder = _folder(tmp_path / "f", 4)
    assert verify_source(folder, "frames", "full") == (4, None)
    assert verify_source(folder, "frames", "quick") == (4, None)


def test_missing_and_empty_folders_are_named(tmp_path):
    count, reason = verify_source(tmp_path / "x", "frames", "full")
    assert count == 0 and reason == f"frame folder {tmp_path / 'x'} does not exist"
    (tmp_path / "empty").mkdir()
    assert "holds no .png/.jpg frames" in verify_source(tmp_path / "empty", "frames", "quick")[1]


def test_garbage_png_rejected_in_both_modes(tmp_path):
    folder = _folder(tmp_path / "f", 9)
    (folder / "images0007.png").write_bytes(b"this is not an image at all" * 10)
    for mode in ("full", "quick"):
        count, reason = verify_source(folder, "frames", mode)
        assert count == 9
        assert reason.startswith("images0007.png is not a readable PNG")


def test_truncated_png_rejected_in_full_mode(tmp_path):
    folder = _folder(tmp_path / "f", 5)
    data = (folder / "images0003.png").read_bytes()
    (folder / "images0003.png").write_bytes(data[: len(data) // 2])
    count, reason = verify_source(folder, "frames", "full")
    assert count == 5
    assert reason.startswith("images0003.png is not a readable PNG")
    with pytest.raises(DatasetError, match="images0003.png"):
        list(iter_frames(folder, "frames"))


def test_truncated_png_with_valid_end_marker_fails_decode_in_full_mode_only(tmp_path):
    """A middle frame with a damaged body but intact signature passes quick, fails full."""
    folder = _folder(tmp_path / "f", 3)
    data = bytearray((folder / "images0002.png").read_bytes())
    data[40:-20] = b"\x00" * (len(data) - 60)  # wipe the image data, keep head and IEND
    (folder / "images0002.png").write_bytes(bytes(data))
    assert verify_source(folder, "frames", "quick") == (3, None)
    count, reason = verify_source(folder, "frames", "full")
    assert reason == "images0002.png is not a readable PNG: OpenCV could not decode it"


def test_truncated_jpeg_and_empty_file(tmp_path):
    folder = _folder(tmp_path / "f", 3, pattern="{:06d}.jpg")
    data = (folder / "000002.jpg").read_bytes()
    (folder / "000002.jpg").write_bytes(data[: len(data) - 40])
    assert "000002.jpg is not a readable JPEG: it is truncated" in verify_source(folder, "frames", "quick")[1]
    (folder / "000002.jpg").write_bytes(b"")
    reason = verify_source(folder, "frames", "full")[1]
    assert reason == "000002.jpg is not a readable JPEG: the file is empty"


def test_frame_size_change_rejected(tmp_path):
    folder = _folder(tmp_path / "f", 3)
    cv2.imwrite(str(folder / "images0003.png"), _image(3, h=20, w=16))
    reason = verify_source(folder, "frames", "full")[1]
    assert reason.startswith("images0003.png is 16x20 pixels but images0001.png is 10x12")


def test_video_frame_count_and_decoding(tmp_path):
    path = _video(tmp_path / "clip.mp4", 7)
    assert probe_video(path) == (25.0, 7)
    assert verify_source(path, "video", "full") == (7, None)
    assert verify_source(path, "video", "quick") == (7, None)
    frames = list(iter_frames(path, "video"))
    assert len(frames) == 7 and frames[0].shape == (24, 32, 3) and frames[0].dtype == np.uint8


def test_read_strided_equals_every_nth_frame_of_iter_frames(tmp_path):
    folder = _folder(tmp_path / "f", 7)
    video = _video(tmp_path / "clip.mp4", 7)
    for source, media in ((folder, "frames"), (video, "video")):
        every = list(iter_frames(source, media))
        for stride in (1, 2, 3, 7, 9):
            kept, total = read_strided(source, media, stride)
            assert total == 7 and len(kept) == len(every[::stride])
            assert all(np.array_equal(a, b) for a, b in zip(kept, every[::stride], strict=True))
    (folder / "images0002.png").write_bytes(b"not a png")   # skipped at stride 3, decoded at stride 1
    assert read_strided(folder, "frames", 3)[1] == 7
    with pytest.raises(DatasetError, match="images0002.png"):
        read_strided(folder, "frames", 1)
    with pytest.raises(ValueError, match="stride"):
        read_strided(folder, "frames", 0)


def test_unreadable_and_missing_video_rejected(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 2048)
    for mode in ("full", "quick"):
        count, reason = verify_source(bad, "video", mode)
        assert count == 0 and "could not be opened by OpenCV" in reason and str(bad) in reason
    missing = tmp_path / "no.mp4"
    assert verify_source(missing, "video", "full")[1] == f"video file {missing} does not exist"
    with pytest.raises(DatasetError, match="bad.mp4"):
        list(iter_frames(bad, "video"))


def test_bad_mode_and_media_raise(tmp_path):
    with pytest.raises(ValueError, match="manifest.verify"):
        verify_source(tmp_path, "frames", "thorough")
    with pytest.raises(ValueError, match="poses"):
        verify_source(tmp_path, "poses", "full")
