"""Depth backends (PrimeDepth slot): real ONNX / TorchScript / torch.export loading and grid maths."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from pipelib.estimators import registry
from pipelib.estimators.base import MissingWeightsError
from pipelib.estimators.depth import DepthOnnx, DepthTorchScript, depth_to_features, preprocess
from pipelib.estimators.onnx_runtime import OnnxContractError

# the tests build TorchScript files on purpose; recent torch releases warn that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


class Ramp(torch.nn.Module):
    """Depth (B, 48, 48) = 3 * column + 7, whatever the image (which only sets the batch size)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("ramp", 3.0 * torch.arange(48.0).repeat(48, 1) + 7.0)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.ramp.expand(image.shape[0], 48, 48) + 0.0 * image.mean()


class RedMinusBlue(torch.nn.Module):
    """Depth (B, H, W) = normalised R - normalised B: channel order reaches the output."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image[:, 0] - image[:, 2]


class Contrast(torch.nn.Module):
    """Depth (B, H, W) = normalised R - normalised B, x 0 when the frame has no red: such frames have
    no contrast, so they are invalid."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        red = (image[:, 0].amax(dim=(1, 2), keepdim=True) > 0).float()          # (B, 1, 1)
        return (image[:, 0] - image[:, 2]) * red


def _onnx(module: torch.nn.Module, path, size, output="depth", dynamic_batch=False):
    axes = {"image": {0: "batch"}, output: {0: "batch"}} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(1, 3, *size),), str(path), input_names=["image"],
                          output_names=[output], dynamo=False, dynamic_axes=axes)
    return path


def _expected_ramp() -> np.ndarray:
    return np.tile(np.arange(24) / 23.0, (24, 1))  # cell j averages columns 2j, 2j + 1


def _red_top(size: int) -> np.ndarray:
    frame = np.zeros((size, size, 3), np.uint8)
    frame[: size // 2] = (0, 0, 255)   # BGR red on top
    frame[size // 2:] = (255, 0, 0)    # blue below
    return frame


def test_preprocess_is_rgb_over_255_with_imagenet_stats():
    frame = np.zeros((3, 5, 3), np.uint8)
    frame[..., 0] = 255                                   # blue in BGR
    x = preprocess(frame, (28, 42))
    assert x.shape == (1, 3, 28, 42) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 5, 5], [-0.485 / 0.229, -0.456 / 0.224, (1 - 0.406) / 0.225],
                               rtol=1e-5)


def test_grid_normalisation():
    out = depth_to_features(np.tile(np.arange(48.0) * 0.5 - 4.0, (48, 1)))
    assert out.valid and out.features.dtype == np.float32
    np.testing.assert_allclose(out.features.reshape(24, 24), _expected_ramp(), atol=1e-6)
    flat = depth_to_features(np.full((30, 30), 5.0))
    assert not flat.valid and np.all(flat.features == 0)
    bad = np.ones((30, 30))
    bad[0, 0] = np.nan
    assert not depth_to_features(bad).valid


def test_onnx_ramp_and_channel_order(tmp_path):
    est = registry.build("primedepth", {"backend": "depth_onnx", "device": "cpu", "input_size": [28, 28],
                                        "weights": str(_onnx(Ramp(), tmp_path / "ramp.onnx", (28, 28)))})
    assert isinstance(est, DepthOnnx)
    out = est.process(np.zeros((40, 30, 3), np.uint8))
    assert out.valid and out.features.shape == (576,)
    np.testing.assert_allclose(out.features.reshape(24, 24), _expected_ramp(), atol=1e-6)
    assert len(est.provenance()["weights"]["depth"]["sha256"]) == 64

    est = DepthOnnx({"weights": str(_onnx(RedMinusBlue(), tmp_path / "rb.onnx", (56, 56))),
                     "input_size": [56, 56], "device": "auto"})
    grid = est.process(_red_top(56)).features.reshape(24, 24)
    assert np.all(grid[:12] == 1.0) and np.all(grid[12:] == 0.0)


def test_torchscript_and_export_programs(tmp_path):
    ts = tmp_path / "ramp_ts.pt"
    torch.jit.save(torch.jit.script(Ramp()), str(ts))
    est = registry.build("primedepth", {"backend": "depth_torchscript", "weights": str(ts),
                                        "device": "cpu", "input_size": [28, 28]})
    assert isinstance(est, DepthTorchScript) and est.program.kind == "torchscript"
    np.testing.assert_allclose(est.process(np.zeros((20, 20, 3), np.uint8)).features.reshape(24, 24),
                               _expected_ramp(), atol=1e-6)

    ep = tmp_path / "rb.pt2"
    torch.export.save(torch.export.export(RedMinusBlue(), (torch.zeros(1, 3, 56, 56),)), str(ep))
    est = DepthTorchScript({"weights": str(ep), "input_size": [56, 56]})
    assert est.program.kind == "export"
    grid = est.process(_red_top(56)).features.reshape(24, 24)
    assert np.all(grid[:12] == 1.0) and np.all(grid[12:] == 0.0)


