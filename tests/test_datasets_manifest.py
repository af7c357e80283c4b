"""Manifest building, shard assignment, parquet round trip with provenance, reject-fraction check."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelib.datasets.errors import ManifestError
from pipelib.datasets.manifest import (
    assign_shards,
    build_manifest,
    check_rejects,
    read_manifest,
    read_provenance,
    write_tables,
)
from pipelib.datasets.records import MANIFEST_COLUMNS, REJECTED_COLUMNS

HEADER = "name|video|start|end|speaker|orth|translation"


def make_phoenix(parent: Path, rows: dict[str, list[tuple[str, int]]]) -> Path:
    """Minimal PHOENIX-2014-T tree: rows[split] = [(name, n_frames)], n_frames 0 = no folder."""
    corpus = parent / "PHOENIX-2014-T"
    (corpus / "annotations" / "manual").mkdir(parents=True)
    for split in ("train", "dev", "test"):
        base = corpus / "features" / "fullFrame-210x260px" / split
        base.mkdir(parents=True)
        lines = [HEADER]
        for name, n in rows.get(split, []):
            lines.append(f"{name}|{name}/1/*.png|-1|-1|Signer01|A B|a b")
            if n:
                (base / name).mkdir()
            for i in range(1, n + 1):
                cv2.imwrite(str(base / name / f"images{i:04d}.png"), np.full((6, 5, 3), i, np.uint8))
        csv = corpus / "annotations" / "manual" / f"PHOENIX-2014-T.{split}.corpus.csv"
        csv.write_text("\n".join(lines))
    return parent


ROWS = {"test": [("t1", 2)], "train": [("z", 5), ("a", 1), ("m", 3), ("gone", 0)], "dev": [("d", 4)]}


def test_assign_shards_balances_and_fills_every_shard():
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 300, size=101)
    shards = assign_shards(counts, 7)
    loads = np.bincount(shards, weights=counts, minlength=7)
    assert shards.dtype == np.int64 and set(shards) == set(range(7))
    assert loads.max() - loads.min() <= counts.max()
    assert loads.max() <= 1.1 * counts.sum() / 7  # far better than contiguous chunks would be


def test_assign_shards_is_deterministic_and_order_free_given_ids():
    counts = [5, 5, 5, 3, 3, 9, 0, 0]
    ids = [f"v{i}" for i in range(len(counts))]
    first = assign_shards(counts, 3, ids=ids)
    assert np.array_equal(first, assign_shards(counts, 3, ids=ids))
    perm = [7, 2, 5, 0, 3, 6, 1, 4]
    shuffled = assign_shards([counts[i] for i in perm], 3, ids=[ids[i] for i in perm])
    assert dict(zip([ids[i] for i in perm], shuffled, strict=True)) == dict(zip(ids, first, strict=True))
    assert first[5] == 0  # the longest goes first, to shard 0


def test_assign_shards_zero_frames_and_few_entries():
    assert sorted(assign_shards([0, 0, 0], 3)) == [0, 1, 2]  # ties go to empty shards first
    assert list(assign_shards([4, 2], 5)) == [0, 1]
    assert assign_shards([], 3).shape == (0,)
    with pytest.raises(ValueError):
        assign_shards([1], 0)


def test_build_manifest_columns_order_shards_and_rejects(tmp_path):
    make_phoenix(tmp_path, ROWS)
    manifest, rejected = build_manifest("ph", "phoenix14t", tmp_path, n_shards=2, verify="full", threads=2)
    assert tuple(manifest.columns) == MANIFEST_COLUMNS and tuple(rejected.columns) == REJECTED_COLUMNS
    assert list(zip(manifest["split"], manifest["id"], strict=True)) == [
        ("train", "a"), ("train", "m"), ("train", "z"), ("dev", "d"), ("test", "t1")]
    assert list(manifest["frame_count"]) == [1, 3, 5, 4, 2]
    assert manifest["frame_count"].dtype == np.int64 and manifest["shard"].dtype == np.int64
    assert set(manifest["shard"]) == {0, 1}
    loads = manifest.groupby("shard")["frame_count"].sum()
    assert sorted(loads) == [7, 8]
    assert all(Path(s).is_absolute() and Path(s).is_dir() for s in manifest["source"])
    assert list(rejected["id"]) == ["gone"] and "does not exist" in rejected["reason"][0]
    again = build_manifest("ph", "phoenix14t", tmp_path, n_shards=2, verify="quick", threads=1)[0]
    pd.testing.assert_frame_equal(manifest, again)


def test_duplicate_and_unusable_ids_are_rejected(tmp_path):
    make_phoenix(tmp_path, {"train": [("a", 2)], "test": [("a", 2)], "dev": [("b", 1)]})
    manifest, rejected = build_manifest("ph", "synthetic", tmp_path, n_shards=1)
    assert list(manifest["split"]) == ["train", "dev"]
    assert rejected["split"][0] == "test"
    assert rejected["reason"][0] == "id 'a' is already used by an entry of split 'train'"


def test_build_manifest_errors(tmp_path):
    make_phoenix(tmp_path, {})
    with pytest.raises(ManifestError, match="lists no entries"):
        build_manifest("ph", "phoenix14t", tmp_path, n_shards=1)
    with pytest.raises(ValueError, match="datasets.ph.kind"):
        build_manifest("ph", "phoenix", tmp_path, n_shards=1)
    with pytest.raises(ValueError, match="manifest.verify"):
        build_manifest("ph", "phoenix14t", tmp_path, n_shards=1, verify="none")


def test_write_and_read_tables_with_provenance(tmp_path):
    make_phoenix(tmp_path / "data", ROWS)
    manifest, rejected = build_manifest("ph", "phoenix14t", tmp_path / "data", n_shards=2)
    prov = {"config_sha256": "abc", "inputs": {"x": "dir:1"}}
    out = tmp_path / "out"
    write_tables(manifest, rejected, out / "manifest.parquet", out / "rejected.parquet", prov)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.parquet", "rejected.parquet"]  # no temp files
    pd.testing.assert_frame_equal(read_manifest(out / "manifest.parquet"), manifest)
    back = read_manifest(out / "rejected.parquet")
    assert list(back["reason"]) == list(rejected["reason"])
    assert read_provenance(out / "manifest.parquet") == prov
    meta = pq.read_schema(out / "rejected.parquet").metadata
    assert json.loads(meta[b"pipelib.provenance"]) == prov
    empty = rejected.iloc[0:0]
    write_tables(manifest, empty, out / "m2.parquet", out / "r2.parquet", prov)
    assert len(read_manifest(out / "r2.parquet")) == 0
    assert pq.read_schema(out / "r2.parquet").field("reason").type == "string"


def test_check_rejects_message_and_tables_kept(tmp_path):
    make_phoenix(tmp_path / "data", {"train": [("a", 2), ("b", 0), ("c", 0)], "dev": [("d", 1)]})
    manifest, rejected = build_manifest("ph", "phoenix14t", tmp_path / "data", n_shards=1)
    rej_path = tmp_path / "out" / "rejected.parquet"
    write_tables(manifest, rejected, tmp_path / "out" / "manifest.parquet", rej_path, {})
    n_total = len(manifest) + len(rejected)
    with pytest.raises(ManifestError) as info:
        check_rejects(len(rejected), n_total, 0.25, rej_path)
    msg = str(info.value)
    assert "2 of 4 entries (50.0%) were rejected" in msg
    assert "manifest.max_reject_fraction = 0.25" in msg and str(rej_path) in msg
    assert set(read_manifest(rej_path)["id"]) == {"b", "c"}  # written before the check failed
    check_rejects(len(rejected), n_total, 0.5, rej_path)  # at the limit: accepted
    check_rejects(0, 0, 0.0, rej_path)
    with pytest.raises(ValueError, match="max_reject_fraction"):
        check_rejects(0, 1, 1.5, rej_path)
