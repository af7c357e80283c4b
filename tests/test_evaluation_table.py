"""table5/table6: rows per (system, back-translator), GT and mean-pose rows, reported rows with
differences, frame rates from the files (a 30 fps corpus), the statistics sibling and the report."""

import numpy as np
import pandas as pd
import pytest
import slrtp_helpers as sh

from pipelib.evaluation.back_translator import load_back_translator, train_back_translator
from pipelib.evaluation.back_translators import TrainedBackTranslator
from pipelib.evaluation.predictions import PredictionSource
from pipelib.evaluation.slrtp_model import SlrtpBackTranslator
from pipelib.evaluation.stage import prediction_sources, run_report, run_table
from pipelib.evaluation.table import (
    COLUMNS,
    METRIC_COLUMNS,
    SEED_COLUMNS,
    SEED_STD,
    STATS_COLUMNS,
    add_reported,
    mean_pose_baseline,
    score_table,
    score_tables,
    stats_path,
)
from pipelib.io import shards
from pipelib.production.predictions import read_predictions
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
    with shards.ShardWriter(skel, attrs={"skeleton": "holistic178"}) as w:
        for split, i in videos:
            t = 8 + 2 * i
            poses = rng.normal(size=(t, 178, 3)).astype(np.float32) * 0.1 + (i % 4)
            w.write(shards.VideoArrays(f"{split}{i}", poses.reshape(t, -1), np.ones(t, bool),
                                       extras={"joint_mask": np.ones((t, 178), bool)},
                                       attrs={"split": split, "text": TEXTS[i % 4], "gloss": "G",
                                              "signer": "S", "fps": FPS}))
    pred = tmp / "pred.h5"
    with shards.ShardWriter(pred, attrs={"skeleton": "holistic178"}) as w:
        for split in ("dev", "test"):
            for s in read_split(skel, split):
                p = s.poses + 0.05
                w.write(shards.VideoArrays(s.video_id, p.reshape(len(p), -1), np.ones(len(p), bool),
                                           attrs={"split": split, "text": s.text, "fps": FPS}))
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models train much faster on one thread of a busy machine
    try:
        bt = train_back_translator(skel, BT, tmp / "bt")
    finally:
        torch.set_num_threads(threads)
    slrtp_dir = sh.write_model_dir(tmp / "backTranslation_PHIX_model")
    return skel, pred, bt, slrtp_dir


def trained(bt, beam=2):
    return TrainedBackTranslator(bt, beam=beam)


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


