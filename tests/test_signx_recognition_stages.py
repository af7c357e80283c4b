"""SignX recogniser stages on constructed latents: training + checkpoint averaging, the train/eval reader,
recognition.csv and efficiency.csv.

The toy corpus: 8 glosses, each with a prototype vector in 12 of 16 latent dims (the other 4 dims hold
tiny noise, so the pruning mask drops them); a video is its glosses' prototypes held 6 frames each,
plus noise. Sentences are the glosses in lower case, so the text target is learnable too.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from pipelib.datasets.records import MANIFEST_COLUMNS
from pipelib.io.shards import ShardWriter, VideoArrays
from pipelib.signx.aug_shards import write_aug_shard
from pipelib.signx.latent_data import make_batch, open_aug_reader, read_pruned_latents
from pipelib.signx.pruning import PruningMask, fit_pruning
from pipelib.signx.recognition import BASELINE, COLUMNS, write_recognition
from pipelib.signx.recognizer_loading import decode, load_recognizer
from pipelib.signx.train_recognizer import train_recognizer
from pipelib.training.checkpoint import read_checkpoint

GLOSSES = ["SUN", "RAIN", "WIND", "SNOW", "COLD", "WARM", "NORTH", "SOUTH"]
DIM, SIGNAL, FRAMES_PER_GLOSS, N_AUG = 16, 12, 6, 2
SPLITS = {"train": 80, "dev": 8, "test": 8}
TINY_MODEL = dict(conv_channels=16, hidden=32, lstm_hidden=16, lstm_layers=1, d_model=32, enc_layers=1,
                  dec_layers=1, heads=2, ffn=64, conv_dropout=0.0, lstm_dropout=0.0, attn_dropout=0.0,
                  relu_dropout=0.0, residual_dropout=0.0, embedding_dropout=0.0, ce_weight=0.5)


def section(epochs: int = 18, **train) -> dict:
    return {"batch_size": 8, "average_top_k": 5, "model": dict(TINY_MODEL),
            "decoding": {"beam": 4, "entropy_penalty": 0.1, "max_output_length": 10},
            "train": {"seed": 0, "epochs": epochs, "device": "cpu", "optimizer": {"lr": 1.0},
                      "scheduler": {"name": "noam", "warmup_steps": 20, "factor": 0.1},
                      "tracking": {"enabled": False},
                      **train}}


def _sequence(rng: np.random.Generator) -> list[str]:
    n = int(rng.integers(3, 6))
    seq = [GLOSSES[int(rng.integers(len(GLOSSES)))]]
    while len(seq) < n:  # no immediate repeats: CTC needs a blank between equal glosses
        g = GLOSSES[int(rng.integers(len(GLOSSES)))]
        if g != seq[-1]:
            seq.append(g)
    return seq


def _latents(seq: list[str], protos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = np.concatenate([np.repeat(protos[GLOSSES.index(g)][None], FRAMES_PER_GLOSS, 0) for g in seq])
    x = x + 0.3 * rng.standard_normal(x.shape)
    x[:, SIGNAL:] = 1e-3 * rng.standard_normal((len(x), DIM - SIGNAL))  # low-variance dims: pruned
    return x.astype(np.float32)


def build_corpus(root, seed: int = 0) -> dict:
    """manifest.parquet, latents/shard00{0,1}.h5, pruning.json, aug/shard00{0,1}.h5 under ``root``."""
    rng = np.random.default_rng(seed)
    protos = np.zeros((len(GLOSSES), DIM))
    protos[:, :SIGNAL] = 2.0 * rng.standard_normal((len(GLOSSES), SIGNAL))
    rows, latents = [], {}
    for split, n in SPLITS.items():
        for k in range(n):
            vid = f"{split}{k:03d}"
            seq = _sequence(rng)
            latents[vid] = _latents(seq, protos, rng)
            rows.append({"id": vid, "split": split, "source": f"/nowhere/{vid}", "media": "frames",
                         "frame_count": len(latents[vid]), "fps": 25.0, "signer": "s1",
                         "gloss": " ".join(seq), "text": " ".join(seq).lower(), "shard": k % 2})
    frame = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), root / "manifest.parquet")
    latent_paths, aug_paths = [root / "latents" / f"shard00{s}.h5" for s in (0, 1)], []
    (root / "latents").mkdir()
    for s, path in enumerate(latent_paths):
        with ShardWriter(path, {"shard": s}) as w:
            for r in rows:
                if r["shard"] == s:
                    x = latents[r["id"]]
                    w.write(VideoArrays(r["id"], x, np.ones(len(x), bool)))
    train_ids = [r["id"] for r in rows if r["split"] == "train"]
    mask = fit_pruning([latents[v] for v in train_ids], keep_fraction=SIGNAL / DIM)
    mask.save(root / "pruning.json")
    (root / "aug").mkdir()
    for s in (0, 1):
        items = [(r["id"], mask.apply(latents[r["id"]])) for r in rows
                 if r["split"] == "train" and r["shard"] == s]
        path = root / "aug" / f"shard00{s}.h5"
        write_aug_shard(items, path, None, n_aug=N_AUG, seed=1)
        aug_paths.append(path)
    return {"manifest": root / "manifest.parquet", "latents": latent_paths, "pruning": root / "pruning.json",
            "aug": aug_paths, "rows": frame, "raw": latents, "mask": mask}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("signx_corpus"))


@pytest.fixture(scope="module")
def gloss_run(corpus, tmp_path_factory):
    torch.set_num_threads(1)
    run_dir = tmp_path_factory.mktemp("rec_gloss")
    out = train_recognizer(corpus["manifest"], corpus["aug"], corpus["latents"], corpus["pruning"], run_dir,
                           section(), "gloss")
    return run_dir, out


# --------------------------------------------------------------------------------------------- data


def test_pruned_latents_and_reader_versions(corpus):
    mask = PruningMask.load(corpus["pruning"])
    assert mask.kept_width == SIGNAL and mask.keep[:SIGNAL].all()
    dev_ids = corpus["rows"].query("split == 'dev'")["id"].tolist()
    got = read_pruned_latents(corpus["latents"], dev_ids + ["nope"], mask)
    assert list(got) == dev_ids  # the missing id is left out, order kept
    assert np.array_equal(got[dev_ids[0]], corpus["raw"][dev_ids[0]][:, :SIGNAL])
    with open_aug_reader(corpus["aug"], seed=0) as reader:
        vid = "train000"
        assert reader.n_aug == N_AUG
        original = reader.get(vid, train=False)
        assert np.array_equal(original, corpus["raw"][vid][:, :SIGNAL])  # evaluation: the original
        drawn = [reader.get(vid, train=True, epoch=e) for e in range(1, 9)]
        assert all(not np.array_equal(d, original) for d in drawn)  # training: augmented versions
        assert len({d.tobytes() for d in drawn}) == N_AUG  # different versions across epochs
    b = make_batch([original, original[:5]], [[4, 5], [6]], [[7], [8, 9, 10]])
    assert b["latents"].shape == (2, len(original), SIGNAL) and b["pad"][1, 5:].all()
    assert not b["pad"][1, :5].any() and b["glosses"].tolist() == [[4, 5], [6, 0]]
    assert b["text"].shape == (2, 3)


# --------------------------------------------------------------------------------------------- training


def test_training_beats_the_constant_baseline(corpus, gloss_run):
    run_dir, out = gloss_run
    table = pd.read_csv(run_dir / "history.csv")
    assert {"dev/wer", "dev/ctc_wer", "dev/loss"} <= set(table.columns)
    rec = load_recognizer(out)  # averaged.pt alone rebuilds the model
    assert rec.target == "gloss" and rec.model.cfg.input_dim == SIGNAL and not rec.model.training
    test = corpus["rows"].query("split == 'test'")
    x = list(read_pruned_latents(corpus["latents"], test["id"], corpus["mask"]).values())
    from pipelib.metrics.slrtp import wer
    from pipelib.signx.latent_data import most_frequent
    train_glosses = corpus["rows"].query("split == 'train'")["gloss"].tolist()
    base = wer([most_frequent(train_glosses)] * len(test), test["gloss"].tolist())
    ctc = [rec.gloss_vocab.decode(h) for h in decode(rec.model, x, "ctc")]
    beam = [rec.gloss_vocab.decode(h) for h in decode(rec.model, x, "decoder", beam=4)]
    assert base > 75
    assert wer(ctc, test["gloss"].tolist()) < 20
    assert wer(beam, test["gloss"].tolist()) < 50


def test_averaged_checkpoint_is_the_mean_of_the_chosen(gloss_run):
    run_dir, out = gloss_run
    avg = read_checkpoint(out)
    chosen = [s["path"] for s in avg["meta"]["averaged_from"]]
    assert avg["meta"]["averaging"] == {"metric": "wer", "mode": "min", "k": 5}
    history = pd.read_csv(run_dir / "history.csv")
    best5 = history.sort_values(["dev/wer", "epoch"], kind="stable")["epoch"].head(5).tolist()
    assert [int(p[-6:-3]) for p in chosen] == best5  # epochNNN.pt of the 5 best dev-WER epochs, best first
    states = [read_checkpoint(p)["model"] for p in chosen]
    values = [s["wer"] for s in avg["meta"]["averaged_from"]]
    assert values == sorted(values)  # best first
    for key, tensor in avg["model"].items():
        if tensor.is_floating_point():
            mean = torch.stack([s[key].double() for s in states]).mean(0).to(tensor.dtype)
            assert torch.allclose(tensor, mean, atol=1e-6), key
    assert json.loads((run_dir / "averaged.pt.prov.json").read_text())["seed"] == 0


# --------------------------------------------------------------------------------------------- table


def test_recognition_csv(corpus, gloss_run, tmp_path):
    out_csv = tmp_path / "recognition.csv"
    table = write_recognition(corpus["manifest"], corpus["latents"], corpus["pruning"],
                              {"gloss": gloss_run[1]}, out_csv,
                              {"splits": ["dev", "test"], "decoding": {"beam": 4}})
    read = pd.read_csv(out_csv)
    assert list(read.columns) == COLUMNS and len(read) == len(table) == 6  # 2 splits x (beam, ctc, baseline)
    assert set(read["split"]) == {"dev", "test"}
    for split in ("dev", "test"):
        rows = read[read["split"] == split].set_index("decoding")
        assert set(rows.index) == {"beam4+entropy0.1", "ctc-greedy", "constant"}
        assert (rows["n_sequences"] == 8).all() and (rows["n_missing"] == 0).all()
        assert rows.loc["ctc-greedy", "WER"] < rows.loc["constant", "WER"] - 40
        parts = rows[["SUB", "DEL", "INS"]].sum(axis=1)
        assert np.allclose(parts, rows["WER"], atol=1e-3)
        for m in ("WER", "SUB", "BLEU-1", "ROUGE", "sacreBLEU"):  # intervals around every value
            assert (rows[f"{m}_lo"] <= rows[m] + 1e-4).all() and (rows[m] <= rows[f"{m}_hi"] + 1e-4).all(), m
        assert rows.loc["constant", "WER_hi"] > rows.loc["constant", "WER_lo"]
        # the CTC head is far better than the constant output: a clear paired difference
        assert rows.loc["ctc-greedy", "WER_p_vs_baseline"] < 0.05
        assert np.isnan(rows.loc["constant", "WER_p_vs_baseline"])
        assert rows["warning"].str.startswith("only 8 sentences").all()
    assert (tmp_path / "recognition.csv.prov.json").exists()


# --------------------------------------------------------------------------------------------- efficiency


def _stage1_checkpoints(root) -> tuple:
    """Tiny untrained Pose2Gloss (d_latent = DIM) and Video2Pose checkpoints in the trainer's format."""
    from pipelib.signx.pose2gloss import Pose2Gloss, Pose2GlossConfig
    from pipelib.signx.video2pose import Video2Pose, Video2PoseConfig
    from pipelib.text.vocab import Vocab
    from pipelib.training.checkpoint import save_checkpoint

    vocab = Vocab.build([" ".join(GLOSSES)])
    p2g_cfg = Pose2GlossConfig.from_dict(dict(vocab_size=len(vocab), d_type=8, fusion_heads=2, pad_width=48,
                                              d_latent=DIM, vit_layers=1, vit_heads=2, vit_ffn=32,
                                              codebook_dim=8))
    torch.manual_seed(0)
    p2g = save_checkpoint(root / "p2g.pt", Pose2Gloss(p2g_cfg),
                          {"model": {"pose2gloss": p2g_cfg.to_dict(), "vocab": vocab.to_json()}}, epoch=1)
    v2p_cfg = Video2PoseConfig.from_dict(dict(image_size=16, patch_size=8, spatial_dim=16, spatial_layers=1,
                                              spatial_heads=2, temporal_dim=16, temporal_layers=1,
                                              temporal_heads=2, ffn_mult=2))
    v2p = save_checkpoint(root / "v2p.pt", Video2Pose(v2p_cfg, seed=0),
                          {"model": {"video2pose": v2p_cfg.to_dict()}}, epoch=1)
    return p2g, v2p


