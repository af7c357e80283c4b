"""The *_from_holistic backends and the landmark tables, on constructed Holistic arrays with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from mediapipe.python.solutions import face_mesh_connections as fmc
from mediapipe.python.solutions import holistic as mp_holistic

from pipelib.estimators import landmarks as lm
from pipelib.estimators import registry
from pipelib.estimators.derived import dwpose, parts
from pipelib.estimators.derived.depth import DepthFromHolistic
from pipelib.estimators.derived.dwpose import DWPoseFromHolistic
from pipelib.estimators.derived.parts import PartsFromHolistic
from pipelib.estimators.derived.smplx_ik import FEATURE_ORDER, SMPLX_JOINTS, SmplxFromHolistic
from pipelib.estimators.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from pipelib.io.shards import VideoArrays

W, H = 240, 300
FLIP = np.array([1.0, -1.0, -1.0])  # SMPL-X axes <-> MediaPipe camera axes (its own inverse)


def _nodes(edges) -> set[int]:
    return {i for e in edges for i in e}


def make_video(t: int = 1, image_size=(W, H), **extras) -> VideoArrays:
    """A MediaPipe-shard VideoArrays of t frames: all parts present, landmarks zero unless given."""
    base = {
        "pose": np.zeros((t, 33, 4)), "pose_world": np.zeros((t, 33, 3)), "face": np.zeros((t, 468, 3)),
        "left_hand": np.zeros((t, 21, 3)), "right_hand": np.zeros((t, 21, 3)),
        "part_mask": np.ones((t, 4), bool), "segmentation": np.zeros((t, 24, 24)),
    }
    base.update(extras)
    base["pose"][..., 3] = np.where(base["pose"][..., 3] == 0, 1.0, base["pose"][..., 3])
    feats = np.zeros((t, 258), np.float32)
    attrs = {} if image_size is None else {"image_size": list(image_size)}
    return VideoArrays("v", feats, base["part_mask"][:, 0].copy(), extras=base, attrs=attrs)


# --------------------------------------------------------------------------- landmark tables

def test_pose_and_hand_names_follow_mediapipe():
    pose_names = tuple(p.name.lower() for p in mp_holistic.PoseLandmark)
    hand_names = tuple(p.name.lower().replace("_finger", "") for p in mp_holistic.HandLandmark)
    assert (pose_names, hand_names) == (lm.POSE_NAMES, lm.HAND_NAMES)


def test_contour_indices_and_oval_loop_match_mediapipe():
    assert set(lm.FACEMESH_CONTOUR_INDICES) == _nodes(fmc.FACEMESH_CONTOURS)
    assert len(lm.FACEMESH_CONTOUR_INDICES) == 128 and list(lm.FACEMESH_CONTOUR_INDICES) == sorted(
        lm.FACEMESH_CONTOUR_INDICES)
    loop = lm.FACE_OVAL_LOOP
    edges = {frozenset(e) for e in fmc.FACEMESH_FACE_OVAL}
    assert {frozenset((loop[i], loop[(i + 1) % len(loop)])) for i in range(len(loop))} == edges


def test_facemesh_to_68_is_unique_in_range_and_sided():
    t = lm.FACEMESH_TO_68
    assert len(t) == 68 and len(set(t)) == 68 and all(0 <= i < 468 for i in t)
    groups = [
        (range(0, 17), fmc.FACEMESH_FACE_OVAL), (range(17, 22), fmc.FACEMESH_RIGHT_EYEBROW),
        (range(22, 27), fmc.FACEMESH_LEFT_EYEBROW), (range(27, 36), fmc.FACEMESH_NOSE),
        (range(36, 42), fmc.FACEMESH_RIGHT_EYE), (range(42, 48), fmc.FACEMESH_LEFT_EYE),
        (range(48, 68), fmc.FACEMESH_LIPS),
    ]
    for rng, edges in groups:
        assert {t[i] for i in rng} <= _nodes(edges), f"points {rng} leave their FaceMesh contour"
    # the jaw walks the oval monotonically from the right temple through the chin to the left temple
    loop = list(lm.FACE_OVAL_LOOP)
    pos = [loop.index(t[i]) for i in range(17)]
    assert pos[8] == loop.index(152)
    assert all(a > b for a, b in zip(pos[:-1], pos[1:], strict=True)), "jaw out of order along the oval"
    # corners: iBUG 36/39 are the right eye's outer/inner corners (33/133), 42/45 the left's (362/263)
    assert (t[36], t[39], t[42], t[45], t[48], t[54], t[8]) == (33, 133, 362, 263, 61, 291, 152)


def test_openpose_table_uses_the_persons_sides():
    names = ["nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
             "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
             "right_eye", "left_eye", "right_ear", "left_ear"]
    for k, name in enumerate(names):
        if name != "neck":
            assert lm.POSE_NAMES[lm.OPENPOSE18_FROM_POSE[k]] == name


# --------------------------------------------------------------------------- DWPose

def test_dwpose_remap_neck_hands_face_and_mask():
    rng = np.random.default_rng(0)
    t = 3
    pose = rng.uniform(0.1, 0.9, size=(t, 33, 4))
    face, left, right = (rng.uniform(0, 1, size=(t, n, 3)) for n in (468, 21, 21))
    pm = np.ones((t, 4), bool)
    pm[1, 2] = False          # frame 1: left hand missing
    pm[2, 0] = False          # frame 2: no pose
    video = make_video(t, pose=pose, face=face, left_hand=left, right_hand=right, part_mask=pm)
    feats, mask = DWPoseFromHolistic({"backend": "dwpose_from_holistic"}).process_video(video)
    assert feats.shape == (t, 384) and feats.dtype == np.float32
    np.testing.assert_array_equal(mask, [True, True, False])
    kp = feats.reshape(t, 128, 3)
    np.testing.assert_allclose(kp[0, 1, :2], (pose[0, 11, :2] + pose[0, 12, :2]) / 2, atol=1e-6)
    assert kp[0, 1, 2] == pytest.approx(min(pose[0, 11, 3], pose[0, 12, 3]), abs=1e-6)
    np.testing.assert_allclose(kp[0, 2], pose[0, 12, [0, 1, 3]], atol=1e-6)       # RShoulder
    np.testing.assert_allclose(kp[0, 7, :2], pose[0, 15, :2], atol=1e-6)          # LWrist
    np.testing.assert_allclose(kp[0, 18 + 30, :2], face[0, 1, :2], atol=1e-6)     # nose tip
    np.testing.assert_allclose(kp[0, 86:107, :2], left[0, :, :2], atol=1e-6)
    np.testing.assert_allclose(kp[0, 107:128, :2], right[0, :, :2], atol=1e-6)
    assert np.all(kp[0, 18:, 2] == 1.0)
    assert np.all(kp[1, 86:107] == 0.0) and np.all(kp[1, 107:, 2] == 1.0)         # missing hand -> 0, conf 0
    assert np.all(kp[2] == 0.0)
    assert dwpose.N_KEYPOINTS == 128


# --------------------------------------------------------------------------- SMPL-X IK

T_POSE = {  # SMPL-X frame (x = person's left, y = up, z = forward), metres, hips at the origin
    "left_hip": (0.1, 0, 0), "right_hip": (-0.1, 0, 0),
    "left_shoulder": (0.2, 0.5, 0), "right_shoulder": (-0.2, 0.5, 0),
    "left_elbow": (0.45, 0.5, 0), "right_elbow": (-0.45, 0.5, 0),
    "left_wrist": (0.7, 0.5, 0), "right_wrist": (-0.7, 0.5, 0),
    "left_ear": (0.08, 0.7, 0), "right_ear": (-0.08, 0.7, 0),
    "left_eye": (0.03, 0.7, 0.08), "right_eye": (-0.03, 0.7, 0.08),
}


def flat_left_hand() -> np.ndarray:
    """(21, 3) a flat left hand in the SMPL-X frame, fingers along +x, index side +z, thumb at 45 deg."""
    pts = np.zeros((21, 3))
    for off, chain in zip((0.02, 0.0, -0.02, -0.04), ("index", "middle", "ring", "pinky"), strict=True):
        for k, i in enumerate(lm.FINGER_CHAINS[chain]):
            pts[i] = (0.08 + 0.025 * k, 0.0, off)
    for k, i in enumerate(lm.FINGER_CHAINS["thumb"]):
        pts[i] = (0.02 + 0.02 * k, 0.0, 0.02 + 0.02 * k)
    return pts


def smplx_video(points: dict, rot: np.ndarray | None = None, left_hand: np.ndarray | None = None,
                face: np.ndarray | None = None) -> VideoArrays:
    rot = np.eye(3) if rot is None else rot
    world = np.zeros((1, 33, 3))
    for name, p in points.items():
        world[0, lm.POSE[name]] = (rot @ np.asarray(p, float)) * FLIP
    pm = np.array([[True, face is not None, left_hand is not None, False]])
    extras = {"pose_world": world, "part_mask": pm}
    if left_hand is not None:
        px = 400.0 * (left_hand @ rot.T) * FLIP + np.array([100.0, 120.0, 0.0])  # pixels, camera axes
        extras["left_hand"] = (px / np.array([W, H, W]))[None]
    if face is not None:
        extras["face"] = face[None]
    return make_video(1, **extras)


def _joint(aa: np.ndarray, name: str) -> np.ndarray:
    j = FEATURE_ORDER.index(SMPLX_JOINTS[name])
    return aa[0, 3 * j:3 * j + 3]


def test_smplx_feature_layout():
    # global_orient 3, body 63 (joints 1-21), left hand 45, right hand 45, jaw 3, left eye 3, right eye 3
    assert sorted(FEATURE_ORDER) == list(range(55))
    starts = {name: 3 * FEATURE_ORDER.index(j) for name, j in SMPLX_JOINTS.items()}
    assert (starts["pelvis"], starts["left_hip"], starts["right_wrist"]) == (0, 3, 63)
    assert (starts["jaw"], starts["left_eye"], starts["right_eye"]) == (156, 159, 162)
    assert 3 * FEATURE_ORDER.index(25) == 66 and 3 * FEATURE_ORDER.index(40) == 111


def test_smplx_t_pose_is_all_zero():
    aa, mask = SmplxFromHolistic({}).process_video(smplx_video(T_POSE, left_hand=flat_left_hand()))
    assert aa.shape == (1, 165) and aa.dtype == np.float32 and mask.tolist() == [True]
    np.testing.assert_allclose(aa, 0.0, atol=1e-6)


def test_smplx_elbow_bent_90_degrees_about_known_axis():
    pts = dict(T_POSE, left_wrist=(0.45, 0.5, 0.25))       # forearm turned from +x to +z (forward)
    aa, _ = SmplxFromHolistic({}).process_video(smplx_video(pts))
    elbow = _joint(aa, "left_elbow")
    assert np.linalg.norm(elbow) == pytest.approx(np.pi / 2, abs=1e-5)
    np.testing.assert_allclose(elbow / np.linalg.norm(elbow), [0, -1, 0], atol=1e-5)   # x -> z about -y
    np.testing.assert_allclose(_joint(aa, "left_shoulder"), 0.0, atol=1e-6)
    np.testing.assert_allclose(_joint(aa, "right_elbow"), 0.0, atol=1e-6)


def test_smplx_whole_body_rotation_goes_to_global_orient_only():
    q = axis_angle_to_matrix(np.array([0.2, 0.6, -0.1]))
    pts = dict(T_POSE, left_wrist=(0.45, 0.5, 0.25))
    aa, _ = SmplxFromHolistic({}).process_video(smplx_video(pts, rot=q, left_hand=None))
    np.testing.assert_allclose(aa[0, :3], matrix_to_axis_angle(q), atol=1e-5)
    np.testing.assert_allclose(_joint(aa, "left_elbow"), [0, -np.pi / 2, 0], atol=1e-5)
    np.testing.assert_allclose(_joint(aa, "neck"), 0.0, atol=1e-5)


def test_smplx_fingers_and_absent_hand():
    hand = flat_left_hand()
    pip, dip, tip = (lm.HAND[f"index_{j}"] for j in ("pip", "dip", "tip"))
    hand[dip] = hand[pip] + (0, -0.025, 0)                    # index bent 90 deg at the PIP, towards the palm
    hand[tip] = hand[dip] + (0, -0.025, 0)
    aa, _ = SmplxFromHolistic({}).process_video(smplx_video(T_POSE, left_hand=hand))
    lh = aa[0, 66:111].reshape(15, 3)                         # index1-3, middle, pinky, ring, thumb
    assert np.linalg.norm(lh[1]) == pytest.approx(np.pi / 2, abs=1e-5)
    np.testing.assert_allclose(lh[1] / np.linalg.norm(lh[1]), [0, 0, -1], atol=1e-5)  # +x -> -y about -z
    np.testing.assert_allclose(np.delete(lh, 1, axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(_joint(aa, "left_wrist"), 0.0, atol=1e-5)
    # turning the whole signer (hand included) changes global_orient only
    q = axis_angle_to_matrix(np.array([-0.3, 0.5, 0.2]))
    aa_q, _ = SmplxFromHolistic({}).process_video(smplx_video(T_POSE, rot=q, left_hand=hand))
    np.testing.assert_allclose(aa_q[0, 3:], aa[0, 3:], atol=1e-5)
    # without hand landmarks the wrist and all left-hand joints are zero, the right hand too
    aa2, _ = SmplxFromHolistic({}).process_video(smplx_video(T_POSE))
    assert np.all(aa2[0, 66:156] == 0.0) and np.all(_joint(aa2, "left_wrist") == 0.0)


def test_smplx_jaw_opens_with_the_mouth_and_needs_a_pose():
    face = np.zeros((468, 3))
    face[78], face[308] = (0.45, 0.6, 0), (0.55, 0.6, 0)      # mouth 24 px wide
    face[13], face[14] = (0.5, 0.59, 0), (0.5, 0.63, 0)       # lips 12 px apart
    aa, _ = SmplxFromHolistic({}).process_video(smplx_video(T_POSE, face=face))
    jaw = _joint(aa, "jaw")
    assert jaw[0] == pytest.approx(0.5 * 12 / 24, abs=1e-5) and jaw[1] == jaw[2] == 0
    video = smplx_video(T_POSE, face=face)
    video.extras["part_mask"][0, 0] = False
    aa, mask = SmplxFromHolistic({}).process_video(video)
    assert mask.tolist() == [False] and np.all(aa == 0)


# --------------------------------------------------------------------------- depth

def _person(rows: slice, cols: slice) -> np.ndarray:
    seg = np.zeros((1, 24, 24))
    seg[0, rows, cols] = 0.9
    return seg


def test_depth_nearest_is_one_background_zero():
    pose = np.zeros((1, 33, 4))
    pose[0, :, :2] = (0.5, 0.5)
    pose[0, 0, :3] = (0.52, 0.26, -0.3)                       # nose, the closest point, in cell (6, 12)
    pose[0, 11, :3] = (0.7, 0.45, 0.1)
    pose[0, 12, :3] = (0.3, 0.45, 0.1)
    pm = np.array([[True, False, False, False]])
    video = make_video(1, pose=pose, part_mask=pm, segmentation=_person(slice(4, 20), slice(6, 18)))
    feats, mask = DepthFromHolistic({}).process_video(video)
    grid = feats.reshape(24, 24)
    assert mask.tolist() == [True] and feats.shape == (1, 576)
    assert grid.max() == pytest.approx(1.0) and np.unravel_index(grid.argmax(), grid.shape) == (6, 12)
    person = _person(slice(4, 20), slice(6, 18))[0] > 0.5
    assert np.all(grid[~person] == 0.0) and np.all(grid[person] >= 0.5 - 1e-6)
    # hand z is relative to its wrist: offset by the pose wrist's z, fingers 0.1 ahead of it are nearest
    pose[0, lm.POSE["left_wrist"], :3] = (0.3, 0.7, -0.5)
    hand = np.zeros((1, 21, 3))
    hand[0, :, :2] = (0.3, 0.76)                              # fingers in cell (18, 7)
    hand[0, 0, :2] = (0.3, 0.7)
    hand[0, :, 2] = 0.1
    hand[0, 0, 2] = 0.2
    pm2 = np.array([[True, False, True, False]])
    video2 = make_video(1, pose=pose, left_hand=hand, part_mask=pm2,
                        segmentation=_person(slice(4, 20), slice(6, 18)))
    grid2 = DepthFromHolistic({}).process_video(video2)[0].reshape(24, 24)
    assert grid2[18, 7] == pytest.approx(1.0) and grid2[6, 12] < 0.9   # without the offset z = +0.1: far


def test_depth_invalid_without_pose_or_person():
    pm = np.array([[False, False, False, False], [True, False, False, False], [True, False, False, False]])
    seg = np.zeros((3, 24, 24))
    seg[0] = 1.0                                              # person cells but no pose
    seg[2, 0, 0] = 0.2                                        # pose but no cell above 0.5
    feats, mask = DepthFromHolistic({}).process_video(make_video(3, part_mask=pm, segmentation=seg))
    assert mask.tolist() == [False, False, False] and np.all(feats == 0)


# --------------------------------------------------------------------------- parts

def parts_video(with_hand: bool = True) -> VideoArrays:
    pose = np.zeros((1, 33, 4))
    put = {"nose": (0.5, 0.2), "left_eye": (0.54, 0.17), "right_eye": (0.46, 0.17),
           "left_ear": (0.58, 0.18), "right_ear": (0.42, 0.18), "mouth_left": (0.53, 0.25),
           "mouth_right": (0.47, 0.25), "left_shoulder": (0.7, 0.4), "right_shoulder": (0.3, 0.4),
           "left_elbow": (0.85, 0.65), "right_elbow": (0.15, 0.65), "left_wrist": (0.7, 0.8),
           "right_wrist": (0.3, 0.8), "left_hip": (0.65, 1.0), "right_hip": (0.35, 1.0)}
    for side, wx in (("left", 0.7), ("right", 0.3)):
        for k, n in enumerate(("pinky", "index", "thumb")):
            put[f"{side}_{n}"] = (wx - 0.02 + 0.02 * k, 0.86)
    for name, xy in put.items():
        pose[0, lm.POSE[name], :2] = xy
    hand = np.zeros((1, 21, 3))
    hand[0, :, 0] = 0.62 + 0.004 * np.arange(21)              # the left hand sits left of its wrist
    hand[0, :, 1] = 0.7708                                    # through the centres of grid row 18
    pm = np.array([[True, False, with_hand, False]])
    seg = np.zeros((1, 24, 24))
    seg[0, 1:, 2:22] = 1.0
    return make_video(1, pose=pose, left_hand=hand, part_mask=pm, segmentation=seg)


def _cell(x: float, y: float) -> tuple[int, int]:
    return int(y * 24), int(x * 24)


def test_parts_labels_where_the_landmarks_are():
    feats, mask = PartsFromHolistic({}).process_video(parts_video())
    grid = feats.reshape(24, 24)
    assert mask.tolist() == [True] and feats.dtype == np.float32
    assert grid[_cell(0.64, 0.77)] == parts.LEFT_HAND
    assert grid[_cell(0.3, 0.86)] == parts.RIGHT_HAND         # from the pose's hand points
    assert grid[_cell(0.78, 0.72)] == parts.LEFT_LOWER_ARM
    assert grid[_cell(0.78, 0.53)] == parts.LEFT_UPPER_ARM
    assert grid[_cell(0.22, 0.53)] == parts.RIGHT_UPPER_ARM
    assert grid[_cell(0.22, 0.72)] == parts.RIGHT_LOWER_ARM
    assert grid[_cell(0.5, 0.6)] == parts.UPPER_CLOTHING
    assert grid[_cell(0.5, 0.2)] == parts.FACE_NECK
    assert grid[_cell(0.5, 0.06)] == parts.HAIR
    assert grid[0, 12] == 0 and grid[12, 0] == 0              # outside the person mask
    # without hand landmarks the left hand falls back to the pose's wrist/finger points
    grid2 = PartsFromHolistic({}).process_video(parts_video(with_hand=False))[0].reshape(24, 24)
    assert grid2[_cell(0.7, 0.86)] == parts.LEFT_HAND and grid2[_cell(0.64, 0.77)] != parts.LEFT_HAND


def test_parts_class_ids_match_sapiens_names():
    from pipelib.estimators.sapiens import SAPIENS_CLASSES
    for name, value in (("Face_Neck", parts.FACE_NECK), ("Hair", parts.HAIR), ("Left_Hand", parts.LEFT_HAND),
                        ("Left_Lower_Arm", parts.LEFT_LOWER_ARM), ("Left_Upper_Arm", parts.LEFT_UPPER_ARM),
                        ("Right_Hand", parts.RIGHT_HAND), ("Right_Lower_Arm", parts.RIGHT_LOWER_ARM),
                        ("Right_Upper_Arm", parts.RIGHT_UPPER_ARM), ("Upper_Clothing", parts.UPPER_CLOTHING)):
        assert SAPIENS_CLASSES[value] == name


def test_polygon_distance_inside_zero_outside_edge():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    d = parts.polygon_distance(np.array([[5, 5], [13, 5], [5, -2]], float), square)
    np.testing.assert_allclose(d, [0, 3, 2])


# --------------------------------------------------------------------------- fast paths = brute force

def signing_video(t: int, seed: int) -> VideoArrays:
    """t frames of a jittered signer: face, hands and arms where a signer's are, parts dropping out."""
    rng = np.random.default_rng(seed)
    pv = parts_video().extras
    pose = np.repeat(pv["pose"], t, axis=0)
    pose[..., :2] += rng.normal(0, 0.02, (t, 33, 2))
    pose[..., 2] = rng.normal(0, 0.1, (t, 33))
    face = np.zeros((t, 468, 3))
    face[..., 0] = 0.5 + 0.07 * rng.standard_normal((t, 468)).clip(-1.5, 1.5)
    face[..., 1] = 0.19 + 0.08 * rng.standard_normal((t, 468)).clip(-1.5, 1.5)
    face[..., 2] = rng.normal(0, 0.02, (t, 468))
    angle = np.linspace(0, 2 * np.pi, len(lm.FACE_OVAL_LOOP), endpoint=False)   # the oval: an ellipse
    ry = rng.uniform(0.1, 0.16, (t, 1))
    face[:, list(lm.FACE_OVAL_LOOP), 0] = 0.5 + ry * np.sin(angle)
    face[:, list(lm.FACE_OVAL_LOOP), 1] = 0.19 - ry * np.cos(angle)
    hands = []
    for wx in (0.7, 0.3):
        hand = np.zeros((t, 21, 3))
        hand[..., 0] = wx + rng.normal(0, 0.03, (t, 21)) + rng.normal(0, 0.1, (t, 1))
        hand[..., 1] = 0.75 + rng.normal(0, 0.03, (t, 21)) + rng.normal(0, 0.1, (t, 1))
        hand[..., 2] = rng.normal(0, 0.05, (t, 21))
        hands.append(hand)
    pm = rng.random((t, 4)) > 0.25
    seg = (rng.random((t, 24, 24)) < 0.5).astype(float)
    seg[:, :, 4:20] = np.maximum(seg[:, :, 4:20], 0.9)
    return make_video(t, pose=pose, face=face, left_hand=hands[0], right_hand=hands[1], part_mask=pm,
                      segmentation=seg)