def test_table_rows_schema_and_reported_differences(corpus, tmp_path, one_thread):
    skel, pred, bt, _ = corpus
    table, stats = score_table(skel, {"DARSLP": pred}, [trained(bt)], {"split": "test"})
    assert list(table.columns) == COLUMNS
    assert table["system"].tolist() == ["GT", "DARSLP", "mean-pose"]
    assert (table["n_sequences"] == 2).all() and (table["source"] == "measured").all()
    assert str(table["n_sequences"].dtype) == "Int64"
    assert (table["back_translator_kind"] == "trained").all() and (table["layout"] == "holistic178").all()
    assert (table["layout_note"] == "").all()  # one layout everywhere
    gt, darslp = table.iloc[0], table.iloc[1]
    assert gt["DTW-MJE"] == 0.0 and 0 < darslp["DTW-MJE"] < table.iloc[2]["DTW-MJE"]
    assert gt["total_distance"] == gt["avg_duration"] == 1.0
    assert darslp["avg_duration"] == 1.0 and table.iloc[2]["total_distance"] == 0.0  # a held pose never moves
    assert table["back_translator"].str.startswith("best.pt@weights-sha256:").all()
    assert (table["dtw"] == "fastdtw: FastDTW, fastdtw 0.3.4 pure-Python build, radius 1").all()
    assert table["warning"].str.startswith("only 2 sentences (fewer than 30)").all()
    assert list(stats.columns) == STATS_COLUMNS and (stats["resamples"] == 1000).all()
    assert (stats["back_translator_kind"] == "trained").all()
    own = stats[stats["versus"] == ""]
    assert len(own) == 3 * 10 and (own["ci_low"] <= own["estimate"] + 1e-12).all()
    compared = set(zip(stats["system"], stats["versus"], strict=True))
    assert compared >= {("DARSLP", "GT"), ("mean-pose", "GT"), ("mean-pose", "DARSLP")}
    point = own.set_index(["system", "metric"])["estimate"]
    assert point[("DARSLP", "BLEU-1")] == darslp["BLEU-1"] and point[("GT", "DTW-MJE")] == 0.0
    exact, _ = score_table(skel, {"DARSLP": pred}, [trained(bt)],
                           {"split": "test", "dtw": "exact",
                            "statistics": {"min_sentences": 2, "resamples": 10}})
    assert exact["warning"].eq("").all() and exact["dtw"].eq("exact: exact DTW").all()
    assert exact.iloc[1]["DTW-MJE"] <= darslp["DTW-MJE"] + 1e-12

    ref = tmp_path / "reported.csv"
    ref.write_text("# comment\ntable,dataset_kind,system,DTW-MJE,BLEU-1,BLEU-2,BLEU-3,BLEU-4,ROUGE,chrF,"
                   "back_translator_kind\n"
                   "table5,phoenix14t,GT,0.0,34.43,22.08,16.13,12.81,35.22,34.62,slrtp\n"
                   "table5,phoenix14t,DARSLP,0.043,28.91,16.45,11.52,8.86,28.50,28.84,slrtp\n"
                   "table6,csl_daily,GT,0.0,21.63,10.90,6.31,4.02,21.81,5.26,\n")
    full = add_reported(table, ref, "table5", "phoenix14t")
    assert full["source"].tolist() == ["measured"] * 3 + ["reported", "difference"] * 2
    diff = full[(full.system == "DARSLP") & (full.source == "difference")].iloc[0]
    assert diff["back_translator_kind"] == "trained"  # no slrtp rows here: against what was measured
    assert np.isclose(diff["BLEU-1"], darslp["BLEU-1"] - 28.91)
    assert np.isclose(diff["DTW-MJE"], darslp["DTW-MJE"] - 0.043)
    assert len(add_reported(table, ref, "table5", "synthetic")) == 3  # no reported rows for the demo


def _shifted(pred, offset, path):
    """A copy of prediction file ``pred`` with every coordinate moved by ``offset``."""
    with shards.ShardWriter(path, attrs={"skeleton": "holistic178"}) as w:
        for vid in shards.video_ids(pred):
            v = shards.read_video(pred, vid)
            w.write(shards.VideoArrays(vid, v.features + offset, v.mask, attrs=dict(v.attrs)))
    return path


def test_a_system_of_several_seeds_reports_their_mean_std_and_each_run(corpus, tmp_path, one_thread):
    skel, pred, bt, _ = corpus
    far = _shifted(pred, 0.3, tmp_path / "far.h5")
    section = {"split": "test", "statistics": {"resamples": 200}}
    alone, alone_stats = score_table(skel, {"A": pred, "B": far}, [trained(bt)], section)
    table, stats, seeds = score_tables(skel, {"S": {7: pred, 9: far}, "one": {4: pred}}, [trained(bt)],
                                       section)
    assert list(zip(table.system, table.source, strict=True)) == [
        ("GT", "measured"), ("S", "measured"), ("S", SEED_STD), ("one", "measured"),
        ("mean-pose", "measured")]
    a, b = alone.set_index("system").loc["A"], alone.set_index("system").loc["B"]
    mean, std = table.iloc[1], table.iloc[2]
    for m in ("DTW-MJE", "BLEU-1", "ROUGE", "WER", "total_distance"):
        assert np.isclose(mean[m], (a[m] + b[m]) / 2), m
        assert np.isclose(std[m], abs(a[m] - b[m]) / np.sqrt(2)), m  # ddof 1 of two runs
        assert table.iloc[3][m] == a[m], m  # one seed: exactly the run's scores
    assert a["DTW-MJE"] < b["DTW-MJE"] and std["DTW-MJE"] > 0
    # Each run is a row of the seeds file, with its seed.
    assert list(seeds.columns) == SEED_COLUMNS
    assert list(zip(seeds.system, seeds.seed, strict=True)) == [("S", 7), ("S", 9), ("one", 4)]
    assert np.isclose(seeds.iloc[0]["DTW-MJE"], a["DTW-MJE"])
    assert np.isclose(seeds.iloc[1]["DTW-MJE"], b["DTW-MJE"])
    # Statistics of the seed mean: its interval lies between the runs' own intervals on a shared plan,
    # and a one-seed system's statistics are the run's.
    own = stats[stats.versus == ""].set_index(["system", "metric"])
    ref = alone_stats[alone_stats.versus == ""].set_index(["system", "metric"])
    assert np.isclose(own.loc[("S", "DTW-MJE"), "estimate"], mean["DTW-MJE"])
    for edge in ("ci_low", "ci_high"):
        lo, hi = sorted([ref.loc[("A", "DTW-MJE"), edge], ref.loc[("B", "DTW-MJE"), edge]])
        assert lo <= own.loc[("S", "DTW-MJE"), edge] <= hi
        assert own.loc[("one", "BLEU-1"), edge] == ref.loc[("A", "BLEU-1"), edge]
    assert ("S", "GT") in set(zip(stats.system, stats.versus, strict=True))