def _with_pixels(corpus, root, n: int):
    """A copy of the corpus manifest whose first ``n`` test videos have frames (random PNGs)."""
    import cv2

    rows = corpus["rows"].copy()
    rng = np.random.default_rng(0)
    for k in rows.index[rows["split"] == "test"][:n]:
        folder = root / "frames" / rows.at[k, "id"]
        folder.mkdir(parents=True)
        for t in range(int(rows.at[k, "frame_count"])):
            cv2.imwrite(str(folder / f"{t:04d}.png"), rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
        rows.at[k, "source"] = str(folder)
    manifest = root / "manifest.parquet"
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), manifest)
    return rows, manifest


def test_recognition_from_pixels_adds_signx_video_rows(corpus, gloss_run, tmp_path):
    from pipelib.signx.recognition import VideoCheckpoints

    rows, _ = _with_pixels(corpus, tmp_path, 3)
    pose_only = (rows["split"] == "test") & ~rows["source"].str.startswith(str(tmp_path))
    rows.loc[pose_only, "media"] = "poses"  # five test videos come as poses only: no pixels to read
    manifest = tmp_path / "manifest.parquet"
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), manifest)
    p2g, v2p = _stage1_checkpoints(tmp_path)
    out_csv = tmp_path / "recognition.csv"
    table = write_recognition(manifest, corpus["latents"], corpus["pruning"], {"gloss": gloss_run[1]},
                              out_csv,
                              {"splits": ["test"], "decoding": {"beam": 4}, "device": "cpu"},
                              video=VideoCheckpoints(v2p, p2g))
    assert table["system"].tolist() == ["SignX-latent-gloss"] * 2 + ["SignX-video-gloss"] * 2 + [BASELINE]
    video = table[table["system"] == "SignX-video-gloss"].set_index("decoding")
    latent = table[table["system"] == "SignX-latent-gloss"].set_index("decoding")
    assert set(video.index) == {"beam4+entropy0.1", "ctc-greedy"}
    # every test video is scored; the five without pixels count as missing (empty outputs)
    assert (video["n_sequences"] == 8).all() and (video["n_missing"] == 5).all()
    assert (latent["n_missing"] == 0).all()
    # an untrained Video2Pose makes latents that say nothing: far worse than the estimators' latents
    assert (video["WER"] > latent["WER"] + 30).all(), table[["system", "decoding", "WER"]]
    inputs = json.dumps(json.loads((tmp_path / "recognition.csv.prov.json").read_text())["inputs"])
    assert "v2p.pt" in inputs and "p2g.pt" in inputs


