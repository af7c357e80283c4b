"""MediaPipe Holistic on rendered cartoon-signer frames, and the derived backends on its real output."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipelib.estimators import mediapipe_holistic, registry
from pipelib.estimators.landmarks import FACEMESH_TO_68, POSE
from pipelib.estimators.mediapipe_holistic import HolisticEstimator
from pipelib.io import shards
from pipelib.synth.appearance import appearance
from pipelib.synth.articulators import hand_slice, hand_vector, rest_vector
from pipelib.synth.figure import KEYPOINT_NAMES, pose_figure
from pipelib.synth.render import draw

W, H = 210, 260
N_BOTH, N_SHIFTED = 3, 4
SHIFT = 95  # px to the right: the person's left hand (image right) leaves the frame


@pytest.fixture(scope="module")
def run():
    """Three frames with both hands raised, then four with the frame shifted so the left hand is out."""
    look = appearance(0, seed=0)
    params = rest_vector()
    for hand in ("right", "left"):
        params[hand_slice(hand)] = hand_vector(0.9, 0.2, -0.3, (0, 0, 0, 0, 0), 0.5)
    fig = pose_figure(params, look, W, H)
    frame = draw(fig, look, W, H)
    shifted = cv2.warpAffine(frame, np.float32([[1, 0, SHIFT], [0, 1, 0]]), (W, H),
                             borderValue=tuple(int(c) for c in look.background))
    est = HolisticEstimator({"backend": "mediapipe_holistic"})
    est.start_video()
    outs = [est.process(frame) for _ in range(N_BOTH)] + [est.process(shifted) for _ in range(N_SHIFTED)]
    attrs = est.video_attrs()
    gt = dict(zip(KEYPOINT_NAMES, fig.keypoints(), strict=True))
    yield est, outs, attrs, gt
    est.close()


def test_frame_output_layout(run):
    _, outs, attrs, _ = run
    shapes = {"pose": (33, 4), "pose_world": (33, 3), "face": (468, 3), "left_hand": (21, 3),
              "right_hand": (21, 3), "part_mask": (4,), "segmentation": (24, 24)}
    for o in outs:
        assert o.features.shape == (258,) and o.features.dtype == np.float32
        assert {k: v.shape for k, v in o.extras.items()} == shapes
        assert o.extras["part_mask"].dtype == bool
        assert all(o.extras[k].dtype == np.float32 for k in shapes if k != "part_mask")
        np.testing.assert_array_equal(o.features[:132], o.extras["pose"].ravel())
        np.testing.assert_array_equal(o.features[132:195], o.extras["left_hand"].ravel())
        np.testing.assert_array_equal(o.features[195:], o.extras["right_hand"].ravel())
    assert attrs == {"image_size": [W, H]}


def test_detects_every_part_and_wrists_match_the_drawing(run):
    _, outs, _, gt = run
    o = outs[N_BOTH - 1]
    assert o.valid and o.extras["part_mask"].tolist() == [True, True, True, True]
    scale = np.array([W, H])
    for side in ("left", "right"):
        want = gt[f"{side}_wrist"]
        pose_wrist = o.extras["pose"][POSE[f"{side}_wrist"], :2] * scale
        hand_wrist = o.extras[f"{side}_hand"][0, :2] * scale
        assert np.linalg.norm(pose_wrist - want) < 0.05 * W, (side, pose_wrist, want)
        assert np.linalg.norm(hand_wrist - want) < 0.05 * W, (side, hand_wrist, want)
    # the person's left is on the image's right, and so are MediaPipe's left landmarks
    assert o.extras["left_hand"][0, 0] > o.extras["right_hand"][0, 0]
    # the 68-point table keeps iBUG's image-left-to-right order on a real mesh
    f68 = o.extras["face"][list(FACEMESH_TO_68), 0]
    for a, b in ((0, 16), (36, 45), (39, 42), (17, 26), (31, 35), (48, 54), (60, 64)):
        assert f68[a] < f68[b], (a, b)
    seg = o.extras["segmentation"]
    nose = o.extras["pose"][POSE["nose"], :2]
    assert seg[int(nose[1] * 24), int(nose[0] * 24)] > 0.5 and seg[0, 0] < 0.5


def test_hand_leaving_the_frame_clears_its_mask_not_the_pose(run):
    _, outs, _, _ = run
    for o in outs[N_BOTH:]:
        pm = o.extras["part_mask"]
        assert o.valid and pm[0] and pm[3] and not pm[2]
        assert np.all(o.extras["left_hand"] == 0) and np.all(o.features[132:195] == 0)


def test_start_video_resets_and_size_change_needs_it(run):
    est, _, _, _ = run
    with pytest.raises(ValueError, match="start_video"):
        est.process(np.zeros((100, 120, 3), np.uint8))
    est.start_video()
    assert est.image_size is None
    with pytest.raises(RuntimeError):
        est.video_attrs()
    out = est.process(np.full((100, 120, 3), 255, np.uint8))   # a blank frame: nothing detected
    assert not out.valid and not out.extras["part_mask"].any() and np.all(out.features == 0)
    assert est.video_attrs() == {"image_size": [120, 100]}


def test_bad_config_names_the_key():
    with pytest.raises(ValueError, match="estimators.mediapipe.min_detection_confidence"):
        HolisticEstimator({"min_detection_confidence": 2})
    with pytest.raises(ValueError, match="estimators.mediapipe.model_complexity"):
        HolisticEstimator({"model_complexity": 5})
    lite = mediapipe_holistic._module_dir() / "pose_landmark" / "pose_landmark_lite.tflite"
    if not lite.is_file():      # the wheel ships only complexity 1; 0 would try to download
        with pytest.raises(FileNotFoundError, match="estimators.mediapipe.model_complexity"):
            HolisticEstimator({"model_complexity": 0})


def test_provenance_records_the_shipped_models():
    est = HolisticEstimator({})
    try:
        weights = est.provenance()["weights"]
    finally:
        est.close()
    assert {"pose_landmark", "hand_landmark", "face_landmark"} <= set(weights)
    assert weights["pose_landmark"]["path"].endswith("pose_landmark_full.tflite")


def test_derived_backends_on_real_holistic_output_through_a_shard(run, tmp_path):
    _, outs, attrs, gt = run
    video = shards.VideoArrays(
        "sign0", np.stack([o.features for o in outs]), np.array([o.valid for o in outs]),
        extras={k: np.stack([o.extras[k] for o in outs]) for k in outs[0].extras}, attrs=attrs)
    path = tmp_path / "mediapipe.h5"
    with shards.ShardWriter(path) as w:
        w.write(video)
    hol = shards.read_video(path, "sign0")
    t = len(outs)
    results = {}
    for slot, backend, dim in (("dwpose", "dwpose_from_holistic", 384),
                               ("smplerx", "smplerx_from_holistic", 165),
                               ("primedepth", "primedepth_from_holistic", 576),
                               ("sapiens", "sapiens_from_holistic", 576)):
        feats, mask = registry.build(slot, {"backend": backend}).process_video(hol)
        assert feats.shape == (t, dim) and np.all(np.isfinite(feats))
        assert mask.all()
        results[slot] = feats
    kp = results["dwpose"].reshape(t, 128, 3)
    assert np.all(kp[N_BOTH:, 86:107] == 0) and np.all(kp[:N_BOTH, 86:107, 2] == 1)
    lhand = results["smplerx"][:, 66:111]
    assert np.any(lhand[:N_BOTH] != 0) and np.all(lhand[N_BOTH:] == 0)
    grid = results["sapiens"][N_BOTH - 1].reshape(24, 24)
    for side, label in (("left", 5), ("right", 14)):
        x, y = gt[f"{side}_hand_middle_mcp"]
        cell = grid[int(y / H * 24) - 1:int(y / H * 24) + 2, int(x / W * 24) - 1:int(x / W * 24) + 2]
        assert (cell == label).any(), (side, cell)
    depth = results["primedepth"][N_BOTH - 1].reshape(24, 24)
    assert depth.max() == pytest.approx(1.0) and depth[0, 0] == 0.0
