"""Audit job discovery and sampling: the detailed-summary parser, the seeded draw, the config checks."""

import pytest

from pipelib.audit.rerun import AuditError, Job, parse_detailed_summary, sample_jobs
from pipelib.audit.stage import AuditConfig, is_training_job

HEADER = "output_file\tdate\trule\tlog-file(s)\tinput-file(s)\tshellcmd\tstatus\tplan"


def _row(out, rule, logs, inputs):
    return "\t".join([out, "Sat Nov 21 02:00:00 2026", rule, logs, inputs, "-", "ok", "no update"])


SUMMARY = "\n".join([
    "Building DAG of jobs...",
    HEADER,
    _row("results/d/manifest.parquet", "manifest", "logs/d/manifest.log", "resources/d/synthetic"),
    _row("results/d/rejected.parquet", "manifest", "logs/d/manifest.log", "resources/d/synthetic"),
    # two jobs of one rule with the same inputs: told apart by their logs
    _row("results/d/poses/dwpose/shard000.h5", "poses_extract", "logs/d/poses/dwpose/shard000.log",
         "results/d/manifest.parquet,results/d/poses/mediapipe/shard000.h5"),
    _row("results/d/poses/smplerx/shard000.h5", "poses_extract", "logs/d/poses/smplerx/shard000.log",
         "results/d/manifest.parquet,results/d/poses/mediapipe/shard000.h5"),
    _row("resources/d/synthetic", "synth_corpus", "logs/d/synth.log", ""),
    _row("results/d/production/autoencoder/best.pt", "autoencoder", "logs/d/ae.log",
         "results/d/production/skeletons.h5"),
])


def test_summary_rows_group_into_jobs():
    jobs = {j.outputs: j for j in parse_detailed_summary(SUMMARY)}
    manifest = jobs[("results/d/manifest.parquet", "results/d/rejected.parquet")]
    assert manifest.rule == "manifest" and manifest.inputs == ("resources/d/synthetic",)
    assert manifest.logs == ("logs/d/manifest.log",)
    for slot in ("dwpose", "smplerx"):
        assert (f"results/d/poses/{slot}/shard000.h5",) in jobs
    assert jobs[("resources/d/synthetic",)].inputs == ()
    assert len(jobs) == 5


def test_outputs_without_a_record_fail_naming_them():
    text = SUMMARY + "\n" + _row("results/d/table5.csv", "table", "-", "-")
    with pytest.raises(AuditError, match="results/d/table5.csv"):
        parse_detailed_summary(text)
    with pytest.raises(AuditError, match="no table"):
        parse_detailed_summary("Building DAG of jobs...\n")


def _jobs(n):
    return [Job("fusion_apply", (f"results/d/fused/shard{i:03d}.h5",), (), ()) for i in range(n)] + [
        Job("manifest", ("results/d/manifest.parquet",), (), ())]


def test_sampling_is_seeded_per_rule_and_in_config_order():
    a = sample_jobs(_jobs(10), ["manifest", "fusion_apply"], per_rule=2, seed=0)
    assert a == sample_jobs(list(reversed(_jobs(10))), ["manifest", "fusion_apply"], per_rule=2, seed=0)
    assert [j.rule for j in a] == ["manifest", "fusion_apply", "fusion_apply"]
    draws = {tuple(j.outputs for j in sample_jobs(_jobs(10), ["fusion_apply"], 2, s)) for s in range(6)}
    assert len(draws) > 1  # the seed changes the draw
    assert len(sample_jobs(_jobs(1), ["fusion_apply"], per_rule=3, seed=0)) == 1
    with pytest.raises(AuditError, match=r"audit.rules lists \['tabel'\].*'fusion_apply', 'manifest'"):
        sample_jobs(_jobs(2), ["tabel"], per_rule=1, seed=0)


def test_audit_config_checks_keys_and_marks_training_jobs():
    cfg = AuditConfig.from_dict({"rules": ["table"], "tolerance": {"rtol": 1e-4}})
    assert cfg.rules == ("table",) and cfg.tolerance.rtol == 1e-4 and cfg.tolerance.atol == 1e-6
    assert AuditConfig.from_dict({"tolerance": {"rtol": 0, "atol": 0}}).tolerance.bitwise
    assert AuditConfig.from_dict(None).tolerance.label() == "rtol=1e-05,atol=1e-06"
    with pytest.raises(ValueError, match=r"audit\.rule: unknown key"):
        AuditConfig.from_dict({"rule": ["table"]})
    with pytest.raises(ValueError, match="audit.per_rule"):
        AuditConfig.from_dict({"per_rule": 0})
    assert is_training_job(Job("autoencoder", ("results/d/production/autoencoder/best.pt",), (), ()))
    assert not is_training_job(Job("latents", ("results/d/production/latents.h5",), (), ()))