def test_spread_csv_scores_each_video2pose_seed_as_recognition_csv_does(corpus, gloss_run, tmp_path):
    from pipelib.signx.closeness_stage import closeness_table
    from pipelib.signx.recognition import VideoCheckpoints, recognition_table
    from pipelib.signx.spread import COLUMNS as SPREAD_COLUMNS
    from pipelib.signx.spread import SpreadInputs, write_spread
    from pipelib.signx.video2pose import Video2Pose, load_video2pose
    from pipelib.training.checkpoint import save_checkpoint, weights_sha256

    rows, manifest = _with_pixels(corpus, tmp_path, 8)
    p2g, v2p = _stage1_checkpoints(tmp_path)
    (tmp_path / "seed5").mkdir()
    cfg = load_video2pose(v2p).config
    other = save_checkpoint(tmp_path / "seed5/best.pt", Video2Pose(cfg, seed=5),
                            {"model": {"video2pose": cfg.to_dict()}}, epoch=1)
    pd.DataFrame({"epoch": [1, 2, 3], "dev/latent_mse": [0.5, 0.3, 0.4]}).to_csv(
        tmp_path / "seed5/history.csv", index=False)
    fused = tmp_path / "fused.h5"                            # random estimator features of the test videos
    rng = np.random.default_rng(2)
    with ShardWriter(fused) as w:
        for vid, t in rows.loc[rows["split"] == "test", ["id", "frame_count"]].itertuples(index=False):
            w.write(VideoArrays(vid, rng.standard_normal((t, 1959)).astype(np.float32), np.ones(t, bool),
                                {"slot_mask": np.ones((t, 5), bool)}))
    sec = {"splits": ["test"], "decoding": {"beam": 4}, "device": "cpu"}
    close_sec = {"split": "test", "device": "cpu"}
    inputs = SpreadInputs(manifest, [fused], corpus["latents"], corpus["pruning"], {"gloss": gloss_run[1]},
                          p2g)
    out_csv = tmp_path / "spread.csv"
    table = write_spread(inputs, {7: v2p, 5: other}, out_csv, sec, close_sec)
    read = pd.read_csv(out_csv)
    assert list(read.columns) == SPREAD_COLUMNS and len(read) == len(table) == 2 * 2 + 4 * 2
    per_seed = read[read["row"] == "seed"].set_index(["seed", "decoding"])
    assert per_seed.index.get_level_values(0).tolist() == [7, 7, 5, 5]
    # seed 7 is the primary run: its rows are recognition.csv's for the same checkpoint
    rec = recognition_table(manifest, corpus["latents"], corpus["pruning"], {"gloss": gloss_run[1]}, sec,
                            video=VideoCheckpoints(v2p, p2g)).set_index(["system", "decoding"])
    for dec in ("beam4+entropy0.1", "ctc-greedy"):
        assert per_seed.loc[(7, dec), "WER_video"] == pytest.approx(
            rec.loc[("SignX-video-gloss", dec), "WER"], abs=1e-4)
        assert per_seed.loc[(5, dec), "WER_latent"] == pytest.approx(
            rec.loc[("SignX-latent-gloss", dec), "WER"], abs=1e-4)
    # the seeds' Video2Pose weights differ, so do their latents; the summaries are over both seeds
    assert weights_sha256(v2p) != weights_sha256(other)
    mean = read[read["row"] == "mean"].set_index("decoding")["WER_video"]
    assert mean.to_dict() == pytest.approx(per_seed["WER_video"].groupby(level=1).mean().to_dict(), abs=1e-3)
    assert per_seed.loc[(5, "ctc-greedy"), "dev_latent_mse"] == pytest.approx(0.3)  # its history's best
    for seed, ckpt in ((7, v2p), (5, other)):                                       # closeness.csv's value
        close = closeness_table(manifest, [fused], p2g, ckpt, close_sec)["latent_cos"].iloc[0]
        assert per_seed.loc[(seed, "ctc-greedy"), "latent_cos"] == pytest.approx(close, abs=1e-4)
    assert per_seed.loc[(7, "ctc-greedy"), "latent_cos"] != per_seed.loc[(5, "ctc-greedy"), "latent_cos"]
    assert np.isnan(per_seed.loc[(7, "ctc-greedy"), "dev_latent_mse"])               # none beside v2p.pt
    prov = json.loads((tmp_path / "spread.csv.prov.json").read_text())
    assert prov["seeds"] == [7, 5] and any("seed5" in i for i in json.dumps(prov["inputs"]).split(","))


