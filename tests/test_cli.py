"""The `pipelib` command line: export (.pose folders, SLRTP .pt), score, audit compare and info, each on
small files built here."""

import datetime
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import slrtp_helpers as sh
import torch

from pipelib import provenance
from pipelib.cli import main
from pipelib.io import shards
from pipelib.skeletons.pose_io import read_pose_skeleton
from pipelib.skeletons.read import read_split

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["regen im norden", "sonne im sueden", "wind im westen"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Ground-truth skeletons (train/dev/test at 25 fps, with provenance) and predictions of dev/test."""
    tmp = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(1)
    skel = tmp / "skeletons.h5"
    prov = provenance.collect({"skeletons": {"max_gap": 2}}, seed=7)
    videos = [("train", i) for i in range(4)] + [(s, i) for s in ("dev", "test") for i in range(3)]
    with shards.ShardWriter(skel, attrs={"skeleton": "holistic178", "provenance": prov}) as w:
        for split, i in videos:
            t = 10 + 2 * i
            poses = (rng.normal(size=(t, 178, 3)) * 0.1 + i).astype(np.float32)
            mask = np.ones((t, 178), bool)
            mask[0, 60:70] = False
            w.write(shards.VideoArrays(f"{split}{i}", poses.reshape(t, -1), np.ones(t, bool),
                                       extras={"joint_mask": mask},
                                       attrs={"split": split, "text": TEXTS[i % 3], "gloss": "G",
                                              "signer": "S1", "fps": 25.0}))
    pred = tmp / "predictions_phase1.h5"
    with shards.ShardWriter(pred, attrs={"skeleton": "holistic178"}) as w:
        for split in ("dev", "test"):
            for s in read_split(skel, split):
                p = s.poses + 0.05
                w.write(shards.VideoArrays(s.video_id, p.reshape(len(p), -1), np.ones(len(p), bool),
                                           attrs={"split": split, "text": s.text, "fps": 25.0}))
    return skel, pred


def test_console_script_is_declared_and_runs_as_a_module():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"pipelib": "pipelib.cli:main"}
    proc = subprocess.run([sys.executable, "-m", "pipelib", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0
    assert all(cmd in proc.stdout for cmd in ("export", "score", "audit", "info"))


def test_export_pose_folder_round_trips_and_info_reads_it(corpus, tmp_path, capsys):
    skel, _ = corpus
    out = tmp_path / "poses"
    assert main(["export", str(skel), str(out), "--split", "test"]) == 0
    assert "exported 3 sequences" in capsys.readouterr().out
    corpus_csv = pd.read_csv(out / "corpus.csv", sep="|")
    assert corpus_csv["name"].tolist() == ["test0", "test1", "test2"]
    for s in read_split(skel, "test"):
        poses, joint_mask, fps = read_pose_skeleton(out / f"{s.video_id}.pose")
        np.testing.assert_allclose(poses[joint_mask], s.poses[s.joint_mask], atol=1e-6)
        assert (joint_mask == s.joint_mask).all() and fps == 25.0

    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "pose_files dataset" in text and "pose_files: 3" in text and '"test": 3' in text
    assert "provenance (from provenance.json)" in text


def test_export_pt_needs_exactly_one_split(corpus, tmp_path, capsys):
    _, pred = corpus
    out = tmp_path / "DARSLP_test.pt"
    assert main(["export", str(pred), str(out)]) == 2
    assert "exactly one --split" in capsys.readouterr().err and not out.exists()
    assert main(["export", str(pred), str(out), "--split", "test"]) == 0
    data = torch.load(out, weights_only=True)
    assert sorted(data) == ["test0", "test1", "test2"]
    assert data["test1"]["poses_3d"].shape == (12, 178, 3) and data["test1"]["layout"] == "holistic178"


def test_score_gives_pose_metrics_without_a_back_translator_and_writes_stats_and_provenance(
        corpus, tmp_path, capsys):
    skel, pred = corpus
    pt = tmp_path / "ours_test.pt"
    assert main(["export", str(pred), str(pt), "--split", "test"]) == 0
    out = tmp_path / "scores.csv"
    rc = main(["score", str(skel), f"h5={pred}", f"pt={pt}", "--resamples", "50", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "DTW-MJE" in printed and "BLEU-4" not in printed  # no back-translator: no text metrics
    table = pd.read_csv(out).set_index("system")
    assert table.index.tolist() == ["GT", "h5", "pt", "mean-pose"]
    assert (table["back_translator_kind"] == "none").all() and table["BLEU-4"].isna().all()
    assert table.loc["GT", "DTW-MJE"] == 0 < table.loc["h5", "DTW-MJE"] < table.loc["mean-pose", "DTW-MJE"]
    # the same poses, in our HDF5 and in the evaluator's .pt format, score the same
    pd.testing.assert_series_equal(table.loc["h5", ["DTW-MJE", "total_distance", "avg_duration"]],
                                   table.loc["pt", ["DTW-MJE", "total_distance", "avg_duration"]],
                                   check_names=False)
    stats = pd.read_csv(tmp_path / "scores_stats.csv")
    assert set(stats["metric"]) == {"DTW-MJE", "total_distance", "avg_duration"}
    assert ((stats["system"] == "pt") & (stats["versus"] == "h5")).any()
    prov = json.loads((tmp_path / "scores.csv.prov.json").read_text())
    assert str(skel) in prov["inputs"] and prov["config"]["statistics"]["resamples"] == 50


def test_score_with_the_slrtp_back_translator_adds_its_text_metrics(corpus, tmp_path):
    skel, pred = corpus
    model_dir = sh.write_model_dir(tmp_path / "backTranslation_PHIX_model")
    out = tmp_path / "t.csv"
    assert main(["score", str(skel), f"ours={pred}", "--back-translator", f"slrtp={model_dir}",
                 "--resamples", "20", "--device", "cpu", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert (table["back_translator_kind"] == "slrtp").all() and len(table) == 3
    assert np.isfinite(table[["BLEU-1", "ROUGE", "chrF", "WER", "DTW-MJE"]].to_numpy()).all()
    assert table["back_translator"].str.contains("backTranslation_PHIX_model").all()


def test_score_refuses_bad_inputs_in_one_line(corpus, tmp_path, capsys):
    skel, pred = corpus
    partial = tmp_path / "partial.json"
    poses = {s.video_id: s.poses.tolist() for s in read_split(skel, "test")[:2]}
    partial.write_text(json.dumps(poses))
    assert main(["score", str(skel), str(partial)]) == 2
    err = capsys.readouterr().err
    assert "1 missing (test2)" in err and err.count("\n") == 1
    assert main(["score", str(skel), str(pred), "--back-translator", "trained"]) == 2
    assert "give KIND=PATH" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "nope.h5"), str(pred)]) == 2
    assert "do not exist" in capsys.readouterr().err


def test_audit_compare_is_the_audit_command(tmp_path, capsys):
    for run, value in (("a", 1.0), ("b", 1.0), ("c", 2.0)):
        (tmp_path / run / "results").mkdir(parents=True)
        pd.DataFrame({"x": [value]}).to_csv(tmp_path / run / "results/t.csv", index=False)
    assert main(["audit", "compare", str(tmp_path / "a/results"), str(tmp_path / "b/results")]) == 0
    assert main(["audit", "compare", str(tmp_path / "a/results"), str(tmp_path / "c/results")]) == 1
    assert "mismatch" in capsys.readouterr().out


def test_info_on_a_shard_reads_videos_splits_shapes_and_provenance(corpus, capsys):
    skel, _ = corpus
    assert main(["info", str(skel), "--json"]) == 0
    desc = json.loads(capsys.readouterr().out)
    facts = desc["facts"]
    assert facts["videos"] == 10 and facts["splits"] == {"dev": 3, "test": 3, "train": 4}
    assert facts["feature_width"] == [534] and facts["frames_per_video"] == "10-16"
    assert facts["extras"] == ["joint_mask"] and facts["attributes"]["skeleton"] == "holistic178"
    assert desc["provenance_from"] == "the file itself" and desc["provenance"]["seed"] == 7


def test_info_on_parquet_csv_checkpoint_slrtp_json_and_refused_files(corpus, tmp_path, capsys):
    from pipelib.cli.info import describe
    from pipelib.training.checkpoint import save_checkpoint

    prov = {"config_sha256": "f" * 64, "seed": 3, "inputs": {"a": "x"}, "packages": {"torch": "2"}}
    table = pa.table({"id": ["a", "b", "c"], "split": ["train", "test", "test"]})
    table = table.replace_schema_metadata({b"pipelib.provenance": json.dumps(prov).encode()})
    pq.write_table(table, tmp_path / "manifest.parquet")
    d = describe(tmp_path / "manifest.parquet")
    assert d["facts"]["rows"] == 3 and d["facts"]["splits"] == {"test": 2, "train": 1}
    assert d["provenance"]["seed"] == 3

    csv = tmp_path / "table5.csv"
    pd.DataFrame({"system": ["GT", "DARSLP"], "BLEU-4": [1.0, 0.5]}).to_csv(csv, index=False)
    provenance.sidecar_path(csv).write_text(json.dumps(prov))
    d = describe(csv)
    assert d["facts"]["systems"] == ["GT", "DARSLP"] and d["provenance_from"].endswith("table5.csv.prov.json")

    ckpt = tmp_path / "best.pt"
    save_checkpoint(ckpt, torch.nn.Linear(3, 2), {"model": {"d": 3}}, epoch=4, best_metric=0.25,
                    best_epoch=3, meta={"provenance": prov})
    d = describe(ckpt)
    assert d["facts"]["parameters"] == 8 and d["facts"]["epoch"] == 4 and d["facts"]["best_epoch"] == 3
    assert d["facts"]["model_class"].endswith("Linear") and d["provenance"]["seed"] == 3

    slrtp = tmp_path / "dev.pt"
    torch.save({"v1": {"name": "v1", "text": "a", "poses_3d": torch.zeros(5, 178, 3)},
                "v2": {"name": "v2", "text": "b", "poses_3d": torch.zeros(7, 178, 3)}}, slrtp)
    d = describe(slrtp)
    assert d["facts"]["sequences"] == 2 and d["facts"]["frames_per_sequence"] == "5-7"
    assert d["facts"]["point_shape"] == [[178, 3]] and d["provenance"] is None

    torch.save({"obj": datetime.timedelta(days=1)}, tmp_path / "pickled.pt")  # weights_only refuses it
    d = describe(tmp_path / "pickled.pt")
    assert "not loaded" in d["facts"]["kind"]

    (tmp_path / "provenance.json").write_text(json.dumps(prov))
    assert describe(tmp_path / "provenance.json")["facts"]["kind"] == "provenance record"
    assert main(["info", str(tmp_path / "provenance.json")]) == 0
    text = capsys.readouterr().out
    assert "config_sha256: ffffffffffffffff" in text and "inputs: 1" in text
    assert main(["info", str(tmp_path / "nothing.h5")]) == 2
    assert "does not exist" in capsys.readouterr().err
