"""``pipelib info FILE``: what a results file holds and what made it.

Reads, without loading the arrays: HDF5 (``.h5``: per-video files give videos, splits, frame counts,
feature width, extras and failures; other HDF5 files their datasets and shapes), parquet (rows,
columns, splits), CSV (rows, columns), torch (``.pt``: a pipeline checkpoint's model, epoch and
config, or an SLRTP pose file's sequences; read with ``weights_only=True``, nothing is executed),
JSON, pose-format ``.pose`` files and folders of them (``corpus.csv``). Provenance comes from where the
pipeline stores it: a ``<file>.prov.json`` sidecar, the HDF5 ``provenance`` attribute, the parquet
schema metadata, a checkpoint's ``meta.provenance``, or a folder's ``provenance.json``.
``--json`` prints all of it as JSON, the provenance in full.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HELP = "what a results file holds (videos, splits, shapes) and its provenance"
PROVENANCE_FIELDS = ("created_utc", "config_sha256", "code", "seed", "host", "slurm_job_id")
SHOWN_PACKAGES = ("pipelib", "python", "torch", "numpy", "mediapipe", "snakemake")
MAX_LISTED = 12


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a results file (.h5 .parquet .csv .pt .json .pose) or a .pose folder")
    parser.add_argument("--json", action="store_true", help="print everything as JSON")


def _range(values: list[int]) -> str:
    return "none" if not values else (f"{min(values)}" if min(values) == max(values)
                                      else f"{min(values)}-{max(values)}")


def _h5(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    import h5py

    from pipelib.io.shards import read_attrs

    attrs = read_attrs(path)
    prov = attrs.pop("provenance", None)
    if isinstance(prov, str):
        try:
            prov = json.loads(prov)
        except ValueError:
            prov = {"recorded": prov}
    with h5py.File(path, "r") as h5:
        shown = {k: (f"<{type(v).__name__} of {len(v)}>" if isinstance(v, dict | list) else v)
                 for k, v in attrs.items()}
        facts: dict[str, Any] = {"attributes": shown}
        if "videos" in h5 and isinstance(h5["videos"], h5py.Group):
            groups = h5["videos"]
            frames, widths, splits, extras = [], set(), Counter(), set()
            for g in groups.values():
                shape = g["features"].shape                                        # (T, D)
                frames.append(int(shape[0]))
                widths.add(int(shape[1]) if len(shape) > 1 else 0)
                split = g.attrs.get("split", "")
                splits[(split.decode() if isinstance(split, bytes) else str(split)) or "-"] += 1
                extras |= {k for k in g if k not in ("features", "mask")}
            failed = int(h5["failures/video_id"].shape[0]) if "failures/video_id" in h5 else 0
            facts.update({"kind": "per-video arrays (pipelib.io.shards)", "videos": len(frames),
                          "splits": dict(sorted(splits.items())), "frames_per_video": _range(frames),
                          "frames_total": sum(frames), "feature_width": sorted(widths),
                          "extras": sorted(extras), "failed_videos": failed})
        else:
            datasets: dict[str, list[int]] = {}

            def visit(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset):
                    datasets[name] = list(obj.shape)

            h5.visititems(visit)
            listed = dict(list(datasets.items())[:MAX_LISTED])
            facts.update({"kind": "HDF5", "datasets": len(datasets), "shapes": listed})
    return facts, prov if isinstance(prov, dict) else None


def _parquet(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    prov = next((json.loads(v) for k, v in meta.items() if k.endswith(b"provenance")), None)
    facts: dict[str, Any] = {"kind": "parquet table", "rows": table.num_rows, "columns": table.column_names}
    if "split" in table.column_names:
        facts["splits"] = dict(sorted(Counter(map(str, table.column("split").to_pylist())).items()))
    return facts, prov


def _csv(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="|" if path.name == "corpus.csv" else ","))
    header = rows[0] if rows else []
    facts: dict[str, Any] = {"kind": "CSV table", "rows": max(len(rows) - 1, 0), "columns": header}
    if "split" in header:
        j = header.index("split")
        facts["splits"] = dict(sorted(Counter(r[j] for r in rows[1:] if len(r) > j).items()))
    if "system" in header:
        j = header.index("system")
        facts["systems"] = list(dict.fromkeys(r[j] for r in rows[1:] if len(r) > j))
    return facts, None


def _torch(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    import pickle

    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return {"kind": "torch file holding pickled objects (not loaded: nothing is executed)",
                "refused": first}, None
    if isinstance(obj, Mapping) and "model" in obj and "format" in obj:
        n_params = sum(int(t.numel()) for t in obj["model"].values() if hasattr(t, "numel"))
        facts = {"kind": f"checkpoint ({obj['format']})", "model_class": obj.get("model_class"),
                 "parameters": n_params, "epoch": obj.get("epoch"), "best_epoch": obj.get("best_epoch"),
                 "best_metric": obj.get("best_metric"), "config_keys": sorted(obj.get("config") or {})}
        meta = obj.get("meta") or {}
        return facts, meta.get("provenance") if isinstance(meta.get("provenance"), dict) else None
    poses = isinstance(obj, Mapping) and obj and all(isinstance(v, Mapping) and "poses_3d" in v
                                                     for v in obj.values())
    if poses:
        frames = [int(v["poses_3d"].shape[0]) for v in obj.values()]
        shapes = sorted({tuple(v["poses_3d"].shape[1:]) for v in obj.values()})
        layouts = sorted({str(v.get("layout", "unrecorded")) for v in obj.values()})
        return {"kind": "SLRTP pose file (id -> {name, text, gloss, speaker, poses_3d})",
                "sequences": len(obj),
                "frames_per_sequence": _range(frames), "point_shape": [list(s) for s in shapes],
                "layout": layouts}, None
    if isinstance(obj, Mapping):
        keys = [str(k) for k in list(obj)[:MAX_LISTED]]
        return {"kind": "torch dict", "keys": keys, "entries": len(obj)}, None
    return {"kind": f"torch {type(obj).__name__}"}, None


def _json(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    obj = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(obj, dict):
        if "config_sha256" in obj:
            return {"kind": "provenance record"}, obj
        prov = obj.get("provenance") if isinstance(obj.get("provenance"), dict) else None
        return {"kind": "JSON object", "keys": list(obj)[:MAX_LISTED], "entries": len(obj)}, prov
    return {"kind": f"JSON {type(obj).__name__}", "entries": len(obj) if hasattr(obj, "__len__") else 1}, None


def _pose(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from pipelib.io.pose_file import read_pose_file

    pose = read_pose_file(path)
    return {"kind": "pose-format file", "frames": pose.n_frames, "fps": pose.fps,
            "components": {c.name: len(c.points) for c in pose.components},
            "point_dims": int(pose.points.shape[-1])}, None


def _pose_folder(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    facts, _ = _csv(path / "corpus.csv")
    prov_file = path / "provenance.json"
    prov = json.loads(prov_file.read_text(encoding="utf-8")) if prov_file.is_file() else None
    return {"kind": "folder of .pose files with corpus.csv (a pose_files dataset)",
            "pose_files": len(list(path.glob("*.pose"))), "sequences": facts["rows"],
            "splits": facts.get("splits", {})}, prov


READERS = {".h5": _h5, ".hdf5": _h5, ".parquet": _parquet, ".csv": _csv, ".pt": _torch, ".json": _json,
           ".pose": _pose}


def describe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"path", "facts", "provenance", "provenance_from"}`` for a results file or ``.pose`` folder;
    provenance from the file itself, else its ``.prov.json`` sidecar (None when neither has one)."""
    from pipelib.provenance import sidecar_path

    p = Path(path)
    if p.is_dir():
        if not (p / "corpus.csv").is_file():
            raise ValueError(f"{p} is a folder without corpus.csv; give a file, or a folder of .pose files")
        facts, prov = _pose_folder(p)
        source = "provenance.json" if prov else None
    else:
        if not p.is_file():
            raise FileNotFoundError(f"{p} does not exist")
        reader = READERS.get(p.suffix.lower())
        if reader is None:
            raise ValueError(f"{p}: no reader for {p.suffix or 'files without a suffix'}; "
                             f"known: {', '.join(READERS)}")
        facts, prov = reader(p)
        source = "the file itself" if prov else None
    sidecar = sidecar_path(p)
    if prov is None and sidecar.is_file():
        prov, source = json.loads(sidecar.read_text(encoding="utf-8")), str(sidecar)
    return {"path": str(p), "facts": facts, "provenance": prov, "provenance_from": source}


