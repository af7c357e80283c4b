"""SignX stages on latent shards: pruning fitted on the train split, augmentation shards of train videos."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from pipelib import provenance
from pipelib.datasets.manifest import write_tables
from pipelib.datasets.records import REJECTED_COLUMNS
from pipelib.io import shards
from pipelib.signx.aug_shards import AugShardReader, read_index
from pipelib.signx.augment_stage import write_augmentation
from pipelib.signx.pruning import PruningMask
from pipelib.signx.pruning_stage import fit_pruning_mask

DIM = 6
SPLIT = {"tr0": "train", "tr1": "train", "tr2": "train", "dv0": "dev", "dv1": "dev", "te0": "test"}
SHARD = {"tr0": 0, "tr1": 0, "dv0": 0, "tr2": 0, "dv1": 1, "te0": 1}


def _latents(vid: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Train: dims 0, 1, 3 vary, 2 is constant, 4 and 5 barely move on valid frames (dim 5 is huge on the
    invalid frames). Dev/test: dim 2 varies most of all."""
    t = 7
    z = rng.normal(0.0, 0.01, (t, DIM)).astype(np.float32)
    mask = np.ones(t, dtype=bool)
    if SPLIT[vid] == "train":
        z[:, [0, 1, 3]] = rng.normal(0.0, [1.0, 2.0, 3.0], (t, 3))
        z[:, 2] = 1.0
        mask[[1, 4]] = False
        z[~mask, 5] = rng.normal(0.0, 100.0, (~mask).sum())
    else:
        z[:, 2] = rng.normal(0.0, 50.0, t)
    return z, mask


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(3)
    ids = list(SPLIT)
    frame = pd.DataFrame({
        "id": ids, "split": [SPLIT[v] for v in ids], "source": [str(tmp_path / v) for v in ids],
        "media": "frames", "frame_count": 7, "fps": 25.0, "signer": "S1", "gloss": "A B", "text": "a b",
        "shard": [SHARD[v] for v in ids]})
    manifest = tmp_path / "manifest.parquet"
    write_tables(frame, pd.DataFrame(columns=list(REJECTED_COLUMNS)), manifest, tmp_path / "rejected.parquet",
                 {})
    arrays, paths = {}, []
    for k in range(2):
        path = tmp_path / "latents" / f"shard{k:03d}.h5"
        with shards.ShardWriter(path, attrs={"latent_dim": DIM}) as w:
            for vid in ids:
                if SHARD[vid] == k:
                    arrays[vid] = _latents(vid, rng)
                    w.write(shards.VideoArrays(vid, *arrays[vid]))
            if k == 1:
                w.fail("tr9", "no frames")
        paths.append(path)
    return manifest, paths, arrays


def test_pruning_is_fitted_on_valid_train_frames_only(corpus, tmp_path):
    manifest, paths, arrays = corpus
    out = tmp_path / "signx" / "pruning.json"
    mask = fit_pruning_mask(manifest, paths, out, {"keep_fraction": 0.5})
    # dim 2 is constant on train (varies on dev), dim 5 varies only on invalid train frames
    assert mask.kept_indices.tolist() == [0, 1, 3]
    assert mask.n_frames == 3 * 5
    train = np.concatenate([arrays[v][0][arrays[v][1]] for v in ("tr0", "tr1", "tr2")]).astype(np.float64)
    np.testing.assert_allclose(mask.variances, train.var(axis=0), rtol=1e-9, atol=1e-12)
    loaded = PruningMask.load(out)
    assert loaded.keep.tolist() == mask.keep.tolist()
    side = json.loads(provenance.sidecar_path(out).read_text())
    assert side["kept_width"] == 3 and str(manifest) in side["inputs"]

    by_threshold = fit_pruning_mask(manifest, paths, tmp_path / "p2.json", {"threshold": 0.5})
    assert by_threshold.kept_indices.tolist() == [0, 1, 3]
    with pytest.raises(ValueError, match="signx.pruning.keep_fracton"):
        fit_pruning_mask(manifest, paths, tmp_path / "p3.json", {"keep_fracton": 0.5})


AUG = {"n_aug": 3, "seed": 7, "scale_min": 0.5, "scale_max": 1.5, "jitter_prob": 0.5, "noise_std": 0.1,
       "chunk_frames": 4, "workers": 1}


def _read_all(path):
    with h5py.File(path, "r") as h5:
        return {k: h5[k][()] for k in h5 if k != "_index"}


def test_augmentation_holds_pruned_train_videos_with_n_aug_versions(corpus, tmp_path):
    manifest, paths, arrays = corpus
    mask = fit_pruning_mask(manifest, paths, tmp_path / "pruning.json", {"keep_fraction": 0.5})
    out = tmp_path / "aug" / "shard000.h5"
    summary = write_augmentation(manifest, paths[0], tmp_path / "pruning.json", out, AUG)
    assert summary["videos"] == 3
    index = read_index(out)
    assert index["index"] == ["tr0", "tr1", "tr2"]  # the shard's train videos only (dv0 is left out)
    stored = _read_all(out)
    assert sorted(stored) == sorted([v for v in ("tr0", "tr1", "tr2")] +
                                    [f"{v}_{j}" for v in ("tr0", "tr1", "tr2") for j in range(3)])
    for vid in ("tr0", "tr1", "tr2"):
        np.testing.assert_array_equal(stored[vid], arrays[vid][0][:, mask.keep])  # every frame, pruned
        assert all(stored[f"{vid}_{j}"].shape[1] == 3 for j in range(3))
    assert index["attrs"]["n_aug"] == 3 and index["attrs"]["provenance"]["seed"] == 7
    with AugShardReader([out], n_aug=3) as reader:
        assert reader.keys() == ["tr0", "tr1", "tr2"]

    again = tmp_path / "again.h5"
    write_augmentation(manifest, paths[0], tmp_path / "pruning.json", again, AUG)
    second = _read_all(again)
    assert all(np.array_equal(stored[k], second[k]) for k in stored)  # bitwise equal for a fixed seed
    other = tmp_path / "other.h5"
    write_augmentation(manifest, paths[0], tmp_path / "pruning.json", other, {**AUG, "seed": 8})
    assert not np.array_equal(_read_all(other)["tr0_0"], stored["tr0_0"])


def test_shard_without_train_videos_gives_a_valid_empty_aug_shard(corpus, tmp_path):
    manifest, paths, _ = corpus
    fit_pruning_mask(manifest, paths, tmp_path / "pruning.json", {"keep_fraction": 0.5})
    out = tmp_path / "aug" / "shard001.h5"
    summary = write_augmentation(manifest, paths[1], tmp_path / "pruning.json", out, AUG)
    assert summary["videos"] == 0
    assert read_index(out)["index"] == []
    with AugShardReader([out], n_aug=3) as reader:
        assert len(reader) == 0
    with pytest.raises(ValueError, match="signx.augmentation.n_augs"):
        write_augmentation(manifest, paths[1], tmp_path / "pruning.json", out, {"n_augs": 3})
