"""The frame shared by every report view: one self-contained HTML page with its own stylesheet."""

from __future__ import annotations

import base64
import html
import os

from pipelib.io.atomic import write_text_atomic

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 1.2em; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.35em; margin: 0 0 .3em; }
h2 { font-size: 1.15em; margin: 1.2em 0 .4em; }
p.meta { color: #59636e; margin: 0 0 1em; font-size: .9em; }
div.scroll { overflow-x: auto; margin: .4em 0 1em; }
table { border-collapse: collapse; font-size: .86em; }
th, td { border: 1px solid #d1d9e0; padding: .25em .55em; vertical-align: top; text-align: left;
         max-width: 26em; overflow-wrap: break-word; }
th { background: #eef1f4; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #f6f8fa; }
td.long { min-width: 18em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font-size: .92em; background: #eef1f4; padding: 0 .2em; border-radius: 3px; }
img { max-width: 100%; height: auto; border: 1px solid #d1d9e0; }
figure { margin: 0 0 1.2em; }
figcaption { color: #59636e; font-size: .9em; }
"""


def data_uri(payload: bytes, mime: str) -> str:
    """``payload`` as a ``data:`` URI, so a page carries its images and downloads inside itself."""
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def page(title: str, body: str, meta: str = "") -> str:
    """A complete HTML page: ``title`` (plain text) as heading, ``meta`` (plain text) under it, then
    ``body`` (HTML, inserted as it is)."""
    head = f"<h1>{html.escape(title)}</h1>\n" + (f'<p class="meta">{html.escape(meta)}</p>\n' if meta else "")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"{head}{body}\n</body>\n</html>\n")


def write_page(path: str | os.PathLike[str], title: str, body: str, meta: str = "") -> None:
    """Write :func:`page` to ``path`` atomically (UTF-8)."""
    write_text_atomic(path, page(title, body, meta))
