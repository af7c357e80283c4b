"""Frame folders and video files: list, decode and verify the images a manifest entry points at.

Frames come out as BGR uint8 arrays of shape (H, W, 3), the layout OpenCV and every estimator use.

Verification modes (config ``manifest.verify``):

- ``full``: every frame is read and decoded; a frame that fails, or whose size differs from the
  first frame's, rejects the entry. For videos the frame count is the number of frames decoded.
- ``quick``: every frame file must exist, be non-empty and carry a PNG or JPEG signature and end
  marker; only the first and last are decoded. For videos the count is the container's and only the
  first and last frames are decoded.

Both modes agree on videos: an empty (0-byte) file is rejected as empty, and a video from which
fewer frames decode than its container promises is rejected as truncated, the message giving both
numbers (``quick`` decodes the whole file only when its last promised frame does not decode).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from pipelib.datasets.errors import DatasetError

FRAME_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
VERIFY_MODES = ("full", "quick")

_PNG_HEAD = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"
_JPEG_HEAD = b"\xff\xd8\xff"
_JPEG_END = b"\xff\xd9"
_TAIL = 64  # bytes searched for the end marker, allowing a little padding after it
_DIGITS = re.compile(r"(\d+)")


def _natural_key(path: Path) -> tuple:
    parts = _DIGITS.split(path.name)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def list_frames(folder: Path) -> list[Path]:
    """The image files (.png/.jpg/.jpeg) directly in ``folder``, in frame order.

    Numbers inside names compare as numbers, so ``images2.png`` < ``images10.png`` and zero-padded
    names (``images0001.png``, ``000001.jpg``) keep their lexical order. Hidden files are skipped.
    A missing folder gives ``[]``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    frames = [
        p for p in folder.iterdir()
        if p.suffix.lower() in FRAME_SUFFIXES and not p.name.startswith(".") and p.is_file()
    ]
    return sorted(frames, key=_natural_key)


def _kind_by_name(path: Path) -> str:
    return "PNG" if path.suffix.lower() == ".png" else "JPEG"


def _check_bytes(name: str, expected: str, head: bytes, tail: bytes) -> str | None:
    """Reason the bytes are not a whole PNG/JPEG file, judged by signature and end marker."""
    if not head:
        return f"{name} is not a readable {expected}: the file is empty"
    if head.startswith(_PNG_HEAD):
        if _PNG_END not in tail:
            return f"{name} is not a readable PNG: it is truncated (no IEND end marker)"
        return None
    if head.startswith(_JPEG_HEAD):
        if _JPEG_END not in tail:
            return f"{name} is not a readable JPEG: it is truncated (no end-of-image marker)"
        return None
    return f"{name} is not a readable {expected}: it starts with neither the PNG nor the JPEG signature"


def _decode(data: bytes) -> np.ndarray | None:
    if not data:
        return None
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)


def _read_checked(path: Path) -> tuple[np.ndarray | None, str | None]:
    """Read and decode one frame file: (image (H, W, 3) BGR uint8, None) or (None, reason)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        return None, f"{path.name} cannot be read ({err.strerror})"
    reason = _check_bytes(path.name, _kind_by_name(path), data[:8], data[-_TAIL:])
    if reason:
        return None, reason
    image = _decode(data)
    if image is None:
        kind = "PNG" if data.startswith(_PNG_HEAD) else "JPEG"
        return None, f"{path.name} is not a readable {kind}: OpenCV could not decode it"
    return image, None


def _peek_checked(path: Path) -> str | None:
    """Signature and end-marker check reading only the first and last bytes of the file."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            size = f.seek(0, 2)
            f.seek(max(0, size - _TAIL))
            tail = f.read()
    except OSError as err:
        return f"{path.name} cannot be read ({err.strerror})"
    return _check_bytes(path.name, _kind_by_name(path), head, tail)


def _size_mismatch(path: Path, image: np.ndarray, first: Path, shape: tuple[int, ...]) -> str | None:
    if image.shape == shape:
        return None
    return (
        f"{path.name} is {image.shape[1]}x{image.shape[0]} pixels but {first.name} is "
        f"{shape[1]}x{shape[0]}; all frames of a sequence must have one size"
    )


def _verify_folder(folder: Path, mode: str) -> tuple[int, str | None]:
    if not folder.is_dir():
        return 0, f"frame folder {folder} does not exist"
    paths = list_frames(folder)
    if not paths:
        return 0, f"frame folder {folder} holds no .png/.jpg frames"
    if mode == "quick":
        for p in paths:
            reason = _peek_checked(p)
            if reason:
                return len(paths), reason
        to_decode = [paths[0], paths[-1]] if len(paths) > 1 else [paths[0]]
    else:
        to_decode = paths
    shape: tuple[int, ...] | None = None
    for p in to_decode:
        image, reason = _read_checked(p)
        if reason:
            return len(paths), reason
        assert image is not None
        if shape is None:
            shape = image.shape
        elif reason := _size_mismatch(p, image, paths[0], shape):
            return len(paths), reason
    return len(paths), None


def _open_video(path: Path) -> cv2.VideoCapture:
    try:
        empty = path.stat().st_size == 0
    except OSError as err:
        raise DatasetError(f"video {path} cannot be read ({err.strerror})") from None
    if empty:
        raise DatasetError(f"video {path} is empty (0 bytes); copy it again from its source")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise DatasetError(
            f"video {path} could not be opened by OpenCV (corrupt file or unsupported codec); "
            f"re-encode it, e.g. as H.264 or mp4v .mp4"
        )
    return cap


