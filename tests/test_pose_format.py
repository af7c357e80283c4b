"""pose-format interop: our .pose files read by the pose-format library itself, its files read by us,
the export of skeleton and prediction files, and the `pose_files` dataset kind up to the skeletons."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderDimensions

from pipelib.datasets import pose_files
from pipelib.datasets.manifest import build_manifest
from pipelib.io import shards
from pipelib.io.pose_file import PoseFile, PoseFileError, read_pose_file, write_pose_file
from pipelib.skeletons import pose_io
from pipelib.skeletons.layout import BODY_FROM_POSE, FACE_FROM_MESH, N_JOINTS
from pipelib.skeletons.write import write_skeletons

PROV = {"config_sha256": "abc"}
COMPONENTS = ("POSE_LANDMARKS", "RIGHT_HAND_LANDMARKS", "LEFT_HAND_LANDMARKS", "FACE_LANDMARKS")


def _skeleton(t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A normalised-looking skeleton: shoulders at x = -/+0.5 around the neck, random other joints."""
    rng = np.random.default_rng(seed)
    poses = rng.normal(0, 1, (t, N_JOINTS, 3)).astype(np.float32)
    poses[:, 0] = (-0.5, 0.0, 0.1)
    poses[:, 3] = (0.5, 0.0, -0.1)
    mask = np.ones((t, N_JOINTS), bool)
    mask[1, 8:29] = False                       # frame 1: no right hand
    mask[2] = False                             # frame 2: nothing
    poses[~mask] = 0.0
    return poses, mask


def test_point_names_are_mediapipes_and_pose_formats():
    from mediapipe.python.solutions.holistic import HandLandmark, PoseLandmark
    from pose_format.utils.holistic import FACEMESH_CONTOURS_POINTS

    names = PoseLandmark._member_names_
    assert [names.index(p) for p in pose_io.BODY_POINTS] == list(BODY_FROM_POSE)
    assert list(pose_io.HAND_POINTS) == HandLandmark._member_names_
    assert list(pose_io.FACE_POINTS) == FACEMESH_CONTOURS_POINTS          # pose-format's reduced face
    assert [c.name for c in pose_io.skeleton_components()] == list(COMPONENTS)


def test_our_file_read_by_pose_format(tmp_path):
    poses, mask = _skeleton(5, 1)
    path = tmp_path / "x.pose"
    write_pose_file(path, pose_io.skeleton_to_pose(poses, mask, 12.5))
    pose = Pose.read(path.read_bytes())
    assert pose.body.fps == 12.5
    assert pose.body.data.shape == (5, 1, N_JOINTS, 3)
    np.testing.assert_array_equal(pose.body.data.data[:, 0], poses)
    np.testing.assert_array_equal(pose.body.confidence[:, 0], mask.astype(np.float32))
    np.testing.assert_array_equal(pose.body.data.mask[:, 0, :, 0], ~mask)   # pose-format masks conf 0
    header = pose.header
    assert [c.name for c in header.components] == list(COMPONENTS)
    assert all(c.format == "XYZC" for c in header.components)
    assert header.components[0].points[:3] == ["RIGHT_SHOULDER", "RIGHT_ELBOW", "RIGHT_WRIST"]
    assert header.components[1].points[4] == "THUMB_TIP" and header.components[3].points[1] == "7"
    # pose-format's own lookups find our points by name: slot 3 is the left shoulder, 29 the left wrist
    assert header.get_point_index("POSE_LANDMARKS", "LEFT_SHOULDER") == 3
    assert header.get_point_index("LEFT_HAND_LANDMARKS", "WRIST") == 29
    assert header.get_point_index("FACE_LANDMARKS", "0") == 50
    assert (0, 3) in header.components[0].limbs and (0, 1) in header.components[1].limbs
    assert len(header.components[3].limbs) == 124                       # FACEMESH_CONTOURS edges
    # and our reader gives back what we wrote
    back = read_pose_file(path)
    joints, present = pose_io.pose_to_skeleton(back)
    np.testing.assert_array_equal(joints, poses)
    np.testing.assert_array_equal(present, mask)
    assert back.fps == 12.5


