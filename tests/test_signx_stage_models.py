"""SignX model stages on a tiny fused corpus: Pose2Gloss training (vocab, resume), latent extraction,
Video2Pose training and the closeness table."""

import csv
import json

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from pipelib import provenance
from pipelib.datasets.manifest import write_tables
from pipelib.datasets.records import REJECTED_COLUMNS
from pipelib.estimators.base import FUSED_DIM
from pipelib.io import shards
from pipelib.signx import train_pose2gloss as tp
from pipelib.signx.closeness_stage import evaluate_closeness
from pipelib.signx.data import FusedCorpus, fused_video, pose_batch, split_rows
from pipelib.signx.frame_pairs import FramePair, PairSet, load_pair, pair_batch, pixel_rows
from pipelib.signx.frames_input import entry_frames
from pipelib.signx.latents import extract_latents
from pipelib.signx.pose2gloss import load_pose2gloss
from pipelib.signx.train_video2pose import train_video2pose, train_window
from pipelib.signx.video2pose import load_video2pose
from pipelib.training.checkpoint import read_checkpoint, weights_sha256

# id: (split, gloss, frames, shard); "D" and "E" occur outside the train split only
VIDEOS = {
    "t0": ("train", "A B", 6, 0), "t1": ("train", "B C", 5, 1), "t2": ("train", "A A C", 7, 0),
    "t3": ("train", "C", 4, 1), "d0": ("dev", "A D", 6, 0), "d1": ("dev", "B", 5, 1),
    "s0": ("test", "A E", 6, 0), "s1": ("test", "C", 5, 1),
}
FAILED = "t4"  # a train video the fusion stage could not process (in shard 1's failures)
P2G = {"batch_size": 2,
       "model": {"d_type": 8, "fusion_heads": 2, "pad_width": 40, "d_latent": 16, "vit_layers": 1,
                 "vit_heads": 2, "vit_ffn": 32, "codebook_dim": 8, "dropout": 0.0, "emb_dropout": 0.0},
       "train": {"epochs": 2, "device": "cpu", "tracking": {"enabled": False},
                 "optimizer": {"name": "adamw", "lr": 1e-3, "weight_decay": 0.01}}}
V2P = {"batch_size": 2, "max_frames": 4, "frame_stride": 2,
       "model": {"image_size": 8, "patch_size": 4, "spatial_dim": 8, "spatial_layers": 1, "spatial_heads": 2,
                 "temporal_dim": 8, "temporal_layers": 1, "temporal_heads": 2, "ffn_mult": 2, "dropout": 0.0},
       "train": {"epochs": 1, "device": "cpu", "tracking": {"enabled": False}}}


def _build(root):
    rng = np.random.default_rng(0)
    ids = list(VIDEOS)
    rows = pd.DataFrame({
        "id": ids, "split": [VIDEOS[v][0] for v in ids], "source": [str(root / "frames" / v) for v in ids],
        "media": "frames", "frame_count": [VIDEOS[v][2] for v in ids], "fps": 25.0, "signer": "S1",
        "gloss": [VIDEOS[v][1] for v in ids], "text": "x", "shard": [VIDEOS[v][3] for v in ids]})
    manifest = root / "manifest.parquet"
    write_tables(rows, pd.DataFrame(columns=list(REJECTED_COLUMNS)), manifest, root / "rejected.parquet", {})
    fused = []
    for k in range(2):
        path = root / "fused" / f"shard{k:03d}.h5"
        with shards.ShardWriter(path, attrs={"slot_order": ["x"]}) as w:
            for vid in ids:
                split, _, t, shard = VIDEOS[vid]
                if shard != k:
                    continue
                slot_mask = rng.random((t, 5)) > 0.2
                slot_mask[-1] = False  # a frame without any valid slot
                x = rng.normal(size=(t, FUSED_DIM)).astype(np.float32)
                w.write(shards.VideoArrays(vid, x, slot_mask.any(1), extras={"slot_mask": slot_mask},
                                           attrs={"split": split}))
                (root / "frames" / vid).mkdir(parents=True)
                for i in range(t):
                    cv2.imwrite(str(root / "frames" / vid / f"{i:04d}.png"),
                                rng.integers(0, 255, (12, 10, 3), dtype=np.uint8))
            if k == 1:
                w.fail(FAILED, "holistic: no frames")
        fused.append(path)
    return manifest, fused


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The corpus and a Pose2Gloss run trained once for the whole module."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models train much faster on one thread of a busy machine
    root = tmp_path_factory.mktemp("signx")
    manifest, fused = _build(root)
    best = tp.train_pose2gloss(manifest, fused, root / "p2g", P2G)
    yield root, manifest, fused, best
    torch.set_num_threads(threads)


