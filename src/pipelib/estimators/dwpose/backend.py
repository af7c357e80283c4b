"""The ``dwpose_onnx`` backend of the ``dwpose`` slot: YOLOX + DWPose ONNX models -> 384 values per frame.

Config section ``estimators.dwpose``::

    backend: dwpose_onnx
    detector: yolox            # or none: the whole frame is the person box (no detector file needed)
    detector_weights: /path/yolox_l.onnx
    pose_weights: /path/dw-ll_ucoco_384.onnx
    det_score_threshold: 0.3   # person boxes scoring above this are kept
    nms_threshold: 0.45        # IoU above which a lower-scoring box is suppressed (raw YOLOX head only)
    score_mode: min            # keypoint score = min (DWPose) or mean of the SimCC x/y maxima
    neck_score: min            # neck score = min of the shoulders, or binary (DWPose annotator)
    keypoint_threshold: 0.3    # detector none: a frame is valid when a body keypoint scores above this
    pose_color_order: rgb      # rgb (as DWPose was trained) or bgr (what rtmlib feeds from cv2 frames)
    device: auto               # auto (CUDA when onnxruntime has it), cuda or cpu
    threads: null              # onnxruntime intra-op threads (null: all cores)

Signing videos show one signer, so only the highest-scoring person is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from pipelib.estimators.base import FrameEstimator, FrameOutput, require_weights
from pipelib.estimators.dwpose import openpose, simcc, yolox
from pipelib.estimators.onnx_runtime import OnnxContractError, TensorSpec, open_session, static_dims

SECTION = "estimators.dwpose"
DETECTORS = ("yolox", "none")
COLOR_ORDERS = ("rgb", "bgr")
DEFAULTS: dict[str, Any] = {
    "detector": "yolox",
    "det_score_threshold": 0.3,
    "nms_threshold": 0.45,
    "score_mode": "min",
    "neck_score": "min",
    "keypoint_threshold": 0.3,
    "pose_color_order": "rgb",
    "device": "auto",
    "threads": None,
}
DETECTOR_EXPECTED = (
    "a YOLOX person detector .onnx with one (1, 3, H, W) image input, e.g. yolox_l.onnx from the DWPose "
    "release (raw head output (1, 8400, 85)) or an mmdeploy end2end.onnx (dets (1, N, 5), labels (1, N))"
)
POSE_EXPECTED = (
    "a DWPose SimCC whole-body .onnx, e.g. dw-ll_ucoco_384.onnx from the DWPose release (input "
    "(1, 3, 384, 288), outputs simcc_x (1, 133, 576) and simcc_y (1, 133, 768))"
)
POSE_CONTRACT = {
    "inputs": [TensorSpec(None, 4, (None, 3, None, None))],
    "outputs": [TensorSpec("simcc_x", 3, (None, openpose.N_WHOLEBODY, None)),
                TensorSpec("simcc_y", 3, (None, openpose.N_WHOLEBODY, None))],
}
DETECTOR_CONTRACT = {
    "inputs": [TensorSpec(None, 4, (None, 3, None, None))],
    "outputs": [TensorSpec(None, 3)],
}
EXTRAS = {"person_box": (4,), "person_score": (1,)}


class DWPoseOnnx(FrameEstimator):
    """DWPose on one frame: (H, W, 3) uint8 BGR -> features (384,) float32.

    Features: 128 keypoints x (x / W, y / H, conf in [0, 1]) in the order OpenPose-18 body, 68 face,
    21 left hand, 21 right hand. Extras: ``person_box`` (4,) xyxy normalised by W, H and
    ``person_score`` (1,). No person -> ``valid=False`` and zeros.
    """

    slot = "dwpose"
    backend = "dwpose_onnx"

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__(cfg)
        self.opts = {**DEFAULTS, **{k: v for k, v in cfg.items() if v is not None}}
        _check_choice(self.opts, "detector", DETECTORS)
        _check_choice(self.opts, "score_mode", simcc.SCORE_MODES)
        _check_choice(self.opts, "neck_score", openpose.NECK_SCORE_MODES)
        _check_choice(self.opts, "pose_color_order", COLOR_ORDERS)
        session_args = {"device": self.opts["device"], "threads": self.opts["threads"]}

        pose_path = require_weights(cfg, "pose_weights", f"{SECTION}.pose_weights", POSE_EXPECTED)
        self.pose = open_session(pose_path, what=POSE_EXPECTED, config_key=f"{SECTION}.pose_weights",
                                 **POSE_CONTRACT, **session_args)
        self.register_weights("pose", pose_path)
        pose_in = self.pose.get_inputs()[0]
        self.pose_input = pose_in.name
        _, _, h, w = static_dims(pose_in)
        self.pose_size = (w or simcc.INPUT_SIZE[0], h or simcc.INPUT_SIZE[1])  # (w, h)

        self.detector = None
        if self.opts["detector"] == "yolox":
            det_path = require_weights(cfg, "detector_weights", f"{SECTION}.detector_weights",
                                       DETECTOR_EXPECTED)
            self.detector = open_session(det_path, what=DETECTOR_EXPECTED,
                                         config_key=f"{SECTION}.detector_weights",
                                         **DETECTOR_CONTRACT, **session_args)
            self.register_weights("detector", det_path)
            det_in = self.detector.get_inputs()[0]
            self.det_input = det_in.name
            _, _, h, w = static_dims(det_in)
            self.det_size = (h or yolox.INPUT_SIZE[0], w or yolox.INPUT_SIZE[1])  # (h, w)
            self.det_outputs = [o.name for o in self.detector.get_outputs()]
            problem = yolox.output_problem(static_dims(self.detector.get_outputs()[0]), self.det_size)
            if problem:
                raise OnnxContractError(f"{det_path} (config key {SECTION}.detector_weights) is not "
                                        f"{DETECTOR_EXPECTED}: {problem}")

    def detect(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes (N, 4) xyxy frame px and scores (N,), best first (whole frame when detector none)."""
        height, width = frame_bgr.shape[:2]
        if self.detector is None:
            return np.array([[0.0, 0.0, width, height]]), np.ones(1)
        canvas, ratio = yolox.letterbox(frame_bgr, self.det_size)
        outputs = self.detector.run(None, {self.det_input: yolox.to_input(canvas)})
        return yolox.person_boxes(
            dict(zip(self.det_outputs, outputs, strict=True)), ratio, self.det_size,
            score_threshold=float(self.opts["det_score_threshold"]),
            nms_threshold=float(self.opts["nms_threshold"]),
        )

    def wholebody(self, frame_bgr: np.ndarray, box_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """COCO-WholeBody keypoints (133, 2) frame px and raw scores (133,) of the person in the box."""
        transform = simcc.crop_transform(box_xyxy, self.pose_size)
        patch = simcc.crop(frame_bgr, transform)
        if self.opts["pose_color_order"] == "rgb":
            patch = patch[..., ::-1]
        simcc_x, simcc_y = self.pose.run(["simcc_x", "simcc_y"], {self.pose_input: simcc.normalise(patch)})
        split = simcc_x.shape[-1] / self.pose_size[0]
        if simcc_y.shape[-1] != round(split * self.pose_size[1]):
            raise ValueError(
                f"{SECTION}.pose_weights: simcc_x {simcc_x.shape} / simcc_y {simcc_y.shape} do not share one "
                f"split ratio over the {self.pose_size[0]}x{self.pose_size[1]} input"
            )
        locs, scores = simcc.decode(simcc_x[:1], simcc_y[:1], split, self.opts["score_mode"])
        return transform.to_frame(locs[0]), scores[0]

    def process(self, frame_bgr: np.ndarray) -> FrameOutput:
        """Features (384,) of the highest-scoring person; ``valid=False`` and zeros when there is none."""
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 BGR frame, got {frame_bgr.shape} "
                             f"{frame_bgr.dtype}")
        height, width = frame_bgr.shape[:2]
        boxes, box_scores = self.detect(frame_bgr)
        if len(boxes) == 0:
            return self.missing()
        keypoints, scores = self.wholebody(frame_bgr, boxes[0])
        kp128, sc128 = openpose.slot_keypoints(keypoints, scores, self.opts["neck_score"])
        if self.detector is None and not np.any(sc128[openpose.SLOT_PARTS["body"]]
                                                > float(self.opts["keypoint_threshold"])):
            return self.missing()
        extras = {
            "person_box": (boxes[0] / np.array([width, height, width, height])).astype(np.float32),
            "person_score": np.array([box_scores[0]], dtype=np.float32),
        }
        return FrameOutput(openpose.pack(kp128, sc128, width, height), True, extras)

    @staticmethod
    def missing() -> FrameOutput:
        """The output of a frame without a person: zeros, ``valid=False``, zero extras."""
        extras = {name: np.zeros(shape, dtype=np.float32) for name, shape in EXTRAS.items()}
        return FrameOutput(np.zeros(3 * openpose.N_SLOT_KEYPOINTS, dtype=np.float32), False, extras)

    def close(self) -> None:
        """Drop the onnxruntime sessions."""
        self.pose = None
        self.detector = None


def _check_choice(opts: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> None:
    if opts[key] not in choices:
        raise ValueError(f"config key {SECTION}.{key} = {opts[key]!r}: choose one of {', '.join(choices)}")