def test_efficiency_csv_has_positive_rates(corpus, gloss_run, tmp_path):
    from pipelib.signx.efficiency import COLUMNS as EFF_COLUMNS
    from pipelib.signx.efficiency import write_efficiency

    rows, manifest = _with_pixels(corpus, tmp_path, 3)
    p2g, v2p = _stage1_checkpoints(tmp_path)
    out_csv = tmp_path / "efficiency.csv"
    sec = {"split": "test", "max_videos": 2, "warmup": 1, "repeats": 3, "device": "cpu", "threads": 2,
           "head": "ctc"}
    write_efficiency(manifest, corpus["latents"], corpus["pruning"], {"gloss": gloss_run[1]}, p2g, v2p,
                     out_csv, sec, job_threads=1)  # timed on the one core the job holds, not on 2
    table = pd.read_csv(out_csv)
    assert list(table.columns) == EFF_COLUMNS and table["path"].tolist() == ["latents", "pixels"]
    assert (table["fps"] > 0).all() and (table["seconds"] > 0).all() and (table["videos"] == 2).all()
    frames = rows.query("split == 'test'")["frame_count"].iloc[:2].sum()
    assert (table["frames"] == frames).all()  # the same videos on both paths
    assert table["speedup"].iloc[1] == pytest.approx(1.0)
    assert table["speedup"].iloc[0] == pytest.approx(table["fps"].iloc[0] / table["fps"].iloc[1], rel=1e-4)
    assert table["WER"].iloc[0] < 20  # the trained recogniser on precomputed latents
    assert (table["threads"] == 1).all() and table["device"].str.startswith("cpu").all()
    assert (table["repeats"] == 3).all() and (table["fps_min"] <= table["fps"]).all()
    assert (table["fps"] <= table["fps_max"]).all() and (table["tokens"] > 0).all()
    front = table.set_index("path")["frontend_seconds"]
    assert front["latents"] == 0 and 0 < front["pixels"] < table.set_index("path").loc["pixels", "seconds"]
    prov = json.loads((tmp_path / "efficiency.csv.prov.json").read_text())
    assert prov["deterministic"] is False


