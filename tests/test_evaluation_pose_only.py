"""A pose-only dataset (kind slrtp_poses, laid out as the SLRTP 2025 archive) runs to table5 and report.md
without pose extraction, scored by both back-translators, with the archive's baseline as a row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import slrtp_helpers as sh
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SENTENCES = ["regen im norden", "sonne im sueden", "wind im norden", "es wird regen", "sonne im norden",
             "wind im sueden"]


def _poses(rng: np.random.Generator, n: int, word: int) -> torch.Tensor:
    base = rng.normal(size=(1, 178, 3)) * 0.3 + word * 0.2
    walk = np.cumsum(rng.normal(size=(n, 178, 3)) * 0.02, axis=0)
    return torch.from_numpy((base + walk).astype(np.float32))


def make_archive(root: Path) -> Path:
    """data/{train,dev,test,PT_baseline_dev,PT_baseline_test}.pt and backTranslation_PHIX_model/."""
    rng = np.random.default_rng(0)
    data = root / "data"
    data.mkdir(parents=True)
    counts = {"train": 8, "dev": 2, "test": 3}
    for split, n in counts.items():
        entries = {}
        for i in range(n):
            text = SENTENCES[(i + len(split)) % len(SENTENCES)]
            vid = f"{split}_{i:02d}"
            entries[vid] = {"name": vid, "text": text, "gloss": text.upper(), "speaker": f"Signer0{i % 2}",
                            "poses_3d": _poses(rng, 20 + 2 * i, i)}
        torch.save(entries, data / f"{split}.pt")
        if split != "train":  # the baseline's predictions: id -> poses, as the archive ships them
            baseline = {k: v["poses_3d"][::3] + 0.01 for k, v in entries.items()}
            torch.save(baseline, data / f"PT_baseline_{split}.pt")
    sh.write_model_dir(root / "backTranslation_PHIX_model")
    return root


def _config(archive: Path) -> dict:
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    cfg["default_dataset"] = "slrtp"
    baseline = {"PT-baseline": {"test": str(archive / "data/PT_baseline_test.pt")}}
    cfg["datasets"] = {"slrtp": {"kind": "slrtp_poses", "root": str(archive / "data"), "shards": 1,
                                 "predictions": baseline}}
    ev = cfg["evaluation"]
    ev["back_translators"] = ["trained", "slrtp"]
    ev["slrtp_back_translator"]["model_dir"] = str(archive / "backTranslation_PHIX_model")
    ev["device"] = "cpu"
    prod = cfg["production"]
    for train in (prod["autoencoder"]["train"], prod["systems"]["DARSLP"]["train"],
                  prod["systems"]["DARSLP-KL"]["train"], ev["back_translation"]["train"]):
        train["epochs"] = 2
    prod["generator"]["model"].update(d_model=32, enc_layers=1, dec_layers=1, ffn_dim=64, max_len=32)
    ev["back_translation"]["model"].update(d_model=32, enc_layers=1, dec_layers=1, ffn=64)
    return cfg


def smk(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pose_only")
    archive = make_archive(tmp / "slrtp2025")
    wd = tmp / "run"
    (wd / "config").mkdir(parents=True)
    (wd / "config/config.yaml").write_text(yaml.safe_dump(_config(archive)))
    return wd


def planned_rules(wd: Path, *targets: str) -> set[str]:
    out = smk(wd, "-n", "--quiet", "rules", *targets)
    table = (out.stdout + out.stderr).split("Job stats:")[1].split("\n\n")[0]
    return {ln.split()[0] for ln in table.strip().splitlines()[2:]} - {"total"}


def test_all_plans_no_pose_extraction_for_a_pose_only_dataset(workdir):
    rules = planned_rules(workdir)
    assert {"manifest", "skeletons", "table", "report_md", "back_translator"} <= rules
    assert not {r for r in rules if r.startswith(("poses_", "fusion", "signx", "synth"))}, rules


def test_the_readme_table5_overlay_is_a_valid_config():
    from snakemake.utils import update_config, validate

    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for name in ("paper.yaml", "table5.yaml"):
        update_config(cfg, yaml.safe_load((ROOT / "config" / name).read_text()))
    validate(cfg, str(ROOT / "workflow/schemas/config.schema.yaml"))
    ev = cfg["evaluation"]
    assert cfg["default_dataset"] == "slrtp" and cfg["datasets"]["slrtp"]["kind"] == "slrtp_poses"
    assert ev["back_translators"] == ["trained", "slrtp"]
    assert ev["slrtp_back_translator"]["layout"] == "slrtp178"
    assert "PT-baseline" in cfg["datasets"]["slrtp"]["predictions"] and ev["beam"] == 3


@pytest.mark.slow
def test_pose_only_run_to_table5_report_and_export(workdir):
    exports = ("results/slrtp/export/DARSLP_test.pt", "results/slrtp/export/GT_test.pt")
    smk(workdir, "--cores", "2", "all", *exports)
    res = workdir / "results/slrtp"
    table = pd.read_csv(res / "table5.csv")
    measured = table[table.source == "measured"]
    assert list(zip(measured.system, measured.back_translator_kind, strict=True)) == [
        (s, k) for s in ("GT", "DARSLP", "DARSLP-KL", "PT-baseline", "mean-pose")
        for k in ("trained", "slrtp")]
    assert (measured["layout"] == "slrtp178").all() and measured["layout_note"].isna().all()
    assert (measured["n_sequences"] == 3).all()
    assert measured.loc[measured.system == "GT", "DTW-MJE"].eq(0).all()
    # the paper's Table 5 rows, compared with the rows of the official back-translator
    diff = table[table.source == "difference"]
    assert set(diff.system) == {"GT", "DARSLP", "DARSLP-KL"} and (diff.back_translator_kind == "slrtp").all()
    report = (res / "report.md").read_text()
    assert "pose-only dataset" in report and "backTranslation_PHIX_model/best.ckpt" in report
    # every measured row, the external baseline's included, gets its intervals, per back-translator
    stats = pd.read_csv(res / "table5_stats.csv")
    own = stats[stats.versus.isna()]
    assert own.groupby(["system", "back_translator_kind"]).size().to_dict() == {
        (s, k): 10 for s in ("GT", "DARSLP", "DARSLP-KL", "PT-baseline", "mean-pose")
        for k in ("trained", "slrtp")}
    assert own["ci_low"].notna().all() and "PT-baseline vs DARSLP-KL (slrtp back-translator)" in report
    assert not (res / "fused").exists() and not (res / "poses").exists()

    pred = torch.load(res / "export/DARSLP_test.pt", weights_only=True)
    gt = torch.load(res / "export/GT_test.pt", weights_only=True)
    assert set(pred) == set(gt) == {"test_00", "test_01", "test_02"}
    assert all(v["layout"] == "slrtp178" and v["poses_3d"].shape[1:] == (178, 3) for v in pred.values())
    original = torch.load(workdir.parent / "slrtp2025/data/test.pt", weights_only=True)
    torch.testing.assert_close(gt["test_01"]["poses_3d"], original["test_01"]["poses_3d"])
