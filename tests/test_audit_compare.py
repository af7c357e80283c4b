"""Audit comparators: provenance-only differences pass, a changed value fails, tolerances apply."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from pipelib.audit.__main__ import main as audit_cli
from pipelib.audit.compare import compare_paths, compare_trees
from pipelib.audit.values import Tolerance
from pipelib.io.shards import ShardWriter, VideoArrays

TRAIN_TOL = Tolerance(rtol=1e-5, atol=1e-6)


def _shard(path, features, host):
    prov = {"host": host, "created_utc": host, "config_sha256": "abc"}
    with ShardWriter(path, attrs={"provenance": prov, "slot": "dwpose"}) as w:
        w.write(VideoArrays("v1", features, np.ones(len(features), bool), extras={"xy": features[:, :2]}))
        w.fail("v2", "no frames")


def test_hdf5_provenance_only_difference_matches_and_one_flipped_value_fails(tmp_path):
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    _shard(tmp_path / "a.h5", x, "node1")
    _shard(tmp_path / "b.h5", x, "node2")
    same = compare_paths(tmp_path / "a.h5", tmp_path / "b.h5")
    assert (same.kind, same.status, same.max_abs_diff, same.tolerance) == ("hdf5", "match", 0.0, "bitwise")

    y = x.copy()
    y[2, 3] = np.nextafter(y[2, 3], np.float32(np.inf))  # one ulp
    _shard(tmp_path / "c.h5", y, "node1")
    diff = compare_paths(tmp_path / "a.h5", tmp_path / "c.h5")
    assert diff.status == "mismatch"
    assert "/videos/v1/features: 1 of 20 values differ" in diff.detail
    assert 0 < diff.max_abs_diff < 1e-6
    assert compare_paths(tmp_path / "a.h5", tmp_path / "c.h5", tolerance=TRAIN_TOL).status == "match"


def test_hdf5_changed_attribute_or_failure_table_fails(tmp_path):
    x = np.zeros((3, 2), np.float32)
    _shard(tmp_path / "a.h5", x, "n")
    with ShardWriter(tmp_path / "b.h5", attrs={"provenance": {}, "slot": "sapiens"}) as w:
        w.write(VideoArrays("v1", x, np.ones(3, bool), extras={"xy": x[:, :2]}))
    result = compare_paths(tmp_path / "a.h5", tmp_path / "b.h5")
    assert result.status == "mismatch"
    assert "/@/slot: 'dwpose' vs 'sapiens'" in result.detail
    assert "failures/video_id" in result.detail


def _checkpoint(path, weight, seconds, run_id, loss=0.5):
    torch.save({"model": {"w": weight}, "epoch": 3, "best_metric": loss,
                "history": [{"epoch": 1, "dev/loss": loss, "seconds": seconds}],
                "meta": {"provenance": {"created_utc": seconds}, "tracker_run_id": run_id,
                         "stopped_early": False}}, path)


def test_checkpoint_ignores_times_and_run_ids_and_honours_the_training_tolerance(tmp_path):
    w = torch.linspace(-1, 1, 12).reshape(3, 4)
    _checkpoint(tmp_path / "a.pt", w, 1.5, "run-a")
    _checkpoint(tmp_path / "b.pt", w.clone(), 9.25, "run-b")
    assert compare_paths(tmp_path / "a.pt", tmp_path / "b.pt").status == "match"

    _checkpoint(tmp_path / "near.pt", w + 1e-7, 1.5, "run-a", loss=0.5 + 1e-8)
    bitwise = compare_paths(tmp_path / "a.pt", tmp_path / "near.pt")
    assert bitwise.status == "mismatch" and "/model/w" in bitwise.detail and "best_metric" in bitwise.detail
    tolerant = compare_paths(tmp_path / "a.pt", tmp_path / "near.pt", tolerance=TRAIN_TOL)
    assert tolerant.status == "match" and tolerant.tolerance == "rtol=1e-05,atol=1e-06"
    assert 0 < tolerant.max_abs_diff < 1e-6

    _checkpoint(tmp_path / "far.pt", w + 1e-3, 1.5, "run-a")
    far = compare_paths(tmp_path / "a.pt", tmp_path / "far.pt", tolerance=TRAIN_TOL)
    assert far.status == "mismatch" and "12 of 12 values outside rtol=1e-05,atol=1e-06" in far.detail


def test_tables_ignore_parquet_metadata_but_not_cells(tmp_path):
    df = pd.DataFrame({"id": ["a", "b"], "frames": [10, 12], "fps": [25.0, 12.5]})
    for name, host in (("a", "x"), ("b", "y")):
        t = pa.Table.from_pandas(df).replace_schema_metadata({"provenance": json.dumps({"host": host})})
        pq.write_table(t, tmp_path / f"{name}.parquet")
    assert compare_paths(tmp_path / "a.parquet", tmp_path / "b.parquet").status == "match"
    pq.write_table(pa.Table.from_pandas(df.assign(frames=[10, 13])), tmp_path / "c.parquet")
    bad = compare_paths(tmp_path / "a.parquet", tmp_path / "c.parquet")
    assert bad.status == "mismatch" and "column frames: 1 of 2 values differ" in bad.detail

    (tmp_path / "a.csv").write_text("system,BLEU-4\nGT,12.5\n")
    (tmp_path / "b.csv").write_text("system,BLEU-4\nGT,12.50\n")
    (tmp_path / "c.csv").write_text("system,BLEU-4\nGT,12.5000001\n")
    assert compare_paths(tmp_path / "a.csv", tmp_path / "a.csv").status == "match"
    # bitwise: the spelling of a number counts
    assert compare_paths(tmp_path / "a.csv", tmp_path / "b.csv").status == "mismatch"
    assert compare_paths(tmp_path / "a.csv", tmp_path / "c.csv", tolerance=TRAIN_TOL).status == "match"
    assert compare_paths(tmp_path / "a.csv", tmp_path / "c.csv").status == "mismatch"


def test_missing_files_are_reported_and_sidecars_skipped(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"k": 1, "created_utc": "t1"}))
    (tmp_path / "b.json").write_text(json.dumps({"k": 1, "created_utc": "t2"}))
    assert compare_paths(tmp_path / "a.json", tmp_path / "b.json").status == "match"
    gone = compare_paths(tmp_path / "a.json", tmp_path / "nothing.json", name="out/x.json")
    assert (gone.output, gone.status, gone.detail) == ("out/x.json", "missing", "no re-run file")
    side = compare_paths(tmp_path / "a.json", tmp_path / "b.json", name="t.csv.prov.json")
    assert side.status == "skipped" and "provenance" in side.detail


def test_outputs_whose_provenance_says_measurement_are_skipped(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for run, fps in (("a", 1402.0), ("b", 1388.5)):
        (tmp_path / run / "eff.csv").write_text(f"path,fps\nlatents,{fps}\n")
    assert compare_paths(tmp_path / "a/eff.csv", tmp_path / "b/eff.csv").status == "mismatch"
    (tmp_path / "a/eff.csv.prov.json").write_text(json.dumps({"deterministic": False}))
    result = compare_paths(tmp_path / "a/eff.csv", tmp_path / "b/eff.csv")
    assert result.status == "skipped" and "measurement" in result.detail


def _tree(root, png=b"\x89PNG-1", extra=False):
    (root / "run/mlartifacts/abc123").mkdir(parents=True)
    (root / "run/mlartifacts/abc123/history.csv").write_text("x\n1\n")
    (root / "run/mlflow.db").write_bytes(root.name.encode())
    (root / "fig.png").write_bytes(png)
    (root / "run/history.csv").write_text(f"epoch,loss,seconds\n1,0.5,{len(root.name)}\n")
    if extra:
        (root / "only_here.txt").write_text("x")


def test_compare_trees_and_cli(tmp_path, capsys):
    for name in ("a", "bb"):
        (tmp_path / name).mkdir()
    _tree(tmp_path / "a")
    _tree(tmp_path / "bb")
    results = {r.output: r for r in compare_trees(tmp_path / "a", tmp_path / "bb")}
    assert results["fig.png"].status == "match" and results["run/history.csv"].status == "match"
    assert results["run/mlflow.db"].status == "skipped"
    out_csv = str(tmp_path / "t.csv")
    assert audit_cli(["compare", str(tmp_path / "a"), str(tmp_path / "bb"), "--out", out_csv]) == 0
    assert set(pd.read_csv(tmp_path / "t.csv").status) == {"match", "skipped"}

    (tmp_path / "c").mkdir()
    _tree(tmp_path / "c", png=b"\x89PNG-2", extra=True)
    assert audit_cli(["compare", str(tmp_path / "a"), str(tmp_path / "c")]) == 1
    out = capsys.readouterr().out
    assert "mismatch: fig.png bytes differ" in out and "missing: only_here.txt no recorded file" in out


def test_directory_outputs_compare_file_by_file(tmp_path):
    for name, value in (("a", "1"), ("b", "1"), ("c", "2")):
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "sub/x.txt").write_text(value)
    assert compare_paths(tmp_path / "a", tmp_path / "b").status == "match"
    bad = compare_paths(tmp_path / "a", tmp_path / "c")
    assert bad.kind == "directory" and bad.status == "mismatch" and "sub/x.txt" in bad.detail


@pytest.mark.parametrize("d, message", [({"rtol": -1}, "must be >= 0"), ({"rel": 1}, "unknown key")])
def test_tolerance_config_errors_name_the_key(d, message):
    with pytest.raises(ValueError, match=message) as err:
        Tolerance.from_dict(d)
    assert "audit.tolerance" in str(err.value)
