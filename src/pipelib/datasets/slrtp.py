"""Reader for the SLRTP 2025 challenge pose files (kind ``slrtp_poses``).

The root holds one ``.pt`` file per split, recognised by ``train``, ``dev`` or ``test`` in its name.
Each is a dict ``id -> {name, text, gloss, speaker, poses_3d}`` with ``poses_3d`` (F, 178, 3) 3-D
keypoints at 25 fps, as a tensor or numpy array.

Files are loaded with ``torch.load(weights_only=True)``: only tensors, numeric numpy arrays, numbers,
strings, lists and dicts are rebuilt. A file that pickles any other object is refused with an error
naming the file, so opening a pose file never runs code from it.
"""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np

from pipelib.datasets.errors import DatasetError
from pipelib.datasets.records import SPLITS, Entry

log = logging.getLogger(__name__)

FPS = 25.0
N_JOINTS = 178
FIELDS = ("name", "text", "gloss", "speaker", "poses_3d")
_NUMERIC_DTYPES = (
    "Float16DType", "Float32DType", "Float64DType", "Int8DType", "Int16DType", "Int32DType",
    "Int64DType", "UInt8DType", "UInt16DType", "UInt32DType", "UInt64DType", "BoolDType",
)


def _numpy_globals() -> list[Any]:
    """What rebuilding a numeric numpy array needs, under its numpy 1.x and 2.x module names."""
    from numpy.core.multiarray import _reconstruct

    allowed: list[Any] = [
        _reconstruct, (_reconstruct, "numpy._core.multiarray._reconstruct"), np.ndarray, np.dtype,
    ]
    allowed += [getattr(np.dtypes, name) for name in _NUMERIC_DTYPES if hasattr(np.dtypes, name)]
    return allowed


def load_split(path: Path) -> dict[str, Any]:
    """The dict stored in one split file, loaded without running pickled code.

    Raises :class:`DatasetError` naming the file if it pickles other objects or is not a .pt file.
    """
    import torch

    path = Path(path)
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.findall(r"GLOBAL ([\w.]+)", str(err))
        if found:
            raise DatasetError(
                f"refused to load {path}: it pickles the Python object {found[0]}, and loading it could "
                f"run arbitrary code. Pose files may hold only tensors or numeric arrays, numbers, "
                f"strings, lists and dicts; re-save it with those types."
            ) from None
        detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", str(err))
        raise DatasetError(
            f"{path} is not a readable torch .pt file ({detail.group(1) if detail else 'unpickling failed'})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        detail = str(err) or f"{type(err).__name__}: the file is empty or cut short"
        raise DatasetError(f"{path} is not a readable torch .pt file ({detail})") from None
    if not isinstance(data, dict):
        raise DatasetError(
            f"{path} holds a {type(data).__name__}; expected a dict id -> {{{', '.join(FIELDS)}}}"
        )
    return data


def poses_array(value: Any) -> np.ndarray:
    """``poses_3d`` as a float32 array (F, 178, 3)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def split_files(root: Path, name: str) -> dict[str, Path]:
    """``{split: file}``: the one ``.pt`` in ``root`` whose name contains each of train, dev, test.

    A file named exactly ``<split>.pt`` wins over others that contain the split name (the challenge
    archive's ``data/`` holds ``dev.pt`` beside ``PT_baseline_dev.pt``, a set of predictions).
    """
    root = Path(root).expanduser().absolute()
    key = f"datasets.{name}.root"
    if not root.is_dir():
        raise DatasetError(f"dataset {name!r}: pose folder {root} does not exist; check {key}")
    candidates: dict[str, list[Path]] = {}
    for path in sorted(root.glob("*.pt")):
        hits = [s for s in SPLITS if s in path.stem.lower()]
        if len(hits) > 1:
            raise DatasetError(f"{path}: the name contains more than one of {SPLITS}; rename it")
        if not hits:
            log.warning("%s names no split (train/dev/test) and is ignored", path)
            continue
        candidates.setdefault(hits[0], []).append(path)
    found: dict[str, Path] = {}
    for split, paths in candidates.items():
        exact = [p for p in paths if p.stem.lower() == split]
        if len(paths) > 1 and not exact:
            raise DatasetError(
                f"dataset {name!r}: two pose files for split {split!r}: {paths[0]} and {paths[1]}; "
                f"keep one per split in {root}, or name it {split}.pt"
            )
        found[split] = exact[0] if exact else paths[0]
        for other in paths:
            if other != found[split]:
                log.warning("%s is not split %r's pose file (%s is) and is ignored", other, split,
                            found[split].name)
    missing = [s for s in SPLITS if s not in found]
    if missing:
        raise DatasetError(
            f"dataset {name!r}: no .pt file for split(s) {', '.join(missing)} in {root} (looked for "
            f"*.pt whose name contains the split name); check {key}"
        )
    return found


def _check(value: Any) -> tuple[np.ndarray | None, str | None]:
    if not isinstance(value, dict):
        return None, f"the entry is a {type(value).__name__}, expected a dict with {', '.join(FIELDS)}"
    missing = [f for f in FIELDS if f not in value]
    if missing:
        return None, f"the entry lacks the field(s) {', '.join(missing)}"
    try:
        poses = poses_array(value["poses_3d"])
    except (TypeError, ValueError) as err:
        return None, f"poses_3d is not a numeric array ({err})"
    if poses.ndim != 3 or poses.shape[1:] != (N_JOINTS, 3):
        return None, f"poses_3d has shape {tuple(poses.shape)}, expected (F, {N_JOINTS}, 3)"
    if poses.shape[0] == 0:
        return None, "poses_3d has 0 frames"
    return poses, None


def scan(root: Path, name: str = "slrtp_poses", fps: float | None = None) -> list[Entry]:
    """Entries of the three split files; frame counts come from ``poses_3d``.

    Entries whose value is malformed (not a dict, missing fields, wrong pose shape) are marked
    rejected with the reason. Entries holding NaN/Inf values are kept (the skeletons stage masks
    those joints and reports each video); each file's count is logged here.
    """
    entries: list[Entry] = []
    for split, path in split_files(root, name).items():
        data = load_split(path)
        if not data:
            log.warning("%s holds no entries: split %r of dataset %r has 0 entries", path, split, name)
        nonfinite: dict[str, int] = {}
        for key, value in data.items():
            poses, reason = _check(value)
            if poses is not None and (n_bad := int(poses.size - np.isfinite(poses).sum())):
                nonfinite[str(key)] = n_bad
            meta = value if reason is None else {}
            entries.append(Entry(
                id=str(key), split=split, source=path, media="poses", fps=float(fps or FPS),
                signer=str(meta.get("speaker", "")), gloss=str(meta.get("gloss", "")),
                text=str(meta.get("text", "")), frame_count=0 if poses is None else int(poses.shape[0]),
                reject=reason,
            ))
        if nonfinite:
            worst = sorted(nonfinite, key=lambda k: (-nonfinite[k], k))[:5]
            log.warning("%s: %d of %d entries hold NaN/Inf pose values (%d values in all; most in %s); the "
                        "skeletons stage masks those joints and logs each video", path, len(nonfinite),
                        len(data), sum(nonfinite.values()),
                        ", ".join(f"{k} ({nonfinite[k]})" for k in worst))
    return entries
