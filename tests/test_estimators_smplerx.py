"""SMPLer-X slot: exported regressors (TorchScript, torch.export, ONNX), crops and 6D conversion."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from pipelib.estimators import registry
from pipelib.estimators.base import MissingWeightsError
from pipelib.estimators.onnx_runtime import OnnxContractError
from pipelib.estimators.rotations import axis_angle_to_matrix, matrix_to_rot6d
from pipelib.estimators.smplerx import (
    SMPLX_PARTS,
    SmplerxOnnx,
    SmplerxTorchScript,
    assemble_pose,
    landmark_box,
)

SIZE = (512, 384)


def _known_pose(seed: int) -> np.ndarray:
    """(55, 3) axis-angle with angles up to 3 rad, joint 0 at exactly zero."""
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(55, 3))
    aa = axes / np.linalg.norm(axes, axis=1, keepdims=True) * rng.uniform(0.0, 3.0, size=(55, 1))
    aa[0] = 0.0
    return aa

# the tests build TorchScript files on purpose; recent torch releases warn that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


class Rot6d(torch.nn.Module):
    """Returns fixed (B, 55, 6) rotations, whatever the crop."""

    def __init__(self, rot6d: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("rot6d", torch.tensor(rot6d, dtype=torch.float32))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.rot6d.expand(image.shape[0], 55, 6) + 0.0 * image.mean()


class Parts(torch.nn.Module):
    """Returns the seven SMPL-X outputs, flat axis-angle (B, 3n), as a dict."""

    def __init__(self, aa: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("aa", torch.tensor(aa.reshape(1, -1), dtype=torch.float32))

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        flat = self.aa.expand(image.shape[0], 165) + 0.0 * image.mean()
        out, start = {}, 0
        for name, n in SMPLX_PARTS:
            out[name] = flat[:, start:start + 3 * n]
            start += 3 * n
        return out


class CropMean(torch.nn.Module):
    """pose[:3] = the crop's mean R, G, B (input channel order), the rest 0: (B, 165)."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(image.mean(dim=(2, 3)), (0, 162))


def _onnx(module: torch.nn.Module, path, outputs: list[str], dynamic_batch: bool = False):
    axes = {name: {0: "batch"} for name in ["image", *outputs]} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(1, 3, *SIZE),), str(path), input_names=["image"],
                          output_names=outputs, dynamo=False, dynamic_axes=axes)
    return path