def provenance_summary(prov: Mapping[str, Any]) -> dict[str, Any]:
    """The provenance fields a person checks first: when, which config and code, which inputs."""
    out = {k: prov[k] for k in PROVENANCE_FIELDS if prov.get(k) is not None}
    packages = prov.get("packages") or {}
    out["packages"] = {k: packages[k] for k in SHOWN_PACKAGES if k in packages}
    inputs = prov.get("inputs") or {}
    out["inputs"] = len(inputs)
    if "config_sha256" in out:
        out["config_sha256"] = str(out["config_sha256"])[:16]
    return out


def format_description(desc: Mapping[str, Any]) -> str:
    """Lines a person reads: the facts, then the provenance summary (or that there is none)."""
    lines = [desc["path"]]
    for k, v in desc["facts"].items():
        lines.append(f"  {k}: {json.dumps(v, default=str) if isinstance(v, dict | list) else v}")
    prov = desc["provenance"]
    if prov is None:
        lines.append("  provenance: none recorded")
    else:
        lines.append(f"  provenance (from {desc['provenance_from']}):")
        for k, v in provenance_summary(prov).items():
            lines.append(f"    {k}: {json.dumps(v, default=str) if isinstance(v, dict | list) else v}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    desc = describe(args.path)
    print(json.dumps(desc, indent=1, default=str) if args.json else format_description(desc))
    return 0