def brute_force_depth(video: VideoArrays, k: int = 4) -> np.ndarray:
    """The module doc's definition, cell by cell: IDW of the k nearest landmarks, then [0.5, 1]."""
    from pipelib.estimators.derived import cell_centres, holistic_arrays

    h = holistic_arrays(video, need_image_size=True, need_segmentation=True)
    cells, scale = cell_centres(h.image_size), h.pixel_scale()
    out = np.zeros((h.n_frames, 576))
    for t in np.flatnonzero(h.has_pose):
        pose = h.pose[t, :, :3] * scale
        pts = [pose[:25]]
        for hand, present, wrist in ((h.left_hand, h.has_left, 15), (h.right_hand, h.has_right, 16)):
            if present[t]:
                q = hand[t] * scale
                pts.append(q + [0, 0, pose[wrist, 2] - q[0, 2]])
        if h.has_face[t]:
            f = h.face[t] * scale
            pts.append((f + [0, 0, pose[0, 2] - f[1, 2]])[list(lm.FACEMESH_CONTOUR_INDICES)])
        pts = np.concatenate(pts)
        person = h.segmentation[t].ravel() > 0.5
        d2 = ((pts[None, :, :2] - cells[person][:, None]) ** 2).sum(-1)      # (P, N)
        near = np.argsort(d2, axis=1, kind="stable")[:, :k]                   # (P, k)
        w = 1 / (np.take_along_axis(d2, near, axis=1) + 1e-6)
        zp = (w * pts[near, 2]).sum(1) / w.sum(1)
        if person.any():
            span = zp.max() - zp.min()
            out[t, person] = 1.0 if span <= 1e-9 else 1 - 0.5 * (zp - zp.min()) / span
    return out