def test_fused_corpus_keeps_videos_read_up_to_its_budget(tmp_path):
    from pipelib.signx.data import FusedCorpus

    _, fused = _build(tmp_path)
    one = shards.read_video(fused[0], "t0")
    size = one.features.nbytes + one.mask.nbytes + 5 * one.n_frames  # features, mask, slot mask
    with FusedCorpus(fused, cache_bytes=size) as corpus:  # room for t0 only
        a = corpus.get("t0")
        assert corpus.get("t0") is a and not a.features.flags.writeable
        np.testing.assert_array_equal(a.features, one.features)
        b = corpus.get("t2")                               # over the budget: read, not kept
        assert corpus.get("t2") is not b and b.features.flags.writeable
        np.testing.assert_array_equal(corpus.get("t2").features, b.features)
    with FusedCorpus(fused, cache_bytes=0) as corpus:
        assert corpus.get("t0") is not corpus.get("t0")


def _old_pair(row, corpus, size, stride):
    """load_pair as it was built before strided decoding: every frame prepared, then sliced."""
    frames = entry_frames(row, size)                                          # (T_f, 3, S, S)
    fused = corpus.get(str(row["id"]))
    step = slice(0, min(len(frames), fused.n_frames), stride)
    return FramePair(fused.video_id, frames[step], fused.features[step], fused.slot_mask[step],
                     fused.mask[step])


def test_strided_pairs_and_batches_equal_the_decode_everything_construction(tmp_path):
    manifest, fused = _build(tmp_path)
    frames_dir = tmp_path / "frames"
    (frames_dir / "t0" / "0005.png").unlink()                                # t0: 5 on disk, 6 fused
    cv2.imwrite(str(frames_dir / "t1" / "0005.png"), np.zeros((12, 10, 3), np.uint8))  # t1: 6 and 5
    with FusedCorpus(fused) as corpus:
        rows = pixel_rows(split_rows(manifest, "train"), corpus, "train")
        for stride in (1, 2, 3, 4):
            for _, row in rows.iterrows():
                new, old = load_pair(row, corpus, 8, stride), _old_pair(row, corpus, 8, stride)
                for field in ("frames", "features", "slot_mask", "mask"):
                    a, b = getattr(new, field), getattr(old, field)
                    assert a.dtype == b.dtype and np.array_equal(a, b), (row["id"], stride, field)
            pairs = PairSet(rows, corpus, 8, stride, cache=True)
            idx = [2, 0, 1]
            new_batch = pair_batch([pairs.get(i) for i in idx])
            old_batch = pair_batch([_old_pair(rows.iloc[i], corpus, 8, stride) for i in idx])
            assert new_batch.keys() == old_batch.keys()
            for key in new_batch:
                assert torch.equal(new_batch[key], old_batch[key]), (stride, key)


def test_pose2gloss_vocab_from_train_split_and_checkpoint_is_self_contained(trained):
    root, _, _, best = trained
    model, vocab = load_pose2gloss(best)
    # A x3, C x3, B x2 in the train split; D (dev) and E (test) are not glosses of the codebook
    assert vocab.tokens[4:] == ("A", "C", "B")
    assert model.cfg.vocab_size == len(vocab) == 7 and model.codebook.shape == (7, 8)
    history = pd.read_csv(root / "p2g" / "history.csv")
    assert history["epoch"].tolist() == [1, 2]
    assert {"dev/loss", "dev/wer", "train/text", "train/contrast"} <= set(history.columns)
    assert (history["dev/wer"] >= 0).all()


