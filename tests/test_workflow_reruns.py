"""Re-runs follow meaning, on one finished CI-sized run: an edit of any key the schema marks
`x-affects-results: false` plans no job, the re-run matrix of tests/test_workflow.py holds on the CI
dataset, a broken pass/fail limit stops the run in a check job with one sentence, and raising the
limit re-runs no work."""

import shutil
from pathlib import Path

import pytest
import yaml
from test_workflow import RERUN_MATRIX, ROOT, smk
from workflow_helpers import copy_build, plans

from pipelib import configkeys

SCHEMA = configkeys.load_schema(ROOT / configkeys.SCHEMA_PATH)


@pytest.fixture(scope="module")
def ci_done(ci_build, tmp_path_factory):
    """A copy of the session's finished CI build (short training), to edit and re-run in."""
    return copy_build(ci_build, tmp_path_factory.mktemp("reruns") / "wd")


def planned(workdir: Path, overlay: dict, *targets: str, extra: tuple[str, ...] = ()) -> dict[str, int]:
    """The jobs one dry run plans, per rule (see :func:`plans`)."""
    return plans(workdir, {"run": (overlay, targets, extra)})["run"]


# ---- every key that cannot change an output: one dry run each -----------------------------------

def _nested(path: list[str], value) -> dict:
    for key in reversed(path):
        value = {key: value}
    return value


def _lookup(cfg: dict, path: list[str]):
    for key in path:
        if not isinstance(cfg, dict) or key not in cfg:
            return None
        cfg = cfg[key]
    return cfg


OBJECT_EDITS = {"tracking": {"experiment": "elsewhere", "uri": "none"},
                "resources": {"default": {"mem_mb": 1234, "runtime": 7}}}


def edited_value(key: str, node: dict, current):
    """A valid value different from ``current`` for the schema ``node`` of ``key``."""
    types = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    if "enum" in node:
        return next(v for v in node["enum"] if v != current)
    if "boolean" in types:
        return not current
    if "integer" in types:
        return max(int(current or 0), int(node.get("minimum", 0))) + 3
    if "number" in types:
        return 0.0 if current else 0.5
    if "string" in types:
        if key == "default_dataset":
            return "demo"
        return "cpu" if current != "cpu" else "auto"
    leaf = key.split(".")[-1]
    if leaf in OBJECT_EDITS:
        return OBJECT_EDITS[leaf]
    raise AssertionError(f"no edit known for {key}: add one to OBJECT_EDITS in {__file__}")


def runtime_edits(config: dict) -> dict[str, dict]:
    """One overlay per key classified as not result-changing; a key of a shared definition (every
    `train:` section, every estimator) is edited at its first place and, for estimators, also
    through the per-dataset override."""
    edits, seen = {}, set()
    for k in configkeys.iter_keys(SCHEMA):
        if k.affects_results or (k.definition and (k.definition, k.local) in seen):
            continue
        seen.add((k.definition, k.local))
        path = k.key.replace("datasets.<name>", "datasets.ci").replace("<name>", "sapiens").split(".")
        node = configkeys.node_at(SCHEMA, path)
        edits[k.key] = _nested(path, edited_value(k.key, node, _lookup(config, path)))
        if k.definition == "estimator":
            override = ["datasets", "ci", "estimators", "sapiens", k.local]
            edits[".".join(override)] = _nested(override, edited_value(k.key, node, None))
    return edits


def test_editing_a_key_that_cannot_change_an_output_plans_no_job(ci_done):
    edits = runtime_edits(yaml.safe_load((ci_done / "config/config.yaml").read_text()))
    assert {"manifest.threads", "signx.latents.device", "manifest.max_reject_fraction",
            "datasets.ci.estimators.sapiens.device"} <= set(edits)
    planned_jobs = plans(ci_done, {key: (overlay, (), ()) for key, overlay in edits.items()})
    assert {key: plan for key, plan in planned_jobs.items() if plan} == {}


def test_rerun_matrix_holds_on_the_ci_dataset(ci_done):
    """tests/test_workflow.py's matrix (demo, slow) on the CI run: same edits, same jobs planned."""
    def ci_edit(change):
        cfg = yaml.safe_load((ci_done / "config/config.yaml").read_text())
        cfg["datasets"]["demo"] = cfg["datasets"]["ci"]  # the matrix edits `demo`; apply it to `ci`
        change(cfg)
        cfg["datasets"]["ci"] = cfg["datasets"].pop("demo")
        return cfg

    runs = {name: (ci_edit(change), ("all",), ()) for name, (change, _) in RERUN_MATRIX.items()}
    runs["unchanged"] = ({}, ("all",), ())
    expected = {name: jobs for name, (_, jobs) in RERUN_MATRIX.items()} | {"unchanged": {}}
    assert plans(ci_done, runs) == expected


# ---- pass/fail limits --------------------------------------------------------------------------