def brute_force_parts(video: VideoArrays) -> np.ndarray:
    """The module doc's definition, frame by frame: every shape's score at every person cell, the
    nearest shape wins, Face_Neck above the hairline is Hair."""
    from pipelib.estimators.derived import cell_centres, holistic_arrays

    h = holistic_arrays(video, need_image_size=True, need_segmentation=True)
    cells, wh = cell_centres(h.image_size), h.pixel_scale()[:2]
    out = np.zeros((h.n_frames, 576))
    for t in np.flatnonzero(h.has_pose):
        x = cells[h.segmentation[t].ravel() > 0.5]                            # (P, 2)
        j = {n: h.pose[t, i, :2] * wh for n, i in lm.POSE.items()}
        s = max(np.linalg.norm(j["left_shoulder"] - j["right_shoulder"]), 1.0)
        eyes, mouth = (j["left_eye"] + j["right_eye"]) / 2, (j["mouth_left"] + j["mouth_right"]) / 2
        neck = (j["left_shoulder"] + j["right_shoulder"]) / 2

        def seg(pairs, r, x=x, s=s):
            a, b = np.array([p for p, _ in pairs]), np.array([q for _, q in pairs])
            return parts.segment_distance(x, a, b).min(axis=1) - r * s        # (P,)

        head = seg([(j["left_ear"], j["right_ear"]), (eyes, mouth)], 0.22)
        if h.has_face[t]:
            head = np.minimum(head, parts.polygon_distance(x, h.face[t, list(lm.FACE_OVAL_LOOP), :2] * wh))
        torso = np.stack([j["left_shoulder"], j["right_shoulder"], j["right_hip"], j["left_hip"]])
        scores = [(head, 2), (seg([(mouth, neck)], 0.12), 2), (parts.polygon_distance(x, torso), 22)]
        for side, ids, hand, present in (("left", (10, 6, 5), h.left_hand, h.has_left),
                                         ("right", (19, 15, 14), h.right_hand, h.has_right)):
            sh, el, wr = j[f"{side}_shoulder"], j[f"{side}_elbow"], j[f"{side}_wrist"]
            scores += [(seg([(sh, el)], 0.16), ids[0]), (seg([(el, wr)], 0.12), ids[1])]
            if present[t]:
                q = hand[t, :, :2] * wh
                scores.append((seg([(q[a], q[b]) for a, b in parts._HAND_BONES], 0.06), ids[2]))
            else:
                tips = [j[f"{side}_{n}"] for n in ("pinky", "index", "thumb")]
                scores.append((seg([(wr, tip) for tip in tips], 0.10), ids[2]))
        label = np.array([v for _, v in scores])[np.argmin(np.stack([sc for sc, _ in scores]), axis=0)]
        hairline = h.face[t, 10, 1] * wh[1] if h.has_face[t] else eyes[1] - (mouth[1] - eyes[1])
        out[t, h.segmentation[t].ravel() > 0.5] = np.where((label == 2) & (x[:, 1] < hairline), 3, label)
    return out