def test_both_back_translators_give_their_own_rows_and_the_layout_mismatch_is_said(corpus, tmp_path,
                                                                                    one_thread):
    skel, pred, bt, slrtp_dir = corpus
    slrtp = SlrtpBackTranslator(slrtp_dir)
    table, stats = score_table(skel, {"DARSLP": pred}, [trained(bt), slrtp], {"split": "test"})
    assert list(zip(table.system, table.back_translator_kind, strict=True)) == [
        (s, k) for s in ("GT", "DARSLP", "mean-pose") for k in ("trained", "slrtp")]
    kind = table.back_translator_kind
    ours, official = table[kind == "trained"], table[kind == "slrtp"]
    # pose metrics do not depend on the back-translator; text metrics do
    for metric in ("DTW-MJE", "total_distance", "avg_duration"):
        np.testing.assert_array_equal(ours[metric].to_numpy(), official[metric].to_numpy())
    # each back-translator's rows get intervals and paired tests of their own; pose metrics' intervals
    # are the same (one resampling plan per group, same seed, same pose statistics)
    own = stats[stats["versus"] == ""]
    assert own.groupby("back_translator_kind").size().to_dict() == {"trained": 30, "slrtp": 30}
    assert (own["ci_low"] <= own["estimate"] + 1e-12).all()
    assert (own["estimate"] <= own["ci_high"] + 1e-12).all()
    ci = own.set_index(["back_translator_kind", "system", "metric"])[["ci_low", "ci_high"]]
    pd.testing.assert_frame_equal(ci.loc["trained"].loc[(slice(None), "DTW-MJE"), :],
                                  ci.loc["slrtp"].loc[(slice(None), "DTW-MJE"), :])
    assert (stats.loc[stats.back_translator_kind == "slrtp", "back_translator"]
            .str.startswith("backTranslation_PHIX_model/best.ckpt@").all())
    pairs = stats[stats["versus"] != ""]
    assert set(zip(pairs.back_translator_kind, pairs.system, pairs.versus, strict=True)) >= {
        (k, "DARSLP", "GT") for k in ("trained", "slrtp")}
    assert official["back_translator"].str.startswith("backTranslation_PHIX_model/best.ckpt@").all()
    # our holistic178 poses meet the slrtp178 official model: said on its rows only
    assert (ours["layout_note"] == "").all()
    assert official["layout_note"].str.contains("holistic178 poses meet the slrtp back-translator of "
                                                "layout slrtp178").all()

    ref = tmp_path / "reported.csv"
    ref.write_text("table,dataset_kind,system,DTW-MJE,BLEU-1,BLEU-2,BLEU-3,BLEU-4,ROUGE,chrF,back_translator_kind\n"
                   "table5,phoenix14t,GT,0.0,34.43,22.08,16.13,12.81,35.22,34.62,slrtp\n")
    full = add_reported(table, ref, "table5", "phoenix14t")
    diff = full[full.source == "difference"]
    assert diff["back_translator_kind"].tolist() == ["slrtp"]  # compared with the paper's scorer only
    gt_official = official[official.system == "GT"].iloc[0]
    assert np.isclose(diff.iloc[0]["BLEU-1"], gt_official["BLEU-1"] - 34.43)

    refuse = {"split": "test", "layout_mismatch": "refuse"}
    with pytest.raises(ValueError, match="holistic178 poses meet the slrtp back-translator.*mismatch: warn"):
        score_table(skel, {"DARSLP": pred}, [trained(bt), slrtp], refuse)


