"""Fusion: (T, 1959) features, train-split-only statistics, masks and exclusions."""

import numpy as np
import pandas as pd

from pipelib.estimators.base import FUSED_DIM, SLOT_DIMS, SLOT_ORDER
from pipelib.fusion import report, stats
from pipelib.fusion.fuse import fuse_shard
from pipelib.fusion.stage import run_apply, run_stats
from pipelib.io import shards


def _write_slots(tmp_path, videos, skip=None, invalid=None):
    """videos: {id: (T, value)}; every slot of video id gets constant `value` features."""
    paths = {}
    for j, slot in enumerate(SLOT_ORDER):
        p = tmp_path / f"{slot}.h5"
        with shards.ShardWriter(p, attrs={"slot": slot, "backend": f"{slot}_b"}) as w:
            for vid, (t, value) in videos.items():
                if skip and skip == (vid, slot):
                    w.fail(vid, "decode error")
                    continue
                feats = np.full((t, SLOT_DIMS[slot]), value + j, np.float32)
                feats[:, 0] += np.arange(t)  # dimension 0 varies over time
                mask = np.ones(t, bool)
                if invalid and invalid[0] == vid and invalid[1] == slot:
                    mask[invalid[2]] = False
                    feats[invalid[2]] = 0.0
                w.write(shards.VideoArrays(vid, feats, mask, attrs={"image_size": [210, 260]}))
        paths[slot] = p
    return paths


def test_stats_use_only_valid_train_frames(tmp_path):
    videos = {"tr1": (4, 1.0), "tr2": (4, 3.0), "dv1": (4, 1000.0)}
    paths = _write_slots(tmp_path, videos, invalid=("tr2", "dwpose", 0))
    st = stats.compute({s: [p] for s, p in paths.items()}, ["tr1", "tr2"])
    off = stats.slot_offsets()
    # mediapipe slot (j=1), dimension 1: values 2 (tr1) and 4 (tr2) over 8 frames -> mean 3, std 1
    assert np.isclose(st.mean[off["mediapipe"]][1], 3.0)
    assert np.isclose(st.std[off["mediapipe"]][1], 1.0)
    # dwpose: frame 0 of tr2 is invalid and excluded: 4 frames of 1.0 and 3 of 3.0
    assert np.isclose(st.mean[off["dwpose"]][1], (4 * 1 + 3 * 3) / 7)
    assert st.frames["dwpose"] == 7 and st.frames["mediapipe"] == 8
    assert st.mean.shape == (FUSED_DIM,) == (1959,)


def test_fused_shapes_normalisation_masks_and_exclusions(tmp_path):
    videos = {"tr1": (4, 1.0), "tr2": (4, 3.0), "dv1": (5, 1000.0), "dv2": (3, 2.0)}
    paths = _write_slots(tmp_path, videos, skip=("dv2", "sapiens"), invalid=("dv1", "smplerx", 2))
    st = stats.compute({s: [p] for s, p in paths.items()}, ["tr1", "tr2"])
    out = tmp_path / "fused.h5"
    summary = fuse_shard(paths, st, out, provenance={"x": 1})
    assert summary == {"fused": 3, "excluded": 1}
    assert shards.read_failures(out) == [("dv2", "sapiens: decode error")]
    v = shards.read_video(out, "dv1")
    assert v.features.shape == (5, 1959)
    off = stats.slot_offsets()
    # dev value 1000 + 1 normalised with train stats mean 3, std 1 on mediapipe dim 1
    assert np.isclose(v.features[0, off["mediapipe"]][1], 1001.0 - 3.0)
    assert np.all(v.features[2, off["smplerx"]] == 0.0)
    assert v.extras["slot_mask"].shape == (5, 5)
    assert v.extras["slot_mask"][2].tolist() == [True, True, False, True, True]
    assert v.mask.all()


def test_stage_runs_stats_from_manifest_train_split(tmp_path):
    videos = {"tr1": (4, 1.0), "dv1": (4, 50.0)}
    paths = _write_slots(tmp_path, videos)
    manifest = tmp_path / "manifest.parquet"
    pd.DataFrame({"id": ["tr1", "dv1"], "split": ["train", "dev"], "source": ["a", "b"],
                  "media": "frames", "frame_count": 4, "fps": 25.0, "signer": "S1", "gloss": "A",
                  "text": "a", "shard": 0}).to_parquet(manifest)
    run_stats(manifest, list(paths.values()), {"min_std": 1e-6}, tmp_path / "stats.h5")
    st = stats.load(tmp_path / "stats.h5")
    assert np.isclose(st.mean[stats.slot_offsets()["mediapipe"]][1], 2.0)
    # constant dims get std 1 so they are only centred
    assert st.std[stats.slot_offsets()["mediapipe"]][1] == 1.0
    run_apply(paths, tmp_path / "stats.h5", {"min_std": 1e-6}, tmp_path / "f.h5")
    table = report.build({s: [p] for s, p in paths.items()}, [tmp_path / "f.h5"])
    assert table["slot"].tolist() == [*SLOT_ORDER, "fused"]
    assert table.loc[table.slot == "fused", "dim"].item() == 1959
    assert table.loc[table.slot == "dwpose", "backend"].item() == "dwpose_b"
    assert (table["videos"] == 2).all()