def test_pose2gloss_resumes_after_a_kill_to_the_same_weights(trained, tmp_path, monkeypatch):
    root, manifest, fused, _ = trained
    calls = {"n": 0}
    real_loss = tp.pose2gloss_loss

    def dying_loss(model, batch):
        calls["n"] += 1
        if calls["n"] == 4:  # epoch 1 = 2 train steps + 1 dev batch; die in epoch 2's first step
            raise KeyboardInterrupt
        return real_loss(model, batch)

    monkeypatch.setattr(tp, "pose2gloss_loss", dying_loss)
    with pytest.raises(KeyboardInterrupt):
        tp.train_pose2gloss(manifest, fused, tmp_path / "run", P2G)
    assert read_checkpoint(tmp_path / "run" / "last.pt")["epoch"] == 1
    monkeypatch.setattr(tp, "pose2gloss_loss", real_loss)
    tp.train_pose2gloss(manifest, fused, tmp_path / "run", P2G)
    resumed = read_checkpoint(tmp_path / "run" / "last.pt")
    straight = read_checkpoint(root / "p2g" / "last.pt")
    assert resumed["epoch"] == 2
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    # another config starts over instead of resuming
    tp.train_pose2gloss(manifest, fused, tmp_path / "run", {**P2G, "batch_size": 3})
    assert len(read_checkpoint(tmp_path / "run" / "last.pt")["history"]) == 2
    assert json.loads((tmp_path / "run" / "fingerprint.json").read_text())["config"]["batch_size"] == 3


def test_latents_cover_every_video_keep_failures_and_are_deterministic(trained, tmp_path):
    _, _, fused, best = trained
    out = tmp_path / "latents" / "shard001.h5"
    assert extract_latents(fused[1], best, out, P2G) == 4
    assert shards.video_ids(out) == shards.video_ids(fused[1])
    assert shards.read_failures(out)[0][0] == "t4"
    assert shards.read_attrs(out)["latent_dim"] == 16
    model, _ = load_pose2gloss(best)
    videos = list(shards.iter_videos(fused[1]))
    batch = pose_batch([fused_video(v) for v in videos], None)
    with torch.no_grad():
        batched = model.encode(batch["features"], batch["slot_mask"], batch["pad"])  # padded together
    for i, v in enumerate(videos):
        lat = shards.read_video(out, v.video_id)
        assert lat.features.shape == (v.n_frames, 16) and lat.features.dtype == np.float32
        np.testing.assert_array_equal(lat.mask, v.mask)
        assert lat.attrs["split"] == VIDEOS[v.video_id][0]
        np.testing.assert_allclose(lat.features, batched[i, :v.n_frames].numpy(), atol=1e-5)
    again = tmp_path / "again.h5"
    extract_latents(fused[1], best, again, P2G)
    for vid in shards.video_ids(out):
        assert np.array_equal(shards.read_video(out, vid).features, shards.read_video(again, vid).features)