def _broken_corpus(ci_done: Path, dest: Path) -> Path:
    """The CI corpus as a `phoenix14t` dataset with one video's frames gone (a manifest reject) and
    one frame of another corrupted past its PNG signature (an extraction failure under `quick`)."""
    corpus = dest / "PHOENIX-2014-T"
    shutil.copytree(ci_done / "resources/ci/synthetic/PHOENIX-2014-T", corpus)
    videos = sorted(p for p in (corpus / "features/fullFrame-210x260px/train").iterdir() if p.is_dir())
    for frame in videos[0].iterdir():
        frame.unlink()
    frames = sorted(videos[1].iterdir())
    raw = frames[len(frames) // 2].read_bytes()
    frames[len(frames) // 2].write_bytes(raw[:8] + b"\0" * (len(raw) - 20) + raw[-12:])
    return corpus


def test_broken_limits_stop_in_a_check_job_and_raising_them_reruns_no_work(ci_done, tmp_path):
    corpus = _broken_corpus(ci_done, tmp_path)
    overlay = {"datasets": {"broken": {"kind": "phoenix14t", "root": str(corpus), "shards": 1}},
               "manifest": {"verify": "quick"}}
    (ci_done / "broken.yaml").write_text(yaml.safe_dump(overlay))
    target = "results/broken/fused/report.csv"

    def run(*config: str):
        return smk(ci_done, "--cores", "2", target, *config, "--configfile",
                   str(ci_done / "config/config.yaml"), str(ci_done / "broken.yaml"), check=False)

    proc = run()
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    sentence = next(ln for ln in text.splitlines() if ln.startswith("ERROR: "))
    assert "1 of 10 entries (10.0%) were rejected" in sentence and "manifest.max_reject_fraction" in sentence
    assert "Traceback" not in text  # one sentence on the console
    log = (ci_done / "logs/broken/checks/manifest.log").read_text()
    assert log.startswith(sentence) and "Traceback" in log  # the job's log keeps the traceback
    assert log.rstrip().endswith("if losing them is acceptable.")
    assert not (ci_done / "results/broken/poses").exists()  # no work started on the bad manifest

    raised = ("--config", "manifest={max_reject_fraction: 0.2}")  # nested --config values, YAML-typed
    plan = planned(ci_done, overlay, target, extra=raised)
    assert plan and "manifest" not in plan  # raising the limit re-runs no scan
    proc = run(*raised)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "ERROR: results/broken/poses/mediapipe/shard000.h5: 1 of 9 videos failed (11.1%)" in text
    assert "extraction.max_failure_fraction = 0.05 (set in config/config.yaml)" in text
    assert "Traceback" not in text
    log = (ci_done / "logs/broken/checks/poses/mediapipe/shard000.log").read_text()
    assert log.rstrip().endswith("or raise extraction.max_failure_fraction.")

    both = (*raised, "extraction={max_failure_fraction: 0.2}")
    plan = planned(ci_done, overlay, target, extra=both)
    assert plan == {"poses_extract": 4, "fusion_stats": 1, "fusion_apply": 1, "fusion_report": 1}


# ---- the report ----------------------------------------------------------------------------------

REPORT_PAGES = {"table5.html": "table5.csv", "table5_stats.html": "table5_stats.csv",
                "fusion_report.html": "fused/report.csv", "recognition.html": "recognition.csv",
                "efficiency.html": "efficiency.csv", "closeness.html": "signx/closeness.csv",
                "summary.html": None, "comparison_DARSLP.html": None, "comparison_DARSLP-KL.html": None}


def test_report_holds_the_tables_the_summary_and_the_renders(ci_done, tmp_path):
    """`snakemake --report report.zip` of the CI run: every table as a page holding its CSV's cells,
    report.md as the summary, each render playing; the start page describes the workflow."""
    import csv
    import html
    import zipfile

    report = tmp_path / "report.zip"
    smk(ci_done, "--report", str(report))
    with zipfile.ZipFile(report) as zf:
        start = zf.read("report/report.html").decode()
        found = {Path(n).name: zf.read(n).decode() for n in zf.namelist() if Path(n).name in REPORT_PAGES}
    assert set(found) == set(REPORT_PAGES)
    assert "Where to start" in start and all(f"results/ci/report/{p}" in start for p in REPORT_PAGES)
    res = ci_done / "results/ci"
    for page, source in REPORT_PAGES.items():
        if source is None:
            continue
        with open(res / source, newline="") as fh:
            rows = list(csv.reader(fh))
        for row in rows[1:]:  # every cell of every row, as the CSV writes it
            assert all(f">{html.escape(cell)}</td>" in found[page] for cell in row), (page, row)
    summary = found["summary.html"]
    title = (res / "report.md").read_text().splitlines()[0].lstrip("# ")
    assert f"<title>{html.escape(title)}</title>" in summary and "DARSLP-KL" in summary
    assert "<table>" in summary and "Paired differences" in summary
    for system in ("DARSLP", "DARSLP-KL"):
        assert "data:image/gif;base64," in found[f"comparison_{system}.html"]
        assert "data:image/png;base64," in found[f"comparison_{system}.html"]