def _holistic_file(path: Path, t: int, dims: int = 3, seed: int = 0) -> np.ndarray:
    """A file in pose-format's full holistic layout (pose 33, face 468, left hand, right hand, world
    pose), written by pose-format itself; returns its data (T, 1, 576, dims)."""
    from pose_format.utils.holistic import holistic_components

    fmt = "XYZC" if dims == 3 else "XYC"
    header = PoseHeader(0.2, PoseHeaderDimensions(640, 480, 1000), holistic_components(fmt))
    n = header.total_points()
    rng = np.random.default_rng(seed)
    data = rng.uniform(0, 400, (t, 1, n, dims)).astype(np.float32)
    conf = np.ones((t, 1, n), np.float32)
    conf[0, 0, 33 + 468:33 + 468 + 21] = 0.0     # frame 0: no left hand
    buffer = io.BytesIO()
    Pose(header, NumPyPoseBody(fps=29.97, data=data, confidence=conf)).write(buffer)
    path.write_bytes(buffer.getvalue())
    return data


def test_pose_format_holistic_file_read_by_name(tmp_path):
    path = tmp_path / "h.pose"
    data = _holistic_file(path, 4)
    joints, present, fps = pose_io.read_pose_skeleton(path)
    assert fps == pytest.approx(29.97)
    d = data[:, 0]
    face0, lh0, rh0 = 33, 33 + 468, 33 + 468 + 21                      # pose-format's component order
    np.testing.assert_array_equal(joints[:, :8], d[:, list(BODY_FROM_POSE)])
    np.testing.assert_array_equal(joints[:, 8:29], d[:, rh0:rh0 + 21])   # right hand, by name
    np.testing.assert_array_equal(joints[:, 29:50], d[:, lh0:lh0 + 21])
    np.testing.assert_array_equal(joints[:, 50:], d[:, [face0 + i for i in FACE_FROM_MESH]])
    assert not present[0, 29:50].any() and present[0, 8:29].all() and present[1:].all()


def test_two_dimensional_file_gets_zero_depth(tmp_path):
    path = tmp_path / "flat.pose"
    data = _holistic_file(path, 2, dims=2)
    joints, present, _ = pose_io.read_pose_skeleton(path)
    np.testing.assert_array_equal(joints[:, :8, :2], data[:, 0, list(BODY_FROM_POSE)])
    assert not joints[..., 2].any()


def test_missing_components_and_broken_files_are_named(tmp_path):
    poses, mask = _skeleton(3, 2)
    full = pose_io.skeleton_to_pose(poses, mask, 25.0)
    no_face = PoseFile(full.points[:, :50], full.confidence[:, :50], 25.0, full.components[:3])
    write_pose_file(tmp_path / "noface.pose", no_face)
    with pytest.raises(pose_io.PoseLayoutError, match=r"noface\.pose lacks 128 of the 178.*FACE_LANDMARKS"):
        pose_io.read_pose_skeleton(tmp_path / "noface.pose")
    good = (tmp_path / "good.pose")
    write_pose_file(good, full)
    cut = tmp_path / "cut.pose"
    cut.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(PoseFileError, match=r"cut\.pose is not a readable pose-format \.pose file"):
        read_pose_file(cut)
    (tmp_path / "empty.pose").write_bytes(b"")
    with pytest.raises(PoseFileError, match=r"empty\.pose is empty"):
        read_pose_file(tmp_path / "empty.pose")
    with pytest.raises(ValueError, match="fps must be a positive number"):
        write_pose_file(tmp_path / "zero.pose", pose_io.skeleton_to_pose(poses, mask, 0.0))
    assert not (tmp_path / "zero.pose").exists()


def _skeleton_file(path: Path, source: str = "mediapipe_holistic") -> dict[str, tuple[np.ndarray, ...]]:
    """A skeletons.h5 as write_skeletons lays it out: three videos over the three splits."""
    made = {}
    with shards.ShardWriter(path, attrs={"skeleton": "holistic178", "provenance": PROV}) as w:
        for i, (vid, split) in enumerate((("v_train", "train"), ("v_dev", "dev"), ("v_test", "test"))):
            poses, mask = _skeleton(4 + i, 10 + i)
            made[vid] = (poses, mask)
            w.write(shards.VideoArrays(vid, poses.reshape(len(poses), -1), mask[:, :8].all(axis=1),
                                       {"joint_mask": mask},
                                       {"split": split, "text": f"satz {i}", "gloss": f"G{i} H",
                                        "signer": "S1", "fps": 25.0, "source": source}))
    return made