def test_fast_depth_equals_the_cell_by_cell_definition():
    video = signing_video(12, seed=3)
    feats, mask = DepthFromHolistic({}).process_video(video)
    np.testing.assert_allclose(feats, brute_force_depth(video), atol=1e-6)
    assert mask.tolist() == video.extras["part_mask"][:, 0].tolist()
    feats_k = DepthFromHolistic({"k": 30}).process_video(video)[0]   # k beyond the body points
    np.testing.assert_allclose(feats_k, brute_force_depth(video, k=30), atol=1e-6)


def test_fast_parts_equal_the_cell_by_cell_definition():
    video = signing_video(12, seed=4)
    feats, mask = PartsFromHolistic({}).process_video(video)
    expected = brute_force_parts(video)
    assert np.array_equal(feats, expected)
    assert {2, 3, 5, 14, 22} <= set(np.unique(expected))                # face, hair, both hands, shirt
    assert mask.tolist() == video.extras["part_mask"][:, 0].tolist()


# --------------------------------------------------------------------------- shared contract

@pytest.mark.parametrize("slot,backend,dim", [
    ("dwpose", "dwpose_from_holistic", 384), ("smplerx", "smplerx_from_holistic", 165),
    ("primedepth", "primedepth_from_holistic", 576), ("sapiens", "sapiens_from_holistic", 576),
])
def test_registry_builds_each_backend_with_mediapipe_provenance(slot, backend, dim):
    est = registry.build(slot, {"backend": backend})
    prov = est.provenance()
    assert prov["weights"] == {} and prov["derived_from"]["backend"] == "mediapipe_holistic"
    assert prov["approximation"]
    feats, mask = est.process_video(parts_video())
    assert feats.shape == (1, dim) and feats.dtype == np.float32 and mask.dtype == bool


def test_missing_image_size_or_extra_is_a_clear_error():
    with pytest.raises(ValueError, match="image_size"):
        PartsFromHolistic({}).process_video(make_video(1, image_size=None))
    video = make_video(1)
    del video.extras["segmentation"]
    with pytest.raises(ValueError, match="segmentation"):
        DepthFromHolistic({}).process_video(video)
    with pytest.raises(ValueError, match="enable_segmentation"):       # extracted without segmentation
        PartsFromHolistic({}).process_video(make_video(2))
    DWPoseFromHolistic({}).process_video(make_video(1, image_size=None))   # DWPose needs no image size
