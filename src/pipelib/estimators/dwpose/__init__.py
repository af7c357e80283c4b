"""DWPose whole-body keypoints from the official ONNX exports (YOLOX person detector + SimCC pose model).

``yolox`` detects the person, ``simcc`` crops and decodes the pose model, ``openpose`` turns the 133
COCO-WholeBody keypoints into the slot's 128 x (x, y, conf) = 384 values, ``backend`` wires them into
the ``dwpose_onnx`` :class:`~pipelib.estimators.base.FrameEstimator`. ``openpose`` needs only numpy,
``yolox`` and ``simcc`` OpenCV, ``backend`` onnxruntime; importing this package imports none of them.
"""
