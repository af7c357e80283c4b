"""DWPose ONNX backend: contract checks, detector and SimCC maths, OpenPose remap, 384 packing, end to end.

Tiny ONNX models with the real exports' tensor names, ranks and shapes are built in tmp_path:
* detector "images" (1, 3, 640, 640) -> "output" (1, 8400, 85): a constant raw YOLOX head;
* pose "input" (1, 3, 384, 288) -> "simcc_x" (1, 133, 576), "simcc_y" (1, 133, 768): each keypoint's
  SimCC is the column / row maximum of the first input channel (upsampled x2), scaled, plus a
  per-keypoint bias, so every keypoint lands on the brightest red pixel and keypoint k scores
  BASE + 0.1 * peak - BIAS_STEP * k.
"""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from pipelib.estimators import registry
from pipelib.estimators.base import MissingWeightsError
from pipelib.estimators.dwpose import openpose, simcc, yolox
from pipelib.estimators.dwpose.backend import DWPoseOnnx
from pipelib.estimators.onnx_runtime import OnnxContractError, TensorSpec, open_session

K = 133
BIAS_STEP = 1e-3
FRAME_W, FRAME_H = 320, 240
PERSON_BOX = np.array([100.0, 40.0, 220.0, 200.0])  # frame px; letterbox ratio 2: canvas (200, 80, 440, 400)


# ----------------------------------------------------------------------------- tiny ONNX models

def _save(graph: onnx.GraphProto, path) -> str:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def _const(name: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def make_pose_model(path, out_names=("simcc_x", "simcc_y"), batch: int | str = 1) -> str:
    """Tiny SimCC model: (B, 3, 384, 288) -> (B, 133, 576), (B, 133, 768); ``batch`` 1 fixes B = 1,
    a name makes it dynamic."""
    bias = (-BIAS_STEP * np.arange(K, dtype=np.float32)).reshape(1, K, 1)
    nodes = [
        _const("idx0", np.array([0], dtype=np.int64)),
        _const("gain", np.array(0.1, dtype=np.float32)),
        _const("base", np.array(0.6, dtype=np.float32)),
        _const("bias", bias),
        _const("shape_x", np.array([0, 1, 288, 1], dtype=np.int64)),               # 0: keep the batch
        _const("shape_x2", np.array([0, 1, 576], dtype=np.int64)),
        _const("shape_y2", np.array([0, 1, 768], dtype=np.int64)),
        helper.make_node("Gather", ["input", "idx0"], ["ch0"], axis=1),          # (1, 1, 384, 288)
        helper.make_node("ReduceMax", ["ch0"], ["colmax"], axes=[2], keepdims=1),  # (1, 1, 1, 288)
        helper.make_node("Reshape", ["colmax", "shape_x"], ["colcol"]),           # (1, 1, 288, 1)
        helper.make_node("Concat", ["colcol", "colcol"], ["col2"], axis=3),       # (1, 1, 288, 2)
        helper.make_node("Reshape", ["col2", "shape_x2"], ["px"]),                # (1, 1, 576)
        helper.make_node("ReduceMax", ["ch0"], ["rowmax"], axes=[3], keepdims=1),  # (1, 1, 384, 1)
        helper.make_node("Concat", ["rowmax", "rowmax"], ["row2"], axis=3),       # (1, 1, 384, 2)
        helper.make_node("Reshape", ["row2", "shape_y2"], ["py"]),                # (1, 1, 768)
    ]
    for axis, name, prof in (("x", out_names[0], "px"), ("y", out_names[1], "py")):
        nodes += [
            helper.make_node("Mul", [prof, "gain"], [f"g{axis}"]),
            helper.make_node("Add", [f"g{axis}", "base"], [f"b{axis}"]),
            helper.make_node("Add", [f"b{axis}", "bias"], [name]),               # (1, 133, W)
        ]
    graph = helper.make_graph(
        nodes, "tiny_dwpose",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 384, 288])],
        [helper.make_tensor_value_info(out_names[0], TensorProto.FLOAT, [batch, K, 576]),
         helper.make_tensor_value_info(out_names[1], TensorProto.FLOAT, [batch, K, 768])],
    )
    return _save(graph, path)