def test_config_errors(tmp_path):
    with pytest.raises(MissingWeightsError, match="estimators.primedepth.weights"):
        DepthOnnx({"device": "cpu"})
    with pytest.raises(MissingWeightsError, match="estimators.primedepth.weights"):
        DepthTorchScript({"weights": str(tmp_path / "none.pt2")})
    path = _onnx(Ramp(), tmp_path / "ramp.onnx", (28, 28))
    with pytest.raises(ValueError, match="estimators.primedepth.input_size"):
        DepthOnnx({"weights": str(path), "input_size": [30, 28]})
    wrong = _onnx(Ramp(), tmp_path / "wrong.onnx", (28, 28), output="disparity")
    with pytest.raises(OnnxContractError, match="wrong.onnx"):
        DepthOnnx({"weights": str(wrong), "input_size": [28, 28], "device": "cpu"})


def _frames() -> list[np.ndarray]:
    """Red-over-blue frames of different sizes and splits, and blue-only frames (no contrast: invalid)."""
    out = []
    for i, (h, w) in enumerate([(56, 56), (40, 70), (56, 56), (90, 60), (56, 56), (33, 47), (56, 80)]):
        frame = np.zeros((h, w, 3), np.uint8)
        frame[:] = (255, 0, 0)                       # blue
        if i not in (1, 4):
            frame[: (i + 2) * h // 10] = (0, 0, 255)   # a red top band of varying height
        out.append(frame)
    return out


def _assert_same(got, want):
    assert [o.valid for o in got] == [o.valid for o in want]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.features, b.features, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["onnx", "torchscript", "export"])
def test_batches_equal_one_frame_calls_with_invalid_frames_inside(tmp_path, kind):
    if kind == "onnx":
        weights, backend = _onnx(Contrast(), tmp_path / "c.onnx", (56, 56), dynamic_batch=True), "depth_onnx"
    elif kind == "torchscript":
        weights, backend = tmp_path / "c_ts.pt", "depth_torchscript"
        torch.jit.save(torch.jit.script(Contrast()), str(weights))
    else:
        weights, backend = tmp_path / "c.pt2", "depth_torchscript"
        batch = torch.export.Dim("batch", min=1, max=64)
        program = torch.export.export(Contrast(), (torch.zeros(2, 3, 56, 56),),
                                      dynamic_shapes={"image": {0: batch}})
        torch.export.save(program, str(weights))
    cfg = {"backend": backend, "weights": str(weights), "device": "cpu", "input_size": [56, 56]}
    frames = _frames()
    single = registry.build("primedepth", {**cfg, "batch_size": 1})
    want = [single.process(f) for f in frames]
    assert [o.valid for o in want] == [True, False, True, True, False, True, True]
    est = registry.build("primedepth", {**cfg, "batch_size": 3})
    assert est.batch_size == 3 and est.model_batch == {"depth": 3}
    _assert_same(est.process_batch([est.prepare(f) for f in frames]), want)   # batches of 3, 3, 1
    prov = est.provenance()
    assert (prov["device"], prov["precision"], prov["batch_size"]) == ("cpu", "fp32", 3)
    assert prov["provider"] == ("CPUExecutionProvider" if kind == "onnx" else "torch-cpu")


def test_fixed_batch_export_runs_frame_by_frame(tmp_path, caplog):
    """A torch.export program traced at batch 1 refuses a batch of 2: it is run one frame per call."""
    path = tmp_path / "fixed.pt2"
    torch.export.save(torch.export.export(Contrast(), (torch.zeros(1, 3, 56, 56),)), str(path))
    with caplog.at_level("WARNING", logger="pipelib.estimators"):
        est = DepthTorchScript({"weights": str(path), "device": "cpu", "input_size": [56, 56],
                                "batch_size": 4})
    assert est.batch_size == 1 and est.provenance()["batch_size"] == 1
    assert "fixed.pt2 cannot be batched: it refuses a batch of 2" in caplog.text
    frames = _frames()
    _assert_same(est.process_batch([est.prepare(f) for f in frames]), [est.process(f) for f in frames])


def test_onnx_fp16_and_torch_bf16_precision(tmp_path):
    frames = _frames()
    path = _onnx(RedMinusBlue(), tmp_path / "rb.onnx", (56, 56), dynamic_batch=True)
    full = DepthOnnx({"weights": str(path), "input_size": [56, 56], "device": "cpu"})
    half = DepthOnnx({"weights": str(path), "input_size": [56, 56], "device": "cpu", "precision": "fp16"})
    assert full.placement.precision == "fp32" and half.provenance()["precision"] == "fp16"
    for f in frames:
        np.testing.assert_allclose(half.process(f).features, full.process(f).features, atol=2e-3)

    ts = tmp_path / "rb_ts.pt"
    torch.jit.save(torch.jit.script(RedMinusBlue()), str(ts))
    bf16 = DepthTorchScript({"weights": str(ts), "input_size": [56, 56], "device": "cpu",
                             "precision": "bf16"})
    assert bf16.program.dtype == torch.bfloat16 and bf16.provenance()["precision"] == "bf16"
    ref = DepthTorchScript({"weights": str(ts), "input_size": [56, 56], "device": "cpu"})
    for f in frames:
        np.testing.assert_allclose(bf16.process(f).features, ref.process(f).features, atol=2e-2)
