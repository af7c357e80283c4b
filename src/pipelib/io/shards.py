"""One HDF5 layout for every per-video array file (pose shards, fused features, latents).

Layout::

    /                     attrs: provenance (JSON string) and any file-level attributes
    /videos/<id>/features (T, D) float32
    /videos/<id>/mask     (T,) bool, True where the frame is valid (a missed detection is False)
    /videos/<id>/<extra>  auxiliary arrays whose first axis is T (landmarks, masks, ...)
    /failures/video_id, /failures/reason   vlen UTF-8 strings: videos that could not be processed

Files are written through :class:`ShardWriter`, which writes to a temporary name and renames on
success, so a killed job never leaves a shard that looks complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pipelib.io.atomic import atomic_path

_STR = h5py.string_dtype("utf-8")
_JSON_PREFIX = "json:"  # marks attributes holding JSON-encoded containers; other strings stay strings


@dataclass
class VideoArrays:
    """The arrays of one video: features (T, D) float32, mask (T,) bool, extras keyed by name."""

    video_id: str
    features: np.ndarray
    mask: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.features = np.asarray(self.features, dtype=np.float32)
        self.mask = np.asarray(self.mask, dtype=bool)
        if self.features.ndim != 2:
            raise ValueError(f"{self.video_id}: features must be (T, D), got {self.features.shape}")
        if self.mask.shape != (self.features.shape[0],):
            raise ValueError(
                f"{self.video_id}: mask shape {self.mask.shape} does not match "
                f"{self.features.shape[0]} frames"
            )
        for name, arr in self.extras.items():
            if len(arr) != len(self.mask):
                raise ValueError(f"{self.video_id}: extra {name!r} has {len(arr)} rows, not T")

    @property
    def n_frames(self) -> int:
        return int(self.features.shape[0])


def _key(video_id: str) -> str:
    if "/" in video_id or video_id in {"", ".", ".."}:
        raise ValueError(f"video id {video_id!r} cannot be an HDF5 group name")
    return video_id


class ShardWriter:
    """Context manager writing :class:`VideoArrays` into one shard file atomically."""

    def __init__(self, path: str | os.PathLike[str], attrs: Mapping[str, Any] | None = None,
                 compression: str | None = "lzf") -> None:
        self.path = Path(path)
        self._attrs = dict(attrs or {})
        self._compression = compression
        self._failures: list[tuple[str, str]] = []
        self._ctx = None
        self._h5: h5py.File | None = None

    def __enter__(self) -> ShardWriter:
        self._ctx = atomic_path(self.path)
        tmp = self._ctx.__enter__()
        self._h5 = h5py.File(tmp, "w")
        self._h5.create_group("videos")
        return self

    def write(self, video: VideoArrays) -> None:
        """Add one video's arrays."""
        assert self._h5 is not None, "use ShardWriter as a context manager"
        g = self._h5["videos"].create_group(_key(video.video_id))
        g.create_dataset("features", data=video.features, compression=self._compression)
        g.create_dataset("mask", data=video.mask)
        for name, arr in video.extras.items():
            g.create_dataset(name, data=np.asarray(arr), compression=self._compression)
        for k, v in video.attrs.items():
            g.attrs[k] = encode_attr(v)

    def fail(self, video_id: str, reason: str) -> None:
        """Record a video that could not be processed, with a reason a person can act on."""
        self._failures.append((video_id, reason))

    @property
    def n_failed(self) -> int:
        return len(self._failures)

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self._h5 is not None and self._ctx is not None
        try:
            if exc_type is None:
                f = self._h5.create_group("failures")
                ids = [v for v, _ in self._failures]
                reasons = [r for _, r in self._failures]
                f.create_dataset("video_id", data=np.array(ids, dtype=object), dtype=_STR)
                f.create_dataset("reason", data=np.array(reasons, dtype=object), dtype=_STR)
                for k, v in self._attrs.items():
                    self._h5.attrs[k] = encode_attr(v)
        finally:
            self._h5.close()
        return bool(self._ctx.__exit__(exc_type, exc, tb))


def encode_attr(v: Any) -> Any:
    """An HDF5-storable attribute value: containers and None become JSON strings."""
    if isinstance(v, (dict, list, tuple)) or v is None:
        return _JSON_PREFIX + json.dumps(v, sort_keys=True, default=str)
    return v


def read_attrs(path: str | os.PathLike[str]) -> dict[str, Any]:
    """File-level attributes; JSON-encoded values are decoded."""
    with h5py.File(path, "r") as h5:
        return {k: _decode_attr(v) for k, v in h5.attrs.items()}


def _decode_attr(v: Any) -> Any:
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str):
        return json.loads(v[len(_JSON_PREFIX):]) if v.startswith(_JSON_PREFIX) else v
    if isinstance(v, np.ndarray):
        return [_decode_attr(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


def video_ids(path: str | os.PathLike[str]) -> list[str]:
    """Ids of the videos stored in a shard, in storage order."""
    with h5py.File(path, "r") as h5:
        return list(h5["videos"].keys())


def read_video(path: str | os.PathLike[str], video_id: str,
               extras: bool | tuple[str, ...] = True) -> VideoArrays:
    """Read one video's arrays; ``extras`` is True (all), False (none) or the names wanted."""
    with h5py.File(path, "r") as h5:
        return _read_group(h5["videos"][_key(video_id)], video_id, extras)


def iter_videos(path: str | os.PathLike[str],
                extras: bool | tuple[str, ...] = True) -> Iterator[VideoArrays]:
    """Yield every video of a shard."""
    with h5py.File(path, "r") as h5:
        for vid, g in h5["videos"].items():
            yield _read_group(g, vid, extras)


def _read_group(g: h5py.Group, video_id: str, extras: bool | tuple[str, ...]) -> VideoArrays:
    names = [k for k in g if k not in ("features", "mask")]
    if extras is False:
        names = []
    elif extras is not True:
        names = [k for k in names if k in extras]
    return VideoArrays(
        video_id=video_id,
        features=g["features"][()],
        mask=g["mask"][()],
        extras={k: g[k][()] for k in names},
        attrs={k: _decode_attr(v) for k, v in g.attrs.items()},
    )


def read_failures(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """The (video_id, reason) pairs recorded as failed in a shard."""
    with h5py.File(path, "r") as h5:
        if "failures" not in h5:
            return []
        ids = [s.decode() if isinstance(s, bytes) else s for s in h5["failures/video_id"][()]]
        rs = [s.decode() if isinstance(s, bytes) else s for s in h5["failures/reason"][()]]
    return list(zip(ids, rs, strict=True))


def checked_extras(video: VideoArrays, shapes: Mapping[str, tuple[int, ...]],
                   fix: str) -> dict[str, np.ndarray]:
    """The named extras of ``video``, each checked to be (T, *shape); errors name the video and ``fix``."""
    out = {}
    for name, shape in shapes.items():
        if name not in video.extras:
            raise ValueError(f"video {video.video_id}: the shard has no extra {name!r}; {fix}")
        arr = np.asarray(video.extras[name])
        if arr.shape != (video.n_frames, *shape):
            raise ValueError(f"video {video.video_id}: extra {name!r} has shape {arr.shape}, "
                             f"expected {(video.n_frames, *shape)}")
        out[name] = arr
    return out