def _export(pred_h5, split, tmp_path):
    from pipelib.skeletons.export import export_slrtp

    out = tmp_path / f"ours_{split}.pt"
    export_slrtp(pred_h5, split, out)
    return out


def test_external_predictions_score_like_our_own_written_out_and_read_back(corpus, tmp_path, one_thread):
    import json
    import pickle

    import torch

    skel, pred, bt, _ = corpus
    pt = _export(pred, "test", tmp_path)
    data = torch.load(pt, weights_only=True)
    plain = tmp_path / "plain.pt"  # the PT_baseline form: id -> tensor
    torch.save({k: v["poses_3d"] for k, v in data.items()}, plain)
    js = tmp_path / "preds.json"
    js.write_text(json.dumps({k: v["poses_3d"].tolist() for k, v in data.items()}))
    pkl = tmp_path / "preds.pkl"
    pkl.write_bytes(pickle.dumps({k: {"poses_3d": v["poses_3d"].numpy()} for k, v in data.items()}))
    sources = {"DARSLP": str(pred)}
    for name, path in (("as-pt", pt), ("as-plain-pt", plain), ("as-json", js), ("as-pkl", pkl)):
        sources[name] = PredictionSource(str(path), layout=None if name == "as-pt" else "holistic178")
    table, stats = score_table(skel, sources, [trained(bt)], {"split": "test"})
    table = table.set_index("system")
    metrics = [c for c in COLUMNS if c not in ("system", "source", "back_translator_kind", "back_translator")]
    own = stats[stats["versus"] == ""].set_index(["system", "metric"])[["estimate", "ci_low", "ci_high"]]
    for name in ("as-pt", "as-plain-pt", "as-json", "as-pkl"):
        pd.testing.assert_series_equal(table.loc[name, metrics], table.loc["DARSLP", metrics],
                                       check_names=False)
        # external rows get intervals too: the same as our own, on the shared resampling plan
        pd.testing.assert_frame_equal(own.loc[name], own.loc["DARSLP"])


def test_prediction_frame_rate_from_the_file_else_the_source_else_the_ground_truth(corpus, tmp_path,
                                                                                  one_thread):
    import torch

    skel, pred, bt, _ = corpus
    poses, rates = read_predictions(pred, "test")
    assert set(rates.values()) == {FPS}  # our files record it: scored [::2] like the ground truth
    half = tmp_path / "half.pt"  # the same poses already at half the rate (the evaluator's --fps 12 case)
    torch.save({k: torch.from_numpy(np.ascontiguousarray(v[::2])) for k, v in poses.items()}, half)
    sources = {"DARSLP": str(pred), "half": PredictionSource(str(half), layout="holistic178", fps=FPS / 2),
               "half-unsaid": PredictionSource(str(half), layout="holistic178")}
    table, _ = score_table(skel, sources, [trained(bt)], {"split": "test"})
    table = table.set_index("system")
    pd.testing.assert_series_equal(table.loc["half", METRIC_COLUMNS], table.loc["DARSLP", METRIC_COLUMNS],
                                   check_names=False)
    # no rate given: taken at the ground truth's 30 fps and subsampled again, a quarter of the frames
    assert table.loc["half-unsaid", "avg_duration"] < 0.6 < table.loc["half", "avg_duration"] == 1.0
    with pytest.raises(ValueError, match="fps must be > 0"):
        score_table(skel, {"bad": PredictionSource(str(half), layout="holistic178", fps=0.0)}, [trained(bt)],
                    {"split": "test"})


