"""Value checks on skeletons: NaN/Inf and implausible joints counted per video, and empty splits."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from pipelib.datasets.manifest import build_manifest
from pipelib.datasets.values import EmptySplitError, InputValueError, dataset_of, mask_bad_values
from pipelib.io import shards
from pipelib.production.train_autoencoder import train_autoencoder
from pipelib.skeletons.config import SkeletonConfig
from pipelib.skeletons.read import read_split
from pipelib.skeletons.write import write_skeletons


def _item(name: str, frames: int, seed: int) -> dict:
    poses = np.random.default_rng(seed).normal(size=(frames, 178, 3)).astype(np.float32)
    return {"name": name, "text": f"text {name}", "gloss": "G", "speaker": "S",
            "poses_3d": torch.from_numpy(poses)}


def _slrtp(root, train: dict, dev: dict | None = None):
    root.mkdir(parents=True)
    torch.save(train, root / "p_train.pt")
    torch.save(dev or {"d1": _item("d1", 3, 9)}, root / "p_dev.pt")
    torch.save({"s1": _item("s1", 2, 8)}, root / "p_test.pt")
    return root


def test_mask_bad_values_counts_units_and_values():
    x = np.ones((4, 3, 2), np.float32)
    x[0, 1, 0] = np.nan
    x[0, 1, 1] = np.inf
    x[2, 0, 1] = -5e5
    x[3, 2, 0] = np.nan
    valid = np.ones((4, 3), bool)
    valid[3, 2] = False                                      # already masked: not counted, still zeroed
    check = mask_bad_values(x, valid, max_abs=1e3)
    assert (check.nonfinite, check.nonfinite_values, check.out_of_range) == (1, 2, 1)
    assert check.max_abs == 5e5 and check.masked == 2
    assert not check.valid[0, 1] and not check.valid[2, 0] and not check.valid[3, 2]
    assert int(check.valid.sum()) == 12 - 3
    assert np.isfinite(check.values).all() and check.values.dtype == np.float32
    assert dataset_of("/x/results/phoenix/production/skeletons.h5") == "phoenix"
    assert dataset_of("elsewhere/skeletons.h5") == "elsewhere/skeletons.h5"


def test_slrtp_nan_and_huge_joints_are_counted_per_video(tmp_path, caplog):
    t1, t2, t3 = _item("t1", 5, 1), _item("t2", 4, 2), _item("t3", 3, 3)
    t1["poses_3d"][1, 7] = float("nan")                      # one joint, 3 values
    t1["poses_3d"][3, 9, 2] = float("inf")
    t2["poses_3d"][2, 60, 0] = 1e30                          # the value that trained silently
    root = _slrtp(tmp_path / "slrtp", {"t1": t1, "t2": t2, "t3": t3})
    with caplog.at_level(logging.WARNING, logger="pipelib"):
        manifest, _ = build_manifest("slrtp", "slrtp_poses", root, n_shards=1)
    assert "p_train.pt: 1 of 3 entries hold NaN/Inf pose values (4 values in all; most in t1 (4))" \
        in caplog.text
    caplog.clear()
    out = tmp_path / "skeletons.h5"
    with caplog.at_level(logging.WARNING, logger="pipelib"):
        summary = write_skeletons([], manifest, out, None, {})
    assert (summary["masked_nonfinite"], summary["masked_out_of_range"]) == (2, 1)
    checks = {c["video"]: c for c in shards.read_attrs(out)["input_checks"]}
    assert sorted(checks) == ["t1", "t2"]
    t1_counts = checks["t1"]
    assert (t1_counts["nonfinite"], t1_counts["nonfinite_values"], t1_counts["out_of_range"]) == (2, 4, 0)
    assert checks["t2"]["out_of_range"] == 1 and checks["t2"]["max_abs"] == pytest.approx(1e30, rel=1e-6)
    assert checks["t1"]["source"].endswith("p_train.pt")
    assert "video t1" in caplog.text and "video t2" in caplog.text and "p_train.pt" in caplog.text
    t2_back = shards.read_video(out, "t2")
    assert not t2_back.extras["joint_mask"][2, 60] and t2_back.extras["joint_mask"].sum() == 4 * 178 - 1
    assert np.abs(t2_back.features).max() < 10              # the 1e30 never reaches training
    assert shards.read_video(out, "t3").extras["joint_mask"].all()

    with pytest.raises(InputValueError) as err:
        write_skeletons([], manifest, tmp_path / "strict.h5", {"out_of_range": "refuse"}, {})
    assert "'t2'" in str(err.value) and "p_train.pt" in str(err.value) and "1e+30" in str(err.value)
    assert "skeletons.out_of_range: mask" in str(err.value)
    assert not (tmp_path / "strict.h5").exists()
    # a bound above the value keeps the joint
    write_skeletons([], manifest, tmp_path / "loose.h5", {"max_abs_value": 1e31}, {})
    assert shards.read_video(tmp_path / "loose.h5", "t2").extras["joint_mask"].all()


def test_config_checks_the_new_keys():
    with pytest.raises(ValueError, match="skeletons.out_of_range"):
        SkeletonConfig.coerce({"out_of_range": "drop"})
    with pytest.raises(ValueError, match="skeletons.max_abs_value"):
        SkeletonConfig.coerce({"max_abs_value": 0})


def test_an_all_nan_train_split_stops_training_with_one_sentence(tmp_path):
    nan = {k: {**_item(k, 4, i), "poses_3d": torch.full((4, 178, 3), float("nan"))}
           for i, k in enumerate(("t1", "t2"))}
    root = _slrtp(tmp_path / "slrtp", nan)
    manifest, _ = build_manifest("slrtp", "slrtp_poses", root, n_shards=1)
    out = tmp_path / "results" / "slrtp" / "production" / "skeletons.h5"
    out.parent.mkdir(parents=True)
    write_skeletons([], manifest, out, None, {})
    assert len(read_split(out, "dev")) == 1                  # other splits read as before
    with pytest.raises(EmptySplitError) as err:
        read_split(out, "train")
    assert str(err.value).startswith("dataset 'slrtp', split 'train': ")
    assert "no frame with a valid joint (2 video(s), every joint masked)" in str(err.value)
    run_dir = tmp_path / "ae"
    section = {"batch_size": 8, "train": {"seed": 0, "epochs": 1}}
    with pytest.raises(EmptySplitError, match="split 'train'"):
        train_autoencoder(out, section, run_dir)
    assert not (run_dir / "last.pt").exists()                # raised before the first epoch
    with pytest.raises(EmptySplitError, match="dataset 'slrtp', split 'test': .* has no video"):
        read_split(_without_split(out, tmp_path), "test")


def _without_split(path, tmp_path):
    """A copy of a skeleton file holding only its train and dev videos, under results/slrtp/."""
    dest = tmp_path / "results" / "slrtp" / "x" / "two_splits.h5"
    dest.parent.mkdir(parents=True)
    with shards.ShardWriter(dest) as w:
        for v in shards.iter_videos(path):
            if v.attrs["split"] != "test":
                w.write(v)
    return dest


def test_read_split_masks_non_finite_joints_of_foreign_files(tmp_path, caplog):
    path = tmp_path / "skeletons.h5"
    poses = np.ones((3, 178, 3), np.float32)
    poses[1, 4, 0] = np.nan
    with shards.ShardWriter(path) as w:
        w.write(shards.VideoArrays("v", poses.reshape(3, 534), np.ones(3, bool),
                                   {"joint_mask": np.ones((3, 178), bool)}, {"split": "train", "fps": 25.0}))
    with caplog.at_level(logging.WARNING, logger="pipelib"):
        (seq,) = read_split(path, "train")
    assert not seq.joint_mask[1, 4] and seq.joint_mask.sum() == 3 * 178 - 1 and np.isfinite(seq.poses).all()
    assert "video v has 1 unmasked joint(s) holding NaN/Inf" in caplog.text
