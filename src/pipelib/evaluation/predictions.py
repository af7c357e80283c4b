"""Predicted poses to score: this pipeline's prediction files and anyone's, in the SLRTP evaluator's formats.

Accepted files (``read_prediction_file``), each a dict keyed by sequence id:

- ``.pt``: ``torch.load(weights_only=True)``: tensors, numeric numpy arrays, plain containers only;
- ``.pkl`` / ``.pickle``: unpickled with an allowlist (numeric numpy arrays and plain containers);
  anything else, torch tensors included (save those as ``.pt``), is refused without running it;
- ``.json``: nested lists;
- ``.h5``: this pipeline's prediction files (``predictions_phase*.h5``), one split selected.

Values are ``[N, 178, 3]`` poses or dicts with ``poses_3d`` (as in the challenge's own files, so its
``PT_baseline_{dev,test}.pt`` are read as they are). The skeleton layout is what the file records (our
HDF5 attribute ``skeleton``, or a ``layout`` key in every entry, as :func:`pipelib.skeletons.export.
export_slrtp` writes); files that record none are taken as the evaluator's own layout, ``slrtp178``,
unless the config says otherwise (``datasets.<ds>.predictions.<name>.layout``).

Frame rates: our HDF5 files record each sequence's ``fps`` attribute; the evaluator's formats record
none. A sequence's rate is the one its file records, else the source's ``fps``
(``datasets.<ds>.predictions.<name>.fps``), else its ground-truth video's (:meth:`PredictionSource.rates`),
which decides whether it is subsampled like the ground truth (``metrics.scoring_frames``).
"""

from __future__ import annotations

import io
import json
import os
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelib.production.predictions import read_predictions
from pipelib.skeletons.layout import N_JOINTS, check_layout
from pipelib.skeletons.read import read_layout

SUFFIXES = (".pt", ".pkl", ".pickle", ".json", ".h5")


@dataclass(frozen=True)
class PredictionSource:
    """Where one system's poses come from. ``layout``: None = what the file records, else ``slrtp178``;
    ``fps``: the rate of sequences whose file records none (None: their ground truth's)."""

    path: str
    layout: str | None = None
    fps: float | None = None

    def rates(self, recorded: Mapping[str, float], ids: Sequence[str],
              gt_fps: Sequence[float]) -> list[float]:
        """Frame rate of each sequence of ``ids``: what the file records (``recorded``), else this
        source's ``fps``, else its ground-truth video's (``gt_fps``, in ``ids`` order)."""
        if self.fps is not None and not float(self.fps) > 0:
            raise ValueError(f"predictions {self.path}: fps must be > 0, got {self.fps}")
        return [float(recorded[i]) if i in recorded else float(self.fps) if self.fps is not None else float(g)
                for i, g in zip(ids, gt_fps, strict=True)]


class _NumericUnpickler(pickle.Unpickler):
    """Rebuilds numeric numpy arrays, numpy scalars and plain containers; refuses every other global."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED or (module == "numpy.dtypes" and name.endswith("DType")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name}")


def _load_pickle(path: Path) -> Any:
    data = path.read_bytes()
    try:
        obj = _NumericUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as err:
        raise ValueError(f"refused to unpickle {path}: it holds {err}, and only numeric numpy arrays, "
                         f"numbers, strings, lists and dicts are read from pickles (no code runs). Save "
                         f"torch tensors as .pt, or convert the file to .json") from None
    if any(isinstance(v, np.ndarray) and v.dtype == object for v in _values(obj)):
        raise ValueError(f"{path} holds object arrays; save numeric arrays")
    return obj


def _values(obj: Any) -> list[Any]:
    if isinstance(obj, Mapping):
        return [x for v in obj.values() for x in _values(v)]
    return [obj]


def _load_pt(path: Path) -> Any:
    from pipelib.datasets.errors import DatasetError
    from pipelib.datasets.slrtp import load_split

    try:
        return load_split(path)
    except DatasetError as err:
        raise ValueError(str(err)) from None


def _poses(value: Any, key: str, path: Path) -> np.ndarray:
    if isinstance(value, Mapping):
        if "poses_3d" not in value:
            raise ValueError(f"{path}: entry {key!r} is a dict without poses_3d")
        value = value["poses_3d"]
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: entry {key!r} is not a numeric array ({err})") from None
    if arr.ndim != 3 or arr.shape[1:] != (N_JOINTS, 3) or arr.shape[0] == 0:
        raise ValueError(f"{path}: entry {key!r} has shape {arr.shape}, expected (N, {N_JOINTS}, 3), N > 0")
    return arr


def _entry_layout(data: Mapping[str, Any], path: Path) -> str | None:
    found = {v.get("layout") for v in data.values() if isinstance(v, Mapping)}
    if found == {None} or not found:
        return None
    if len(found) > 1:
        raise ValueError(f"{path}: entries record different skeleton layouts {sorted(map(str, found))}; "
                         f"one file holds one layout")
    return check_layout(found.pop(), str(path))


def read_prediction_file(path: str | os.PathLike[str], split: str | None = None
                         ) -> tuple[dict[str, np.ndarray], str | None, dict[str, float]]:
    """Poses (N, 178, 3) float32 by id from any accepted file (``split`` selects within our HDF5), the
    skeleton layout the file records (None: it records none) and the frame rate of each sequence that
    records one (our HDF5 files; empty for the evaluator's formats)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{p}: prediction files must end in {', '.join(SUFFIXES)}")
    if not p.is_file():
        raise FileNotFoundError(f"prediction file {p} does not exist")
    if suffix == ".h5":
        if split is None:
            raise ValueError(f"{p}: give the split to read from a prediction HDF5")
        poses, rates = read_predictions(p, split)
        return poses, read_layout(p), rates
    if suffix == ".json":
        data = json.loads(p.read_text(encoding="utf-8"))
    elif suffix == ".pt":
        data = _load_pt(p)
    else:
        data = _load_pickle(p)
    if not isinstance(data, Mapping) or not data:
        held = type(data).__name__ if not isinstance(data, Mapping) else "an empty dict"
        raise ValueError(f"{p} holds {held}; expected a dict id -> [N, {N_JOINTS}, 3] poses "
                         f"(or id -> {{poses_3d: ...}})")
    return {str(k): _poses(v, str(k), p) for k, v in data.items()}, _entry_layout(data, p), {}


def _listing(ids: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(ids[:limit])
    return f"{shown} and {len(ids) - limit} more" if len(ids) > limit else shown


def align_to_ids(poses: Mapping[str, np.ndarray], ids: Sequence[str], what: str) -> list[np.ndarray]:
    """``poses`` in the order of ``ids``; ValueError in one sentence listing missing and extra ids."""
    missing = [i for i in ids if i not in poses]
    wanted = set(ids)
    extra = sorted(k for k in poses if k not in wanted)
    if missing or extra:
        parts = [f"{len(missing)} missing ({_listing(missing)})" if missing else "",
                 f"{len(extra)} extra ({_listing(extra)})" if extra else ""]
        raise ValueError(f"{what} does not match the {len(ids)} ground-truth ids: "
                         + " and ".join(x for x in parts if x)
                         + "; give exactly one prediction per ground-truth sequence")
    return [poses[i] for i in ids]