def test_external_predictions_of_the_other_layout_are_reported(corpus, tmp_path, one_thread):
    import torch

    skel, pred, bt, _ = corpus
    ours = _export(pred, "test", tmp_path)  # records holistic178 in every entry
    pt = tmp_path / "baseline.pt"  # the challenge's form records no layout: slrtp178 unless configured
    torch.save({k: v["poses_3d"] for k, v in torch.load(ours, weights_only=True).items()}, pt)
    with pytest.raises(ValueError, match="the config says layout slrtp178 but .* records holistic178"):
        score_table(skel, {"x": PredictionSource(str(ours), layout="slrtp178")}, [trained(bt)],
                    {"split": "test"})
    table, _ = score_table(skel, {"baseline": PredictionSource(str(pt))}, [trained(bt)], {"split": "test"})
    row = table[table.system == "baseline"].iloc[0]
    assert row["layout"] == "slrtp178"
    assert "slrtp178 poses meet the trained back-translator of layout holistic178" in row["layout_note"]
    assert "slrtp178 poses meet ground truth (DTW-MJE) of layout holistic178" in row["layout_note"]


def test_missing_and_extra_ids_are_listed_in_one_sentence(corpus, tmp_path):
    import torch

    skel, pred, bt, _ = corpus
    data = torch.load(_export(pred, "test", tmp_path), weights_only=True)
    data.pop("test1")
    data["dev7"] = data["test0"]
    bad = tmp_path / "bad.pt"
    torch.save(data, bad)
    with pytest.raises(ValueError) as err:
        score_table(skel, {"b": PredictionSource(str(bad))}, [trained(bt)], {"split": "test"})
    msg = str(err.value)
    assert msg.count(".") <= 4 and "\n" not in msg  # one sentence (the path holds dots)
    assert "1 missing (test1) and 1 extra (dev7)" in msg and "bad.pt" in msg


def test_pickles_with_code_or_tensors_are_refused(corpus, tmp_path):
    import os
    import pickle

    import torch

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "ran"),))

    skel, _, bt, _ = corpus
    for obj in ({"test0": Payload()}, {"test0": torch.zeros(2, 178, 3)}):
        path = tmp_path / "p.pkl"
        path.write_bytes(pickle.dumps(obj))
        with pytest.raises(ValueError, match="refused to unpickle"):
            score_table(skel, {"p": PredictionSource(str(path))}, [trained(bt)], {"split": "test"})
    assert not (tmp_path / "ran").exists()


def test_stage_writes_table_stats_report_and_provenance(corpus, tmp_path, monkeypatch, one_thread):
    skel, pred, bt, slrtp_dir = corpus
    out = tmp_path / "table6.csv"
    ext = {"test": str(_export(pred, "test", tmp_path)), "layout": "holistic178"}
    preds = prediction_sources({"DARSLP": {2: str(pred)}}, {"ext": ext}, "test")
    run_table(str(skel), preds, {"trained": str(bt), "slrtp": str(slrtp_dir)},
              {"split": "test", "beam": 1, "device": "cpu"}, {"kind": "csl_daily"},
              "config/reference/darslp_reported.csv", str(out))
    table = pd.read_csv(out)
    assert {"measured", "reported", "difference"} == set(table["source"])
    assert set(table.loc[table.source == "measured", "system"]) == {"GT", "DARSLP", "ext", "mean-pose"}
    prov = (tmp_path / "table6.csv.prov.json").read_text()
    assert "config.yaml" in prov and "best.ckpt" in prov and "ours_test.pt" in prov
    assert (tmp_path / "table6_stats.csv.prov.json").read_text() == prov
    seeds = pd.read_csv(tmp_path / "table6_seeds.csv")  # our systems' runs, one per seed
    assert list(seeds.columns) == SEED_COLUMNS
    assert seeds[["system", "seed", "back_translator_kind"]].values.tolist() == [
        ["DARSLP", 2, "trained"], ["DARSLP", 2, "slrtp"]]
    assert (tmp_path / "table6_seeds.csv.prov.json").read_text() == prov
    assert stats_path(out) == tmp_path / "table6_stats.csv"
    # n_sequences stays an integer beside the reported rows that have none
    assert out.read_text().splitlines()[1].split(",")[COLUMNS.index("n_sequences")] == "2"
    stats = pd.read_csv(stats_path(out))
    own = stats[stats["versus"].isna()]
    assert own["estimate"].notna().all() and set(own["back_translator_kind"]) == {"trained", "slrtp"}
    assert set(own["system"]) == {"GT", "DARSLP", "ext", "mean-pose"}  # external rows get intervals too

    fusion = tmp_path / "fusion.csv"
    fusion.write_text("slot,backend,valid_fraction\nmediapipe,mediapipe_holistic,1.0\nfused,,1.0\n")
    priors = tmp_path / "priors.h5"
    report = tmp_path / "report.md"
    priors_stub = type("Priors", (), {"region_mean_entropy": lambda self: {"body": 1.0}})()
    monkeypatch.setattr("pipelib.evaluation.stage.load_priors", lambda _: priors_stub)
    run_report(str(out), str(fusion), str(priors), ["a.gif"], str(report), "csl", str(stats_path(out)))
    text = report.read_text()
    for kind in ("trained", "slrtp"):
        ci = own[(own["system"] == "DARSLP") & (own["metric"] == "BLEU-1")
                 & (own["back_translator_kind"] == kind)]
        row = next(ln for ln in text.splitlines() if ln.startswith(f"| DARSLP | measured | {kind} |"))
        assert f"[{ci['ci_low'].item():.2f}, {ci['ci_high'].item():.2f}]" in row
    assert "**Warning:** only 2 sentences" in text and "(p=" in text
    assert "DARSLP vs GT (trained back-translator)" in text and "DARSLP vs GT (slrtp back-translator)" in text
    assert "| GT | reported |" in text and "nan" not in text
    _, vocab, section = load_back_translator(bt)
    assert section["model"]["d_model"] == 32 and len(vocab) > 4  # config recorded with the model
    with pytest.raises(ValueError, match="has no file for split 'test'"):
        prediction_sources({}, {"ext": {"dev": "x.pt"}}, "test")


