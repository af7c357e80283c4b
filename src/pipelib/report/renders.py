"""A GIF render as a page the report viewer shows: the animation itself, then a strip of its frames.

The viewer offers GIFs only as downloads; inside an HTML page the browser plays them. The strip (a
PNG of evenly spaced frames, each labelled with its frame number and time) shows the motion at a
glance and in print, where nothing moves.
"""

from __future__ import annotations

import html
import io
import os
from pathlib import Path

import numpy as np

from pipelib.report.page import data_uri, write_page

#: Frames in a strip, and how many sit side by side in one row of it.
STRIP_FRAMES = 8
STRIP_COLUMNS = 4
LABEL_HEIGHT = 16   # pixels of the label band above each frame
GAP = 6             # pixels between frames


def gif_frames(path: str | os.PathLike[str]) -> tuple[list[np.ndarray], list[float]]:
    """Every frame of a GIF as (H, W, 3) uint8 RGB, and each frame's display time in milliseconds."""
    from PIL import Image, ImageSequence

    frames, delays = [], []
    with Image.open(path) as im:
        if im.format != "GIF":
            raise ValueError(f"{path} is a {im.format} image, not a GIF")
        for frame in ImageSequence.Iterator(im):
            frames.append(np.asarray(frame.convert("RGB")))
            delays.append(float(frame.info.get("duration", 0) or 0))
    return frames, delays


def strip_indices(n_frames: int, n: int = STRIP_FRAMES) -> list[int]:
    """``min(n, n_frames)`` frame indices evenly spaced from the first frame to the last."""
    if n_frames < 1:
        raise ValueError("a strip needs at least one frame")
    return sorted({int(round(i)) for i in np.linspace(0, n_frames - 1, min(n, n_frames))})


def frame_strip(frames: list[np.ndarray], delays_ms: list[float], n: int = STRIP_FRAMES,
                columns: int = STRIP_COLUMNS) -> np.ndarray:
    """(H, W, 3) uint8: ``n`` evenly spaced frames in rows of ``columns`` on white, each under a label
    ``frame i/N  t.ts`` (1-based frame number, start time from the GIF's frame delays)."""
    from PIL import Image, ImageDraw

    picks = strip_indices(len(frames), n)
    starts = np.concatenate([[0.0], np.cumsum(delays_ms)]) / 1000.0              # seconds
    h, w = frames[0].shape[:2]
    cols = min(columns, len(picks))
    rows = -(-len(picks) // cols)
    cell_h = LABEL_HEIGHT + h
    canvas = Image.new("RGB", (cols * w + (cols - 1) * GAP, rows * cell_h + (rows - 1) * GAP), "white")
    draw = ImageDraw.Draw(canvas)
    for k, i in enumerate(picks):
        x, y = (k % cols) * (w + GAP), (k // cols) * (cell_h + GAP)
        draw.text((x + 2, y + 2), f"frame {i + 1}/{len(frames)}  {starts[i]:.2f} s", fill=(40, 40, 40))
        canvas.paste(Image.fromarray(frames[i]), (x, y + LABEL_HEIGHT))
    return np.asarray(canvas)


def png_bytes(image: np.ndarray) -> bytes:
    """An (H, W, 3) uint8 RGB image as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def write_render_page(gif_path: str | os.PathLike[str], out_path: str | os.PathLike[str],
                      title: str | None = None) -> None:
    """``out_path``: the GIF at ``gif_path`` playing, with its length and frame rate, over a strip of
    :data:`STRIP_FRAMES` of its frames; both images are carried inside the page."""
    gif_path = Path(gif_path)
    frames, delays = gif_frames(gif_path)
    seconds = sum(delays) / 1000.0
    rate = f", {len(frames) / seconds:.3g} frames/s" if seconds > 0 else ""
    meta = f"{len(frames)} frames, {seconds:.1f} s{rate}; from {gif_path}"
    name = html.escape(gif_path.name)
    animation = data_uri(gif_path.read_bytes(), "image/gif")
    strip = data_uri(png_bytes(frame_strip(frames, delays)), "image/png")
    shown = len(strip_indices(len(frames)))
    body = (f'<figure><img alt="{name}" src="{animation}">'
            f"<figcaption>The render as it plays.</figcaption></figure>\n"
            f'<figure><img alt="frames of {name}" src="{strip}">'
            f"<figcaption>{shown} evenly spaced frames of it.</figcaption></figure>\n")
    write_page(out_path, title or str(gif_path), body, meta)