def test_export_skeletons_to_a_pose_files_folder(tmp_path):
    made = _skeleton_file(tmp_path / "skeletons.h5")
    out = tmp_path / "poses"
    assert pose_io.export_pose_files(tmp_path / "skeletons.h5", out) == 3
    assert sorted(p.name for p in out.iterdir()) == [
        "corpus.csv", "provenance.json", "v_dev.pose", "v_test.pose", "v_train.pose"]
    assert (out / "corpus.csv").read_text().splitlines() == [
        "name|split|text|gloss|speaker|file",
        "v_dev|dev|satz 1|G1 H|S1|v_dev.pose",
        "v_test|test|satz 2|G2 H|S1|v_test.pose",
        "v_train|train|satz 0|G0 H|S1|v_train.pose",
    ]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask                  # as mkdir makes it, not 0700
    record = json.loads((out / "provenance.json").read_text())
    assert record["source"] == str(tmp_path / "skeletons.h5") and record["source_provenance"] == PROV
    assert record["sequences"] == 3
    for vid, (poses, mask) in made.items():
        pose = Pose.read((out / f"{vid}.pose").read_bytes())
        assert pose.body.fps == 25.0
        np.testing.assert_array_equal(pose.body.data.data[:, 0], poses)
        np.testing.assert_array_equal(pose.body.confidence[:, 0] > 0, mask)

    assert pose_io.export_pose_files(tmp_path / "skeletons.h5", out, splits=["test"]) == 1
    assert sorted(p.name for p in out.glob("*.pose")) == ["v_test.pose"]    # the folder is replaced whole


