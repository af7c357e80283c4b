"""Skeleton renders: pixel placement, masking, face contours, side-by-side clips, GIF / MP4 writing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from pipelib.production import render
from pipelib.skeletons.layout import FACE, FACE_FROM_MESH, LEFT_HAND, N_JOINTS, RIGHT_HAND

W, H = render.DEFAULT_SIZE
BG = np.array(render.BACKGROUND, dtype=np.uint8)


def make_pose(shift: float = 0.0) -> np.ndarray:
    """(178, 3) float32: arms down and out, hands fanned below the wrists, face on a ring above the neck."""
    pose = np.zeros((N_JOINTS, 3), dtype=np.float32)
    pose[:8, :2] = [(-0.5, 0.0), (-0.9, 0.6), (-1.1, 1.0), (0.5, 0.0), (0.9, 0.6), (1.1, 1.0),
                    (-0.4, 1.6), (0.4, 1.6)]
    for hand, wrist in ((RIGHT_HAND, pose[2, :2]), (LEFT_HAND, pose[5, :2])):
        k = np.arange(21)
        pose[hand, 0] = wrist[0] + 0.02 * (k % 5 - 2)
        pose[hand, 1] = wrist[1] + 0.015 * k
    angle = np.linspace(0.0, 2 * np.pi, FACE.stop - FACE.start, endpoint=False)
    pose[FACE, 0] = 0.35 * np.cos(angle)
    pose[FACE, 1] = -0.9 + 0.45 * np.sin(angle)
    pose[:, 0] += shift
    return pose


def is_bg(img: np.ndarray) -> np.ndarray:
    return (img == BG).all(axis=-1)


def pixel(xy: np.ndarray) -> tuple[int, int]:
    return int(round(xy[1])), int(round(xy[0]))  # (row, col)


def test_default_placement_puts_neck_and_shoulder_width_where_promised():
    px = render.to_pixels(make_pose())
    neck = 0.5 * (px[0] + px[3])
    np.testing.assert_allclose(neck, (W / 2, 0.45 * H))
    assert np.linalg.norm(px[0] - px[3]) == pytest.approx(W / 3)
    assert px[2, 0] < W / 2 < px[5, 0]  # x right: the person's right wrist (x < 0) is on the image's left
    custom = render.to_pixels(make_pose(), scale=10.0, origin=(5.0, 7.0))
    np.testing.assert_allclose(custom[2], (5.0 - 11.0, 7.0 + 10.0))


def test_joints_are_drawn_at_their_pixels_in_their_part_colour():
    pose = make_pose()
    img = render.draw_skeleton(pose)
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    px = render.to_pixels(pose)
    for j in (0, 1, 2, 3, 4, 5, 6, 7, RIGHT_HAND.start, LEFT_HAND.start + 20):
        assert not is_bg(img)[pixel(px[j])], f"joint {j} left no pixel"
    np.testing.assert_array_equal(img[pixel(px[1])], render.PART_COLOURS["body"])
    np.testing.assert_array_equal(img[pixel(px[RIGHT_HAND.start + 20])], render.PART_COLOURS["right_hand"])
    # a bone: the mid-point of the right upper arm is drawn, a point well away from every part is not
    assert not is_bg(img)[pixel(0.5 * (px[0] + px[1]))]
    assert is_bg(img)[5, 5]
    mono = render.draw_skeleton(pose, colour=(0, 0, 255))
    drawn = ~is_bg(mono)
    assert set(map(tuple, mono[drawn].reshape(-1, 3))) >= {(0, 0, 255)}
    assert (mono[drawn][:, 2] >= mono[drawn][:, 0]).all()  # only blends of red with white


def test_masked_and_non_finite_joints_leave_the_background_untouched():
    pose = make_pose()
    mask = np.ones(N_JOINTS, dtype=bool)
    hidden = [4, 5, *range(LEFT_HAND.start, LEFT_HAND.stop)]  # left elbow, wrist and hand
    mask[hidden] = False
    full, masked = render.draw_skeleton(pose), render.draw_skeleton(pose, mask)
    px = render.to_pixels(pose)
    for j in hidden:
        r, c = pixel(px[j])
        assert not is_bg(full)[r, c]
        assert is_bg(masked[r - 3:r + 4, c - 3:c + 4]).all(), f"masked joint {j} was drawn"
    # the rest of the figure is still there
    assert not is_bg(masked)[pixel(px[2])] and not is_bg(masked)[pixel(px[3])]
    # NaN coordinates act as a mask
    nan_pose = pose.copy()
    nan_pose[hidden] = np.nan
    np.testing.assert_array_equal(render.draw_skeleton(nan_pose), masked)
    # nothing shown: a blank panel; far off-panel joints do not break drawing
    assert is_bg(render.draw_skeleton(pose, np.zeros(N_JOINTS, dtype=bool))).all()
    assert render.draw_skeleton(pose * 1e9).shape == (H, W, 3)


def test_face_contours_follow_mediapipe_edges_over_all_128_face_slots():
    from mediapipe.python.solutions import face_mesh_connections as fmc

    lines = render.face_polylines()
    assert set(lines) == set(render.FACE_CONTOURS)
    shapes = {name: sorted((len(c), c[0] == c[-1]) for c in chains) for name, chains in lines.items()}
    assert shapes["lips"] == [(21, True), (21, True)]  # outer and inner loops of 20 points
    assert shapes["left_eye"] == shapes["right_eye"] == [(17, True)]
    assert shapes["left_eyebrow"] == shapes["right_eyebrow"] == [(5, False), (5, False)]
    assert shapes["face_oval"] == [(37, True)]
    slots = [j for chains in lines.values() for c in chains for j in c]
    assert set(slots) == set(range(FACE.start, FACE.stop))
    for name, chains in lines.items():
        edges = {frozenset(e) for e in getattr(fmc, f"FACEMESH_{name.upper()}")}
        walked = {frozenset((FACE_FROM_MESH[a - FACE.start], FACE_FROM_MESH[b - FACE.start]))
                  for c in chains for a, b in zip(c[:-1], c[1:], strict=True)}
        assert walked == edges, name
    assert FACE.start + FACE_FROM_MESH.index(61) in lines["lips"][0] + lines["lips"][1]  # lip corner

    # a face-only skeleton draws the oval's segments and nothing of the body
    pose, mask = make_pose(), np.zeros(N_JOINTS, dtype=bool)
    mask[FACE] = True
    img = render.draw_skeleton(pose, mask)
    px = render.to_pixels(pose)
    oval = lines["face_oval"][0]
    a, b = oval[0], oval[1]
    assert not is_bg(img)[pixel(0.5 * (px[a] + px[b]))]
    assert is_bg(img)[pixel(px[2])]
    face_px = img[pixel(px[a])].astype(int)  # thin anti-aliased line: the face grey, maybe lighter
    assert face_px[0] == face_px[1] == face_px[2] and face_px[0] < 160


#: Heights of the strips at the default font size (12 px, lines of 16): titles, counters, legend, caption.
HEADER_H, COUNTER_H, LEGEND_H, CAPTION_H = 22, 18, 22, 2 * 16 + 8


def moving(n: int, start: float = 0.0) -> np.ndarray:
    return np.stack([make_pose(start + 0.05 * t) for t in range(n)])


def test_side_by_side_pairs_panels_and_holds_the_shorter_sequence():
    gt, pred = moving(3), moving(5, start=-0.3)
    frames = render.side_by_side(gt, pred, text="am Montag regnet es im Süden", system="DARSLP")
    assert len(frames) == 5
    assert {f.shape for f in frames} == {frames[0].shape}
    height = frames[0].shape[0]
    assert frames[0].shape[1] == 2 * W and height > H
    # the panels are the single-skeleton drawings, left gt and right pred, below a title strip
    top = [off for off in range(height - H + 1) if np.array_equal(frames[0][off:off + H, :W],
                                                                  render.draw_skeleton(gt[0]))]
    assert len(top) == 1
    top = top[0]
    np.testing.assert_array_equal(frames[4][top:top + H, W:], render.draw_skeleton(pred[4]))
    # gt ran out after frame 2: its last frame is held while pred keeps moving
    for t in (3, 4):
        np.testing.assert_array_equal(frames[t][top:top + H, :W], frames[2][top:top + H, :W])
    assert not np.array_equal(frames[3][top:top + H, W:], frames[4][top:top + H, W:])
    # titles above and caption below are drawn; a longer caption keeps the frame size
    assert not is_bg(frames[0][:top]).all() and not is_bg(frames[0][-CAPTION_H:]).all()
    silent = render.side_by_side(gt, pred, text="", system="DARSLP")
    assert is_bg(silent[0][-CAPTION_H:]).all()
    long = render.side_by_side(gt, pred, text="wort " * 200, system="DARSLP")
    assert long[0].shape == frames[0].shape
    # masks per sequence; an empty sequence shows a blank panel
    mask = np.zeros(gt.shape[:2], dtype=bool)
    masked = render.side_by_side(gt, pred[:0], gt_mask=mask, system="DARSLP")
    assert len(masked) == 3 and is_bg(masked[0][top:top + H]).all()


def test_bad_shapes_are_rejected_with_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(178, 3\)"):
        render.draw_skeleton(np.zeros((50, 3)))
    with pytest.raises(ValueError, match="joint_mask"):
        render.draw_skeleton(make_pose(), np.ones(10, dtype=bool))
    with pytest.raises(ValueError, match=r"pred must have shape \(T, 178, 3\)"):
        render.side_by_side(moving(2), np.zeros((2, 178)), system="S")
    with pytest.raises(ValueError, match="gt mask"):
        render.side_by_side(moving(2), moving(2), gt_mask=np.ones((3, 178), dtype=bool), system="S")


def test_gif_round_trip_keeps_frames_size_timing_and_leaves_no_temp_files(tmp_path):
    frames = render.side_by_side(moving(4), moving(4, start=0.2), text="test", system="S")
    out = render.write_gif(frames, tmp_path / "clip.gif", fps=12.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.gif"]
    with Image.open(out) as im:
        assert im.n_frames == 4
        assert im.size == (frames[0].shape[1], frames[0].shape[0])
        assert im.info["duration"] == 80
        for t in range(4):
            im.seek(t)
            rgb = np.asarray(im.convert("RGB")).astype(int)
            assert np.abs(rgb - frames[t][:, :, ::-1]).mean() < 1.0  # shared palette: flat colours exact
            np.testing.assert_array_equal(rgb[0, 0], render.BACKGROUND[::-1])


def test_failed_gif_write_keeps_the_old_file_and_no_temp_files(tmp_path, monkeypatch):
    frames = render.side_by_side(moving(2), moving(2), system="S")
    out = render.write_gif(frames, tmp_path / "clip.gif")
    before = out.read_bytes()

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        render.write_gif(frames[::-1], out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.gif"]
    with pytest.raises(ValueError, match="uint8"):
        render.write_gif([frames[0], frames[1].astype(np.float32)], tmp_path / "bad.gif")
    with pytest.raises(ValueError, match="no frames"):
        render.write_gif([], tmp_path / "bad.gif")


def test_write_mp4_pads_odd_sizes_and_is_readable(tmp_path):
    frames = [np.full((31, 45, 3), 40 * t, dtype=np.uint8) for t in range(5)]
    out = render.write_mp4(frames, tmp_path / "clip.mp4", fps=12.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    cap = cv2.VideoCapture(str(out))
    try:
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
        assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (46, 32)
    finally:
        cap.release()


def test_render_comparisons_takes_the_first_n_ids_with_predictions_in_id_order(tmp_path):
    gt = [("c", "drei", moving(2), None), ("b", "zwei", moving(3), None), ("a", "eins", moving(4), None)]
    preds = {"a": (moving(4, 0.1), None), "b": (moving(2, 0.1), np.ones((2, 178), dtype=bool))}
    frames = render.comparison_frames(gt, preds, n=3, pause_frames=2, system="S")
    assert len(frames) == (4 + 2) + (3 + 2)  # "a" then "b"; "c" has no prediction
    for t in (4, 5):
        np.testing.assert_array_equal(frames[t], frames[3])  # "a" is held before "b" starts
    assert not np.array_equal(frames[6], frames[5])
    assert len(render.comparison_frames(gt, preds, n=1, pause_frames=0, system="S")) == 4
    out = render.render_comparisons(gt, preds, tmp_path / "cmp.gif", n=3, system="S")
    with Image.open(out) as im:
        assert im.n_frames >= 7  # the held pause frames may be merged into longer ones
        assert im.size == (2 * W, frames[0].shape[0])
    with pytest.raises(ValueError, match="no ground-truth id has a prediction"):
        render.comparison_frames(gt, {"z": preds["a"]}, system="S")
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        render.render_comparisons(gt, preds, tmp_path / "cmp.png", system="S")


def test_frames_name_the_systems_count_frames_and_carry_a_colour_legend():
    gt, pred = moving(3), moving(5, start=-0.3)
    kl = render.side_by_side(gt, pred, text="x", system="DARSLP-KL")
    plain = render.side_by_side(gt, pred, text="x", system="DARSLP")
    assert kl[0].shape[0] == HEADER_H + H + COUNTER_H + LEGEND_H + CAPTION_H
    # titles: GT over the left panel, the caller's system over the right one
    np.testing.assert_array_equal(kl[0][:HEADER_H], render._text_band(
        2 * W, HEADER_H, [(W / 2, 3, "GT (ground truth)"), (1.5 * W, 3, "DARSLP-KL (generated)")], 12))
    np.testing.assert_array_equal(kl[0][:HEADER_H, :W], plain[0][:HEADER_H, :W])
    assert not np.array_equal(kl[0][:HEADER_H, W:], plain[0][:HEADER_H, W:])
    # counters under each panel, 1-based over that sequence; the ended ground truth stays at 3/3
    assert [render.frame_counter(t, 3) for t in range(5)] == ["frame 1/3", "frame 2/3"] + ["frame 3/3"] * 3
    assert render.frame_counter(0, 0) == "no frames"
    strip = slice(HEADER_H + H, HEADER_H + H + COUNTER_H)
    np.testing.assert_array_equal(kl[3][strip], render._text_band(
        2 * W, COUNTER_H, [(W / 2, 1, "frame 3/3"), (1.5 * W, 1, "frame 4/5")], 12))
    np.testing.assert_array_equal(kl[3][strip, :W], kl[4][strip, :W])
    assert not np.array_equal(kl[3][strip, W:], kl[4][strip, W:])
    assert not np.array_equal(kl[0][strip, :W], kl[1][strip, :W])
    # legend: a flat swatch of each part's colour, body | left hand | right hand | face from left to right
    band = kl[0][HEADER_H + H + COUNTER_H:HEADER_H + H + COUNTER_H + LEGEND_H]
    np.testing.assert_array_equal(band, render.legend_band(2 * W, 12))
    centres = []
    for part, _ in render.LEGEND:
        hit = (band == np.array(render.PART_COLOURS[part], dtype=np.uint8)).all(axis=-1)
        assert hit.sum() >= 10 * 10, f"no swatch for {part}"
        centres.append(np.nonzero(hit)[1].mean())
    assert centres == sorted(centres)
    assert [label for _, label in render.LEGEND] == ["body", "left hand", "right hand", "face"]
    # nothing outside the panels shows a part colour except the legend: the strips are text only
    rest = np.vstack([kl[0][:HEADER_H], kl[0][strip], kl[0][-CAPTION_H:]])
    for colour in render.PART_COLOURS.values():
        assert not (rest == np.array(colour, dtype=np.uint8)).all(axis=-1).any()


def test_renders_are_deterministic_to_the_byte(tmp_path):
    gt = [("a", "eins", moving(3), None)]
    preds = {"a": (moving(4, 0.1), None)}
    one = render.render_comparisons(gt, preds, tmp_path / "one.gif", n=1, system="DARSLP-KL")
    two = render.render_comparisons(gt, preds, tmp_path / "two.gif", n=1, system="DARSLP-KL")
    other = render.render_comparisons(gt, preds, tmp_path / "other.gif", n=1, system="DARSLP")
    assert one.read_bytes() == two.read_bytes()
    assert one.read_bytes() != other.read_bytes()


def test_render_step_passes_the_callers_system_name_through(tmp_path, monkeypatch):
    from pipelib.io import shards
    from pipelib.production import stage

    skel, pred = tmp_path / "skeletons.h5", tmp_path / "predictions_phase2.h5"
    with shards.ShardWriter(skel, attrs={"skeleton": "holistic178"}) as w:
        for i in range(2):
            poses = moving(4 + i)
            w.write(shards.VideoArrays(f"v{i}", poses.reshape(len(poses), -1), np.ones(len(poses), bool),
                                       extras={"joint_mask": np.ones((len(poses), 178), bool)},
                                       attrs={"split": "test", "text": "t", "gloss": "G", "signer": "S",
                                              "fps": 25.0}))
    with shards.ShardWriter(pred, attrs={"skeleton": "holistic178"}) as w:
        for i in range(2):
            poses = moving(6, 0.1)
            w.write(shards.VideoArrays(f"v{i}", poses.reshape(len(poses), -1), np.ones(len(poses), bool),
                                       attrs={"split": "test", "text": "t", "fps": 25.0}))
    seen = {}
    monkeypatch.setattr(stage, "render_comparisons", lambda *a, **kw: seen.update(kw))
    stage.render(pred, skel, {"render_sentences": 2}, tmp_path / "cmp.gif", system="DARSLP-KL")
    assert seen["system"] == "DARSLP-KL"
    with pytest.raises(TypeError, match="system"):
        stage.render(pred, skel, {}, tmp_path / "cmp.gif")
