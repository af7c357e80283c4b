"""Fusion: (T, 1959) features, train-split-only statistics, masks and exclusions."""

import logging

import numpy as np
import pandas as pd
import pytest

from pipelib.datasets.values import EmptySplitError, InputValueError
from pipelib.errors import DataError
from pipelib.estimators.base import FUSED_DIM, SLOT_DIMS, SLOT_ORDER
from pipelib.fusion import report, stats
from pipelib.fusion.fuse import fuse_shard
from pipelib.fusion.stage import run_apply, run_report, run_stats
from pipelib.io import shards


def _write_slots(tmp_path, videos, skip=None, invalid=None, replace=None):
    """videos: {id: (T, value)}; every slot of video id gets constant `value` features.

    replace: {(id, slot): function (T, D) array -> array written instead}."""
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
                if replace and (vid, slot) in replace:
                    feats = replace[(vid, slot)](feats)
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
    assert summary == {"fused": 3, "excluded": 1, "masked": 0}
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


def _nan(x):
    return np.full_like(x, np.nan)


def test_an_all_nan_video_is_masked_in_its_slot_and_counted(tmp_path, caplog):
    videos = {"tr1": (4, 1.0), "tr2": (4, 3.0), "dv1": (5, 2.0)}
    paths = _write_slots(tmp_path, videos, replace={("tr2", "sapiens"): _nan})
    with caplog.at_level(logging.WARNING, logger="pipelib"):
        st = stats.compute({s: [p] for s, p in paths.items()}, ["tr1", "tr2"])
    assert np.isfinite(st.mean).all() and np.isfinite(st.std).all()
    off = stats.slot_offsets()
    assert st.frames["sapiens"] == 4 and st.frames["dwpose"] == 8   # tr2's sapiens frames left out
    assert np.isclose(st.mean[off["sapiens"]][1], 1.0 + 4)          # tr1 alone (value 1 + slot index 4)
    assert "tr2" in caplog.text and "sapiens" in caplog.text and str(paths["sapiens"]) in caplog.text

    out = tmp_path / "fused.h5"
    assert fuse_shard(paths, st, out, provenance={})["masked"] == 1
    for v in shards.iter_videos(out):
        assert np.isfinite(v.features).all(), v.video_id             # no NaN leaks into any video
    tr2 = shards.read_video(out, "tr2")
    assert not tr2.extras["slot_mask"][:, SLOT_ORDER.index("sapiens")].any()
    assert tr2.extras["slot_mask"][:, SLOT_ORDER.index("dwpose")].all() and tr2.mask.all()
    assert np.all(tr2.features[:, off["sapiens"]] == 0.0)
    checks = shards.read_attrs(out)["input_checks"]
    assert checks == [{"video": "tr2", "slot": "sapiens", "file": "sapiens.h5", "nonfinite": 4,
                       "nonfinite_values": 4 * 576, "out_of_range": 0, "max_abs": 0.0}]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pipelib"):
        run_report([str(p) for p in paths.values()], [out], tmp_path / "report.csv")
    assert "video tr2, slot sapiens" in caplog.text
    table = pd.read_csv(tmp_path / "report.csv").set_index("slot")
    assert table.loc["sapiens", "masked_nonfinite"] == 4 and table.loc["sapiens", "masked_videos"] == 1
    assert table.loc["dwpose", "masked_nonfinite"] == 0
    assert table.loc["sapiens", "valid_fraction"] == round(9 / 13, 6)   # 4 of 13 frames masked
    assert table.loc["fused", "masked_nonfinite"] == 4


def test_implausible_magnitudes_are_masked_by_the_configured_bound(tmp_path):
    def spike(x):
        x = x.copy()
        x[1, 5] = 1e30
        return x

    videos = {"tr1": (4, 1.0), "tr2": (4, 3.0)}
    paths = _write_slots(tmp_path, videos, replace={("tr2", "dwpose"): spike})
    st = stats.compute({s: [p] for s, p in paths.items()}, ["tr1", "tr2"], max_abs=1e6)
    assert st.frames["dwpose"] == 7 and np.abs(st.mean).max() < 10
    out = tmp_path / "fused.h5"
    fuse_shard(paths, st, out, provenance={}, max_abs=1e6)
    (row,) = shards.read_attrs(out)["input_checks"]
    assert (row["video"], row["slot"], row["out_of_range"], row["nonfinite"]) == ("tr2", "dwpose", 1, 0)
    assert row["max_abs"] == pytest.approx(1e30, rel=1e-6)
    assert shards.read_video(out, "tr2").extras["slot_mask"][:, 0].tolist() == [True, False, True, True]
    # a bound above the spike keeps the frame
    generous = stats.compute({s: [p] for s, p in paths.items()}, ["tr1", "tr2"], max_abs=1e31)
    assert generous.frames["dwpose"] == 8


@pytest.mark.parametrize("width", [1, 575])
def test_a_wrong_width_block_is_refused_naming_slot_file_and_video(tmp_path, width):
    videos = {"tr1": (4, 1.0), "dv1": (4, 3.0)}
    paths = _write_slots(tmp_path, videos, replace={("dv1", "sapiens"): lambda x: x[:, :width]})
    with pytest.raises(InputValueError) as err:
        stats.compute({s: [p] for s, p in paths.items()}, ["tr1", "dv1"])
    message = str(err.value)
    assert all(part in message for part in ("'sapiens'", str(paths["sapiens"]), "'dv1'", f"{width} values",
                                            "576"))
    assert isinstance(err.value, DataError)
    st = stats.compute({s: [p] for s, p in paths.items()}, ["tr1"])   # dv1 is not train: stats ignore it
    with pytest.raises(InputValueError, match=r"'dv1'.*'sapiens'"):
        fuse_shard(paths, st, tmp_path / "fused.h5", provenance={})
    assert not (tmp_path / "fused.h5").exists()


def test_a_slot_without_finite_train_frames_names_dataset_and_split(tmp_path):
    folder = tmp_path / "results" / "mini" / "poses"
    folder.mkdir(parents=True)
    paths = _write_slots(folder, {"tr1": (3, 1.0)}, replace={("tr1", "smplerx"): _nan})
    with pytest.raises(EmptySplitError, match=r"dataset 'mini', split 'train': slot smplerx"):
        stats.compute({s: [p] for s, p in paths.items()}, ["tr1"])
