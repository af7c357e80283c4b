"""The one metric list: every table's metric columns come from ``pipelib.metrics.catalog``."""

from __future__ import annotations

import pytest

from pipelib.evaluation import table
from pipelib.metrics import catalog, slrtp
from pipelib.signx import recognition


def test_every_table_metric_column_is_catalogued_in_order() -> None:
    assert table.METRIC_COLUMNS == list(catalog.SLRTP) == list(slrtp.METRIC_KEYS)
    assert table.PAPER_COLUMNS == ["DTW-MJE", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE", "chrF"]
    assert list(catalog.RECOGNITION) == recognition.METRICS
    assert set(slrtp.TEXT_KEYS) | set(slrtp.POSE_KEYS) == set(slrtp.METRIC_KEYS)
    assert all(catalog.METRICS[m].direction in catalog.DIRECTIONS for m in catalog.METRICS)


def test_select_refuses_an_uncatalogued_metric() -> None:
    with pytest.raises(ValueError, match=r"\['METEOR'\] are not in pipelib.metrics.catalog"):
        catalog.select(("BLEU-4", "METEOR"))


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("DTW-MJE", 0.123456, "0.1235"), ("total_distance", 1.0, "1.0000"), ("BLEU-4", 12.3456, "12.35"),
    ("WER", 80.0, "80.00"),
])
def test_report_cells_use_the_catalogued_decimals(name: str, value: float, shown: str) -> None:
    assert catalog.cell(name, value) == shown
    assert table._cell(name, value) == shown
