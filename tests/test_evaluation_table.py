"""table5/table6: the schema, GT and mean-pose rows, reported rows with differences, frame rates from the
files (a 30 fps corpus), the statistics sibling and the report."""

import numpy as np
import pandas as pd
import pytest

from pipelib.evaluation.back_translator import load_back_translator, train_back_translator
from pipelib.evaluation.stage import run_report, run_table
from pipelib.evaluation.table import (
    COLUMNS,
    STATS_COLUMNS,
    add_reported,
    mean_pose_baseline,
    read_predicted,
    score_table,
    stats_path,
)
from pipelib.io import shards
from pipelib.skeletons.read import read_split

TEXTS = ["regen im norden", "sonne im sueden", "wind im westen", "schnee im osten"]
BT = {"batch_size": 4, "model": {"d_model": 32, "enc_layers": 1, "dec_layers": 1, "heads": 2, "ffn": 64,
                                 "dropout": 0.0, "emb_dropout": 0.0, "beam": 2, "max_output_length": 8},
      "train": {"seed": 0, "epochs": 3, "tracking": {"enabled": False}, "optimizer": {"lr": 1.0e-3}}}


FPS = 30.0  # CSL-Daily's rate: scored at 15 fps on both sides


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    skel = tmp / "skeletons.h5"
    videos = [("train", i) for i in range(8)] + [(s, i) for s in ("dev", "test") for i in range(2)]
    with shards.ShardWriter(skel) as w:
        for split, i in videos:
            t = 8 + 2 * i
            poses = rng.normal(size=(t, 178, 3)).astype(np.float32) * 0.1 + (i % 4)
            w.write(shards.VideoArrays(f"{split}{i}", poses.reshape(t, -1), np.ones(t, bool),
                                       extras={"joint_mask": np.ones((t, 178), bool)},
                                       attrs={"split": split, "text": TEXTS[i % 4], "gloss": "G",
                                              "signer": "S", "fps": FPS}))
    pred = tmp / "pred.h5"
    with shards.ShardWriter(pred) as w:
        for s in read_split(skel, "test"):
            p = s.poses + 0.05
            w.write(shards.VideoArrays(s.video_id, p.reshape(len(p), -1), np.ones(len(p), bool),
                                       attrs={"split": "test", "fps": FPS}))
    bt = train_back_translator(skel, BT, tmp / "bt")
    return skel, pred, bt


def test_mean_pose_is_masked_mean_and_median_length():
    a = np.zeros((4, 178, 3), np.float32)
    b = np.ones((2, 178, 3), np.float32)
    ma, mb = np.ones((4, 178), bool), np.ones((2, 178), bool)
    mb[:, 0] = False  # joint 0 of b is never valid: its mean comes from a only
    from pipelib.skeletons.read import SkeletonSequence
    mean, length = mean_pose_baseline([SkeletonSequence("a", a, ma, "", "", "", 25.0),
                                       SkeletonSequence("b", b, mb, "", "", "", 25.0),
                                       SkeletonSequence("c", a[:3], ma[:3], "", "", "", 25.0)])
    assert mean[0, 0] == 0.0 and np.isclose(mean[1, 0], 2 / 9) and length == 3