def test_frame_rates_come_from_the_files(corpus, tmp_path):
    skel, pred, _, _ = corpus
    assert {s.fps for s in read_split(skel, "test")} == {FPS}
    assert set(read_predictions(pred, "test")[1].values()) == {FPS}
    bare = tmp_path / "bare.h5"  # a skeleton file written before frame rates were recorded
    with shards.ShardWriter(bare) as w:
        w.write(shards.VideoArrays("v", np.zeros((2, 534), np.float32), np.ones(2, bool),
                                   extras={"joint_mask": np.ones((2, 178), bool)}, attrs={"split": "test"}))
    with pytest.raises(ValueError, match="records no frame rate .* re-run the skeletons rule"):
        read_split(bare, "test")


def test_an_ablation_table_scores_its_rows_on_dev_beside_the_papers(corpus, tmp_path, one_thread):
    from pipelib.evaluation.ablations import run_ablation_table

    skel, pred, bt, _ = corpus
    out = tmp_path / "ablations" / "table3.csv"
    out.parent.mkdir()
    label = "Heavy Hand Emphasis (1-14-10-2)"
    run_ablation_table(str(skel), {label: {2: str(pred)}}, {"trained": str(bt)}, {"beam": 1, "device": "cpu"},
                       "dev", {"kind": "phoenix14t"}, "config/reference/darslp_ablations.csv", str(out))
    table = pd.read_csv(out)
    measured = table[table.source == "measured"]
    assert measured.system.tolist() == ["GT", label, "mean-pose"] and (measured.split == "dev").all()
    reported = table[table.source == "reported"].set_index("system")
    assert set(reported.index) == {"Uniform (1-1-1-1)", "Moderate Hand Emphasis (1-7-5-2)", label}
    assert reported.loc[label, "BLEU-4"] == 8.66 and reported.loc[label, "ROUGE"] == 22.98
    diff = table[(table.source == "difference") & (table.system == label)].iloc[0]
    assert np.isclose(diff["BLEU-1"], measured.set_index("system").loc[label, "BLEU-1"] - 24.78)
    assert all((tmp_path / f"ablations/table3_{kind}.csv").is_file() for kind in ("stats", "seeds"))
    # The demo's corpus is synthetic: no paper rows there.
    run_ablation_table(str(skel), {label: {2: str(pred)}}, {"trained": str(bt)}, {"beam": 1, "device": "cpu"},
                       "dev", {"kind": "synthetic"}, "config/reference/darslp_ablations.csv", str(out))
    assert set(pd.read_csv(out).source) == {"measured"}
