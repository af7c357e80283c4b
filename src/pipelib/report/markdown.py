"""The pipeline's Markdown reports (``report.md``) as HTML pages: headings, tables, lists, emphasis.

Rendered by markdown-it-py (CommonMark with GitHub-style tables); raw HTML in the Markdown is shown
as text, never inserted into the page. Wide tables scroll sideways instead of squeezing the page.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelib.report.page import write_page


def markdown_html(text: str) -> str:
    """HTML of the Markdown ``text`` (tables enabled, raw HTML escaped), tables in scrolling boxes."""
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    return rendered.replace("<table>", '<div class="scroll"><table>').replace("</table>", "</table></div>")


def split_title(text: str) -> tuple[str | None, str]:
    """The text of a leading ``# heading`` (None without one) and the Markdown after it."""
    first, _, rest = text.lstrip("\n").partition("\n")
    if first.startswith("# "):
        return first[2:].strip(), rest
    return None, text


def write_markdown_page(md_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> None:
    """``out_path``: the Markdown file ``md_path`` as a page; its first ``# heading`` becomes the
    page title (else the file's path)."""
    md_path = Path(md_path)
    title, rest = split_title(md_path.read_text(encoding="utf-8"))
    write_page(out_path, title or str(md_path), markdown_html(rest), f"from {md_path}")
