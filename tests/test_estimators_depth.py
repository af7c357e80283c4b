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


def _onnx(module: torch.nn.Module, path, size, output="depth"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(1, 3, *size),), str(path), input_names=["image"],
                          output_names=[output], dynamo=False)
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
