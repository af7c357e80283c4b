"""An empty split (after masking) stops a trainer before training, naming dataset and split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelib.datasets.records import MANIFEST_COLUMNS
from pipelib.datasets.values import EmptySplitError
from pipelib.errors import DataError
from pipelib.io import shards
from pipelib.production.train_generator import read_latents
from pipelib.signx.train_pose2gloss import train_pose2gloss


def _manifest(path, ids_splits):
    pd.DataFrame([{"id": v, "split": s, "source": f"/d/{v}", "media": "frames", "frame_count": 3, "fps": 25.0,
                   "signer": "S", "gloss": "A B", "text": "a b", "shard": 0} for v, s in ids_splits],
                 columns=list(MANIFEST_COLUMNS)).to_parquet(path)


def _fused(path, masks):
    with shards.ShardWriter(path) as w:
        for vid, mask in masks.items():
            t = len(mask)
            w.write(shards.VideoArrays(vid, np.zeros((t, 1959), np.float32), np.asarray(mask),
                                       {"slot_mask": np.tile(np.asarray(mask)[:, None], (1, 5))}))


@pytest.fixture
def ds(tmp_path):
    root = tmp_path / "results" / "tiny"
    (root / "fused").mkdir(parents=True)
    _manifest(root / "manifest.parquet", [("t1", "train"), ("t2", "train"), ("d1", "dev")])
    return root


def test_pose2gloss_refuses_a_train_split_whose_frames_are_all_masked(ds, tmp_path):
    _fused(ds / "fused/shard000.h5", {"t1": [False] * 3, "t2": [False] * 4, "d1": [True] * 3})
    with pytest.raises(EmptySplitError) as err:
        train_pose2gloss(ds / "manifest.parquet", [ds / "fused/shard000.h5"], tmp_path / "run", {})
    msg = str(err.value)
    assert msg.startswith("dataset 'tiny', split 'train': ") and "manifest.parquet" in msg
    assert "no fused frame with a valid slot (2 video(s), every frame masked)" in msg
    assert isinstance(err.value, DataError) and not (tmp_path / "run/last.pt").exists()


def test_pose2gloss_refuses_a_dev_split_missing_from_the_shards(ds, tmp_path):
    _fused(ds / "fused/shard000.h5", {"t1": [True] * 3, "t2": [False] * 4})
    with pytest.raises(EmptySplitError, match=r"dataset 'tiny', split 'dev': .* no video with fused features "
                                              r"\(1 listed in the manifest\)"):
        train_pose2gloss(ds / "manifest.parquet", [ds / "fused/shard000.h5"], tmp_path / "run", {})


def test_generator_latents_of_an_all_masked_split(ds):
    path = ds / "production" / "latents.h5"
    path.parent.mkdir()
    with shards.ShardWriter(path) as w:
        for vid, split, valid in (("t1", "train", False), ("d1", "dev", True)):
            w.write(shards.VideoArrays(vid, np.ones((3, 8), np.float32), np.full(3, valid),
                                       attrs={"split": split, "text": "a"}))
    assert len(read_latents(path, "dev").ids) == 1
    with pytest.raises(EmptySplitError, match=r"dataset 'tiny', split 'train': .* no frame with a body"):
        read_latents(path, "train")
    with pytest.raises(EmptySplitError, match=r"split 'test': .* has no video"):
        read_latents(path, "test")
