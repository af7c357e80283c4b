"""Screenshots of a `snakemake --report` report in headless Chromium: what a researcher sees, checked.

    python docs/report_screenshots.py report.zip shots/ [--chromium chromium] [--size 1400x1000]

Unpacks the report, then takes one screenshot of the report's start page and one of the viewer with
each page of the pipeline's report rules shown inline (results/<ds>/report/*.html: the tables,
report.md as the summary, the renders), the way a click on the result shows it: the report's own
JavaScript (its global ``app``, ``results`` and ``ToggleViewManager``) is called from a small script
added to a copy of report.html. Each page is also shot on its own. Fails (exit 1) when Chromium
fails, a screenshot is missing, or one is blank (almost all one colour). Then look at the PNGs.

Chromium: Debian's ``apt-get install -y chromium``; run as root it needs ``--no-sandbox``. A fresh
profile directory is used for every screenshot.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=8000"]

SHOW = """
<script>
window.addEventListener("load", () => setTimeout(() => {{
  const path = Object.keys(results).find(p => p.endsWith({name}));
  new ToggleViewManager(app).handleSelectedResult(path);
}}, 500));
</script>
"""


def shoot(chromium: str, url: str, png: Path, size: str) -> None:
    """One headless screenshot of ``url`` into ``png`` (width x height in ``size``)."""
    w, h = size.split("x")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={w},{h}",
               f"--screenshot={png}", url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0 or not png.is_file():
        raise RuntimeError(f"chromium failed on {url} (exit {proc.returncode}):\n{proc.stderr[-2000:]}")


def blank(png: Path, share: float = 0.995) -> bool:
    """Whether one colour covers at least ``share`` of the screenshot."""
    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3)
    _, counts = np.unique(pixels, axis=0, return_counts=True)
    return counts.max() >= share * len(pixels)


def pages(report_html: Path) -> list[str]:
    """Result paths of the report rules' pages (results/<ds>/report/*.html), as the report lists them."""
    text = report_html.read_text(encoding="utf-8")
    # The report's own table, `var results = {...}`; bundled libraries have `results = [...]` locals.
    found = re.search(r"\bvar results = (?=\{)", text)
    if found is None:
        raise ValueError(f"{report_html} holds no `var results = {{...}}` table; is it a Snakemake report?")
    table, _ = json.JSONDecoder().raw_decode(text[found.end():])
    listed = sorted(p for p in table if "/report/" in p and p.endswith(".html"))
    if not listed:
        raise ValueError(f"{report_html} lists no page of the report rules (results/<ds>/report/*.html); "
                         "build them first (they are in `rule all`) and make the report again.")
    return listed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", help="report.zip made by `snakemake --report report.zip`")
    parser.add_argument("out", help="folder for the PNG screenshots")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--size", default="1400x1000", help="window size WIDTHxHEIGHT")
    args = parser.parse_args()
    chromium = shutil.which(args.chromium)
    if chromium is None:
        print(f"{args.chromium} not found: apt-get install -y chromium", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(args.report) as zf:
            zf.extractall(tmp)
        report_html = next(Path(tmp).glob("*/report.html"))
        shots = [out / "start.png"]
        shoot(chromium, report_html.as_uri(), shots[0], args.size)
        for path in pages(report_html):
            name = Path(path).stem
            viewer = report_html.with_name(f"show_{name}.html")
            # Before the document's own (last) </body>: bundled scripts hold the string "</body>" too.
            head, tail = report_html.read_text(encoding="utf-8").rsplit("</body>", 1)
            show = SHOW.format(name=json.dumps("/" + Path(path).name))
            viewer.write_text(f"{head}{show}</body>{tail}", encoding="utf-8")
            shots.append(out / f"viewer_{name}.png")
            shoot(chromium, viewer.as_uri(), shots[-1], args.size)
            own = next(report_html.parent.glob(f"data/**/{Path(path).name}"))
            shots.append(out / f"page_{name}.png")
            shoot(chromium, own.as_uri(), shots[-1], args.size)
    bad = [p for p in shots if blank(p)]
    for p in shots:
        print(f"{p}{'  BLANK' if p in bad else ''}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
