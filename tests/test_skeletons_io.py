"""Writing a dataset's skeletons (MediaPipe shards and SLRTP pass-through) and the SLRTP .pt export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pipelib.datasets import slrtp
from pipelib.datasets.manifest import build_manifest
from pipelib.datasets.records import MANIFEST_COLUMNS
from pipelib.io import shards
from pipelib.skeletons.build import build_skeleton
from pipelib.skeletons.config import SkeletonConfig
from pipelib.skeletons.export import export_slrtp
from pipelib.skeletons.write import slrtp_skeleton, write_skeletons

PROV = {"config_sha256": "abc"}


def _holistic(vid: str, t: int, seed: int) -> shards.VideoArrays:
    rng = np.random.default_rng(seed)
    pose = rng.uniform(0.2, 0.8, (t, 33, 4)).astype(np.float32)
    pose[:, 12, :2], pose[:, 11, :2] = (0.4, 0.5), (0.6, 0.5)
    part_mask = np.ones((t, 4), bool)
    part_mask[0, 0] = False                                  # first frame: no pose
    extras = {"pose": pose, "face": rng.uniform(0, 1, (t, 468, 3)).astype(np.float32),
              "left_hand": rng.uniform(0, 1, (t, 21, 3)).astype(np.float32),
              "right_hand": rng.uniform(0, 1, (t, 21, 3)).astype(np.float32),
              "part_mask": part_mask, "segmentation": np.zeros((t, 24, 24), np.float32)}
    return shards.VideoArrays(vid, np.zeros((t, 258), np.float32), part_mask[:, 0], extras,
                              {"image_size": [210, 260]})


def _manifest(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([
        {"id": vid, "split": split, "source": f"/data/{vid}", "media": media, "frame_count": 0, "fps": 25.0,
         "signer": f"S{i}", "gloss": f"GLOSS{i}", "text": f"text {i}", "shard": i % 2}
        for i, (vid, split, media) in enumerate(rows)
    ], columns=list(MANIFEST_COLUMNS))


@pytest.fixture
def holistic_shards(tmp_path):
    paths = [tmp_path / "mp_0.h5", tmp_path / "mp_1.h5"]
    with shards.ShardWriter(paths[0]) as w:
        w.write(_holistic("a", 6, 1))
        w.fail("broken", "ValueError: no frames could be decoded")
    with shards.ShardWriter(paths[1]) as w:
        w.write(_holistic("b", 4, 2))
    return paths


def test_write_skeletons_from_mediapipe_shards(tmp_path, holistic_shards):
    manifest = _manifest([("a", "train", "frames"), ("b", "test", "frames"), ("broken", "train", "frames"),
                          ("lost", "dev", "frames")])
    out = tmp_path / "skeletons.h5"
    summary = write_skeletons(holistic_shards, manifest, out, {"max_gap": 3}, PROV)
    assert (summary["written"], summary["failed"], summary["frames"]) == (2, 2, 10)
    assert shards.video_ids(out) == ["a", "b"]
    attrs = shards.read_attrs(out)
    assert attrs["skeleton"] == "holistic178" and attrs["provenance"] == PROV
    assert attrs["config"] == {"max_gap": 3, "scale": "shoulder_width", "depth": True,
                               "max_abs_value": 1.0e4, "out_of_range": "mask"}
    assert attrs["input_checks"] == []
    a = shards.read_video(out, "a")
    poses, joint_mask = build_skeleton(_holistic("a", 6, 1), {"max_gap": 3})
    assert a.features.shape == (6, 534)
    np.testing.assert_array_equal(a.features.reshape(6, 178, 3), poses)
    np.testing.assert_array_equal(a.extras["joint_mask"], joint_mask)
    assert a.mask.tolist() == [False] + [True] * 5
    assert (a.attrs["split"], a.attrs["text"], a.attrs["gloss"], a.attrs["signer"]) == (
        "train", "text 0", "GLOSS0", "S0")
    assert a.attrs["source"] == "mediapipe_holistic" and shards.read_video(out, "b").attrs["split"] == "test"
    failed = dict(shards.read_failures(out))
    assert "no frames could be decoded" in failed["broken"]
    assert "none of the MediaPipe shards" in failed["lost"]


def _item(name: str, frames: int, seed: int) -> dict:
    poses = torch.from_numpy(np.random.default_rng(seed).normal(size=(frames, 178, 3)).astype(np.float32))
    return {"name": f"{name}_name", "text": f"text {name}", "gloss": f"G {name}", "speaker": "Signer05",
            "poses_3d": poses}


@pytest.fixture
def slrtp_root(tmp_path):
    root = tmp_path / "slrtp"
    root.mkdir()
    torch.save({"t1": _item("t1", 5, 1), "t2": _item("t2", 3, 2)}, root / "x_train.pt")
    torch.save({"d1": _item("d1", 4, 3)}, root / "x_dev.pt")
    torch.save({"s1": _item("s1", 2, 4)}, root / "x_test.pt")
    return root


def test_slrtp_poses_pass_through_and_export_round_trips(tmp_path, slrtp_root):
    manifest, _ = build_manifest("slrtp", "slrtp_poses", slrtp_root, n_shards=1)
    out = tmp_path / "skeletons.h5"
    summary = write_skeletons([], manifest, out, None, PROV)
    assert (summary["written"], summary["failed"], summary["joint_coverage"]) == (4, 0, 1.0)
    original = slrtp.load_split(slrtp_root / "x_train.pt")
    t1 = shards.read_video(out, "t1")
    np.testing.assert_array_equal(t1.features.reshape(5, 178, 3), original["t1"]["poses_3d"].numpy())
    assert t1.mask.all() and t1.extras["joint_mask"].all() and t1.attrs["source"] == "slrtp_poses"
    assert shards.read_attrs(out)["skeleton"] == "slrtp178"  # the challenge's face order, recorded

    pt = tmp_path / "train_export.pt"
    assert export_slrtp(out, "train", pt) == 2
    plain = torch.load(pt, weights_only=True)
    tensor = plain["t1"]["poses_3d"]
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32
    back = slrtp.load_split(pt)
    assert set(back) == {"t1", "t2"}
    for vid in back:
        for key in ("name", "text", "gloss", "speaker"):
            assert back[vid][key] == original[vid][key]
        np.testing.assert_array_equal(slrtp.poses_array(back[vid]["poses_3d"]),
                                      original[vid]["poses_3d"].numpy())
        assert back[vid]["layout"] == "slrtp178"

    flat = tmp_path / "flat.h5"
    write_skeletons([], manifest, flat, {"depth": False}, PROV)
    z = shards.read_video(flat, "d1").features.reshape(4, 178, 3)[..., 2]
    assert not np.any(z)


def test_export_of_mediapipe_skeletons(tmp_path, holistic_shards):
    out = tmp_path / "skeletons.h5"
    write_skeletons(holistic_shards, _manifest([("a", "train", "frames"), ("b", "test", "frames")]), out,
                    None, PROV)
    pt = tmp_path / "test.pt"
    assert export_slrtp(out, "test", pt) == 1
    back = slrtp.load_split(pt)
    assert list(back) == ["b"] and back["b"]["speaker"] == "S1" and back["b"]["name"] == "b"
    poses = slrtp.poses_array(back["b"]["poses_3d"])
    assert poses.shape == (4, 178, 3) and not np.any(poses[0])          # masked frame kept as zeros
    export_slrtp(out, "test", pt, drop_empty_frames=True)
    assert slrtp.poses_array(slrtp.load_split(pt)["b"]["poses_3d"]).shape == (3, 178, 3)
    with pytest.raises(ValueError, match="no dev sequences"):
        export_slrtp(out, "dev", tmp_path / "dev.pt")
    with pytest.raises(ValueError, match="use one of"):
        export_slrtp(out, "val", tmp_path / "val.pt")
    with pytest.raises(ValueError, match="neither a skeleton nor a prediction file"):
        export_slrtp(holistic_shards[0], "train", tmp_path / "x.pt")
    assert back["b"]["layout"] == "holistic178"


def test_export_of_generated_predictions_for_the_official_evaluator(tmp_path, holistic_shards):
    skel = tmp_path / "skeletons.h5"
    write_skeletons(holistic_shards, _manifest([("a", "test", "frames"), ("b", "test", "frames")]), skel,
                    None, PROV)
    pred = tmp_path / "predictions_phase1.h5"
    rng = np.random.default_rng(0)
    generated = {"a": rng.normal(size=(3, 178, 3)).astype(np.float32),
                 "b": rng.normal(size=(5, 178, 3)).astype(np.float32)}
    with shards.ShardWriter(pred, attrs={"skeleton": "holistic178", "system": "gen.pt"}) as w:
        for vid, p in generated.items():
            w.write(shards.VideoArrays(vid, p.reshape(len(p), -1), np.ones(len(p), bool),
                                       attrs={"split": "test", "text": f"text {vid}", "gloss": "G"}))
    out = tmp_path / "DARSLP_test.pt"
    assert export_slrtp(pred, "test", out) == 2
    back = torch.load(out, weights_only=True)
    for vid, p in generated.items():  # what the evaluator reads: id -> {poses_3d: [N, 178, 3]}
        np.testing.assert_array_equal(back[vid]["poses_3d"].numpy(), p)
        assert back[vid]["layout"] == "holistic178" and back[vid]["text"] == f"text {vid}"


def test_a_manifest_mixing_videos_and_slrtp_poses_is_refused(tmp_path, holistic_shards):
    with pytest.raises(ValueError, match="mixes SLRTP pose files with videos"):
        write_skeletons(holistic_shards, _manifest([("a", "train", "frames"), ("p", "train", "poses")]),
                        tmp_path / "s.h5", None, PROV)


def test_slrtp_non_finite_joints_are_masked():
    item = _item("n", 3, 5)
    item["poses_3d"][1, 7, 0] = float("nan")
    poses, joint_mask, check = slrtp_skeleton(item, SkeletonConfig(), "n")
    assert (check.nonfinite, check.nonfinite_values, check.out_of_range) == (1, 1, 0)
    assert joint_mask.sum() == 3 * 178 - 1 and not joint_mask[1, 7] and poses[1, 7].tolist() == [0, 0, 0]
    np.testing.assert_array_equal(poses[0], item["poses_3d"][0].numpy())


def test_a_skeleton_file_from_before_layouts_were_recorded_is_not_misread(tmp_path, holistic_shards):
    from pipelib.skeletons.read import read_layout

    out = tmp_path / "skeletons.h5"
    write_skeletons(holistic_shards, _manifest([("a", "train", "frames")]), out, None, PROV)
    assert read_layout(out) == "holistic178"
    import h5py

    with h5py.File(out, "a") as h5:  # what every skeleton file said before: slrtp178, whatever its source
        h5.attrs["skeleton"] = "slrtp178"
    with pytest.raises(ValueError, match="holds mediapipe_holistic skeletons .*forcerun skeletons"):
        read_layout(out)
