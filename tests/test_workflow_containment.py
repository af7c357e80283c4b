"""Contained names: a dataset name that could leave results/ is refused at start-up, and paths read
from corpus files must stay under the corpus folder."""

from pathlib import Path

import pytest
from test_workflow import _workdir, edit_config, smk

from pipelib.datasets import csl_daily, phoenix, videos
from pipelib.datasets.errors import DatasetError
from pipelib.datasets.paths import inside

HEADER = "name|video|start|end|speaker|orth|translation"


def _phoenix(root: Path, name: str, video: str) -> Path:
    corpus = root / "PHOENIX-2014-T"
    (corpus / "annotations/manual").mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (corpus / "features/fullFrame-210x260px" / split).mkdir(parents=True)
        rows = [HEADER] + ([f"{name}|{video}|-1|-1|S1|A B|a b"] if split == "train" else [])
        (corpus / f"annotations/manual/PHOENIX-2014-T.{split}.corpus.csv").write_text("\n".join(rows) + "\n")
    return corpus


@pytest.mark.parametrize("video", ["../../../../outside/1/*.png", "/etc/1/*.png"])
def test_phoenix_video_column_leading_outside_the_corpus_is_refused(tmp_path, video):
    corpus = _phoenix(tmp_path, "clip", video)
    with pytest.raises(DatasetError) as err:
        phoenix.scan(corpus, name="p")
    msg = str(err.value)
    assert "PHOENIX-2014-T.train.corpus.csv" in msg and "'clip'" in msg and f"video {video!r}" in msg
    assert "\n" not in msg


def test_phoenix_name_leading_outside_the_corpus_is_refused(tmp_path):
    corpus = _phoenix(tmp_path, "../../x", "x/1/*.png")
    with pytest.raises(DatasetError, match=r"has name '\.\./\.\./x', which leads outside"):
        phoenix.scan(corpus, name="p")


def test_the_released_phoenix_video_column_is_accepted(tmp_path):
    corpus = _phoenix(tmp_path, "clip", "clip/1/*.png")
    assert [e.id for e in phoenix.scan(corpus, name="p")] == ["clip"]


def test_videos_and_csl_daily_rows_leading_outside_are_refused(tmp_path):
    (tmp_path / "v").mkdir()
    (tmp_path / "v/corpus.csv").write_text("name|split|video|speaker|orth|translation\n"
                                           "c1|train|../secret.mp4|s|A|a\n")
    with pytest.raises(DatasetError, match=r"corpus.csv: entry 'c1' has video '\.\./secret.mp4'"):
        videos.scan(tmp_path / "v", name="vid", fps=25.0)
    csl = tmp_path / "csl"
    (csl / "sentence/frames_512x512").mkdir(parents=True)
    (csl / "split_1.txt").write_text("name|split\n../../up|train\n")
    (csl / "video_map.txt").write_text("index|name|length|gloss|char|word|postag\n0|../../up|1|A|a|a|n\n")
    with pytest.raises(DatasetError, match=r"split_1.txt: entry '\.\./\.\./up' has name"):
        csl_daily.scan(csl, name="c")


def test_inside_keeps_contained_paths_lexical(tmp_path):
    assert inside(tmp_path, "a/./b/../c.mp4", "t.csv", "video", "x") == tmp_path / "a/c.mp4"
    assert inside(tmp_path, str(tmp_path / "a.mp4"), "t.csv", "video", "x") == tmp_path / "a.mp4"


def test_dataset_name_that_could_escape_results_is_refused_at_start_up(tmp_path):
    wd = _workdir(tmp_path)
    edit_config(wd, lambda c: c["datasets"].update({"../../escaped": {"kind": "synthetic", "shards": 1}}))
    proc = smk(wd, "-n", "results/ci/manifest.parquet", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Dataset name '../../escaped' under `datasets:` (config/config.yaml) is not allowed" in text
    assert not (tmp_path.parent / "escaped").exists() and not (wd / "results").exists()
