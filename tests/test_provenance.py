"""Provenance records: stable config hashes, input checksums, code and package versions."""

from pipelib import provenance


def test_config_hash_ignores_key_order_but_not_values():
    a = provenance.config_hash({"x": 1, "y": {"b": 2, "a": 3}})
    b = provenance.config_hash({"y": {"a": 3, "b": 2}, "x": 1})
    c = provenance.config_hash({"y": {"a": 3, "b": 2}, "x": 2})
    assert a == b != c


def test_collect_records_inputs_seed_code_packages(tmp_path, monkeypatch):
    f = tmp_path / "in.txt"
    f.write_text("abc")
    d = tmp_path / "frames"
    d.mkdir()
    (d / "images0001.png").write_bytes(b"12")
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    rec = provenance.collect({"k": 1}, inputs=[f, d], seed=7)
    assert rec["inputs"][str(f)] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert rec["inputs"][str(d)].startswith("dir:")
    assert rec["seed"] == 7 and rec["slurm_job_id"] == "4242"
    assert rec["config_sha256"] == provenance.config_hash({"k": 1})
    assert set(rec["code"]) == {"commit", "dirty"}
    assert "numpy" in rec["packages"] and "python" in rec["packages"]
    (d / "images0001.png").write_bytes(b"123")
    assert provenance.collect({}, inputs=[d])["inputs"][str(d)] != rec["inputs"][str(d)]
