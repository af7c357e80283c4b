"""Latent augmentation (pipelib.signx.augment) and augmentation shards (pipelib.signx.aug_shards)."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest
import torch

from pipelib.signx.aug_shards import (
    INDEX_GROUP,
    AugShardReader,
    chunk_shape,
    read_index,
    write_aug_shard,
)
from pipelib.signx.augment import (
    AugmentConfig,
    add_gaussian_noise,
    augment,
    augment_config,
    index_entropy,
    resample_time,
    version_rng,
)

CFG = AugmentConfig()
N_AUG = 4


def _videos(n: int = 6, dim: int = 8, seed: int = 3) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(str(i), rng.standard_normal((int(rng.integers(5, 30)), dim)).astype(np.float32))
            for i in range(n)]


def _all_arrays(path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as h5:
        return {k: h5[k][()] for k in h5 if k != INDEX_GROUP}


# ------------------------------------------------------------------------------------------- config


def test_config_from_dict_and_unknown_key():
    cfg = augment_config({"noise_std": 0.02, "scale_min": 1})
    assert cfg.noise_std == 0.02 and cfg.scale_min == 1.0 and cfg.jitter_prob == 0.3
    with pytest.raises(ValueError, match=r"signx\.augmentation\.noise_sd"):
        augment_config({"noise_sd": 0.01})
    with pytest.raises(ValueError, match=r"signx\.augmentation\.jitter_prob"):
        augment_config({"jitter_prob": 1.5})
    with pytest.raises(ValueError, match=r"signx\.augmentation\.scale_min"):
        augment_config({"scale_min": 1.3, "scale_max": 1.2})


# ------------------------------------------------------------------------------------- augmentations


def test_temporal_scaling_length_range_and_linear_interpolation():
    t = 50
    x = np.zeros((t, 3), np.float32)
    cfg = AugmentConfig(jitter_prob=0.0, noise_std=0.0)
    lengths = [augment(x, cfg, version_rng(0, str(i), 0))[0].shape[0] for i in range(400)]
    assert min(lengths) >= round(0.8 * t) and max(lengths) <= round(1.2 * t)
    assert min(lengths) <= 42 and max(lengths) >= 58  # the whole range is used
    ramp = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)  # value = frame
    out = resample_time(ramp, 19)
    np.testing.assert_allclose(out[:, 0], np.linspace(0, 9, 19), atol=1e-5)
    assert resample_time(ramp[:1], 3).shape == (3, 2)
    y, params = augment(ramp, cfg, version_rng(5, "a", 1))
    assert y.shape[0] == params.length == round(params.scale * 10)
    np.testing.assert_allclose(y[:, 0], np.linspace(0, 9, params.length), atol=1e-5)


def test_noise_std_on_long_constant_sequence():
    x = np.full((4000, 64), 0.5, np.float32)
    cfg = AugmentConfig(scale_min=1.0, scale_max=1.0, jitter_prob=0.0)
    y, _ = augment(x, cfg, version_rng(0, "7", 2))
    d = (y - x).ravel()
    assert y.dtype == np.float32 and y.shape == x.shape
    assert abs(d.std() - 0.01) < 2e-4 and abs(d.mean()) < 1e-4
    assert abs(np.mean(np.abs(d) < 0.01) - 0.6827) < 0.01  # Gaussian, not uniform
    z = np.zeros((7, 3), np.float32)  # odd count: the last sine is dropped, every value gets noise
    add_gaussian_noise(np.random.default_rng(1), z, 1.0)
    assert np.isfinite(z).all() and np.all(z != 0)
    big = np.zeros(100_001, np.float32)  # spans several blocks
    add_gaussian_noise(np.random.default_rng(2), big, 2.0)
    assert abs(big.std() - 2.0) < 0.03 and abs(big[:50_001].std() - big[50_001:].std()) < 0.05


def test_jitter_applied_in_about_30_percent_and_is_per_dimension_affine():
    x = np.random.default_rng(0).standard_normal((12, 16)).astype(np.float32)
    cfg = AugmentConfig(scale_min=1.0, scale_max=1.0, noise_std=0.0)
    changed, flagged = [], []
    for i in range(2000):
        y, params = augment(x, cfg, version_rng(11, str(i), i % 10))
        changed.append(not np.array_equal(y, x))
        flagged.append(params.jittered)
        if params.jittered and i < 50:  # y = x * g + b per dimension: exact fit from two frames
            g = (y[1] - y[0]) / (x[1] - x[0])
            b = y[0] - x[0] * g
            np.testing.assert_allclose(y, x * g + b, atol=1e-4)
            assert 0.0 < np.abs(g - 1).max() < 0.3 and np.abs(b).max() < 0.3
    assert changed == flagged
    assert abs(np.mean(flagged) - 0.3) < 0.05


def test_same_rng_same_version_and_input_untouched():
    x = np.random.default_rng(0).standard_normal((20, 5)).astype(np.float32)
    keep = x.copy()
    a, pa = augment(x, CFG, version_rng(1, "v1", 3))
    b, pb = augment(x, CFG, version_rng(1, "v1", 3))
    c, _ = augment(x, CFG, version_rng(1, "v1", 4))
    assert np.array_equal(a, b) and pa == pb and not np.array_equal(a[:5], c[:5])
    assert np.array_equal(x, keep)
    assert index_entropy("12") == 12 and index_entropy("012") != 12
    assert index_entropy("video_a") == index_entropy("video_a") != index_entropy("video_b")


# --------------------------------------------------------------------------------------------- shards


def test_key_layout_original_and_index(tmp_path):
    videos = _videos()
    out = tmp_path / "aug.h5"
    summary = write_aug_shard(videos, out, CFG, N_AUG, seed=5, provenance={"stage": "test"})
    data = _all_arrays(out)
    expected = {i for i, _ in videos} | {f"{i}_{j}" for i, _ in videos for j in range(N_AUG)}
    assert set(data) == expected and summary["keys"] == len(expected) and summary["videos"] == 6
    for i, x in videos:
        assert data[i].dtype == np.float32 and np.array_equal(data[i], x)  # original unaugmented
        for j in range(N_AUG):
            ref, _ = augment(x, CFG, version_rng(5, i, j))
            assert np.array_equal(data[f"{i}_{j}"], ref)
    idx = read_index(out)
    assert idx["index"] == [i for i, _ in videos]
    assert idx["length"].shape == (6, 1 + N_AUG)
    assert [int(n) for n in idx["length"][:, 0]] == [len(x) for _, x in videos]
    assert idx["attrs"]["n_aug"] == N_AUG and idx["attrs"]["provenance"] == {"stage": "test"}
    assert idx["attrs"]["augmentation"]["noise_std"] == 0.01
    with h5py.File(out, "r") as h5:
        assert h5["0"].chunks is None or h5["0"].chunks[1] == 8
    assert not list(tmp_path.glob(".tmp-*"))


def test_writes_deterministic_and_independent_of_order_and_sharding(tmp_path):
    videos = _videos()
    write_aug_shard(videos, tmp_path / "a.h5", CFG, N_AUG, seed=9)
    write_aug_shard(videos, tmp_path / "b.h5", CFG, N_AUG, seed=9, workers=0)
    rev = list(reversed(videos))
    write_aug_shard(rev[:2], tmp_path / "c1.h5", CFG, N_AUG, seed=9, workers=2, chunk_frames=None)
    write_aug_shard(rev[2:], tmp_path / "c2.h5", CFG, N_AUG, seed=9, compression="lzf")
    write_aug_shard(videos, tmp_path / "d.h5", CFG, N_AUG, seed=10)
    a, b = _all_arrays(tmp_path / "a.h5"), _all_arrays(tmp_path / "b.h5")
    c = _all_arrays(tmp_path / "c1.h5") | _all_arrays(tmp_path / "c2.h5")
    d = _all_arrays(tmp_path / "d.h5")
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()  # whole files equal
    assert a.keys() == b.keys() == c.keys()
    for k in a:
        assert a[k].tobytes() == b[k].tobytes() == c[k].tobytes()
    assert not np.array_equal(a["0_0"][:5], d["0_0"][:5])  # the seed matters


def test_writer_rejects_bad_input(tmp_path):
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="written twice"):
        write_aug_shard([("a", x), ("a", x)], tmp_path / "x.h5", CFG, 2)
    with pytest.raises(ValueError, match="written twice"):
        write_aug_shard([("a", x), ("a_1", x)], tmp_path / "x.h5", CFG, 2)
    with pytest.raises(ValueError, match="latent dimension"):
        write_aug_shard([("a", x), ("b", np.zeros((4, 5), np.float32))], tmp_path / "x.h5", CFG, 2)
    with pytest.raises(ValueError, match="T >= 1"):
        write_aug_shard([("a", np.zeros((0, 3), np.float32))], tmp_path / "x.h5", CFG, 2)
    with pytest.raises(ValueError, match="cannot be"):
        write_aug_shard([("a/b", x)], tmp_path / "x.h5", CFG, 2)
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


def test_empty_shard_and_config_mapping(tmp_path):
    summary = write_aug_shard([], tmp_path / "e.h5", {"noise_std": 0.0}, N_AUG)
    assert summary["videos"] == 0 and read_index(tmp_path / "e.h5")["length"].shape == (0, 1 + N_AUG)
    assert read_index(tmp_path / "e.h5")["attrs"]["augmentation"]["noise_std"] == 0.0
    with AugShardReader([tmp_path / "e.h5"], N_AUG) as reader:
        assert reader.keys() == []
    with pytest.raises(ValueError, match=r"signx\.augmentation\.nosie"):
        write_aug_shard([], tmp_path / "f.h5", {"nosie": 0.1}, N_AUG)


def test_chunk_shape_splits_evenly():
    assert chunk_shape(200, 1024, 64) == (50, 1024)
    assert chunk_shape(30, 8, 64) == (30, 8)
    assert chunk_shape(129, 8, 64) == (43, 8)
    assert chunk_shape(129, 8, None) is None


# --------------------------------------------------------------------------------------------- reader


def test_reader_train_draws_versions_eval_gives_original(tmp_path):
    videos = _videos()
    write_aug_shard(videos[:3], tmp_path / "s0.h5", CFG, N_AUG, seed=1)
    write_aug_shard(videos[3:], tmp_path / "s1.h5", CFG, N_AUG, seed=1)
    data = _all_arrays(tmp_path / "s0.h5") | _all_arrays(tmp_path / "s1.h5")
    with AugShardReader([tmp_path / "s0.h5", tmp_path / "s1.h5"], N_AUG, seed=4) as reader:
        assert reader.keys() == [i for i, _ in videos] and len(reader) == 6
        for i, x in videos:
            assert np.array_equal(reader.get(i, train=False), x)
            assert reader.length(i) == len(x)
        picked = set()
        for epoch in range(40):
            y = reader.get("4", train=True, epoch=epoch)
            j = reader.draw_version("4", epoch=epoch)
            assert np.array_equal(y, data[f"4_{j}"]) and reader.length("4", j) == len(y)
            assert np.array_equal(y, reader.get("4", train=True, epoch=epoch))  # fixed per epoch
            picked.add(j)
        assert picked == set(range(N_AUG))
        r1, r2 = np.random.default_rng(8), np.random.default_rng(8)
        assert np.array_equal(reader.get("1", True, rng=r1), reader.get("1", True, rng=r2))
        free = {reader.draw_version("2") for _ in range(50)}
        assert free == set(range(N_AUG))
        with pytest.raises(KeyError, match="none of the 2"):
            reader.get("99", train=False)
        clone = pickle.loads(pickle.dumps(reader))  # DataLoader workers get their own handles
        assert np.array_equal(clone.get("0", train=False), videos[0][1])
        clone.close()


def test_reader_cache_gives_the_same_arrays_and_batches_within_its_budget(tmp_path):
    from pipelib.batching import batch_indices
    from pipelib.signx.latent_data import make_batch

    videos = _videos()
    write_aug_shard(videos[:3], tmp_path / "s0.h5", CFG, N_AUG, seed=1)
    write_aug_shard(videos[3:], tmp_path / "s1.h5", CFG, N_AUG, seed=1)
    paths = [tmp_path / "s0.h5", tmp_path / "s1.h5"]
    ids = [i for i, _ in videos]
    labels = {v: [k % 5 + 4, 4] for k, v in enumerate(ids)}
    with AugShardReader(paths, N_AUG, seed=4) as plain, \
            AugShardReader(paths, N_AUG, seed=4, cache_bytes=1 << 20) as cached:
        for epoch in range(1, 6):  # the recogniser's batches: a drawn version per (seed, epoch, video)
            for idx in batch_indices(len(ids), 4, shuffle=True, seed=8, epoch=epoch):
                vids = [ids[i] for i in idx]
                ys = [labels[v] for v in vids]
                a = make_batch([plain.get(v, train=True, epoch=epoch) for v in vids], ys)
                b = make_batch([cached.get(v, train=True, epoch=epoch) for v in vids], ys)
                assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        first = cached.get("2", train=True, epoch=1)
        assert cached.get("2", train=True, epoch=1) is first and not first.flags.writeable
        assert plain.get("2", train=True, epoch=1) is not plain.get("2", train=True, epoch=1)
        clone = pickle.loads(pickle.dumps(cached))  # workers start with an empty cache of their own
        assert clone._cache == {} and np.array_equal(clone.get("2", train=True, epoch=1), first)
        clone.close()
    one = videos[0][1].nbytes
    with AugShardReader(paths, N_AUG, cache_bytes=one) as small:  # room for video 0's original only
        x = small.read("0")
        assert small.read("0") is x
        y = small.read("1")
        assert small.read("1") is not y and np.array_equal(small.read("1"), y) and y.flags.writeable


def test_reader_checks_shards(tmp_path):
    videos = _videos(2)
    write_aug_shard(videos, tmp_path / "s0.h5", CFG, N_AUG)
    write_aug_shard(videos, tmp_path / "s1.h5", CFG, N_AUG)
    with pytest.raises(ValueError, match="n_aug = 4"):
        AugShardReader([tmp_path / "s0.h5"], 10)
    with pytest.raises(ValueError, match="in both"):
        AugShardReader([tmp_path / "s0.h5", tmp_path / "s1.h5"], N_AUG)