def encode_raw(boxes_canvas, objectness, class_scores, strides, n_classes=80) -> np.ndarray:
    """A raw YOLOX head (1, 8400, 5 + C) whose only confident anchors hold the given canvas boxes."""
    grid = yolox.anchor_grid()
    raw = np.zeros((len(grid), 5 + n_classes), dtype=np.float32)
    for box, obj, cls, stride in zip(boxes_canvas, objectness, class_scores, strides, strict=True):
        centre = (np.asarray(box[:2]) + box[2:]) / 2
        size = np.asarray(box[2:]) - box[:2]
        cell = np.floor(centre / stride)
        row = np.flatnonzero((grid[:, 2] == stride) & (grid[:, 0] == cell[0]) & (grid[:, 1] == cell[1]))[0]
        raw[row, :2] = centre / stride - cell
        raw[row, 2:4] = np.log(size / stride)
        raw[row, 4] = obj
        raw[row, 5:] = cls
    return raw[None]


def make_detector_model(path, raw: np.ndarray) -> str:
    """Tiny YOLOX: "images" (1, 3, 640, 640) -> "output" = the constant raw head (+ 0 * image mean)."""
    nodes = [
        _const("head", raw.astype(np.float32)),
        _const("zero", np.array(0.0, dtype=np.float32)),
        _const("shape1", np.array([1, 1, 1], dtype=np.int64)),
        helper.make_node("ReduceMean", ["images"], ["m"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["m", "shape1"], ["m1"]),
        helper.make_node("Mul", ["m1", "zero"], ["z"]),
        helper.make_node("Add", ["head", "z"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_yolox",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(raw.shape))],
    )
    return _save(graph, path)


def make_gated_detector_model(path, raw: np.ndarray, reference: float = 100.0) -> str:
    """Tiny YOLOX with a dynamic batch whose objectness scales with the image: "images" (B, 3, 640, 640)
    -> "output" (B, 8400, 85) = ``raw`` with column 4 multiplied by mean(image) / ``reference``.

    A dark frame (canvas mean ~28) therefore finds nobody, a frame with a bright band finds the signer.
    """
    objmask = np.zeros_like(raw, dtype=np.float32)
    objmask[..., 4] = 1.0
    nodes = [
        _const("head", raw.astype(np.float32)),
        _const("objmask", objmask),
        _const("inv_ref", np.array(1.0 / reference, dtype=np.float32)),
        _const("one", np.array(1.0, dtype=np.float32)),
        _const("shape1", np.array([0, 1, 1], dtype=np.int64)),
        helper.make_node("ReduceMean", ["images"], ["m"], axes=[1, 2, 3], keepdims=1),  # (B, 1, 1, 1)
        helper.make_node("Reshape", ["m", "shape1"], ["m1"]),                          # (B, 1, 1)
        helper.make_node("Mul", ["m1", "inv_ref"], ["gate"]),
        helper.make_node("Sub", ["gate", "one"], ["gate_m1"]),
        helper.make_node("Mul", ["head", "objmask"], ["hobj"]),                        # (1, A, 85)
        helper.make_node("Mul", ["hobj", "gate_m1"], ["delta"]),                       # (B, A, 85)
        helper.make_node("Add", ["head", "delta"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_gated_yolox",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 640, 640])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", *raw.shape[1:]])],
    )
    return _save(graph, path)


def person_head(score_scale: float = 1.0) -> np.ndarray:
    """Raw head with the signer (0.81), a weaker duplicate (0.63), a second person (0.56) and a car."""
    canvas = yolox.boxes_to_canvas(PERSON_BOX[None], 2.0)[0]
    other = np.array([500.0, 100.0, 600.0, 300.0])
    car = np.array([40.0, 400.0, 200.0, 560.0])
    person, car_cls = np.eye(80)[0], np.eye(80)[2]
    return encode_raw(
        [canvas, canvas + [8, 0, 8, 0], other, car],
        [0.9 * score_scale, 0.9 * score_scale, 0.8 * score_scale, 0.95],
        [0.9 * person, 0.7 * person, 0.7 * person, 0.9 * car_cls],
        strides=[32, 16, 32, 8],
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("dwpose_models")
    return {
        "pose": make_pose_model(d / "dw-ll_ucoco_384.onnx"),
        "det": make_detector_model(d / "yolox_l.onnx", person_head()),
        "det_weak": make_detector_model(d / "yolox_weak.onnx", person_head(0.3)),
        "bad_pose": make_pose_model(d / "heatmap.onnx", out_names=("heatmaps", "simcc_y")),
        "pose_dyn": make_pose_model(d / "pose_dynamic.onnx", batch="batch"),
        "det_gated": make_gated_detector_model(d / "yolox_gated.onnx", person_head()),
    }


def red_dot_frame(x: int, y: int, size: int = 1, band: bool = False) -> np.ndarray:
    frame = np.zeros((FRAME_H, FRAME_W, 3), dtype=np.uint8)
    if band:  # a grey lower half: the gated detector sees a person (the dot stays the reddest pixel)
        frame[FRAME_H // 2:] = 200
    frame[y - size // 2:y + size // 2 + 1, x - size // 2:x + size // 2 + 1] = (0, 0, 255)  # BGR red
    return frame


# ----------------------------------------------------------------------------- onnx_runtime helper

def test_open_session_accepts_contract_and_names_mismatch(models):
    specs = dict(inputs=[TensorSpec(None, 4, (None, 3, 384, 288))],
                 outputs=[TensorSpec("simcc_x", 3, (None, K, None)), TensorSpec("simcc_y", 3)])
    session = open_session(models["pose"], what="a pose model", **specs)
    assert [o.name for o in session.get_outputs()] == ["simcc_x", "simcc_y"]
    assert session.get_providers()[-1] == "CPUExecutionProvider"

    with pytest.raises(OnnxContractError) as err:
        open_session(models["bad_pose"], what="a pose model", config_key="estimators.dwpose.pose_weights",
                     **specs)
    msg = str(err.value)
    assert "heatmap.onnx" in msg and "estimators.dwpose.pose_weights" in msg
    assert "no output named 'simcc_x'" in msg and "heatmaps: rank 3" in msg

    with pytest.raises(OnnxContractError, match="rank 4, expected 3"):
        open_session(models["pose"], what="x", inputs=[TensorSpec(None, 3)], outputs=[])
    with pytest.raises(OnnxContractError, match="axis 2 is 384, expected 256"):
        open_session(models["pose"], what="x", inputs=[TensorSpec("input", 4, (1, 3, 256, 192))], outputs=[])


def test_open_session_unreadable_and_absent_files(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(OnnxContractError, match="junk.onnx .config key a.b. could not be loaded"):
        open_session(junk, what="x", config_key="a.b", inputs=[], outputs=[])
    with pytest.raises(FileNotFoundError, match="nothere.onnx"):
        open_session(tmp_path / "nothere.onnx", what="x", inputs=[], outputs=[])


# ----------------------------------------------------------------------------- YOLOX

def test_letterbox_places_raw_bgr_top_left_with_pad_114():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (FRAME_H, FRAME_W, 3), dtype=np.uint8)
    canvas, ratio = yolox.letterbox(frame)
    assert canvas.shape == (640, 640, 3) and ratio == 2.0
    assert np.all(canvas[480:] == 114)
    np.testing.assert_array_equal(canvas[:480], cv2.resize(frame, (640, 480), interpolation=cv2.INTER_LINEAR))
    x = yolox.to_input(canvas)
    assert x.shape == (1, 3, 640, 640) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0, :, 5, 7], canvas[5, 7].astype(np.float32))  # BGR kept, 0-255

    tall = np.zeros((400, 100, 3), dtype=np.uint8)
    canvas, ratio = yolox.letterbox(tall)
    assert ratio == 1.6 and np.all(canvas[:, 160:] == 114) and np.all(canvas[:640, :160] == 0)


def test_boxes_round_trip_through_letterbox():
    boxes = np.array([[10.5, 20.0, 100.0, 230.25], [0.0, 0.0, 320.0, 240.0]])
    ratio = yolox.letterbox(np.zeros((240, 320, 3), np.uint8))[1]
    np.testing.assert_allclose(yolox.boxes_to_frame(yolox.boxes_to_canvas(boxes, ratio), ratio), boxes)


def test_raw_head_decodes_person_boxes_with_nms_and_class_filter():
    boxes, scores = yolox.person_boxes([person_head()], ratio=2.0)
    # the duplicate (IoU ~0.9) is suppressed, the car is not a person, the second person survives
    assert len(boxes) == 2
    np.testing.assert_allclose(boxes[0], PERSON_BOX, atol=1e-3)
    np.testing.assert_allclose(boxes[1], np.array([500.0, 100.0, 600.0, 300.0]) / 2, atol=1e-3)
    np.testing.assert_allclose(scores, [0.81, 0.56], atol=1e-6)

    boxes, _ = yolox.person_boxes([person_head()], ratio=2.0, nms_threshold=0.95)
    assert len(boxes) == 3  # duplicate kept when NMS is lax
    boxes, _ = yolox.person_boxes([person_head()], ratio=2.0, score_threshold=0.6)
    assert len(boxes) == 1


def test_end2end_dets_format():
    dets = np.array([[[10, 10, 50, 90, 0.4], [20, 20, 60, 100, 0.9], [0, 0, 0, 0, 0], [5, 5, 9, 9, 0.95]]])
    labels = np.array([[0, 0, 0, 3]])
    boxes, scores = yolox.person_boxes({"dets": dets, "labels": labels}, ratio=0.5)
    np.testing.assert_allclose(boxes, [[40, 40, 120, 200], [20, 20, 100, 180]])
    np.testing.assert_allclose(scores, [0.9, 0.4])


# ----------------------------------------------------------------------------- SimCC

@pytest.mark.parametrize("box", [PERSON_BOX, np.array([30.0, 60.0, 290.0, 120.0])])
def test_simcc_peaks_decode_back_to_frame_pixels(box):
    transform = simcc.crop_transform(box)
    assert transform.size[0] / transform.size[1] == pytest.approx(288 / 384)
    assert transform.size[0] >= (box[2] - box[0]) * 1.25 - 1e-9
    assert transform.size[1] >= (box[3] - box[1]) * 1.25 - 1e-9
    rng = np.random.default_rng(1)
    truth = rng.uniform(box[:2], box[2:], size=(K, 2))                    # frame px
    bins = np.round(transform.to_crop(truth) * 2).astype(int)             # SimCC bins
    sx, sy = np.zeros((1, K, 576)), np.zeros((1, K, 768))
    sx[0, np.arange(K), bins[:, 0]] = 0.8
    sy[0, np.arange(K), bins[:, 1]] = 0.6
    locs, scores = simcc.decode(sx, sy)
    assert locs.shape == (1, K, 2)
    np.testing.assert_allclose(locs[0], bins / 2)
    back = transform.to_frame(locs[0])
    assert np.abs(back - truth).max() <= 0.5
    np.testing.assert_allclose(scores, 0.6)
    np.testing.assert_allclose(simcc.decode(sx, sy, score_mode="mean")[1], 0.7)


def test_crop_image_agrees_with_inverse_transform():
    frame = np.zeros((FRAME_H, FRAME_W, 3), dtype=np.uint8)
    frame[77, 181] = 255
    transform = simcc.crop_transform(PERSON_BOX)
    patch = simcc.crop(frame, transform)
    assert patch.shape == (384, 288, 3)
    v, u = np.unravel_index(patch[..., 0].argmax(), patch.shape[:2])
    np.testing.assert_allclose(transform.to_frame(np.array([u, v])), [181, 77], atol=0.5 / transform.scale)
    np.testing.assert_allclose(transform.to_crop(transform.to_frame(np.array([3.0, 4.0]))), [3.0, 4.0])
    x = simcc.normalise(patch[..., ::-1])
    assert x.shape == (1, 3, 384, 288)
    assert x[0, 0, 0, 0] == pytest.approx(-123.675 / 58.395, rel=1e-6)
    assert x[0, 2, 0, 0] == pytest.approx(-103.53 / 57.375, rel=1e-6)


# ----------------------------------------------------------------------------- OpenPose + packing

def reference_openpose(kp: np.ndarray) -> np.ndarray:
    """The DWPose formula: insert mean(5, 6) at 17, then permute the first 18."""
    new = np.insert(kp, 17, kp[[5, 6]].mean(axis=0), axis=0)
    dst = [1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17]
    new[dst] = new[[17, 6, 8, 10, 7, 9, 12, 14, 16, 13, 15, 2, 1, 4, 3]]
    return new


def test_openpose_remap_matches_dwpose_formula():
    rng = np.random.default_rng(2)
    kp = rng.uniform(0, 300, (K, 2))
    sc = rng.uniform(0, 1, K)
    body, body_sc = openpose.openpose18(kp, sc)
    ref = reference_openpose(np.concatenate([kp, sc[:, None]], axis=1))
    np.testing.assert_allclose(body, ref[:18, :2])
    np.testing.assert_allclose(body[1], (kp[5] + kp[6]) / 2)  # neck
    # nose, right shoulder, left shoulder, right eye, left ear
    np.testing.assert_allclose(body[[0, 2, 5, 14, 17]], kp[[0, 6, 5, 2, 3]])
    np.testing.assert_allclose(np.delete(body_sc, 1), np.delete(ref[:18, 2], 1))
    assert body_sc[1] == min(sc[5], sc[6])
    sc[5], sc[6] = 0.9, 0.2
    assert openpose.openpose18(kp, sc, neck_score="binary")[1][1] == 0.0
    sc[6] = 0.5
    assert openpose.openpose18(kp, sc, neck_score="binary")[1][1] == 1.0


def test_slot_keypoints_and_384_packing_order():
    kp = np.stack([np.arange(K) * 2.0, np.arange(K) * 3.0], axis=1)    # keypoint k at (2k, 3k)
    sc = np.linspace(-0.2, 1.3, K)
    kp128, sc128 = openpose.slot_keypoints(kp, sc)
    ref = reference_openpose(np.concatenate([kp, sc[:, None]], axis=1))  # (134, 3)
    src134 = list(range(18)) + list(range(24, 92)) + list(range(92, 134))
    np.testing.assert_allclose(kp128, ref[src134, :2])
    np.testing.assert_allclose(kp128[18:86], kp[23:91])    # face
    np.testing.assert_allclose(kp128[86:107], kp[91:112])  # left hand
    np.testing.assert_allclose(kp128[107:], kp[112:])      # right hand

    feats = openpose.pack(kp128, sc128, width=400, height=300)
    assert feats.shape == (384,) and feats.dtype == np.float32
    np.testing.assert_allclose(feats[0::3], kp128[:, 0] / 400, rtol=1e-6)
    np.testing.assert_allclose(feats[1::3], kp128[:, 1] / 300, rtol=1e-6)
    np.testing.assert_allclose(feats[2::3], np.clip(sc128, 0, 1), rtol=1e-6)
    assert feats[3 * 107] == pytest.approx(112 * 2 / 400)  # first right-hand x = COCO 112
    np.testing.assert_array_equal(openpose.unpack(feats)[:, 2], feats[2::3])


# ----------------------------------------------------------------------------- backend

def expected_slot_scores(peak: float) -> np.ndarray:
    """Scores the tiny pose model gives each slot keypoint when the brightest normalised value is peak."""
    base = 0.6 + 0.1 * peak
    coco = base - BIAS_STEP * np.arange(K)
    return openpose.slot_keypoints(np.zeros((K, 2)), coco)[1]


def test_end_to_end_on_tiny_models(models):
    cfg = {"backend": "dwpose_onnx", "pose_weights": models["pose"], "detector_weights": models["det"],
           "device": "cpu", "threads": 1}
    est = registry.build("dwpose", cfg)
    assert isinstance(est, DWPoseOnnx)
    out = est.process(red_dot_frame(150, 100))
    assert out.valid and out.features.shape == (384,) and out.features.dtype == np.float32
    kp = openpose.unpack(out.features)
    # every keypoint (neck included) lies on the red dot, within half a pixel
    assert np.abs(kp[:, 0] * FRAME_W - 150).max() <= 0.5
    assert np.abs(kp[:, 1] * FRAME_H - 100).max() <= 0.5
    # per-keypoint scores (bias -0.001 * COCO index) identify where each COCO-WholeBody keypoint went
    want = expected_slot_scores(0.0)
    np.testing.assert_allclose(kp[:, 2] - kp[0, 2], want - want[0], atol=1e-5)
    assert kp[0, 2] > 0.6  # the dot is bright in channel 0, so the crop reached the model as RGB
    np.testing.assert_allclose(out.extras["person_box"], PERSON_BOX / [FRAME_W, FRAME_H, FRAME_W, FRAME_H],
                               atol=1e-4)
    np.testing.assert_allclose(out.extras["person_score"], [0.81], atol=1e-6)

    prov = est.provenance()
    assert prov["backend"] == "dwpose_onnx" and set(prov["weights"]) == {"detector", "pose"}
    assert all(len(w["sha256"]) == 64 for w in prov["weights"].values())


def test_bgr_order_misses_the_red_dot(models):
    cfg = {"pose_weights": models["pose"], "detector_weights": models["det"], "pose_color_order": "bgr"}
    out = DWPoseOnnx(cfg).process(red_dot_frame(150, 100))
    kp = openpose.unpack(out.features)
    assert np.abs(kp[:, 0] * FRAME_W - 150).min() > 5  # channel 0 is blue: the dot is invisible


def test_no_person_gives_invalid_zeros(models):
    est = DWPoseOnnx({"pose_weights": models["pose"], "detector_weights": models["det_weak"],
                      "det_score_threshold": 0.3})
    out = est.process(red_dot_frame(150, 100))
    assert not out.valid
    assert not out.features.any() and out.features.shape == (384,)
    assert out.extras["person_box"].shape == (4,) and not out.extras["person_box"].any()


def test_detector_none_uses_whole_frame(models):
    est = DWPoseOnnx({"pose_weights": models["pose"], "detector": "none", "keypoint_threshold": 0.5})
    assert set(est.provenance()["weights"]) == {"pose"}
    out = est.process(red_dot_frame(200, 90, size=5))
    kp = openpose.unpack(out.features)
    assert out.valid
    assert np.abs(kp[:, 0] * FRAME_W - 200).max() <= 2.5 and np.abs(kp[:, 1] * FRAME_H - 90).max() <= 2.5
    np.testing.assert_allclose(out.extras["person_box"], [0, 0, 1, 1])
    # a black frame: every keypoint scores 0.6 + 0.1 * (-2.12) - bias < 0.5 -> no person
    assert not est.process(np.zeros((FRAME_H, FRAME_W, 3), np.uint8)).valid


def test_missing_weights_name_the_config_key(models, tmp_path):
    with pytest.raises(MissingWeightsError, match=r"estimators\.dwpose\.pose_weights is not set"):
        DWPoseOnnx({"detector_weights": models["det"]})
    with pytest.raises(MissingWeightsError, match=r"dwpose\.pose_weights points to .*absent\.onnx"):
        DWPoseOnnx({"pose_weights": str(tmp_path / "absent.onnx"), "detector_weights": models["det"]})
    with pytest.raises(MissingWeightsError, match=r"estimators\.dwpose\.detector_weights"):
        DWPoseOnnx({"pose_weights": models["pose"]})
    with pytest.raises(OnnxContractError, match=r"heatmap\.onnx \(config key estimators\.dwpose\.pose_w"):
        DWPoseOnnx({"pose_weights": models["bad_pose"], "detector": "none"})
    with pytest.raises(OnnxContractError, match=r"estimators\.dwpose\.detector_weights"):
        DWPoseOnnx({"pose_weights": models["pose"], "detector_weights": models["bad_pose"]})
    with pytest.raises(ValueError, match=r"estimators\.dwpose\.score_mode"):
        DWPoseOnnx({"pose_weights": models["pose"], "detector": "none", "score_mode": "max"})


# ----------------------------------------------------------------------------- batches

def _assert_same_outputs(got, want):
    assert [o.valid for o in got] == [o.valid for o in want]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.features, b.features, rtol=1e-5, atol=1e-6)
        assert a.extras.keys() == b.extras.keys()
        for name in a.extras:
            np.testing.assert_allclose(a.extras[name], b.extras[name], rtol=1e-5, atol=1e-6)


def test_batches_equal_one_frame_calls_with_missed_detections_inside(models):
    cfg = {"backend": "dwpose_onnx", "pose_weights": models["pose_dyn"],
           "detector_weights": models["det_gated"], "device": "cpu", "threads": 1}
    frames = [red_dot_frame(150, 100, band=True), red_dot_frame(150, 100), red_dot_frame(170, 110, band=True),
              red_dot_frame(140, 90), red_dot_frame(130, 95, band=True), red_dot_frame(160, 80, band=True)]
    batched = registry.build("dwpose", {**cfg, "batch_size": 4})
    assert batched.batch_size == 4 and batched.model_batch == {"detector": 4, "pose": 4}
    single = registry.build("dwpose", {**cfg, "batch_size": 1})
    assert single.batch_size == 1
    one_by_one = [single.process(f) for f in frames]
    # the gated detector finds the signer only on frames with the grey band
    assert [o.valid for o in one_by_one] == [True, False, True, False, True, True]
    kp = openpose.unpack(one_by_one[2].features)
    assert np.abs(kp[:, 0] * FRAME_W - 170).max() <= 0.5 and np.abs(kp[:, 1] * FRAME_H - 110).max() <= 0.5
    out = batched.process_batch([batched.prepare(f) for f in frames])   # chunks of 4 and 2
    _assert_same_outputs(out, one_by_one)
    assert not out[1].features.any() and not out[3].extras["person_box"].any()

    prov = batched.provenance()
    assert prov["device"] == "cpu" and prov["provider"] == "CPUExecutionProvider"
    assert prov["precision"] == "fp32" and prov["batch_size"] == 4
    assert prov["model_batch_sizes"] == {"detector": 4, "pose": 4}


def test_fixed_batch_exports_run_one_frame_per_call(models, caplog):
    cfg = {"pose_weights": models["pose"], "detector_weights": models["det"], "batch_size": 8}
    with caplog.at_level("WARNING", logger="pipelib.estimators"):
        est = DWPoseOnnx(cfg)
    assert est.model_batch == {"detector": 1, "pose": 1} and est.batch_size == 1
    assert "yolox_l.onnx has a fixed batch size of 1" in caplog.text
    frames = [red_dot_frame(150, 100), red_dot_frame(120, 60)]
    _assert_same_outputs(est.process_batch([est.prepare(f) for f in frames]),
                         [est.process(f) for f in frames])


def test_fp16_conversion_keeps_keypoints(models):
    cfg = {"pose_weights": models["pose_dyn"], "detector_weights": models["det_gated"], "device": "cpu"}
    frame = red_dot_frame(150, 100, band=True)
    full = DWPoseOnnx(cfg).process(frame)
    est = DWPoseOnnx({**cfg, "precision": "fp16"})
    assert est.placement.precision == "fp16"
    half = est.process(frame)
    assert half.valid
    kp_full, kp_half = openpose.unpack(full.features), openpose.unpack(half.features)
    np.testing.assert_allclose(kp_half[:, :2], kp_full[:, :2], atol=1.0 / FRAME_H)  # same pixel
    np.testing.assert_allclose(kp_half[:, 2], kp_full[:, 2], atol=5e-3)             # fp16 scores
    with pytest.raises(ValueError, match=r"estimators\.dwpose\.precision = 'bf16'"):
        DWPoseOnnx({**cfg, "precision": "bf16"})
