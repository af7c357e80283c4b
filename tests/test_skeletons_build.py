"""178-keypoint skeletons from constructed Holistic landmarks: slot order, coordinates, normalisation,
gap filling and masking."""

from __future__ import annotations

import numpy as np
import pytest

from pipelib.io.shards import VideoArrays
from pipelib.skeletons.build import build_skeleton
from pipelib.skeletons.config import SkeletonConfig

W, H = 200, 100
PX = np.array([W, H, W], dtype=np.float64)
BODY_POSE = (12, 14, 16, 11, 13, 15, 24, 23)  # SLRTP slots 0-7, written out from the reference


def holistic(t: int = 8, seed: int = 0) -> VideoArrays:
    """A video whose landmarks are all distinct; shoulders 40 px apart (0.2 W) at y = 0.5 H."""
    rng = np.random.default_rng(seed)
    pose = np.zeros((t, 33, 4), np.float32)
    pose[..., :2] = rng.uniform(0.1, 0.9, (t, 33, 2))
    pose[..., 2] = rng.uniform(-0.3, 0.3, (t, 33))
    pose[..., 3] = 1.0
    pose[:, 12, :3] = (0.4, 0.5, -0.05)   # right shoulder (image left for a frontal signer)
    pose[:, 11, :3] = (0.6, 0.5, 0.05)    # left shoulder
    extras = {
        "pose": pose,
        "pose_world": np.zeros((t, 33, 3), np.float32),
        "face": rng.uniform(0.0, 1.0, (t, 468, 3)).astype(np.float32),
        "left_hand": rng.uniform(0.0, 1.0, (t, 21, 3)).astype(np.float32),
        "right_hand": rng.uniform(0.0, 1.0, (t, 21, 3)).astype(np.float32),
        "part_mask": np.ones((t, 4), bool),
    }
    return VideoArrays("v", np.zeros((t, 258), np.float32), np.ones(t, bool), extras, {"image_size": [W, H]})


def _px(arr: np.ndarray) -> np.ndarray:
    return arr[..., :3].astype(np.float64) * PX


def test_slots_come_from_the_right_landmarks():
    v = holistic()
    poses, mask = build_skeleton(v, {"scale": "none"})
    assert poses.shape == (8, 178, 3) and poses.dtype == np.float32 and mask.all()
    pose = _px(v.extras["pose"])                                             # (T, 33, 3)
    neck = 0.5 * (pose[:, 11] + pose[:, 12])                                 # (T, 3)
    for slot, lm in enumerate(BODY_POSE):
        np.testing.assert_allclose(poses[:, slot], pose[:, lm] - neck, atol=1e-3)
    for first, part, wrist in ((8, "right_hand", 16), (29, "left_hand", 15)):
        hand = _px(v.extras[part])
        got = poses[:, first:first + 21]
        np.testing.assert_allclose(got[..., :2], hand[..., :2] - neck[:, None, :2], atol=1e-3)
        # hand z is relative to its wrist, placed at the pose wrist's depth
        np.testing.assert_allclose(got[:, 0, 2], pose[:, wrist, 2] - neck[:, 2], atol=1e-3)
        np.testing.assert_allclose(got[..., 2] - got[:, :1, 2], hand[..., 2] - hand[:, :1, 2], atol=1e-3)
    face = _px(v.extras["face"])
    for slot, mesh in ((50, 0), (51, 7), (52, 10), (177, 466)):
        np.testing.assert_allclose(poses[:, slot, :2], face[:, mesh, :2] - neck[:, :2], atol=1e-3)
        # face z: the mesh nose tip (1) sits at the pose nose's (0) depth
        want_z = face[:, mesh, 2] - face[:, 1, 2] + pose[:, 0, 2] - neck[:, 2]
        np.testing.assert_allclose(poses[:, slot, 2], want_z, atol=1e-3)


def test_neck_centred_shoulder_width_units_with_the_true_aspect_ratio():
    v = holistic()
    v.extras["pose"][:, 14, :3] = (0.4, 0.7, 0.0)   # right elbow 0.2 H = 20 px = half a shoulder width below
    v.extras["pose"][:, 24, :3] = (0.4, 0.9, 0.1)   # right hip 40 px below, z 0.1 W = 20 px
    poses, _ = build_skeleton(v)
    np.testing.assert_allclose(0.5 * (poses[:, 0] + poses[:, 3]), 0.0, atol=1e-6)
    np.testing.assert_allclose(poses[:, 0], [[-0.5, 0.0, -0.25]] * 8, atol=1e-6)
    np.testing.assert_allclose(poses[:, 3], [[0.5, 0.0, 0.25]] * 8, atol=1e-6)
    np.testing.assert_allclose(poses[:, 1], [[-0.5, 0.5, 0.0]] * 8, atol=1e-6)
    np.testing.assert_allclose(poses[:, 6], [[-0.5, 1.0, 0.5]] * 8, atol=1e-6)