def test_pair_set_windows_equal_load_pair_and_decode_only_the_frames_they_use(tmp_path, monkeypatch):
    """Video2Pose's training windows: a frame folder's frames are decoded when a window first needs them
    (kept with cache), on any number of threads, and equal what load_pair prepares; a video file is
    decoded whole, once with cache."""
    import pipelib.signx.frame_pairs as fp

    manifest, fused = _build(tmp_path)
    (tmp_path / "frames" / "t0" / "0005.png").unlink()                      # t0: 5 on disk, 6 fused
    writer = cv2.VideoWriter(str(tmp_path / "t2.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (10, 12))
    for i in range(9):                                                        # t2: 9 in the file, 7 fused
        writer.write(np.full((12, 10, 3), 20 * i, np.uint8))
    writer.release()
    decodes = {"frames": 0, "videos": 0}
    real_frame, real_video = fp.read_frame, fp.entry_frames_strided

    def counted_frame(path):
        decodes["frames"] += 1
        return real_frame(path)

    def counted_video(*args):
        decodes["videos"] += 1
        return real_video(*args)

    monkeypatch.setattr(fp, "read_frame", counted_frame)
    monkeypatch.setattr(fp, "entry_frames_strided", counted_video)
    with FusedCorpus(fused) as corpus:
        rows = pixel_rows(split_rows(manifest, "train"), corpus, "train")
        rows.loc[rows["id"] == "t2", ["source", "media"]] = [str(tmp_path / "t2.mp4"), "video"]
        for stride, cache, workers in ((1, True, 1), (2, True, 3), (3, False, 2), (1, False, 1)):
            pairs = PairSet(rows, corpus, 8, stride, cache=cache, workers=workers)
            whole = {i: load_pair(rows.iloc[i], corpus, 8, stride) for i in range(len(pairs))}
            assert [pairs.length(i) for i in range(len(pairs))] == [len(w.frames) for w in whole.values()]
            frames_rows = [i for i in range(len(pairs)) if rows.iloc[i]["media"] == "frames"]
            wanted = [(i, range(pairs.length(i))[1:3]) for i in frames_rows]
            for again in (False, True):                  # again: nothing more decoded when kept
                decodes.update(frames=0, videos=0)
                got = pairs.take_many(wanted)
                used = sum(len(r) for _, r in wanted)
                assert decodes == {"frames": 0 if cache and again else used, "videos": 0}, (stride, cache)
                for (i, _), pair in zip(wanted, got, strict=True):
                    for field in ("frames", "features", "slot_mask", "mask"):
                        assert np.array_equal(getattr(pair, field), getattr(whole[i], field)[1:3]), field
            video = int(np.flatnonzero(rows["media"] == "video")[0])
            decodes.update(frames=0, videos=0)
            fresh = PairSet(rows, corpus, 8, stride, cache=cache, workers=workers)
            for _ in range(2):
                np.testing.assert_array_equal(fresh.get(video).frames, whole[video].frames)
            assert decodes == {"frames": 0, "videos": 1 if cache else 2}  # counted once, used twice
            full = pair_batch([pairs.get(i) for i in range(len(pairs))])
            ref = pair_batch(list(whole.values()))
            assert all(torch.equal(full[k], ref[k]) for k in ref)


def test_train_window_depends_on_seed_epoch_and_video_only():
    starts = {e: train_window(20, 1, 4, 0, e, 3).start for e in range(1, 9)}
    assert all(len(train_window(20, 1, 4, 0, e, 3)) == 4 for e in starts)
    assert starts[1] == train_window(20, 1, 4, 0, 1, 3).start
    assert len(set(starts.values())) > 1
    assert train_window(20, 1, None, 0, 1, 3) == range(20)


def test_train_window_draws_every_stride_phase():
    """Inference runs every stride phase of a video, so training must see all of them, each window
    holding frames ``stride`` apart."""
    t, stride = 23, 4
    windows = [train_window(t, stride, 3, 0, e, i) for e in range(1, 6) for i in range(8)]
    assert {w.start % stride for w in windows} == set(range(stride))
    assert all(len(w) == 3 and w.step == stride and w[-1] < t for w in windows)
    whole = train_window(t, stride, None, 0, 1, 0)             # no window: the whole phase
    assert whole == range(whole.start, t, stride)
    assert all(len(train_window(2, stride, 3, 0, e, 0)) == 1 for e in range(1, 6))


def test_video2pose_trains_and_closeness_table(trained, tmp_path):
    root, manifest, fused, best = trained
    v2p_best = train_video2pose(manifest, fused, best, tmp_path / "v2p", V2P)
    history = pd.read_csv(tmp_path / "v2p" / "history.csv")
    assert {"dev/loss", "dev/latent_mse", "train/mse_mediapipe"} <= set(history.columns)
    ckpt = read_checkpoint(v2p_best)
    assert ckpt["config"]["model"]["pose2gloss"]["weights_sha256"] == weights_sha256(best)
    assert load_video2pose(v2p_best).config.image_size == 8

    out = tmp_path / "closeness.csv"
    table = evaluate_closeness(manifest, fused, best, v2p_best, out, {"device": "cpu"}, dataset="tiny")
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["dataset"] == "tiny" and rows[0]["split"] == "test"
    test_ids = [v for v, s in VIDEOS.items() if s[0] == "test"]
    assert int(rows[0]["videos"]) == len(test_ids)
    # every frame (Video2Pose runs each stride phase alone): frames with a valid slot count for the
    # feature metrics, every frame for the latent metrics
    valid = sum(int(shards.read_video(fused[VIDEOS[v][3]], v).mask.sum()) for v in test_ids)
    assert int(rows[0]["frames"]) == valid
    assert int(rows[0]["latent_frames"]) == sum(VIDEOS[v][2] for v in test_ids)
    # an explicit stride compares every n-th frame only
    every2 = evaluate_closeness(manifest, fused, best, v2p_best, tmp_path / "c2.csv",
                                {"device": "cpu", "frame_stride": 2})
    assert every2["latent_frames"].item() == sum((VIDEOS[v][2] + 1) // 2 for v in test_ids)
    assert float(rows[0]["latent_mse"]) >= 0 and -1 <= float(rows[0]["cos"]) <= 1
    assert table.shape[0] == 1
    assert provenance.sidecar_path(out).exists()


def test_video2pose_without_stage1_reports_feature_loss_only(trained, tmp_path):
    _, manifest, fused, _ = trained
    train_video2pose(manifest, fused, None, tmp_path / "v2p", V2P)
    history = pd.read_csv(tmp_path / "v2p" / "history.csv")
    assert "dev/loss" in history.columns and "dev/latent_mse" not in history.columns
