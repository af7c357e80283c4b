"""Stick-figure renders of 178-keypoint skeletons: ground truth beside generated, as GIF or MP4.

Poses are ``(T, 178, 3)`` float32 in shoulder-width units centred on the neck, x right and y down as
in image coordinates; only x and y are drawn (orthographic view from the camera). A joint is drawn
only where its ``joint_mask`` is true and its x, y are finite; a bone or contour segment only where
both ends are drawn. Parts: body bones (shoulders, arms, shoulders to hips, hips), each hand's five
finger chains from its wrist, and the face's MediaPipe contours (lips, eyes, brows, oval) as
polylines through the 128 face slots. That is the ``holistic178`` layout; ``slrtp178`` poses (the
SLRTP challenge's files, whose face slots are in another order) are drawn with the challenge's own
edges (:func:`pipelib.skeletons.layout.slrtp_chains`). Images are BGR uint8, as OpenCV uses them.

A comparison frame (:func:`side_by_side`) explains itself: above each panel its system and role
(``GT (ground truth)`` | ``DARSLP-KL (generated)``, the system named by the caller), below each panel
a frame counter ``frame t/T`` over that sequence's rendered frames, then a colour legend of the parts
(the signer's body, left hand, right hand, face), then the caption. Same input, same pixels.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from pipelib.estimators.landmarks import FINGER_CHAINS
from pipelib.io.atomic import atomic_path
from pipelib.skeletons.layout import (
    BODY,
    FACE,
    FACE_FROM_MESH,
    HOLISTIC,
    LEFT_HAND,
    N_JOINTS,
    RIGHT_HAND,
    check_layout,
    slrtp_chains,
)

BGR = tuple[int, int, int]

#: Default panel size (width, height) in pixels.
DEFAULT_SIZE: tuple[int, int] = (256, 320)
#: Where the neck (the pose origin) sits by default, as fractions of the panel (width, height).
NECK_AT: tuple[float, float] = (0.5, 0.45)
#: Default pixels per shoulder width, as a fraction of the panel width.
SHOULDER_FRACTION = 1.0 / 3.0

#: Body bones as slot pairs: shoulder line, both arms, shoulders to hips, hip line.
BODY_BONES: tuple[tuple[int, int], ...] = ((0, 3), (0, 1), (1, 2), (3, 4), (4, 5), (0, 6), (3, 7), (6, 7))


def _hand_bones(first: int) -> tuple[tuple[int, int], ...]:
    """Bones of the hand whose wrist is slot ``first``: each finger's chain starting at the wrist."""
    bones = []
    for chain in FINGER_CHAINS.values():
        joints = (0, *chain)
        bones += [(first + a, first + b) for a, b in zip(joints[:-1], joints[1:], strict=True)]
    return tuple(bones)


RIGHT_HAND_BONES = _hand_bones(RIGHT_HAND.start)
LEFT_HAND_BONES = _hand_bones(LEFT_HAND.start)

#: MediaPipe face contours drawn, by their ``FACEMESH_<NAME>`` edge set in ``face_mesh_connections``.
FACE_CONTOURS: tuple[str, ...] = (
    "lips", "left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "face_oval",
)

#: Default colour (BGR) of each part.
PART_COLOURS: dict[str, BGR] = {
    "body": (150, 90, 30),
    "right_hand": (40, 40, 210),
    "left_hand": (40, 150, 40),
    "face": (90, 90, 90),
}
BACKGROUND: BGR = (255, 255, 255)
TEXT_COLOUR: BGR = (20, 20, 20)
#: Legend entries under the panels, in order: (part, label); hands are the signer's.
LEGEND: tuple[tuple[str, str], ...] = (
    ("body", "body"), ("left_hand", "left hand"), ("right_hand", "right hand"), ("face", "face"),
)

_SHIFT = 4  # OpenCV sub-pixel bits: coordinates are passed as round(x * 16)


