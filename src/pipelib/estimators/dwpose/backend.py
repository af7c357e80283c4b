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
    batch_size: null           # frames per call (null: 16 on a GPU, 4 on CPU)
    precision: auto            # auto (the files') | fp32 | fp16 (converted in memory)
    on_missing_gpu: fail       # fail | warn (see pipelib.estimators.placement)

Signing videos show one signer, so only the highest-scoring person is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelib.estimators.base import BatchedEstimator, FrameOutput, require_weights
from pipelib.estimators.batching import run_chunked
from pipelib.estimators.dwpose import openpose, simcc, yolox
from pipelib.estimators.onnx_runtime import (
    CUDA,
    OnnxContractError,
    OnnxModel,
    TensorSpec,
    onnx_precision,
    open_session,
    session_provider,
    static_dims,
)
from pipelib.estimators.placement import ONNX_PRECISIONS

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
    "threads": None,
}
DETECTOR_EXPECTED = (
    "a YOLOX person detector .onnx with one (B, 3, H, W) image input, e.g. yolox_l.onnx from the DWPose "
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


@dataclass(frozen=True)
class Prepared:
    """One frame made ready ahead of inference: the frame, and its letterboxed detector input
    (3, h, w) float32 with the letterbox ratio (None without a detector)."""

    frame: np.ndarray
    det_input: np.ndarray | None = None
    ratio: float = 1.0


class DWPoseOnnx(BatchedEstimator):
    """DWPose on frames: (H, W, 3) uint8 BGR -> features (384,) float32 per frame.

    Features: 128 keypoints x (x / W, y / H, conf in [0, 1]) in the order OpenPose-18 body, 68 face,
    21 left hand, 21 right hand. Extras: ``person_box`` (4,) xyxy normalised by W, H and
    ``person_score`` (1,). No person -> ``valid=False`` and zeros. The detector runs on the whole
    batch, the pose model on the crops of the frames where a person was found.
    """

    slot = "dwpose"
    backend = "dwpose_onnx"
    precisions = ONNX_PRECISIONS

    def __init__(self, cfg: Mapping[str, Any], *, gpu_booked: bool = False) -> None:
        super().__init__(cfg, gpu_booked=gpu_booked)
        self.opts = {**DEFAULTS, **{k: v for k, v in cfg.items() if v is not None}}
        _check_choice(self.opts, "detector", DETECTORS)
        _check_choice(self.opts, "score_mode", simcc.SCORE_MODES)
        _check_choice(self.opts, "neck_score", openpose.NECK_SCORE_MODES)
        _check_choice(self.opts, "pose_color_order", COLOR_ORDERS)
        session_args = {"device": self.settings.device, "threads": self.opts["threads"],
                        "precision": self.settings.precision}

        pose_path = require_weights(cfg, "pose_weights", f"{SECTION}.pose_weights", POSE_EXPECTED)
        self.pose = open_session(pose_path, what=POSE_EXPECTED, config_key=f"{SECTION}.pose_weights",
                                 **POSE_CONTRACT, **session_args)
        self.register_weights("pose", pose_path)
        pose_in = self.pose.get_inputs()[0]
        _, _, h, w = static_dims(pose_in)
        self.pose_size = (w or simcc.INPUT_SIZE[0], h or simcc.INPUT_SIZE[1])  # (w, h)
        self.pose_run = OnnxModel(self.pose, ["simcc_x", "simcc_y"])
        sessions = [self.pose]
        pose_shape = (3, self.pose_size[1], self.pose_size[0])
        models = {"pose": (self.pose_run, pose_shape, self.pose_run.fixed_batch, str(pose_path))}

        self.detector = None
        if self.opts["detector"] == "yolox":
            det_path = require_weights(cfg, "detector_weights", f"{SECTION}.detector_weights",
                                       DETECTOR_EXPECTED)
            self.detector = open_session(det_path, what=DETECTOR_EXPECTED,
                                         config_key=f"{SECTION}.detector_weights",
                                         **DETECTOR_CONTRACT, **session_args)
            self.register_weights("detector", det_path)
            _, _, h, w = static_dims(self.detector.get_inputs()[0])
            self.det_size = (h or yolox.INPUT_SIZE[0], w or yolox.INPUT_SIZE[1])  # (h, w)
            self.det_outputs = [o.name for o in self.detector.get_outputs()]
            problem = yolox.output_problem(static_dims(self.detector.get_outputs()[0]), self.det_size)
            if problem:
                raise OnnxContractError(f"{det_path} (config key {SECTION}.detector_weights) is not "
                                        f"{DETECTOR_EXPECTED}: {problem}")
            self.det_run = OnnxModel(self.detector, self.det_outputs)
            sessions.append(self.detector)
            models["detector"] = (self.det_run, (3, *self.det_size), self.det_run.fixed_batch, str(det_path))

        got = [session_provider(s) for s in sessions]
        providers = list(dict.fromkeys(p for p, _ in got))
        on_gpu = all(p == CUDA for p, _ in got)
        self.place("cuda" if on_gpu else "cpu", "+".join(providers),
                   onnx_precision(self.pose, self.settings.precision),
                   "; ".join(dict.fromkeys(why for _, why in got if why)))
        self.settle_batches(models)

    def prepare(self, frame_bgr: np.ndarray) -> Prepared:
        """Check the frame and letterbox it for the detector (run ahead on a worker thread)."""
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 BGR frame, got {frame_bgr.shape} "
                             f"{frame_bgr.dtype}")
        if self.detector is None:
            return Prepared(frame_bgr)
        canvas, ratio = yolox.letterbox(frame_bgr, self.det_size)
        return Prepared(frame_bgr, yolox.to_input(canvas)[0], ratio)

    def detect_batch(self, prepared: Sequence[Prepared]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per frame: person boxes (N, 4) xyxy frame px and scores (N,), best first (whole frame when
        the detector is none)."""
        if self.detector is None:
            return [(np.array([[0.0, 0.0, p.frame.shape[1], p.frame.shape[0]]]), np.ones(1))
                    for p in prepared]
        raw = run_chunked(self.det_run, np.stack([p.det_input for p in prepared]),
                          self.model_batch["detector"])
        return [
            yolox.person_boxes({k: v[i:i + 1] for k, v in raw.items()}, p.ratio, self.det_size,
                               score_threshold=float(self.opts["det_score_threshold"]),
                               nms_threshold=float(self.opts["nms_threshold"]))
            for i, p in enumerate(prepared)
        ]

    def wholebody_batch(self, frames: Sequence[np.ndarray],
                        boxes_xyxy: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per (frame, box): COCO-WholeBody keypoints (133, 2) frame px and raw scores (133,)."""
        transforms = [simcc.crop_transform(box, self.pose_size) for box in boxes_xyxy]
        patches = []
        for frame, transform in zip(frames, transforms, strict=True):
            patch = simcc.crop(frame, transform)
            if self.opts["pose_color_order"] == "rgb":
                patch = patch[..., ::-1]
            patches.append(simcc.normalise(patch)[0])                     # (3, h, w)
        out = run_chunked(self.pose_run, np.stack(patches), self.model_batch["pose"])
        simcc_x, simcc_y = out["simcc_x"], out["simcc_y"]                 # (b, 133, Wx), (b, 133, Wy)
        split = simcc_x.shape[-1] / self.pose_size[0]
        if simcc_y.shape[-1] != round(split * self.pose_size[1]):
            raise ValueError(
                f"{SECTION}.pose_weights: simcc_x {simcc_x.shape} / simcc_y {simcc_y.shape} do not share one "
                f"split ratio over the {self.pose_size[0]}x{self.pose_size[1]} input"
            )
        locs, scores = simcc.decode(simcc_x, simcc_y, split, self.opts["score_mode"])  # (b, 133, 2), (b, 133)
        return [(t.to_frame(locs[j]), scores[j]) for j, t in enumerate(transforms)]

    def infer(self, prepared: Sequence[Prepared]) -> list[FrameOutput]:
        """Features (384,) of each frame's highest-scoring person; ``valid=False`` and zeros without one."""
        outputs = [self.missing() for _ in prepared]
        found = [(i, boxes, scores) for i, (boxes, scores) in enumerate(self.detect_batch(prepared))
                 if len(boxes)]
        if not found:
            return outputs
        poses = self.wholebody_batch([prepared[i].frame for i, _, _ in found], [b[0] for _, b, _ in found])
        for (i, boxes, box_scores), (keypoints, scores) in zip(found, poses, strict=True):
            height, width = prepared[i].frame.shape[:2]
            kp128, sc128 = openpose.slot_keypoints(keypoints, scores, self.opts["neck_score"])
            if self.detector is None and not np.any(sc128[openpose.SLOT_PARTS["body"]]
                                                    > float(self.opts["keypoint_threshold"])):
                continue
            extras = {
                "person_box": (boxes[0] / np.array([width, height, width, height])).astype(np.float32),
                "person_score": np.array([box_scores[0]], dtype=np.float32),
            }
            outputs[i] = FrameOutput(openpose.pack(kp128, sc128, width, height), True, extras)
        return outputs

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
