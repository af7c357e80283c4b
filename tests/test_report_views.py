"""Pages for `snakemake --report`: a CSV as a table cell for cell, report.md as HTML, a GIF render as
its animation over a labelled frame strip; every page self-contained."""

import base64
import html
import io
import re

import numpy as np
import pytest
from PIL import Image

from pipelib.report.markdown import markdown_html, write_markdown_page
from pipelib.report.page import STYLE
from pipelib.report.renders import frame_strip, gif_frames, strip_indices, write_render_page
from pipelib.report.stage import write_view
from pipelib.report.tables import (
    long_text_columns,
    numeric_columns,
    read_csv_cells,
    table_html,
    write_table_page,
)


def _no_external_resources(page: str) -> None:
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert all(s.startswith("data:") for s in srcs), srcs
    assert "<script" not in page


def test_a_csv_becomes_a_table_with_its_exact_cells_and_a_download(tmp_path):
    csv = tmp_path / "table5.csv"
    csv.write_text('system,BLEU-4,back_translator,note\nGT,12.7800,best.pt@sha:ab,"a, b <c>"\n'
                   "DARSLP,9.5900,best.pt@sha:ab,\nmean-pose,,best.pt@sha:ab,nan\n")
    out = tmp_path / "table5.html"
    write_table_page(csv, out, "table5.csv - dataset ci")
    page = out.read_text()
    _no_external_resources(page)
    assert "<title>table5.csv - dataset ci</title>" in page and "3 rows x 4 columns" in page
    cells = re.findall(r"<td[^>]*>(.*?)</td>", page)
    assert cells[:4] == ["GT", "12.7800", "best.pt@sha:ab", html.escape("a, b <c>")]  # as written, escaped
    assert '<td class="num">9.5900</td>' in page and '<td class="num">best.pt' not in page
    link = re.search(r'download="table5.csv" href="data:text/csv;base64,([^"]+)"', page)
    assert base64.b64decode(link.group(1)) == csv.read_bytes()


def test_numeric_columns_ignore_empty_cells_and_need_one_number():
    header, rows = ["a", "b", "c", "d"], [["1", "x", "", "nan"], ["-2.5e3", "3", "", "1"]]
    assert numeric_columns(header, rows) == [True, False, False, False]


def test_prose_columns_get_room_instead_of_wrapping_letter_by_letter():
    """A table page wrapped long text one letter per line: cells could break anywhere, so the browser
    shrank text columns to one character. Words stay whole and prose columns get a minimum width."""
    header = ["system", "BLEU-4", "dtw"]
    rows = [["DARSLP-KL", "12.3", "fastdtw radius 10 over 178 joints in shoulder-width units"]]
    assert long_text_columns(header, rows) == [False, False, True]
    cells = re.findall(r"<td([^>]*)>", table_html(header, rows))
    assert cells == ["", ' class="num"', ' class="long"']
    assert "overflow-wrap: anywhere" not in STYLE and re.search(r"td\.long \{ min-width: \d+em", STYLE)


def test_ragged_csv_is_refused_naming_the_line(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,2\n1,2,3\n")
    with pytest.raises(ValueError, match="line 3 has 3 cells"):
        read_csv_cells(csv)


def test_markdown_report_becomes_html_with_tables_and_escaped_raw_html(tmp_path):
    md = tmp_path / "report.md"
    md.write_text("# table5.csv for dataset ci\n\n| system | BLEU-4 |\n|---|---|\n"
                  "| GT | 12.78 [10.1, 14.2] |\n\n**Warning:** only 4 sentences.\n\n"
                  "- back-translators: trained = best.pt\n\n<script>x</script>\n")
    out = tmp_path / "summary.html"
    write_markdown_page(md, out)
    page = out.read_text()
    _no_external_resources(page)
    assert "<title>table5.csv for dataset ci</title>" in page
    assert '<div class="scroll"><table>' in page and "<td>12.78 [10.1, 14.2]</td>" in page
    assert "<strong>Warning:</strong>" in page and "<li>back-translators: trained = best.pt</li>" in page
    assert "&lt;script&gt;" in page
    assert markdown_html("plain") == "<p>plain</p>\n"


def _gif(path, n=10, size=(40, 30), delay=80):
    frames = [Image.fromarray(np.full((size[1], size[0], 3), 20 * i, np.uint8)) for i in range(n)]
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=delay, loop=0)


def test_strip_picks_evenly_spaced_frames_first_and_last_included():
    assert strip_indices(10, 8) == [0, 1, 3, 4, 5, 6, 8, 9]
    assert strip_indices(3, 8) == [0, 1, 2]
    with pytest.raises(ValueError):
        strip_indices(0)


def test_render_page_plays_the_gif_and_shows_a_labelled_strip(tmp_path):
    gif = tmp_path / "comparison_phase1.gif"
    _gif(gif)
    frames, delays = gif_frames(gif)
    assert len(frames) == 10 and frames[3].shape == (30, 40, 3) and delays == [80.0] * 10
    strip = frame_strip(frames, delays, n=8, columns=4)
    assert strip.shape == (2 * (16 + 30) + 6, 4 * 40 + 3 * 6, 3)  # 2 rows of 4 frames, label bands
    assert (strip[16:46, 0:40] == frames[0]).all()                     # first frame, under its label
    assert (strip[16 + 46 + 6:, 3 * 46:3 * 46 + 40] == frames[9]).all()  # last frame: row 2, column 4
    out = tmp_path / "comparison_phase1.html"
    write_render_page(gif, out)
    page = out.read_text()
    _no_external_resources(page)
    assert "10 frames, 0.8 s, 12.5 frames/s" in page
    gif_data = re.search(r'src="data:image/gif;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(gif_data) == gif.read_bytes()
    png = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert np.asarray(Image.open(io.BytesIO(base64.b64decode(png)))).shape == strip.shape


def test_views_are_chosen_by_suffix_and_unknown_ones_refused(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    write_view(tmp_path / "a.csv", tmp_path / "a.html", "ci")
    assert "<title>a.csv - dataset ci</title>" in (tmp_path / "a.html").read_text()
    fused = tmp_path / "results/ci/fused/report.csv"
    fused.parent.mkdir(parents=True)
    fused.write_text("slot\ndwpose\n")
    write_view(fused, tmp_path / "f.html", "ci")
    assert "<title>fused/report.csv - dataset ci</title>" in (tmp_path / "f.html").read_text()
    with pytest.raises(ValueError, match="no report view for .parquet"):
        write_view(tmp_path / "m.parquet", tmp_path / "m.html", "ci")


def test_page_of_a_measurement_is_skipped_by_the_audit_like_its_source(tmp_path):
    """efficiency.csv (timings) is skipped by the audit as a measurement; its page showed the same
    timings and came out as a mismatch between two identical runs."""
    from pipelib.audit.compare import measurement_reason
    from pipelib.provenance import sidecar_path

    timings, table = tmp_path / "efficiency.csv", tmp_path / "table5.csv"
    timings.write_text("path,fps\nlatents,30.1\n")
    sidecar_path(timings).write_text('{"deterministic": false}')
    table.write_text("system,BLEU-4\nGT,20.2\n")
    sidecar_path(table).write_text('{"deterministic": true}')
    write_view(timings, tmp_path / "efficiency.html", "ci")
    write_view(table, tmp_path / "table5.html", "ci")
    assert measurement_reason(tmp_path / "efficiency.html") is not None
    assert measurement_reason(tmp_path / "table5.html") is None
    assert not sidecar_path(tmp_path / "table5.html").exists()
