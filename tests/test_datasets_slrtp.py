"""SLRTP pose files: safe loading (no pickled code runs), split detection, entry checks."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelib.datasets import slrtp
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.manifest import build_manifest


def _item(name: str, frames: int, as_numpy: bool = False) -> dict:
    poses = torch.arange(frames * 178 * 3, dtype=torch.float32).reshape(frames, 178, 3)
    return {"name": name, "text": f"text {name}", "gloss": f"GLOSS {name.upper()}", "speaker": "Signer05",
            "poses_3d": poses.numpy() if as_numpy else poses}


def make_poses(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    torch.save({"t2": _item("t2", 4), "t1": _item("t1", 6, as_numpy=True)}, root / "phix_train.pt")
    torch.save({"d1": _item("d1", 3), "bad": {**_item("bad", 2), "poses_3d": torch.zeros(2, 170, 3)},
                "nofield": {"name": "nofield"}}, root / "phix_dev.pt")
    torch.save({"s1": _item("s1", 5)}, root / "phix_test.pt")
    (root / "notes.pt").write_bytes(b"ignored")  # names no split
    return root


class _Payload:
    """Unpickling this runs os.mkdir(marker): the kind of object a safe loader must refuse."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_scan_reads_tensors_and_numpy_arrays(tmp_path):
    root = make_poses(tmp_path / "poses")
    entries = {e.id: e for e in slrtp.scan(root, name="slrtp")}
    assert set(entries) == {"t1", "t2", "d1", "bad", "nofield", "s1"}
    t1 = entries["t1"]
    assert (t1.split, t1.media, t1.frame_count, t1.fps) == ("train", "poses", 6, 25.0)
    assert (t1.text, t1.gloss, t1.signer) == ("text t1", "GLOSS T1", "Signer05")
    assert t1.source == root / "phix_train.pt"
    assert entries["bad"].reject == "poses_3d has shape (2, 170, 3), expected (F, 178, 3)"
    assert entries["nofield"].reject == "the entry lacks the field(s) text, gloss, speaker, poses_3d"
    poses = slrtp.poses_array(slrtp.load_split(root / "phix_train.pt")["t1"]["poses_3d"])
    assert poses.shape == (6, 178, 3) and poses.dtype == np.float32 and poses[1, 0, 0] == 534.0


def test_manifest_of_pose_files(tmp_path):
    make_poses(tmp_path)
    manifest, rejected = build_manifest("slrtp", "slrtp_poses", tmp_path, n_shards=2)
    assert list(manifest["id"]) == ["t1", "t2", "d1", "s1"]
    assert list(manifest["frame_count"]) == [6, 4, 3, 5]
    assert set(manifest["media"]) == {"poses"}
    assert sorted(rejected["id"]) == ["bad", "nofield"]


def test_malicious_pickle_is_refused_and_its_code_does_not_run(tmp_path):
    root = make_poses(tmp_path / "poses")
    marker = tmp_path / "code_ran"
    torch.save({"x": {**_item("x", 2), "speaker": _Payload(marker)}}, root / "phix_test.pt")
    with pytest.raises(DatasetError) as info:
        slrtp.scan(root)
    msg = str(info.value)
    assert str(root / "phix_test.pt") in msg and "refused" in msg and "mkdir" in msg
    assert not marker.exists()
    # the payload is live: an unrestricted unpickler would have run it
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.is_dir()


def test_unreadable_file_error_names_it(tmp_path):
    root = make_poses(tmp_path)
    (root / "phix_dev.pt").write_bytes(b"not a torch file at all")
    with pytest.raises(DatasetError, match="phix_dev.pt is not a readable torch .pt file"):
        slrtp.scan(root)


def test_split_files_missing_or_ambiguous(tmp_path):
    root = make_poses(tmp_path)
    (root / "phix_test.pt").unlink()
    with pytest.raises(DatasetError, match=r"split\(s\) test .*datasets.sl.root"):
        slrtp.scan(root, name="sl")
    torch.save({}, root / "train_test.pt")
    with pytest.raises(DatasetError, match="more than one"):
        slrtp.split_files(root, "sl")