def test_the_timing_uses_the_configured_threads_up_to_the_jobs_cores(caplog):
    """More torch threads than the job's cores would share cores with other jobs and time them too."""
    from pipelib.signx.efficiency import measurement_threads

    assert measurement_threads(None, None) is None and measurement_threads(2, None) == 2  # outside a job
    assert measurement_threads(None, 3) == 3 and measurement_threads(2, 4) == 2
    assert not caplog.records
    assert measurement_threads(2, 1) == 1
    assert "signx.efficiency.threads is 2 but the job holds 1 core(s)" in caplog.text


def test_time_paths_warms_every_input_and_alternates_the_order():
    """One-off costs come with each new input shape: the warm-up passes over every input of every path,
    and timed repeats alternate which path goes first, so neither path inherits the other's warm caches."""
    from pipelib.signx.efficiency import time_paths

    calls = []

    def runner(name):
        def run(x):
            calls.append((name, x))
            return [x], 0.25 if name == "b" else 0.0
        return run

    out = time_paths({"a": (runner("a"), [1, 2, 3]), "b": (runner("b"), [4, 5])}, warmup=1, repeats=3,
                     device=torch.device("cpu"))
    assert calls[:5] == [("a", 1), ("a", 2), ("a", 3), ("b", 4), ("b", 5)]  # warm-up: all inputs
    order = [name for name, _ in calls[5:]]
    assert order == ["a"] * 3 + ["b"] * 2 + ["b"] * 2 + ["a"] * 3 + ["a"] * 3 + ["b"] * 2
    assert len(out["a"].seconds) == len(out["b"].seconds) == 3 and min(out["a"].seconds) > 0
    assert out["b"].frontend == [0.5, 0.5, 0.5] and out["a"].frontend == [0.0] * 3
    assert out["a"].outputs == [[1], [2], [3]] and out["b"].outputs == [[4], [5]]


