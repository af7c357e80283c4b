"""The shared HDF5 shard layout and atomic writes."""

import numpy as np
import pytest

from pipelib.io import shards
from pipelib.io.atomic import atomic_dir, atomic_path


def _video(vid, t=5, d=3, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones(t, bool)
    mask[1] = False
    return shards.VideoArrays(vid, rng.normal(size=(t, d)), mask,
                              extras={"aux": rng.normal(size=(t, 2, 2))},
                              attrs={"image_size": [210, 260], "text": "[] {x}"})


def test_round_trip_features_mask_extras_attrs_failures(tmp_path):
    path = tmp_path / "s.h5"
    with shards.ShardWriter(path, attrs={"slot": "x", "provenance": {"a": 1}}) as w:
        w.write(_video("v1", seed=1))
        w.write(_video("v2", t=7, seed=2))
        w.fail("v3", "cannot decode")
    assert shards.video_ids(path) == ["v1", "v2"]
    v = shards.read_video(path, "v2")
    ref = _video("v2", t=7, seed=2)
    np.testing.assert_array_equal(v.features, ref.features.astype(np.float32))
    np.testing.assert_array_equal(v.mask, ref.mask)
    np.testing.assert_array_equal(v.extras["aux"], ref.extras["aux"])
    assert v.attrs["image_size"] == [210, 260]
    assert v.attrs["text"] == "[] {x}"  # a string that looks like JSON stays a string
    assert shards.read_failures(path) == [("v3", "cannot decode")]
    assert shards.read_attrs(path) == {"slot": "x", "provenance": {"a": 1}}
    assert [x.video_id for x in shards.iter_videos(path, extras=False)] == ["v1", "v2"]
    assert shards.read_video(path, "v1", extras=False).extras == {}


def test_mask_length_must_match_frames():
    with pytest.raises(ValueError, match="mask shape"):
        shards.VideoArrays("v", np.zeros((4, 2)), np.ones(3, bool))


def test_killed_writer_leaves_no_file(tmp_path):
    path = tmp_path / "s.h5"
    with pytest.raises(RuntimeError), shards.ShardWriter(path) as w:
        w.write(_video("v1"))
        raise RuntimeError("killed")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_and_dir_replace_only_on_success(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(ValueError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise ValueError
    assert target.read_text() == "old"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, not mkstemp's 0600

    d = tmp_path / "d"
    with atomic_dir(d) as tmp:
        (tmp / "f").write_text("1")
    with pytest.raises(ValueError), atomic_dir(d) as tmp:
        (tmp / "f").write_text("2")
        raise ValueError
    assert (d / "f").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "d"]