def test_scale_is_the_median_shoulder_width_of_the_sequence():
    v = holistic(t=5)
    v.extras["pose"][2, 11, 0] = 0.8                 # one frame's shoulders 80 px apart
    poses, _ = build_skeleton(v)
    width = np.linalg.norm(poses[:, 0, :2] - poses[:, 3, :2], axis=1)
    np.testing.assert_allclose(width, [1, 1, 2, 1, 1], atol=1e-6)


def test_depth_false_zeroes_z():
    poses, mask = build_skeleton(holistic(), SkeletonConfig(depth=False))
    assert mask.all() and not np.any(poses[..., 2]) and np.any(poses[..., :2])


def _moving(t: int) -> VideoArrays:
    """Hands and face move linearly in time, so interpolation reproduces them exactly."""
    v = holistic(t)
    v.extras["pose"][:] = v.extras["pose"][:1]
    step = np.linspace(0.0, 0.3, t, dtype=np.float32)[:, None, None]
    for name in ("right_hand", "left_hand", "face"):
        v.extras[name][:] = v.extras[name][:1] * 0.5 + step
    return v


def test_short_gaps_are_interpolated_and_long_or_open_gaps_masked():
    full, _ = build_skeleton(_moving(30))
    v = _moving(30)
    pm = v.extras["part_mask"]
    pm[3:6, 3] = False        # right hand: gap of 3 inside the sequence
    pm[12:22, 3] = False      # right hand: gap of 10
    pm[0:2, 2] = False        # left hand: leading gap of 2
    pm[27:, 2] = False        # left hand: trailing gap of 3
    pm[9, 1] = False          # face: gap of 1
    poses, mask = build_skeleton(v, {"max_gap": 5})
    rh, lh, face = slice(8, 29), slice(29, 50), slice(50, 178)
    np.testing.assert_allclose(poses[3:6, rh], full[3:6, rh], atol=1e-4)
    assert mask[3:6, rh].all()
    assert not mask[12:22, rh].any() and not np.any(poses[12:22, rh])
    assert mask[11, rh].all() and mask[22, rh].all()
    assert not mask[0:2, lh].any() and not mask[27:, lh].any() and mask[2:27, lh].all()
    assert not np.any(poses[0:2, lh]) and not np.any(poses[27:, lh])
    np.testing.assert_allclose(poses[9, face], full[9, face], atol=1e-4)
    assert mask[:, :8].all() and mask[:, face].all()
    # the same 3-frame gap stays masked when max_gap is 2
    _, strict = build_skeleton(v, {"max_gap": 2})
    assert not strict[3:6, rh].any()


def test_interpolation_is_linear_between_the_bounding_frames():
    v = holistic(t=7)
    v.extras["pose"][:] = v.extras["pose"][:1]
    v.extras["part_mask"][2:5, 3] = False            # frames 2, 3, 4: right hand lost
    poses, _ = build_skeleton(v)
    a, b = poses[1, 8:29].astype(np.float64), poses[5, 8:29].astype(np.float64)
    for k, t in enumerate((2, 3, 4), start=1):
        np.testing.assert_allclose(poses[t, 8:29], a + k / 4 * (b - a), atol=1e-5)


def test_frames_without_pose_are_masked_whole():
    v = _moving(16)
    pm = v.extras["part_mask"]
    pm[4, 0] = False                 # no pose; Holistic's hand / face flags set anyway
    pm[10:13, 3] = False             # right-hand gap 10-12 ...
    pm[11, 0] = False                # ... with no pose in its middle frame
    poses, mask = build_skeleton(v)
    for t in (4, 11):
        assert not mask[t].any() and not np.any(poses[t])
    assert mask[10, 8:29].all() and mask[12, 8:29].all()
    assert mask[np.r_[0:4, 5:11, 12:16]].all()


def test_no_pose_at_all_gives_an_all_masked_skeleton():
    v = holistic(t=3)
    v.extras["part_mask"][:] = False
    poses, mask = build_skeleton(v)
    assert poses.shape == (3, 178, 3) and not mask.any() and not np.any(poses)


def test_errors_name_the_fix():
    v = holistic(t=2)
    v.attrs = {}
    with pytest.raises(ValueError, match="image_size"):
        build_skeleton(v)
    v = holistic(t=2)
    del v.extras["face"]
    with pytest.raises(ValueError, match="no extra 'face'"):
        build_skeleton(v)
    v = holistic(t=2)
    v.extras["pose"][:, 11, :2] = v.extras["pose"][:, 12, :2]
    with pytest.raises(ValueError, match="skeletons.scale"):
        build_skeleton(v)
    with pytest.raises(ValueError, match="skeletons.max_gap"):
        SkeletonConfig.coerce({"max_gap": -1})
    with pytest.raises(ValueError, match="skeletons.scale"):
        SkeletonConfig.coerce({"scale": "height"})
    with pytest.raises(ValueError, match="unknown key"):
        SkeletonConfig.coerce({"maxgap": 3})