def test_export_predictions_needs_an_fps(tmp_path):
    pred = tmp_path / "predictions_phase1.h5"
    poses = np.random.default_rng(3).normal(size=(6, N_JOINTS, 3)).astype(np.float32)
    with shards.ShardWriter(pred, attrs={"provenance": PROV, "system": "gen.pt"}) as w:
        w.write(shards.VideoArrays("s1", poses.reshape(6, -1), np.ones(6, bool),
                                   attrs={"split": "test", "text": "hallo welt", "gloss": "",
                                          "gt_frames": 7}))
    with pytest.raises(ValueError, match=r"video s1 records no fps; pass fps="):
        pose_io.export_pose_files(pred, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert pose_io.export_pose_files(pred, tmp_path / "out", fps=25) == 1
    pose = Pose.read((tmp_path / "out" / "s1.pose").read_bytes())
    assert pose.body.fps == 25.0 and (pose.body.confidence == 1.0).all()
    np.testing.assert_array_equal(pose.body.data.data[:, 0], poses)
    assert (tmp_path / "out/corpus.csv").read_text().splitlines()[1] == "s1|test|hallo welt|||s1.pose"


def test_slrtp_sequences_keep_their_face_unnamed(tmp_path):
    """SLRTP challenge poses hold the face points in an unpublished order: no mesh-index names."""
    made = _skeleton_file(tmp_path / "skeletons.h5", source="slrtp_poses")
    pose_io.export_pose_files(tmp_path / "skeletons.h5", tmp_path / "out")
    pose = Pose.read((tmp_path / "out/v_dev.pose").read_bytes())
    face = pose.header.components[3]
    assert (face.name, face.points[:2], len(face.points)) == ("SLRTP_FACE", ["face0", "face1"], 128)
    assert len(face.limbs) == 0
    np.testing.assert_array_equal(pose.body.data.data[:, 0], made["v_dev"][0])
    manifest, rejected = build_manifest("pf", "pose_files", tmp_path / "out", n_shards=1)
    assert manifest.empty and rejected["reason"].str.contains("FACE_LANDMARKS").all()

    pred = tmp_path / "predictions.h5"                    # a prediction file records the layout it follows
    with shards.ShardWriter(pred, attrs={"skeleton": "slrtp178"}) as w:
        w.write(shards.VideoArrays("p", np.zeros((2, 534), np.float32), np.ones(2, bool),
                                   attrs={"split": "test", "fps": 25.0}))
    pose_io.export_pose_files(pred, tmp_path / "pred")
    assert Pose.read((tmp_path / "pred/p.pose").read_bytes()).header.components[3].name == "SLRTP_FACE"


def test_exported_folder_is_a_dataset_whose_skeletons_equal_the_source(tmp_path):
    made = _skeleton_file(tmp_path / "skeletons.h5")
    root = tmp_path / "poses"
    pose_io.export_pose_files(tmp_path / "skeletons.h5", root)
    manifest, rejected = build_manifest("pf", "pose_files", root, n_shards=1)
    assert rejected.empty and set(manifest["media"]) == {"pose_file"}
    row = manifest.set_index("id").loc["v_dev"]
    assert (row.split, row.frame_count, row.fps, row.text, row.gloss, row.signer) == (
        "dev", 5, 25.0, "satz 1", "G1 H", "S1")
    out = tmp_path / "again.h5"
    summary = write_skeletons([], manifest, out, None, PROV)
    assert (summary["written"], summary["failed"]) == (3, 0)
    for vid, (poses, mask) in made.items():
        v = shards.read_video(out, vid)
        assert v.attrs["source"] == "pose_file" and v.attrs["fps"] == 25.0
        frame_ok = mask[:, [0, 3]].all(axis=1)                  # a frame needs both shoulders
        np.testing.assert_array_equal(v.extras["joint_mask"], mask & frame_ok[:, None])
        # already neck-centred at shoulder width 1: normalising again changes nothing beyond rounding
        np.testing.assert_allclose(v.features.reshape(-1, N_JOINTS, 3), poses * frame_ok[:, None, None],
                                   atol=1e-6)


def test_pixel_space_files_are_normalised_and_bad_rows_rejected(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    data = _holistic_file(root / "a.pose", 5, seed=4)[:, 0]
    _holistic_file(root / "b.pose", 3, seed=5)
    (root / "cut.pose").write_bytes((root / "b.pose").read_bytes()[:200])
    poses, mask = _skeleton(3, 6)
    full = pose_io.skeleton_to_pose(poses, mask, 25.0)
    write_pose_file(root / "hands.pose", PoseFile(full.points[:, 8:50], full.confidence[:, 8:50], 25.0,
                                                  full.components[1:3]))
    rows = ["name|split|text|gloss|speaker|file", "a|train|eins|A|s1|a.pose", "b|test|zwei||s2|b.pose",
            "cut|dev|drei||s1|cut.pose", "hands|dev|vier||s1|hands.pose", "gone|dev|fuenf||s1|gone.pose"]
    (root / "corpus.csv").write_text("\n".join(rows) + "\n")
    manifest, rejected = build_manifest("pf", "pose_files", root, n_shards=1, fps=25.0)
    assert list(manifest["id"]) == ["a", "b"] and set(manifest["fps"]) == {25.0}    # config fps wins
    reasons = dict(zip(rejected["id"], rejected["reason"], strict=True))
    assert "cut.pose is not a readable pose-format .pose file" in reasons["cut"]
    assert "lacks 136 of the 178 skeleton points" in reasons["hands"] and "POSE_LANDMARKS" in reasons["hands"]
    assert reasons["gone"] == f"pose file {root / 'gone.pose'} does not exist"

    out = tmp_path / "skeletons.h5"
    write_skeletons([], manifest, out, {"depth": False}, PROV)
    a = shards.read_video(out, "a").features.reshape(5, N_JOINTS, 3)
    shoulders = data[:, [12, 11]]                                          # right, left shoulder (pixels)
    neck = shoulders.mean(axis=1)                                          # (T, 3)
    width = np.median(np.linalg.norm(shoulders[:, 0, :2] - shoulders[:, 1, :2], axis=1))
    expected = (data[:, list(BODY_FROM_POSE)] - neck[:, None]) / width
    np.testing.assert_allclose(a[:, :8, :2], expected[..., :2], rtol=1e-5, atol=1e-5)
    assert not a[..., 2].any()                                            # depth: false
    np.testing.assert_allclose(np.median(np.linalg.norm(a[:, 0, :2] - a[:, 3, :2], axis=1)), 1.0, rtol=1e-6)


def test_nan_points_are_masked_and_counted_by_the_skeletons_stage(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    poses, mask = _skeleton(4, 7)
    poses[3, 60] = np.nan
    write_pose_file(root / "n.pose", pose_io.skeleton_to_pose(poses, mask, 25.0))
    (root / "corpus.csv").write_text("name|split|text|gloss|speaker|file\nn|train|x|||n.pose\n")
    assert [e.reject for e in pose_files.scan(root, "pf")] == [None]
    manifest, _ = build_manifest("pf", "pose_files", root, n_shards=1)
    out = tmp_path / "skeletons.h5"
    summary = write_skeletons([], manifest, out, None, PROV)
    assert summary["masked_nonfinite"] == 1
    v = shards.read_video(out, "n")
    assert not v.extras["joint_mask"][3, 60] and np.isfinite(v.features).all()