class CropPose(torch.nn.Module):
    """Axis-angle (B, 55, 3) that depends on the crop: joint j = mean RGB of the crop x (j + 1) / 55
    (angles below pi, so the axis-angle round trip is exact)."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        rgb = image.mean(dim=(2, 3))                                             # (B, 3)
        scale = torch.arange(1, 56, dtype=image.dtype, device=image.device) / 55  # (55,)
        return rgb[:, None, :] * scale[None, :, None]


def test_torchscript_6d_is_converted_to_axis_angle(tmp_path):
    aa = _known_pose(0)
    rot6d = matrix_to_rot6d(axis_angle_to_matrix(aa), "interleaved")  # (55, 6) SMPLer-X layout
    path = tmp_path / "smplerx.pt"
    torch.jit.save(torch.jit.trace(Rot6d(rot6d), torch.zeros(1, 3, *SIZE)), str(path))
    est = registry.build("smplerx", {"backend": "smplerx_torchscript", "weights": str(path), "device": "cpu"})
    assert isinstance(est, SmplerxTorchScript)
    out = est.process(np.zeros((120, 90, 3), np.uint8))
    assert out.valid and out.features.shape == (165,) and out.features.dtype == np.float32
    np.testing.assert_allclose(out.features.reshape(55, 3), aa, atol=2e-5)
    assert len(est.provenance()["weights"]["smplerx"]["sha256"]) == 64
    with pytest.raises(ValueError, match="estimators.smplerx.rotation"):
        strict = SmplerxTorchScript({"weights": str(path), "rotation": "axis_angle"})
        strict.process(np.zeros((8, 8, 3), np.uint8))


def test_exported_program_with_rows_layout(tmp_path):
    aa = _known_pose(1)
    rot6d = matrix_to_rot6d(axis_angle_to_matrix(aa), "rows")
    path = tmp_path / "smplerx.pt2"
    torch.export.save(torch.export.export(Rot6d(rot6d), (torch.zeros(1, 3, *SIZE),)), str(path))
    est = SmplerxTorchScript({"weights": str(path), "rot6d_layout": "rows", "rotation": "rot6d"})
    assert est.program.kind == "export"
    np.testing.assert_allclose(est.process(np.zeros((64, 64, 3), np.uint8)).features.reshape(55, 3), aa,
                               atol=2e-5)


def test_dict_of_parts_torch_and_onnx(tmp_path):
    aa = _known_pose(2)
    ts = tmp_path / "parts.pt"
    torch.jit.save(torch.jit.trace(Parts(aa), torch.zeros(1, 3, *SIZE), strict=False), str(ts))
    est = SmplerxTorchScript({"weights": str(ts), "device": "cpu"})
    np.testing.assert_allclose(est.process(np.zeros((40, 30, 3), np.uint8)).features, aa.reshape(-1),
                               atol=1e-6)

    onnx_path = _onnx(Parts(aa), tmp_path / "parts.onnx", [name for name, _ in SMPLX_PARTS])
    est = registry.build("smplerx", {"backend": "smplerx_onnx", "weights": str(onnx_path), "device": "cpu"})
    assert isinstance(est, SmplerxOnnx)
    np.testing.assert_allclose(est.process(np.zeros((40, 30, 3), np.uint8)).features, aa.reshape(-1),
                               atol=1e-6)


def test_full_frame_crop_keeps_aspect_and_rgb(tmp_path):
    est = SmplerxOnnx({"weights": str(_onnx(CropMean(), tmp_path / "mean.onnx", ["pose"])), "device": "cpu"})
    frame = np.zeros((100, 300, 3), np.uint8)
    frame[...] = (0, 0, 255)                                  # all red (BGR)
    out = est.process(frame)
    # the 300 x 100 frame is padded to 300 x 400 (w / h = 384 / 512): a quarter of the crop is red
    np.testing.assert_allclose(out.extras["crop_box"], [0, -150, 300, 250])
    np.testing.assert_allclose(out.features[:3], [0.25, 0.0, 0.0], atol=0.005)
    assert np.all(out.features[3:] == 0)


def test_landmark_box(tmp_path):
    path = _onnx(CropMean(), tmp_path / "mean.onnx", ["pose"])
    est = SmplerxOnnx({"weights": str(path), "box_source": "landmarks"})
    frame = np.zeros((200, 200, 3), np.uint8)
    frame[50:150, 50:150] = (255, 255, 255)
    landmarks = np.array([[0.25, 0.25, 0.0], [0.75, 0.75, 0.0], [np.nan, np.nan, np.nan]])
    out = est.process(frame, landmarks=landmarks)
    # 100 x 100 box -> 100 x 133.3 (w / h = 0.75) -> x 1.25 = 125 x 166.7 about (100, 100)
    np.testing.assert_allclose(out.extras["crop_box"], [37.5, 100 - 250 / 3, 162.5, 100 + 250 / 3], rtol=1e-6)
    white = 100 * 100 / (125 * 500 / 3)
    np.testing.assert_allclose(out.features[:3], [white] * 3, atol=0.005)
    assert out.valid

    missing = est.process(frame)
    assert not missing.valid and np.all(missing.features == 0)
    assert np.all(np.isnan(missing.extras["crop_box"]))


def test_landmark_box_is_clipped_to_the_frame():
    box = landmark_box(np.array([[-0.5, 0.5], [0.5, 0.25], [0.75, 1.5], [np.nan, 0.1]]), 200, 100)
    np.testing.assert_allclose(box, [0, 25, 150, 100])
    assert landmark_box(np.array([[0.5, 0.5], [np.nan, np.nan]]), 200, 100) is None
    assert landmark_box(None, 200, 100) is None


def test_assemble_pose_shapes():
    aa = _known_pose(3)
    np.testing.assert_allclose(assemble_pose({"pose": aa[None]}), aa.reshape(-1), atol=1e-6)
    np.testing.assert_allclose(assemble_pose({"pose": aa.reshape(1, 165)}), aa.reshape(-1), atol=1e-6)
    with pytest.raises(ValueError, match="pose"):
        assemble_pose({"pose": np.zeros((1, 54, 3))})
    with pytest.raises(ValueError, match="body_pose"):
        assemble_pose({"global_orient": np.zeros((1, 3))})


def test_config_errors(tmp_path):
    with pytest.raises(MissingWeightsError, match="estimators.smplerx.weights"):
        SmplerxTorchScript({})
    with pytest.raises(MissingWeightsError, match="estimators.smplerx.weights"):
        SmplerxOnnx({"weights": str(tmp_path / "absent.onnx")})
    path = _onnx(CropMean(), tmp_path / "other.onnx", ["joints"])
    with pytest.raises(OnnxContractError, match="other.onnx"):
        SmplerxOnnx({"weights": str(path), "device": "cpu"})
    with pytest.raises(ValueError, match="estimators.smplerx.box_source"):
        SmplerxOnnx({"weights": str(path), "box_source": "detector"})


def _crop_frames() -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Frames with different colour blocks, and landmarks for all but the 2nd and 5th (no person)."""
    out = []
    for i in range(6):
        frame = np.zeros((120 + 10 * i, 90, 3), np.uint8)
        frame[10 * i:10 * i + 40, 20:60] = (40 * i, 255 - 30 * i, 100)
        lms = None if i in (1, 4) else np.array([[0.2, 0.1 + 0.05 * i], [0.7, 0.6 + 0.03 * i]])
        out.append((frame, lms))
    return out


@pytest.mark.parametrize("kind", ["torchscript", "onnx"])
def test_batches_equal_one_frame_calls_with_missing_people_inside(tmp_path, kind):
    if kind == "torchscript":
        path, backend = tmp_path / "crop.pt", "smplerx_torchscript"
        torch.jit.save(torch.jit.script(CropPose()), str(path))
    else:
        path = _onnx(CropPose(), tmp_path / "crop.onnx", ["pose"], dynamic_batch=True)
        backend = "smplerx_onnx"
    cfg = {"backend": backend, "weights": str(path), "device": "cpu", "box_source": "landmarks"}
    frames = _crop_frames()
    single = registry.build("smplerx", {**cfg, "batch_size": 1})
    want = [single.process(f, landmarks=lms) for f, lms in frames]
    assert [o.valid for o in want] == [True, False, True, True, False, True]
    est = registry.build("smplerx", {**cfg, "batch_size": 4})
    assert est.batch_size == 4 and est.model_batch == {"smplerx": 4}
    got = est.process_batch([est.prepare(f, landmarks=lms) for f, lms in frames])
    assert [o.valid for o in got] == [o.valid for o in want]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.features, b.features, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a.extras["crop_box"], b.extras["crop_box"])
    assert not np.allclose(got[0].features, got[2].features)   # crops differ, so do poses
    assert est.provenance()["batch_size"] == 4
