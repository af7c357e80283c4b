"""pose-format ``.pose`` files, the file format of the sign-language-processing ecosystem, for one person.

A thin, typed layer over the ``pose-format`` library (``pose_format.Pose``), which does the byte-level
reading and writing, so files written here open in its tools and files written by its tools open here.

A file holds a header (format version, canvas width / height / depth, and named components, each with
named points, limbs as point-index pairs within the component and colours) and a body (fps, then
``data (frames, people, points, dims)`` float32 and ``confidence (frames, people, points)`` float32,
where confidence 0 marks a missing point). :class:`PoseFile` keeps the first person only:
``points (T, N, D)`` and ``confidence (T, N)``, with N the points of all components in header order.
"""

from __future__ import annotations

import io
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelib.errors import DataError
from pipelib.io.atomic import atomic_path

log = logging.getLogger("pipelib.io")

RGB = tuple[int, int, int]
#: Point formats the body may use: x, y and optionally z, then the confidence (pose-format's "C").
POINT_FORMATS: dict[int, str] = {2: "XYC", 3: "XYZC"}


class PoseFileError(DataError):
    """A ``.pose`` file cannot be read or written; the message names the file."""


@dataclass(frozen=True)
class PoseComponent:
    """One named group of points, e.g. ``RIGHT_HAND_LANDMARKS`` with ``WRIST``, ``THUMB_CMC``, ...

    ``limbs`` are pairs of indices into ``points``; ``colour`` is RGB, used by pose-format's viewers.
    """

    name: str
    points: tuple[str, ...]
    limbs: tuple[tuple[int, int], ...] = ()
    colour: RGB = (128, 128, 128)

    def __post_init__(self) -> None:
        if len(set(self.points)) != len(self.points):
            raise ValueError(f"component {self.name}: point names repeat")
        n = len(self.points)
        bad = [pair for pair in self.limbs if not all(0 <= i < n for i in pair)]
        if bad:
            raise ValueError(f"component {self.name}: limbs {bad[:3]} refer to points outside 0..{n - 1}")


@dataclass
class PoseFile:
    """One person's sequence: ``points (T, N, D)`` float32 (D = 2 or 3, the file's units),
    ``confidence (T, N)`` float32 (0 = missing), ``fps`` frames per second, the ``components`` whose
    points make up N in order, and the header's canvas ``size`` (width, height, depth; 0 = unset)."""

    points: np.ndarray
    confidence: np.ndarray
    fps: float
    components: tuple[PoseComponent, ...]
    size: tuple[int, int, int] = (0, 0, 0)

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float32)
        self.confidence = np.asarray(self.confidence, dtype=np.float32)
        self.components = tuple(self.components)
        n = sum(len(c.points) for c in self.components)
        if self.points.ndim != 3 or self.points.shape[1] != n or self.points.shape[2] not in POINT_FORMATS:
            raise ValueError(f"points must be (T, {n}, 2 or 3) for these components, got {self.points.shape}")
        if self.confidence.shape != self.points.shape[:2]:
            raise ValueError(f"confidence must be {self.points.shape[:2]}, got {self.confidence.shape}")
        if len({c.name for c in self.components}) != len(self.components):
            raise ValueError("component names repeat")

    @property
    def n_frames(self) -> int:
        return int(self.points.shape[0])

    def index(self) -> dict[tuple[str, str], int]:
        """``{(component, point): column in points}``."""
        out: dict[tuple[str, str], int] = {}
        for comp in self.components:
            for p in comp.points:
                out[(comp.name, p)] = len(out)
        return out


def _header(pose: PoseFile):
    from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

    fmt = POINT_FORMATS[pose.points.shape[2]]
    comps = [PoseHeaderComponent(name=c.name, points=list(c.points), limbs=[tuple(x) for x in c.limbs],
                                 colors=[c.colour], point_format=fmt) for c in pose.components]
    return PoseHeader(version=0.2, dimensions=PoseHeaderDimensions(*pose.size), components=comps)


def to_bytes(pose: PoseFile) -> bytes:
    """The ``.pose`` encoding of ``pose`` (one person), written by pose-format."""
    from pose_format import Pose
    from pose_format.numpy import NumPyPoseBody

    if not (np.isfinite(pose.fps) and pose.fps > 0):
        raise ValueError(f"fps must be a positive number, got {pose.fps}")
    body = NumPyPoseBody(fps=float(pose.fps), data=pose.points[:, None],          # (T, 1, N, D)
                         confidence=pose.confidence[:, None])                       # (T, 1, N)
    buffer = io.BytesIO()
    Pose(_header(pose), body).write(buffer)
    return buffer.getvalue()


def write_pose_file(path: str | os.PathLike[str], pose: PoseFile) -> None:
    """Write ``pose`` to ``path`` atomically (a killed write leaves no file that looks complete)."""
    data = to_bytes(pose)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


# What pose-format raises on a cut-short or malformed buffer.
_READ_ERRORS = (struct.error, ValueError, IndexError, EOFError, UnicodeDecodeError, NotImplementedError,
                OverflowError, TypeError, MemoryError)


def from_bytes(data: bytes, source: str = "<bytes>") -> PoseFile:
    """Decode a ``.pose`` buffer (any version pose-format reads); keeps the first person.

    Raises :class:`PoseFileError` naming ``source`` for a buffer pose-format cannot decode or one
    that holds no person. More than one person is logged and only the first is kept.
    """
    from pose_format import Pose

    if not data:
        raise PoseFileError(f"{source} is empty (0 bytes); expected a pose-format .pose file")
    try:
        pose = Pose.read(data)
        raw = np.asarray(pose.body.data.data if hasattr(pose.body.data, "mask") else pose.body.data,
                         dtype=np.float32)                                          # (T, P, N, D)
        conf = np.asarray(pose.body.confidence, dtype=np.float32)                   # (T, P, N)
        header = pose.header
        comps = tuple(
            PoseComponent(c.name, tuple(c.points), tuple((int(a), int(b)) for a, b in c.limbs),
                          tuple(int(v) for v in c.colors[0]) if len(c.colors) else (128, 128, 128))
            for c in header.components
        )
    except _READ_ERRORS as err:
        raise PoseFileError(f"{source} is not a readable pose-format .pose file ({type(err).__name__}: "
                            f"{err}); re-export it with pose-format") from None
    if raw.ndim != 4 or raw.shape[1] == 0:
        raise PoseFileError(f"{source} holds no person (body shape {raw.shape}); expected "
                            f"(frames, people >= 1, points, dims)")
    if raw.shape[1] > 1:
        log.warning("%s holds %d people; only the first is read", source, raw.shape[1])
    d = raw.shape[3]
    if d not in POINT_FORMATS:
        raise PoseFileError(f"{source} has {d} values per point; only 2-D (XYC) and 3-D (XYZC) points "
                            f"are read")
    dims = header.dimensions
    try:
        return PoseFile(raw[:, 0], conf[:, 0], float(pose.body.fps), comps,
                        (int(dims.width), int(dims.height), int(dims.depth)))
    except ValueError as err:
        raise PoseFileError(f"{source}: {err}") from None


def read_pose_file(path: str | os.PathLike[str]) -> PoseFile:
    """Read a ``.pose`` file (see :func:`from_bytes`); errors name ``path``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise PoseFileError(f"cannot read pose file {path}: {err.strerror or err}") from None
    return from_bytes(data, str(path))
