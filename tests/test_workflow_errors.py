"""Errors a user can act on: every job log ends with its error, expected data errors are one
sentence on the console, and the pass/fail limits are judged apart from the work."""

import ast
from pathlib import Path

import pandas as pd
import pytest

from pipelib import limits, runlog
from pipelib.datasets.errors import DatasetError, ManifestError
from pipelib.datasets.manifest import write_tables
from pipelib.datasets.records import MANIFEST_COLUMNS, REJECTED_COLUMNS
from pipelib.errors import DataError
from pipelib.io import shards

ROOT = Path(__file__).resolve().parents[1]


def _fail(log, exc):
    with pytest.raises(SystemExit) as stop, runlog.job(log) as logger:
        logger.info("working")
        raise exc
    return stop.value.code


def test_data_error_is_one_sentence_on_the_console_and_a_traceback_in_the_log(tmp_path, capsys):
    log = tmp_path / "logs/job.log"
    sentence = "results/x/rejected.parquet: 3 of 10 entries were rejected; raise the limit."
    assert _fail(log, ManifestError(sentence)) == 1
    err = capsys.readouterr().err
    assert f"ERROR: {sentence}\n" in err and "Traceback" not in err
    text = log.read_text()
    assert "working" in text  # the job's own records stay
    tail = text[text.index("ERROR: "):].splitlines()
    assert tail[0] == f"ERROR: {sentence}" and tail[1].startswith("Traceback")
    assert tail[-1].endswith(sentence)  # the log ends with the error


def test_unexpected_error_keeps_its_traceback_on_the_console_and_in_the_log(tmp_path, capsys):
    log = tmp_path / "job.log"
    assert _fail(log, KeyError("slot")) == 1
    err = capsys.readouterr().err
    assert "ERROR: KeyError: 'slot'" in err and "Traceback" in err
    assert log.read_text().rstrip().endswith("KeyError: 'slot'")


def test_dataset_errors_are_data_errors():
    assert issubclass(DatasetError, DataError) and issubclass(ManifestError, DataError)
    assert issubclass(limits.LimitError, DataError)


def test_every_workflow_script_runs_its_work_inside_runlog_job():
    for script in sorted((ROOT / "workflow/scripts").glob("*.py")):
        tree = ast.parse(script.read_text())
        withs = [n for n in tree.body if isinstance(n, ast.With)]
        assert len(withs) == 1, f"{script.name}: wrap the work in one `with runlog.job(...)`"
        call = withs[0].items[0].context_expr
        assert ast.unparse(call.func) == "runlog.job", script.name
        rest = [n for n in tree.body if not isinstance(n, ast.With | ast.Import | ast.ImportFrom)]
        assert not rest, f"{script.name}: statements outside `with runlog.job(...)`"


def _tables(tmp_path, kept, rejected):
    manifest = pd.DataFrame([{c: (0 if c in ("frame_count", "shard") else 25.0 if c == "fps" else f"v{i}")
                              for c in MANIFEST_COLUMNS} for i in range(kept)])
    rej = pd.DataFrame([{c: f"r{i}" for c in REJECTED_COLUMNS} for i in range(rejected)],
                       columns=list(REJECTED_COLUMNS))
    paths = tmp_path / "manifest.parquet", tmp_path / "rejected.parquet"
    write_tables(manifest, rej, *paths, {})
    return paths


def test_manifest_limit_is_judged_on_the_written_tables(tmp_path):
    manifest, rejected = _tables(tmp_path, kept=9, rejected=1)
    assert limits.manifest_counts(manifest, rejected) == (1, 10)
    limits.check_manifest(manifest, rejected, 0.1, marker=tmp_path / "ok")
    assert (tmp_path / "ok").is_file()
    with pytest.raises(ManifestError) as err:
        limits.check_manifest(manifest, rejected, 0.05, source="a --config override")
    msg = str(err.value)
    assert "1 of 10" in msg and "manifest.max_reject_fraction = 0.05" in msg and "a --config override" in msg


def test_shard_limit_names_the_shard_the_limit_and_the_log(tmp_path):
    import numpy as np

    path = tmp_path / "shard000.h5"
    with shards.ShardWriter(path, attrs={"slot": "sapiens"}) as writer:
        for vid in ("a", "b", "c"):
            writer.write(shards.VideoArrays(vid, np.zeros((2, 3), np.float32), np.ones(2, bool)))
        writer.fail("d", "ValueError: corrupt")
    assert limits.shard_counts(path) == (1, 4)
    limits.check_shard(path, 0.25)
    with pytest.raises(limits.LimitError) as err:
        limits.check_shard(path, 0.2, source="config/config.yaml", log_path="logs/x/shard000.log")
    msg = str(err.value)
    assert str(path) in msg and "1 of 4 videos failed" in msg
    assert "extraction.max_failure_fraction = 0.2" in msg
    assert "logs/x/shard000.log" in msg and "config/config.yaml" in msg