# --------------------------------------------------------------------------------------------- text target


def test_text_target_trains_on_bleu_and_adds_text_rows(corpus, gloss_run, tmp_path):
    out = train_recognizer(corpus["manifest"], corpus["aug"], corpus["latents"], corpus["pruning"],
                           tmp_path / "rec_text", section(epochs=8), "text")
    avg = read_checkpoint(out)
    assert avg["meta"]["averaging"] == {"metric": "bleu4", "mode": "max", "k": 5}
    values = [s["bleu4"] for s in avg["meta"]["averaged_from"]]
    assert len(values) == 5 and values == sorted(values, reverse=True)  # best 5 of 8 epochs, best first
    assert len(list((tmp_path / "rec_text").glob("epoch*.pt"))) == 5
    rec = load_recognizer(out)
    assert rec.target == "text" and rec.output_vocab is rec.text_vocab
    assert sorted(rec.text_vocab.tokens[4:]) == sorted(g.lower() for g in GLOSSES)
    table = write_recognition(corpus["manifest"], corpus["latents"], corpus["pruning"],
                              {"gloss": gloss_run[1], "text": out}, tmp_path / "rec.csv",
                              {"splits": ["test"]})
    keyed = {(r.system, r.target, r.decoding) for r in table.itertuples()}
    assert keyed == {("SignX-latent-gloss", "gloss", "beam4+entropy0.1"),
                     ("SignX-latent-gloss", "gloss", "ctc-greedy"),
                     ("SignX-latent-text", "text", "beam4+entropy0.1"),
                     ("SignX-latent-text", "gloss", "ctc-greedy"),
                     ("most-frequent-train", "gloss", "constant"),
                     ("most-frequent-train", "text", "constant")}
    gloss_rows = table[table["target"] == "gloss"].set_index(["system", "decoding"])
    base = gloss_rows.loc[("most-frequent-train", "constant"), "WER"]
    assert gloss_rows.loc[("SignX-latent-text", "ctc-greedy"), "WER"] < base - 40  # its CTC head learned
    assert table.loc[table["target"] == "text", "BLEU-4"].notna().all()