def test_table_rows_schema_and_reported_differences(corpus, tmp_path):
    skel, pred, bt = corpus
    table, stats = score_table(skel, {"DARSLP": pred}, bt, {"split": "test", "beam": 2})
    assert list(table.columns) == COLUMNS
    assert table["system"].tolist() == ["GT", "DARSLP", "mean-pose"]
    assert (table["n_sequences"] == 2).all() and (table["source"] == "measured").all()
    assert str(table["n_sequences"].dtype) == "Int64"
    gt, darslp = table.iloc[0], table.iloc[1]
    assert gt["DTW-MJE"] == 0.0 and 0 < darslp["DTW-MJE"] < table.iloc[2]["DTW-MJE"]
    assert gt["total_distance"] == gt["avg_duration"] == 1.0
    assert darslp["avg_duration"] == 1.0 and table.iloc[2]["total_distance"] == 0.0  # a held pose never moves
    assert table["back_translator"].str.contains("sha256:").all()
    assert (table["dtw"] == "fastdtw: FastDTW, fastdtw 0.3.4 pure-Python build, radius 1").all()
    assert table["warning"].str.startswith("only 2 sentences (fewer than 30)").all()
    assert list(stats.columns) == STATS_COLUMNS and (stats["resamples"] == 1000).all()
    own = stats[stats["versus"] == ""]
    assert len(own) == 3 * 10 and (own["ci_low"] <= own["estimate"] + 1e-12).all()
    compared = set(zip(stats["system"], stats["versus"], strict=True))
    assert compared >= {("DARSLP", "GT"), ("mean-pose", "GT"), ("mean-pose", "DARSLP")}
    point = own.set_index(["system", "metric"])["estimate"]
    assert point[("DARSLP", "BLEU-1")] == darslp["BLEU-1"] and point[("GT", "DTW-MJE")] == 0.0
    exact, _ = score_table(skel, {"DARSLP": pred}, bt, {"split": "test", "beam": 2, "dtw": "exact",
                                                       "statistics": {"min_sentences": 2, "resamples": 10}})
    assert exact["warning"].eq("").all() and exact["dtw"].eq("exact: exact DTW").all()
    assert exact.iloc[1]["DTW-MJE"] <= darslp["DTW-MJE"] + 1e-12

    ref = tmp_path / "reported.csv"
    ref.write_text("# comment\ntable,dataset_kind,system,DTW-MJE,BLEU-1,BLEU-2,BLEU-3,BLEU-4,ROUGE,chrF\n"
                   "table5,phoenix14t,GT,0.0,34.43,22.08,16.13,12.81,35.22,34.62\n"
                   "table5,phoenix14t,DARSLP,0.043,28.91,16.45,11.52,8.86,28.50,28.84\n"
                   "table6,csl_daily,GT,0.0,21.63,10.90,6.31,4.02,21.81,5.26\n")
    full = add_reported(table, ref, "table5", "phoenix14t")
    assert full["source"].tolist() == ["measured"] * 3 + ["reported", "difference"] * 2
    diff = full[(full.system == "DARSLP") & (full.source == "difference")].iloc[0]
    assert np.isclose(diff["BLEU-1"], darslp["BLEU-1"] - 28.91)
    assert np.isclose(diff["DTW-MJE"], darslp["DTW-MJE"] - 0.043)
    assert len(add_reported(table, ref, "table5", "synthetic")) == 3  # no reported rows for the demo


def test_stage_writes_table_stats_report_and_provenance_and_missing_prediction_fails(corpus, tmp_path,
                                                                                      monkeypatch):
    skel, pred, bt = corpus
    out = tmp_path / "table6.csv"
    run_table(str(skel), {"DARSLP": str(pred)}, str(bt), {"split": "test", "beam": 1},
              {"kind": "csl_daily"}, "config/reference/darslp_reported.csv", str(out))
    table = pd.read_csv(out)
    assert {"measured", "reported", "difference"} == set(table["source"])
    assert (tmp_path / "table6.csv.prov.json").exists() and (tmp_path / "table6_stats.csv.prov.json").exists()
    assert stats_path(out) == tmp_path / "table6_stats.csv"
    # n_sequences stays an integer beside the reported rows that have none
    assert out.read_text().splitlines()[1].split(",")[COLUMNS.index("n_sequences")] == "2"
    stats = pd.read_csv(stats_path(out))
    assert stats.loc[stats["versus"].isna(), "estimate"].notna().all()

    fusion = tmp_path / "fusion.csv"
    fusion.write_text("slot,backend,valid_fraction\nmediapipe,mediapipe_holistic,1.0\nfused,,1.0\n")
    priors = tmp_path / "priors.h5"
    report = tmp_path / "report.md"
    priors_stub = type("Priors", (), {"region_mean_entropy": lambda self: {"body": 1.0}})()
    monkeypatch.setattr("pipelib.evaluation.stage.load_priors", lambda _: priors_stub)
    run_report(str(out), str(fusion), str(priors), ["a.gif"], str(report), "csl", str(stats_path(out)))
    text = report.read_text()
    darslp_ci = stats[(stats["system"] == "DARSLP") & (stats["metric"] == "DTW-MJE") & stats["versus"].isna()]
    assert f"[{darslp_ci['ci_low'].item():.4f}, {darslp_ci['ci_high'].item():.4f}]" in text
    assert "**Warning:** only 2 sentences" in text and "DARSLP vs GT" in text and "(p=" in text
    _, vocab, section = load_back_translator(bt)
    assert section["model"]["d_model"] == 32 and len(vocab) > 4  # config recorded with the model
    with pytest.raises(ValueError, match="no prediction for 2 dev videos"):
        score_table(skel, {"DARSLP": pred}, bt, {"split": "dev"})


def test_frame_rates_come_from_the_files(corpus, tmp_path):
    skel, pred, _ = corpus
    assert {s.fps for s in read_split(skel, "test")} == {FPS}
    assert set(read_predicted(pred, "test")[1].values()) == {FPS}
    bare = tmp_path / "bare.h5"  # a skeleton file written before frame rates were recorded
    with shards.ShardWriter(bare) as w:
        w.write(shards.VideoArrays("v", np.zeros((2, 534), np.float32), np.ones(2, bool),
                                   extras={"joint_mask": np.ones((2, 178), bool)}, attrs={"split": "test"}))
    with pytest.raises(ValueError, match="records no frame rate .* re-run the skeletons rule"):
        read_split(bare, "test")