def probe_video(path: Path) -> tuple[float, int]:
    """The container's frames per second and frame count (0.0 / 0 where it does not say)."""
    cap = _open_video(Path(path))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    return (fps if np.isfinite(fps) and fps > 0 else 0.0), max(count, 0)


def _truncated(path: Path, promised: int, decoded: int) -> str:
    if decoded == 0:
        promise = f" although its container promises {promised}" if promised else ""
        return (f"video {path} decodes no frame{promise} (corrupt data or an unsupported codec); "
                f"re-encode it, e.g. as H.264 or mp4v .mp4")
    return (f"video {path} is truncated: its container promises {promised} frames but only {decoded} "
            f"decode; copy it again from its source or re-encode it")


def _decode_all(cap: cv2.VideoCapture, path: Path) -> tuple[int, str | None]:
    """Decode every remaining frame: (frames decoded, reason if a frame changes size)."""
    n, shape = 0, None
    while True:
        ok, frame = cap.read()
        if not ok:
            return n, None
        if shape is None:
            shape = frame.shape
        elif frame.shape != shape:
            return n, f"frame {n} of video {path} changes size from {shape} to {frame.shape}"
        n += 1


def _verify_video(path: Path, mode: str) -> tuple[int, str | None]:
    if not path.is_file():
        return 0, f"video file {path} does not exist"
    try:
        cap = _open_video(path)
    except DatasetError as err:
        return 0, str(err)
    try:
        promised = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0)     # 0: the container does not say
        if mode == "full":
            n, reason = _decode_all(cap, path)
            if reason:
                return n, reason
            if n < promised or n == 0:
                return n, _truncated(path, promised, n)
            return n, None
        ok, _ = cap.read()
        if not ok:
            return 0, _truncated(path, promised, 0)
        if promised <= 0:  # the container does not say: count by demuxing
            count = 1
            while cap.grab():
                count += 1
            return count, None
        if promised > 1:
            cap.set(cv2.CAP_PROP_POS_FRAMES, promised - 1)
            ok, _ = cap.read()
            if not ok:  # decode it all, as full does, to say how many frames there are
                cap.release()
                cap = _open_video(path)
                n, reason = _decode_all(cap, path)
                return n, reason or (_truncated(path, promised, n) if n < promised else None)
        return promised, None
    finally:
        cap.release()


def _check_mode(mode: str) -> None:
    if mode not in VERIFY_MODES:
        raise ValueError(f"manifest.verify is {mode!r}; use one of {VERIFY_MODES}")


def verify_source(source: Path, media: str, mode: str) -> tuple[int, str | None]:
    """Check that a frame folder or video file decodes: (frame count, reject reason or None).

    ``media`` is ``frames`` or ``video``; ``mode`` is ``full`` or ``quick`` (see the module text).
    Pose files are checked when their split file is read (``slrtp.scan``), not here.
    """
    _check_mode(mode)
    source = Path(source)
    if media == "frames":
        return _verify_folder(source, mode)
    if media == "video":
        return _verify_video(source, mode)
    raise ValueError(f"verify_source handles media 'frames' and 'video', not {media!r}")


def frame_files(folder: Path) -> list[Path]:
    """:func:`list_frames` of a frame folder that must hold frames (else :class:`DatasetError`)."""
    paths = list_frames(folder)
    if not paths:
        raise DatasetError(f"frame folder {folder} does not exist or holds no .png/.jpg frames")
    return paths


def read_frame(path: Path) -> np.ndarray:
    """One frame file decoded: (H, W, 3) BGR uint8. Raises :class:`DatasetError` naming its folder and
    file when it cannot be read or decoded."""
    path = Path(path)
    image, reason = _read_checked(path)
    if reason:
        raise DatasetError(f"{path.parent}: {reason}")
    return image


def iter_frames(source: Path, media: str) -> Iterator[np.ndarray]:
    """Yield each frame of a frame folder or video file once, decoded: (H, W, 3) BGR uint8.

    Raises :class:`DatasetError` naming the file when a frame cannot be read or decoded.
    """
    source = Path(source)
    if media == "frames":
        for p in frame_files(source):
            yield read_frame(p)
    elif media == "video":
        cap = _open_video(source)
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                yield frame
        finally:
            cap.release()
    else:
        raise ValueError(f"iter_frames reads media 'frames' and 'video', not {media!r}")


def read_strided(source: Path, media: str, stride: int = 1) -> tuple[list[np.ndarray], int]:
    """Frames 0, stride, 2 stride, ... of a frame folder or video file, decoded (H, W, 3) BGR uint8, as
    :func:`iter_frames` yields them, and the number of frames the source has in all.

    The frames in between are not decoded into images: a folder's files are not read (the manifest's
    verification checked them), a video's are grabbed but not retrieved. Errors as :func:`iter_frames`.
    """
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"frame stride must be an int >= 1, got {stride!r}")
    source = Path(source)
    if media == "frames":
        paths = frame_files(source)
        return [read_frame(p) for p in paths[::stride]], len(paths)
    if media == "video":
        cap = _open_video(source)
        kept: list[np.ndarray] = []
        n = 0
        try:
            while cap.grab():  # read() is grab() then retrieve(): the kept frames come out the same
                if n % stride == 0:
                    ok, frame = cap.retrieve()
                    if not ok:
                        break
                    kept.append(frame)
                n += 1
        finally:
            cap.release()
        return kept, n
    raise ValueError(f"read_strided reads media 'frames' and 'video', not {media!r}")