def test_config_errors_name_the_key(corpus, tmp_path):
    args = (corpus["manifest"], corpus["aug"], corpus["latents"], corpus["pruning"], tmp_path / "r")
    with pytest.raises(ValueError, match=r"signx\.recognizer\.bogus"):
        train_recognizer(*args, {**section(), "bogus": 1}, "gloss")
    with pytest.raises(ValueError, match=r"signx\.recognizer\.decoding\.beams"):
        train_recognizer(*args, {**section(), "decoding": {"beams": 3}}, "gloss")
    bad = section()
    bad["model"]["input_dim"] = DIM  # the pruned width is SIGNAL
    with pytest.raises(ValueError, match=r"signx\.recognizer\.model\.input_dim"):
        train_recognizer(*args, bad, "gloss")
    with pytest.raises(ValueError, match="target"):
        train_recognizer(*args, section(), "pose")
    with pytest.raises(ValueError, match=r"signx\.recognition\.splits"):
        write_recognition(corpus["manifest"], corpus["latents"], corpus["pruning"], {}, tmp_path / "x.csv",
                          {"splits": "test"})


def test_recognition_single_split_key(corpus, gloss_run, tmp_path):
    sec = {"split": "dev", "decoding": {"beam": 1, "entropy_penalty": 0}}
    table = write_recognition(corpus["manifest"], corpus["latents"], corpus["pruning"],
                              {"gloss": gloss_run[1]}, tmp_path / "r.csv", sec)
    assert set(table["split"]) == {"dev"} and "beam1+entropy0" in set(table["decoding"])