def _chains(edges: Iterable[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Join undirected ``edges`` into paths; a closed loop repeats its first node at its end.

    Deterministic: each path starts at the smallest end node (degree 1) left, else the smallest node
    left, and always steps to the smallest neighbour along an unused edge.
    """
    adjacent: dict[int, set[int]] = {}
    for a, b in edges:
        adjacent.setdefault(a, set()).add(b)
        adjacent.setdefault(b, set()).add(a)
    unused = {frozenset(e) for e in edges}
    paths = []
    while unused:
        nodes = sorted({n for e in unused for n in e})
        ends = [n for n in nodes if sum(frozenset((n, m)) in unused for m in adjacent[n]) == 1]
        path = [ends[0] if ends else nodes[0]]
        while True:
            step = [m for m in sorted(adjacent[path[-1]]) if frozenset((path[-1], m)) in unused]
            if not step:
                break
            unused.discard(frozenset((path[-1], step[0])))
            path.append(step[0])
        paths.append(tuple(path))
    return paths


@functools.cache
def face_polylines() -> dict[str, tuple[tuple[int, ...], ...]]:
    """Skeleton slots (50-177) of each MediaPipe face contour, as polylines (closed ones end at their start).

    E.g. ``lips`` is two closed loops (outer, inner) of 20 points, ``left_eyebrow`` two open chains of 5.
    """
    from mediapipe.python.solutions import face_mesh_connections

    slot_of = {mesh: FACE.start + i for i, mesh in enumerate(FACE_FROM_MESH)}
    out = {}
    for name in FACE_CONTOURS:
        edges = getattr(face_mesh_connections, f"FACEMESH_{name.upper()}")
        out[name] = tuple(tuple(slot_of[m] for m in chain) for chain in _chains(sorted(edges)))
    return out


def part_chains(layout: str = HOLISTIC) -> dict[str, tuple[tuple[int, ...], ...]]:
    """Slot polylines drawn per part (``body``, ``right_hand``, ``left_hand``, ``face``) for a layout."""
    if check_layout(layout, "render layout") == HOLISTIC:
        return {"body": BODY_BONES, "right_hand": RIGHT_HAND_BONES, "left_hand": LEFT_HAND_BONES,
                "face": tuple(c for loops in face_polylines().values() for c in loops)}
    return slrtp_chains()


def to_pixels(pose: np.ndarray, size: tuple[int, int] = DEFAULT_SIZE, scale: float | None = None,
              origin: tuple[float, float] | None = None) -> np.ndarray:
    """``pose: (178, >=2)`` shoulder-width units -> ``(178, 2)`` float64 pixel (x, y) in a ``size`` panel.

    ``scale``: pixels per shoulder width (default ``w / 3``); ``origin``: the neck's pixel (x, y)
    (default ``(w / 2, 0.45 h)``).
    """
    w, h = size
    s = w * SHOULDER_FRACTION if scale is None else float(scale)
    o = (w * NECK_AT[0], h * NECK_AT[1]) if origin is None else origin
    return np.asarray(o, dtype=np.float64) + s * np.asarray(pose, dtype=np.float64)[:, :2]


def _check_pose(pose: np.ndarray, joint_mask: np.ndarray | None, name: str) -> tuple[np.ndarray, np.ndarray]:
    pose = np.asarray(pose)
    if pose.ndim != 2 or pose.shape[0] != N_JOINTS or pose.shape[1] < 2:
        raise ValueError(f"{name} must have shape ({N_JOINTS}, 3), got {pose.shape}")
    if joint_mask is None:
        return pose, np.ones(N_JOINTS, dtype=bool)
    joint_mask = np.asarray(joint_mask, dtype=bool)
    if joint_mask.shape != (N_JOINTS,):
        raise ValueError(f"{name} joint_mask must have shape ({N_JOINTS},), got {joint_mask.shape}")
    return pose, joint_mask


def _draw_segments(img: np.ndarray, fixed: np.ndarray, shown: np.ndarray, chains: Iterable[Sequence[int]],
                   colour: BGR, thickness: int) -> None:
    """Draw each chain of slots as polylines, broken wherever a slot is not ``shown``."""
    runs = []
    for chain in chains:
        run: list[int] = []
        for j in (*chain, -1):
            if j >= 0 and shown[j]:
                run.append(j)
                continue
            if len(run) >= 2:
                runs.append(fixed[run].reshape(-1, 1, 2))
            run = []
    if runs:
        cv2.polylines(img, runs, False, colour, thickness, cv2.LINE_AA, _SHIFT)


def draw_skeleton(pose: np.ndarray, joint_mask: np.ndarray | None = None,
                  size: tuple[int, int] = DEFAULT_SIZE, scale: float | None = None,
                  colour: BGR | None = None, *, origin: tuple[float, float] | None = None,
                  background: BGR = BACKGROUND, layout: str = HOLISTIC) -> np.ndarray:
    """Draw one skeleton: ``pose: (178, 3)`` shoulder-width units, ``joint_mask: (178,)`` bool or None.

    Returns a ``(h, w, 3)`` uint8 BGR image for ``size = (w, h)``. Placement as :func:`to_pixels`.
    ``colour`` draws every part in one BGR colour; None uses :data:`PART_COLOURS`. Body and hand joints
    get dots; masked or non-finite joints, and the bones touching them, are not drawn. ``layout``
    chooses the edges (:func:`part_chains`).
    """
    pose, joint_mask = _check_pose(pose, joint_mask, "pose")
    w, h = size
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:] = background
    px = to_pixels(pose, size, scale, origin)                                   # (178, 2)
    limit = 4.0 * max(w, h)  # far off-panel points are clipped so int32 pixel maths cannot overflow
    shown = joint_mask & np.isfinite(px).all(axis=1)
    fixed = np.round(np.clip(np.nan_to_num(px), -limit, limit) * (1 << _SHIFT)).astype(np.int32)
    s = w * SHOULDER_FRACTION if scale is None else float(scale)
    thick = max(1, round(s / 42.0))
    thin = max(1, thick // 2)
    colours = PART_COLOURS if colour is None else dict.fromkeys(PART_COLOURS, colour)

    chains = part_chains(layout)
    _draw_segments(img, fixed, shown, chains["face"], colours["face"], thin)
    parts = (("body", BODY, chains["body"], thick, thick + 1),
             ("right_hand", RIGHT_HAND, chains["right_hand"], thin, thin),
             ("left_hand", LEFT_HAND, chains["left_hand"], thin, thin))
    for part, slots, bones, width, radius in parts:
        _draw_segments(img, fixed, shown, bones, colours[part], width)
        for j in range(slots.start, slots.stop):
            if shown[j]:
                cv2.circle(img, tuple(int(v) for v in fixed[j]), radius << _SHIFT, colours[part], -1,
                           cv2.LINE_AA, _SHIFT)
    return img


#: System fonts tried in turn for titles and captions (CJK coverage first, then wide Latin coverage);
#: Pillow's built-in font, which lacks most accented letters, is the last resort.
CAPTION_FONTS: tuple[str, ...] = ("NotoSansCJK-Regular.ttc", "NotoSans-Regular.ttf", "DejaVuSans.ttf")


@functools.cache
def _font(size: int):
    """The first available :data:`CAPTION_FONTS` font at ``size`` pixels, else Pillow's built-in font."""
    from PIL import ImageFont

    for name in CAPTION_FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except ImportError:  # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


def _wrap(text: str, width: float, max_lines: int, measure) -> list[str]:
    """Greedy word wrap of ``text`` into at most ``max_lines`` lines no wider than ``width`` pixels.

    Words wider than a line (e.g. unspaced scripts) are broken between characters; text beyond the
    last line is cut and ends in ``...``.
    """
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if measure(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in word:
            if line and measure(line + ch) > width:
                lines.append(line)
                line = ""
            line += ch
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and measure(last + "...") > width:
            last = last[:-1]
        lines = lines[: max_lines - 1] + [last.rstrip() + "..."]
    return lines


def _text_band(width: int, height: int, items: Sequence[tuple[float, float, str]], font_size: int,
               background: BGR = BACKGROUND) -> np.ndarray:
    """A ``(height, width, 3)`` BGR strip with each ``(x_centre, y_top, text)`` written in black."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), tuple(reversed(background)))
    draw = ImageDraw.Draw(img)
    font = _font(font_size)
    for x, y, text in items:
        draw.text((x - draw.textlength(text, font=font) / 2, y), text, fill=tuple(reversed(TEXT_COLOUR)),
                  font=font)
    return np.ascontiguousarray(np.asarray(img)[:, :, ::-1])


def _check_sequence(poses: np.ndarray, mask: np.ndarray | None, name: str) -> tuple[np.ndarray, np.ndarray]:
    poses = np.asarray(poses)
    if poses.ndim != 3 or poses.shape[1] != N_JOINTS or poses.shape[2] < 2:
        raise ValueError(f"{name} must have shape (T, {N_JOINTS}, 3), got {poses.shape}")
    if mask is None:
        return poses, np.ones(poses.shape[:2], dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != poses.shape[:2]:
        raise ValueError(f"{name} mask must have shape {poses.shape[:2]} (T, {N_JOINTS}), got {mask.shape}")
    return poses, mask


def legend_band(width: int, font_size: int, background: BGR = BACKGROUND) -> np.ndarray:
    """A ``(font_size + 10, width, 3)`` BGR strip: a square swatch in each :data:`LEGEND` part's colour
    (:data:`PART_COLOURS`, flat, ``font_size - 2`` pixels a side) followed by its label, centred."""
    from PIL import Image, ImageDraw

    height = font_size + 10
    img = Image.new("RGB", (width, height), tuple(reversed(background)))
    draw = ImageDraw.Draw(img)
    font = _font(font_size)
    box, gap, spacing = font_size - 2, 4, 16
    widths = [box + gap + draw.textlength(label, font=font) for _, label in LEGEND]
    x = (width - sum(widths) - spacing * (len(LEGEND) - 1)) / 2
    top = (height - box) // 2
    ink = draw.textbbox((0, 0), "Hg", font=font)  # one baseline for every label, centred on the swatches
    y = top + (box - ink[1] - ink[3]) / 2
    for (part, label), item in zip(LEGEND, widths, strict=True):
        x0 = int(round(x))
        draw.rectangle((x0, top, x0 + box - 1, top + box - 1), fill=tuple(reversed(PART_COLOURS[part])))
        draw.text((x0 + box + gap, y), label, fill=tuple(reversed(TEXT_COLOUR)), font=font)
        x += item + spacing
    return np.ascontiguousarray(np.asarray(img)[:, :, ::-1])


def frame_counter(t: int, n_frames: int) -> str:
    """``"frame t/T"`` (1-based) for output frame ``t`` of a sequence of ``n_frames`` frames that holds
    its last frame once it runs out; ``"no frames"`` for an empty one."""
    return f"frame {min(t, n_frames - 1) + 1}/{n_frames}" if n_frames > 0 else "no frames"


def panel_title(system: str, role: str) -> str:
    """Title above a panel: ``"GT (ground truth)"``; the role alone where ``system`` is empty."""
    return f"{system} ({role})" if system else role


def side_by_side(gt: np.ndarray, pred: np.ndarray, gt_mask: np.ndarray | None = None,
                 pred_mask: np.ndarray | None = None, title_gt: str = "ground truth",
                 title_pred: str = "generated", text: str = "", *, system: str, gt_system: str = "GT",
                 size: tuple[int, int] = DEFAULT_SIZE, scale: float | None = None, font_size: int = 12,
                 caption_lines: int = 2, layout: str = HOLISTIC) -> list[np.ndarray]:
    """Frames showing ``gt: (T1, 178, 3)`` left of ``pred: (T2, 178, 3)``; masks ``(T, 178)`` bool or None.

    Returns ``max(T1, T2)`` BGR uint8 frames of shape ``(header + h + counter + legend + caption, 2 w, 3)``,
    top to bottom: the panel titles (:func:`panel_title` of ``gt_system`` / ``title_gt`` and ``system``
    (the generated system's name, e.g. ``DARSLP-KL``) / ``title_pred``), the two ``size = (w, h)``
    panels, each panel's :func:`frame_counter`, the parts' :func:`legend_band`, and ``text`` wrapped
    into ``caption_lines`` lines. The strip heights depend only on ``font_size`` and ``caption_lines``,
    so clips of different sentences share one frame size. The shorter sequence holds its last frame
    (an empty one shows a blank panel).
    """
    gt, gt_mask = _check_sequence(gt, gt_mask, "gt")
    pred, pred_mask = _check_sequence(pred, pred_mask, "pred")
    if caption_lines < 1:
        raise ValueError(f"caption_lines must be >= 1, got {caption_lines}")
    w, h = size
    line_h = font_size + 4
    header = _text_band(2 * w, line_h + 6, [(w / 2, 3, panel_title(gt_system, title_gt)),
                                            (1.5 * w, 3, panel_title(system, title_pred))], font_size)
    legend = legend_band(2 * w, font_size)
    font = _font(font_size)
    lines = _wrap(text, 2 * w - 16, caption_lines, lambda s: font.getlength(s))
    caption = _text_band(2 * w, caption_lines * line_h + 8,
                         [(w, 4 + i * line_h, line) for i, line in enumerate(lines)], font_size)
    blank = np.empty((h, w, 3), dtype=np.uint8)
    blank[:] = BACKGROUND

    def panels(poses: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        return [draw_skeleton(p, m, size, scale, layout=layout)
                for p, m in zip(poses, mask, strict=True)] or [blank]

    def counters(t: int) -> np.ndarray:
        return _text_band(2 * w, line_h + 2, [(w / 2, 1, frame_counter(t, len(gt))),
                                              (1.5 * w, 1, frame_counter(t, len(pred)))], font_size)

    left, right = panels(gt, gt_mask), panels(pred, pred_mask)
    n = max(len(gt), len(pred))
    return [
        np.vstack([header, np.hstack([left[min(t, len(left) - 1)], right[min(t, len(right) - 1)]]),
                   counters(t), legend, caption])
        for t in range(n)
    ]


def _check_frames(frames: Sequence[np.ndarray], fps: float, path: Path) -> None:
    if not frames:
        raise ValueError(f"no frames to write to {path}")
    if not fps > 0:
        raise ValueError(f"fps must be > 0 to write {path}, got {fps}")
    shape = frames[0].shape
    for i, f in enumerate(frames):
        if f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3 or f.shape != shape:
            raise ValueError(
                f"frame {i} for {path} is {f.dtype} {f.shape}; every frame must be uint8 BGR of shape {shape}"
            )


def _indexed(frames: Sequence[np.ndarray], n_sample: int = 8) -> tuple[list[np.ndarray], np.ndarray]:
    """``frames`` as ``(h, w)`` uint8 indices into one shared ``(256, 3)`` uint8 RGB palette.

    The palette is the 256 most frequent colours of up to ``n_sample`` evenly spaced frames, so flat
    colours (background, parts, text) stay exact; any other colour (rarer anti-aliasing shades) maps
    to its nearest palette entry. One palette for the whole animation is much faster than Pillow's
    adaptive palette per frame.
    """
    def packed(frame: np.ndarray) -> np.ndarray:                                      # (h, w) 0xRRGGBB
        f = frame.astype(np.int32)
        return (f[..., 2] << 16) | (f[..., 1] << 8) | f[..., 0]

    idx = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), n_sample)).round().astype(int))
    colours, counts = np.unique(np.concatenate([packed(frames[i]).ravel() for i in idx]), return_counts=True)
    top = colours[np.argsort(-counts, kind="stable")[:256]]

    def rgb(c: np.ndarray) -> np.ndarray:                                                 # (n, 3) RGB
        return np.stack([(c >> 16) & 255, (c >> 8) & 255, c & 255], axis=1)

    palette = rgb(top)                                                                    # (<=256, 3)
    lut = np.full(1 << 24, -1, dtype=np.int16)  # colour -> palette index, filled as colours appear
    lut[top] = np.arange(len(top))
    out = []
    for frame in frames:
        c = packed(frame)
        index = lut[c]                                                                    # (h, w)
        if (index < 0).any():
            new = np.unique(c[index < 0])
            dist = ((rgb(new)[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)        # (n_new, P)
            lut[new] = dist.argmin(axis=1)
            index = lut[c]
        out.append(index.astype(np.uint8))
    full = np.zeros((256, 3), dtype=np.uint8)
    full[: len(palette)] = palette
    return out, full


def write_gif(frames: Sequence[np.ndarray], path: str | os.PathLike[str], fps: float = 12.5) -> Path:
    """Write ``frames`` (each ``(h, w, 3)`` BGR uint8) as a looping animated GIF, atomically; returns path.

    GIF delays are whole 10 ms units, so the delay is ``1000 / fps`` rounded to 10 ms (12.5 fps: 80 ms).
    Pillow merges identical consecutive frames into one longer frame, keeping the playing time.
    """
    from PIL import Image

    path = Path(path)
    _check_frames(frames, fps, path)
    delay = max(10, int(round(100.0 / fps)) * 10)
    indexed, palette = _indexed(frames)
    images = []
    for index in indexed:
        im = Image.frombytes("P", (index.shape[1], index.shape[0]), index.tobytes())
        im.putpalette(palette.reshape(-1).tolist())
        images.append(im)
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=delay, loop=0)
    return path


def write_mp4(frames: Sequence[np.ndarray], path: str | os.PathLike[str], fps: float = 12.5) -> Path:
    """Write ``frames`` (each ``(h, w, 3)`` BGR uint8) as MPEG-4 video ('mp4v'), atomically; returns the path.

    Odd frame sizes are padded by one pixel (edge colour), since the codec wants even sizes.
    """
    path = Path(path)
    _check_frames(frames, fps, path)
    h, w = frames[0].shape[:2]
    pad_h, pad_w = h % 2, w % 2
    with atomic_path(path) as tmp:
        fourcc = cv2.VideoWriter_fourcc(*"mp4v")
        writer = cv2.VideoWriter(str(tmp), fourcc, float(fps), (w + pad_w, h + pad_h))
        if not writer.isOpened():
            raise RuntimeError(f"OpenCV could not open an 'mp4v' video writer for {path}; write a .gif")
        try:
            for f in frames:
                writer.write(cv2.copyMakeBorder(f, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE) if pad_h or pad_w
                             else f)
        finally:
            writer.release()
        if tmp.stat().st_size == 0:
            raise RuntimeError(f"OpenCV wrote an empty video for {path}; write a .gif instead")
    return path


#: A ground-truth item ``(id, text, poses (T, 178, 3), joint_mask (T, 178) | None)``.
GtItem = tuple[str, str, np.ndarray, np.ndarray | None]
#: A prediction ``(poses (T, 178, 3), joint_mask (T, 178) | None)``.
PredItem = tuple[np.ndarray, np.ndarray | None]


def comparison_frames(gt_seqs: Sequence[GtItem], pred_seqs: Mapping[str, PredItem], n: int = 3, *,
                      system: str, size: tuple[int, int] = DEFAULT_SIZE, pause_frames: int = 6,
                      layout: str = HOLISTIC) -> list[np.ndarray]:
    """Side-by-side clips of the first ``n`` ids (sorted) found in both inputs, one after another.

    ``gt_seqs``: ``(id, text, poses (T, 178, 3), joint_mask (T, 178) | None)`` items; ``pred_seqs``:
    ``{id: (poses, joint_mask | None)}``; ``system``: the name of the system that generated
    ``pred_seqs`` (e.g. ``DARSLP-KL``), drawn above its panels (ground truth as ``GT``). Each clip is
    captioned ``"<id>: <text>"`` and ends by holding its last frame ``pause_frames`` more frames.
    Ground-truth ids without a prediction are skipped.
    """
    if int(n) < 1:
        raise ValueError(f"n (sentences to render) must be >= 1, got {n}")
    if pause_frames < 0:
        raise ValueError(f"pause_frames must be >= 0, got {pause_frames}")
    by_id = {}
    for item in gt_seqs:
        if len(item) != 4:
            raise ValueError(f"ground-truth items must be (id, text, poses, mask), got {len(item)} fields")
        by_id[str(item[0])] = item
    ids = sorted(i for i in by_id if i in pred_seqs)[: int(n)]
    if not ids:
        raise ValueError(
            f"no ground-truth id has a prediction (ground truth e.g. {sorted(by_id)[:3]}, "
            f"predictions e.g. {sorted(pred_seqs)[:3]}); check that both come from the same split"
        )
    frames: list[np.ndarray] = []
    for vid in ids:
        _, text, gt, gt_mask = by_id[vid]
        pred, pred_mask = pred_seqs[vid]
        clip = side_by_side(gt, pred, gt_mask, pred_mask, text=f"{vid}: {text}", system=system, size=size,
                            layout=layout)
        if clip:
            frames += clip + [clip[-1]] * pause_frames
    if not frames:
        raise ValueError(f"the selected sequences {ids} are all empty (0 frames); nothing to render")
    return frames


def render_comparisons(gt_seqs: Sequence[GtItem], pred_seqs: Mapping[str, PredItem],
                       out_path: str | os.PathLike[str], n: int = 3, fps: float = 12.5, *,
                       system: str, size: tuple[int, int] = DEFAULT_SIZE, pause_frames: int = 6,
                       layout: str = HOLISTIC) -> Path:
    """Write :func:`comparison_frames` of the first ``n`` sentences to ``out_path`` (``.gif``, or ``.mp4``).

    Returns the path. Inputs (``system`` included) as :func:`comparison_frames`; ``fps`` is the pose
    frame rate.
    """
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"comparison output {out_path} must end in .gif or .mp4")
    frames = comparison_frames(gt_seqs, pred_seqs, n, system=system, size=size, pause_frames=pause_frames,
                               layout=layout)
    return write_mp4(frames, out_path, fps) if suffix == ".mp4" else write_gif(frames, out_path, fps)
