"""Device-aware comparison with constructed provenance: what the runtime record holds, what each pair
of settings promises, how the audit and the two-run comparison report it."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pipelib import provenance
from pipelib.audit import stage
from pipelib.audit.__main__ import main as audit_cli
from pipelib.audit.device import Setting, expect
from pipelib.audit.rerun import AuditError, Job
from pipelib.audit.runs import compare_runs
from pipelib.audit.stage import SampledJob, compare_job, run_compare
from pipelib.audit.summary import append_section, markdown_section, summary_paragraph
from pipelib.audit.values import Tolerance
from pipelib.training.seeding import deterministic_algorithms

TOL = Tolerance(rtol=1e-5, atol=1e-6)
H100 = {"device": "cuda", "device_model": "NVIDIA H100 80GB HBM3", "cuda": "12.8", "cudnn": 91002,
        "deterministic": False, "cudnn_deterministic": False, "cudnn_benchmark": False, "threads": 8}
XEON = {"device": "cpu", "device_model": "Intel(R) Xeon(R) Gold 6338", "cuda": "12.8", "cudnn": None,
        "deterministic": True, "cudnn_deterministic": True, "cudnn_benchmark": False, "threads": 2,
        "cpu_capability": "AVX512"}


def _prov(runtime=None, estimator=None, config="c1", inputs=None):
    prov = {"config_sha256": config, "inputs": inputs or {}, "code": {"commit": "abc", "dirty": False},
            "packages": {"torch": "2.13.0"}, "host": "somewhere"}
    if runtime is not None:
        prov["runtime"] = runtime
    if estimator is not None:
        prov["estimator"] = estimator
    return prov


def _setting(**runtime):
    return Setting.from_provenance(_prov(runtime=runtime))


def test_runtime_record_reads_torch_flags_threads_and_the_device_used():
    rec = provenance.collect({"k": 1})["runtime"]
    assert rec["device"] == "cpu" and rec["device_model"] and rec["cpus"] >= 1
    assert rec["threads"] == torch.get_num_threads()  # torch is imported here
    assert rec["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert rec["cuda"] == torch.version.cuda
    with deterministic_algorithms(True):
        inside = provenance.runtime_environment()
    assert inside["deterministic"] and inside["cudnn_deterministic"] and not inside["cudnn_benchmark"]
    assert provenance.runtime_environment()["deterministic"] is torch.are_deterministic_algorithms_enabled()
    told = provenance.runtime_environment("cuda:0")
    assert told["device"] == "cuda"
    if not torch.cuda.is_available():  # no GPU to name: the CPU's name must not pose as one
        assert told["device_model"] is None


def test_setting_reads_runtime_and_estimator_records():
    gpu = Setting.from_provenance(_prov(runtime=H100))
    assert (gpu.device, gpu.device_model, gpu.cuda, gpu.deterministic, gpu.threads) == (
        "cuda", "NVIDIA H100 80GB HBM3", "12.8", False, 8)
    cpu = Setting.from_provenance(_prov(runtime=XEON))
    assert cpu.device == "cpu" and cpu.cuda is None and cpu.deterministic  # CUDA build, CPU compute
    # An ONNX Runtime estimator on the GPU while torch stayed on the CPU: the estimator's device counts,
    # and the CPU's name is not the GPU's.
    ort = Setting.from_provenance(_prov(runtime=XEON, estimator={
        "device": "cuda", "provider": "CUDAExecutionProvider", "precision": "fp16", "batch_size": 16}))
    assert (ort.device, ort.device_model, ort.cpu_capability, ort.provider, ort.precision,
            ort.batch_size) == ("cuda", None, None, "CUDAExecutionProvider", "fp16", 16)
    assert cpu.cpu_capability == "AVX512" and gpu.cpu_capability is None
    assert Setting.from_provenance(_prov()) is None and Setting.from_provenance(None) is None


def test_expectations_of_pairs_of_settings():
    cpu = _setting(**XEON)
    assert expect(cpu, cpu, training=False, tolerance=TOL).case == "bitwise"
    assert expect(cpu, cpu, training=True, tolerance=TOL).tolerance.bitwise  # deterministic training
    loose = _setting(**{**XEON, "deterministic": False})
    training = expect(loose, loose, training=True, tolerance=TOL)
    assert training.case == "tolerance" and training.tolerance == TOL and "deterministic" in training.reason
    threads = expect(cpu, _setting(**{**XEON, "threads": 4}), training=False, tolerance=TOL)
    assert threads.case == "tolerance" and threads.reason == "threads 2 vs 4"
    # One CPU name, other kernels (a node without AVX-512, or ATEN_CPU_CAPABILITY=avx2): on the demo the
    # back-translator then trains other weights (dev BLEU-4 50.33 vs 50.53), so no bitwise promise.
    kernels = expect(cpu, _setting(**{**XEON, "cpu_capability": "AVX2"}), training=True, tolerance=TOL)
    assert kernels.case == "tolerance" and kernels.reason == "CPU kernels AVX512 vs AVX2"

    gpu = _setting(**H100)
    nondet = expect(gpu, gpu, training=False, tolerance=TOL)
    assert nondet.case == "tolerance" and "cuda without deterministic algorithms" in nondet.reason
    det = _setting(**{**H100, "deterministic": True, "cudnn_deterministic": True})
    assert expect(det, det, training=True, tolerance=TOL).case == "bitwise"
    other_gpu = _setting(**{**H100, "deterministic": True, "cudnn_deterministic": True,
                            "device_model": "H200"})
    other = expect(det, other_gpu, training=True, tolerance=TOL)
    assert other.case == "tolerance" and other.reason == "device model NVIDIA H100 80GB HBM3 vs H200"

    moved = expect(gpu, cpu, training=True, tolerance=TOL)
    assert moved.case == "other-device" and moved.tolerance == TOL
    assert moved.reason == ("recorded on cuda (NVIDIA H100 80GB HBM3), re-executed on cpu "
                            "(Intel(R) Xeon(R) Gold 6338)")
    fp16, fp32 = (Setting.from_provenance(_prov(runtime=H100, estimator={"device": "cuda", "precision": p}))
                  for p in ("fp16", "fp32"))
    assert expect(fp16, fp32, training=False, tolerance=TOL).case == "precision"
    assert expect(None, cpu, training=False, tolerance=TOL).tolerance.bitwise  # no record: former rule
    assert expect(None, cpu, training=True, tolerance=TOL).tolerance == TOL


def _write(root: Path, rel: str, values, prov) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"x": np.asarray(values, np.float64)}).to_csv(path, index=False, float_format="%.17g")
    if prov is not None:
        provenance.sidecar_path(path).write_text(json.dumps(prov))


@pytest.fixture
def one_job(tmp_path):
    """A recorded job whose outputs ran on an H100 without deterministic algorithms, drawn as gen/00."""
    wd, work = tmp_path / "run", tmp_path / "run/results/d/audit/gen/00/work"
    _write(wd, "results/d/gen.csv", [0.5, 1.25], _prov(runtime=H100))
    _write(wd, "results/d/gen_stats.csv", [3.0], None)  # no record of its own: the job's setting
    job = SampledJob(Job("gen", ("results/d/gen.csv", "results/d/gen_stats.csv"), (), ()), "00")
    return wd, work, job


def _rows(wd, work, job, **section):
    cfg = stage.AuditConfig.from_dict({"tolerance": {"rtol": 1e-5, "atol": 1e-6}, **section})
    return {r["output"]: r for r in compare_job(job, workdir=wd, rerun_work=work, cfg=cfg, ignore=())}


def test_same_device_class_applies_the_tolerance_and_fails_beyond_it(one_job):
    wd, work, job = one_job
    _write(work, "results/d/gen.csv", [0.5 + 1e-7, 1.25], _prov(runtime=H100))
    _write(work, "results/d/gen_stats.csv", [3.0 + 1e-7], None)
    rows = _rows(wd, work, job)
    for out in job.job.outputs:  # gen_stats.csv has no record: it takes the job's setting
        assert rows[out]["status"] == "match" and rows[out]["tolerance"] == "rtol=1e-05,atol=1e-06", rows[out]
        assert rows[out]["detail"] == "cuda without deterministic algorithms"
        assert rows[out]["recorded_on"] == rows[out]["rerun_on"] == "cuda (NVIDIA H100 80GB HBM3)"
        assert 0 < rows[out]["max_abs_diff"] < 1e-6

    _write(work, "results/d/gen.csv", [0.5 + 1e-3, 1.25], _prov(runtime=H100))
    far = _rows(wd, work, job)["results/d/gen.csv"]
    assert far["status"] == "mismatch" and "1 of 2 values outside rtol=1e-05,atol=1e-06" in far["detail"]


def test_other_device_class_is_reported_as_such_or_refused(one_job):
    wd, work, job = one_job
    _write(work, "results/d/gen.csv", [0.5 + 1e-3, 1.25], _prov(runtime=XEON))
    _write(work, "results/d/gen_stats.csv", [3.0], None)
    row = _rows(wd, work, job)["results/d/gen.csv"]
    assert row["status"] == "other-device", row
    assert row["detail"].startswith("recorded on cuda (NVIDIA H100 80GB HBM3), re-executed on cpu "
                                    "(Intel(R) Xeon(R) Gold 6338); outside rtol=1e-05,atol=1e-06")
    assert row["rerun_on"] == "cpu (Intel(R) Xeon(R) Gold 6338)"
    assert _rows(wd, work, job)["results/d/gen_stats.csv"]["status"] == "other-device"  # within, still named
    assert _rows(wd, work, job, other_device="refuse")["results/d/gen.csv"]["status"] == "refused"

    # The final job: other-device rows pass the audit; refused ones fail it naming the file.
    sample = wd / "results/d/audit/sample.json"
    sample.write_text(json.dumps({"jobs": [job.as_dict()]}))
    (work.parent / "rerun.json").write_text(json.dumps({"status": "done"}))
    table = run_compare(workdir=wd, section={}, sample_json=sample, table_path=wd / "results/d/audit.csv")
    assert set(table.status) == {"other-device"}
    with pytest.raises(AuditError, match=r"results/d/gen.csv \(gen/00\): refused recorded on cuda"):
        run_compare(workdir=wd, section={"other_device": "refuse"}, sample_json=sample,
                    table_path=wd / "results/d/audit.csv")


def test_a_different_precision_is_reported_as_such_and_fails(one_job):
    wd, work, job = one_job
    _write(wd, "results/d/gen.csv", [0.5, 1.25], _prov(runtime=H100, estimator={"device": "cuda",
                                                                                "precision": "fp16"}))
    _write(work, "results/d/gen.csv", [0.5, 1.25 + 1e-4], _prov(runtime=H100, estimator={"device": "cuda",
                                                                                        "precision": "fp32"}))
    _write(work, "results/d/gen_stats.csv", [3.0], None)
    row = _rows(wd, work, job)["results/d/gen.csv"]
    assert row["status"] == "precision"
    assert row["detail"].startswith("precision fp16 recorded, fp32 re-executed")


def test_refusal_before_re_executing_when_the_recorded_device_is_absent(one_job, monkeypatch):
    wd, _, job = one_job
    monkeypatch.setattr(stage, "_device_present", lambda device: device == "cpu")
    record = stage.run_rerun(workdir=wd, snakefile=wd / "no-Snakefile", config={}, sampled=job,
                             section={"other_device": "refuse"}, out_dir=wd / "results/d/audit/gen/00")
    assert record["status"] == "refused" and "which this node lacks" in record["detail"]
    assert not (wd / "results/d/audit/gen/00/work").exists()  # nothing was re-executed


def test_two_runs_name_each_difference_explained_or_not(tmp_path, capsys):
    cluster, local = tmp_path / "cluster/results", tmp_path / "local/results"
    for root, runtime in ((cluster, H100), (local, XEON)):
        gpu = runtime is H100
        _write(root, "ci/model.csv", [1.0 + 1e-3 * gpu], _prov(runtime=runtime))  # trained on the GPU
        # Computed on the CPU in both runs from model.csv: explained by its input.
        _write(root, "ci/scores.csv", [7.0 + gpu], _prov(runtime=XEON, inputs={"results/ci/model.csv": "x"}))
        _write(root, "ci/plot.csv", [2.0 + gpu], None)  # no record: borrows one from its folder
        _write(root, "ci/same.csv", [5.0], _prov(runtime=XEON))
        _write(root, "ci/threads.csv", [5.0 + 1e-9 * gpu], _prov(runtime={**XEON, "threads": 2 + gpu}))
        _write(root, "ci/table.csv", [9.0 + gpu], _prov(runtime=XEON))  # same everything, yet different
    table = compare_runs(cluster, local, tolerance=TOL).set_index("output")
    assert table.loc["ci/same.csv", "explained_by"] == "" and table.loc["ci/same.csv", "status"] == "match"
    assert table.loc["ci/model.csv", "explained_by"] == "device"
    assert table.loc["ci/model.csv", "explanation"].startswith("recorded on cuda (NVIDIA H100 80GB HBM3)")
    assert table.loc["ci/scores.csv", "explained_by"] == "inputs"
    assert "ci/model.csv" in table.loc["ci/scores.csv", "explanation"]
    assert table.loc["ci/threads.csv", ["status", "explained_by"]].tolist() == ["match", "device"]
    assert table.loc["ci/table.csv", "explained_by"] == "unexplained"
    assert "provenance of" in table.loc["ci/plot.csv", "explanation"]

    assert audit_cli(["compare", str(cluster), str(local)]) == 1  # ci/table.csv is unexplained
    out = capsys.readouterr().out
    assert "mismatch: ci/table.csv" in out and "[unexplained: same config, inputs, code and setting" in out
    _write(local, "ci/table.csv", [10.0], _prov(runtime=XEON))
    assert audit_cli(["compare", str(cluster), str(local), "--out", str(tmp_path / "t.csv")]) == 0
    assert "explained_by" in pd.read_csv(tmp_path / "t.csv").columns


def test_summary_and_report_section_count_and_name_outcomes():
    tol = "rtol=1e-05,atol=1e-06"
    table = pd.DataFrame([
        {"rule": "manifest", "job": "manifest/00", "output": "results/ci/manifest.parquet", "status": "match",
         "tolerance": "bitwise", "recorded_on": "cpu (X)", "rerun_on": "cpu (X)", "detail": ""},
        {"rule": "autoencoder", "job": "autoencoder/00", "output": "results/ci/ae/best.pt",
         "status": "other-device", "tolerance": tol, "recorded_on": "cuda (H100)", "rerun_on": "cpu (X)",
         "detail": f"recorded on cuda (H100), re-executed on cpu (X); within {tol}"},
        {"rule": "table", "job": "table/00", "output": "results/ci/table5.csv", "status": "match",
         "tolerance": tol, "recorded_on": "cpu (X)", "rerun_on": "cpu (X)", "detail": "threads 2 vs 4"},
    ]).assign(max_abs_diff=0.0)
    text = summary_paragraph(table)
    assert "3 recorded job(s) of 3 rule(s) (manifest, autoencoder, table)" in text
    assert "1 matched bitwise, 1 matched within the tolerance" in text
    assert "1 were re-executed on another device class (cpu (X), cuda (H100))" in text
    assert text.endswith("The audit passed.")
    section = markdown_section(table)
    assert section.startswith("## Reproducibility audit\n\n" + text + "\n\n| job | output |")
    assert "| autoencoder/00 | results/ci/ae/best.pt | other-device | 0 |" in section
    failed = summary_paragraph(table.assign(status=["match", "other-device", "mismatch"]))
    assert failed.endswith("The audit FAILED: 1 output(s) were not reproduced: "
                           "results/ci/table5.csv (mismatch).")


def test_report_md_gets_the_audit_section(tmp_path):
    report = tmp_path / "report.md"
    report.write_text("# table5.csv for dataset d\n\n| system |\n|---|\n| GT |\n\n- renders: x.gif\n")
    audit = pd.DataFrame([{"rule": "table", "job": "table/00", "output": "results/d/table5.csv",
                           "kind": "csv", "status": "match", "max_abs_diff": 0.0, "tolerance": "bitwise",
                           "recorded_on": "cpu (X)", "rerun_on": "cpu (X)", "detail": ""}])
    audit.to_csv(tmp_path / "audit.csv", index=False)
    append_section(report, tmp_path / "audit.csv")
    text = report.read_text()
    assert text.startswith("# table5.csv for dataset d\n\n| system |\n|---|\n| GT |\n\n- renders: x.gif\n\n"
                           "## Reproducibility audit\n\n")
    assert text.endswith(markdown_section(pd.read_csv(tmp_path / "audit.csv")))
    assert "| table/00 | results/d/table5.csv | match | 0 | bitwise | cpu (X) |  |" in text
