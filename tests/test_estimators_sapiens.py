"""Sapiens backend: real TorchScript / torch.export loading, preprocessing, argmax and 24x24 grid."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch

from pipelib.estimators import registry
from pipelib.estimators.base import MissingWeightsError
from pipelib.estimators.grids import mode_grid
from pipelib.estimators.sapiens import N_CLASSES, SAPIENS_CLASSES, SapiensTorchScript, preprocess
from pipelib.estimators.torch_program import ProgramLoadError, ProgramRunError

# the tests build TorchScript files on purpose; recent torch releases warn that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


class ColourParts(torch.nn.Module):
    """Logits (B, 28, H/2, W/2): class 5 where normalised R is high, 14 where B is high, else 0."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, N_CLASSES, 1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.fill_(-10.0)
            self.conv.bias[[0, 5, 14]] = 0.0
            self.conv.weight[5, 0] = 1.0   # channel 0 is R when the backend converts BGR -> RGB
            self.conv.weight[14, 2] = 1.0
        self.pool = torch.nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


def _torchscript(path, size):
    torch.jit.save(torch.jit.trace(ColourParts().eval(), torch.zeros(1, 3, *size)), str(path))
    return path


def _exported(path, size):
    program = torch.export.export(ColourParts().eval(), (torch.zeros(1, 3, *size),))
    torch.export.save(program, str(path))
    return path


def _red_blue_frame(h: int, w: int) -> np.ndarray:
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:, : w // 2] = (0, 0, 255)   # BGR red, left half
    frame[:, w // 2:] = (255, 0, 0)    # BGR blue, right half
    return frame


def test_class_names_match_the_model_channels():
    assert len(SAPIENS_CLASSES) == 28
    assert SAPIENS_CLASSES[0] == "Background" and SAPIENS_CLASSES[5] == "Left_Hand"
    assert SAPIENS_CLASSES[14] == "Right_Hand" and SAPIENS_CLASSES[-1] == "Tongue"


def test_preprocess_swaps_to_rgb_and_normalises():
    frame = np.zeros((4, 6, 3), np.uint8)
    frame[..., 2] = 255                                      # red in BGR
    x = preprocess(frame, (8, 12))
    assert x.shape == (1, 3, 8, 12) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 0, 0], [(255 - 123.5) / 58.5, -116.5 / 57.0, -103.5 / 57.5],
                               rtol=1e-6)


@pytest.mark.parametrize("shape", [(512, 384), (24, 24), (37, 101), (1000, 30)])
def test_mode_grid_counts_every_block_with_ties_to_the_lower_id(shape):
    rng = np.random.default_rng(shape[0])
    labels = rng.integers(0, 4, shape) * rng.integers(1, 7, shape)          # many ties, ids 0..18
    edges_y = np.round(np.arange(25) * shape[0] / 24).astype(int)
    edges_x = np.round(np.arange(25) * shape[1] / 24).astype(int)
    want = np.zeros((24, 24))
    for i in range(24):
        for j in range(24):
            block = labels[edges_y[i]:edges_y[i + 1], edges_x[j]:edges_x[j + 1]]
            want[i, j] = np.bincount(block.ravel(), minlength=N_CLASSES).argmax()
    np.testing.assert_array_equal(mode_grid(labels, N_CLASSES), want)
    with pytest.raises(ValueError, match="outside"):
        mode_grid(labels + N_CLASSES, N_CLASSES)


def test_torchscript_at_official_size_gives_left_right_grid(tmp_path):
    path = _torchscript(tmp_path / "seg_torchscript.pt2", (1024, 768))
    est = registry.build("sapiens", {"backend": "sapiens_torchscript", "weights": str(path),
                                     "device": "cpu", "batch_size": 1})   # no batch probe at this size
    assert isinstance(est, SapiensTorchScript) and est.program.kind == "torchscript"
    out = est.process(_red_blue_frame(256, 192))
    grid = out.features.reshape(24, 24)
    assert out.features.shape == (576,) and out.features.dtype == np.float32 and out.valid
    assert np.all(grid[:, :12] == 5) and np.all(grid[:, 12:] == 14)
    prov = est.provenance()
    assert prov["weights"]["sapiens"]["path"] == str(path)
    assert len(prov["weights"]["sapiens"]["sha256"]) == 64


def test_exported_program_with_configured_size(tmp_path):
    path = _exported(tmp_path / "seg.pt2", (96, 72))
    est = SapiensTorchScript({"weights": str(path), "device": "auto", "input_size": [96, 72]})
    assert est.program.kind == "export"
    grid = est.process(_red_blue_frame(192, 144)).features.reshape(24, 24)
    assert np.all(grid[:, :12] == 5) and np.all(grid[:, 12:] == 14)

    frame = np.full((192, 144, 3), 100, np.uint8)       # grey: both colour logits negative
    frame[:96, :72] = (0, 0, 255)                        # top-left quarter red
    out = est.process(frame)
    grid = out.features.reshape(24, 24)
    assert out.valid and np.all(grid[:12, :12] == 5)
    assert np.all(grid[12:] == 0) and np.all(grid[:, 12:] == 0)

    empty = est.process(np.full((50, 40, 3), 100, np.uint8))
    assert not empty.valid and np.all(empty.features == 0)


def test_wrong_input_size_names_the_file(tmp_path):
    path = _exported(tmp_path / "seg.pt2", (96, 72))
    est = SapiensTorchScript({"weights": str(path), "device": "cpu", "input_size": [48, 48]})
    with pytest.raises(ProgramRunError, match="seg.pt2"):
        est.process(_red_blue_frame(96, 72))


def test_missing_or_bad_weights(tmp_path):
    with pytest.raises(MissingWeightsError, match="estimators.sapiens.weights"):
        SapiensTorchScript({"device": "cpu"})
    with pytest.raises(MissingWeightsError, match="estimators.sapiens.weights"):
        SapiensTorchScript({"weights": str(tmp_path / "absent.pt2")})
    junk = tmp_path / "junk.pt2"
    junk.write_bytes(b"not a model")
    with pytest.raises(ProgramLoadError, match="junk.pt2"):
        SapiensTorchScript({"weights": str(junk), "device": "cpu"})
    with pytest.raises(ValueError, match="estimators.sapiens.device"):
        SapiensTorchScript({"weights": str(junk), "device": "tpu"})


def test_batches_equal_one_frame_calls_with_background_frames_inside(tmp_path):
    path = tmp_path / "seg_ts.pt2"
    torch.jit.save(torch.jit.trace(ColourParts().eval(), torch.zeros(2, 3, 96, 72)), str(path))
    frames = []
    for i in range(5):
        frame = np.full((96 + 8 * i, 72, 3), 100, np.uint8)   # grey: background
        if i != 2:
            frame[: 20 + 10 * i, : 30 + 5 * i] = (0, 0, 255)  # a red block of varying size
            frame[60:, 40:] = (255, 0, 0)                      # a blue block
        frames.append(frame)
    cfg = {"backend": "sapiens_torchscript", "weights": str(path), "device": "cpu", "input_size": [96, 72]}
    single = registry.build("sapiens", {**cfg, "batch_size": 1})
    want = [single.process(f) for f in frames]
    assert [o.valid for o in want] == [True, True, False, True, True]
    est = registry.build("sapiens", {**cfg, "batch_size": 2})
    assert est.batch_size == 2 and est.model_batch == {"sapiens": 2}
    got = est.process_batch([est.prepare(f) for f in frames])   # batches of 2, 2, 1
    assert [o.valid for o in got] == [o.valid for o in want]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a.features, b.features)
    assert len(set(map(bytes, (o.features for o in got)))) == 5   # the frames really differ
    prov = est.provenance()
    assert (prov["device"], prov["provider"], prov["precision"], prov["batch_size"]) == \
        ("cpu", "torch-cpu", "fp32", 2)


def test_bf16_precision_is_applied_and_recorded(tmp_path):
    path = _exported(tmp_path / "seg.pt2", (96, 72))
    est = SapiensTorchScript({"weights": str(path), "device": "cpu", "input_size": [96, 72],
                              "precision": "bf16"})
    assert est.program.dtype == torch.bfloat16 and est.provenance()["precision"] == "bf16"
    grid = est.process(_red_blue_frame(192, 144)).features.reshape(24, 24)
    assert np.all(grid[:, :12] == 5) and np.all(grid[:, 12:] == 14)


def test_refused_torchscript_names_file_formats_and_fix(tmp_path):
    """A TorchScript archive whose code torch cannot compile (an unknown operator here) used to give an
    empty 'RuntimeError: ' (torch's message starts with a newline)."""
    good = tmp_path / "good.pt2"
    torch.jit.save(torch.jit.script(ColourParts().eval()), str(good))
    bad = tmp_path / "custom_op_torchscript.pt2"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith(".py"):
                data = data.replace(b"torch.conv2d(", b"torch.ops.nosuchlib.conv2d(")
            zout.writestr(item, data)
    with pytest.raises(ProgramLoadError) as err:
        SapiensTorchScript({"weights": str(bad), "device": "cpu", "input_size": [96, 72]})
    msg = str(err.value)
    assert str(bad) in msg and "config key estimators.sapiens.weights" in msg
    assert "could not be loaded as a TorchScript or torch.export program" in msg
    assert "torch.jit.load said RuntimeError: attribute lookup is not defined on builtin" in msg
    assert "re-export the model" in msg and "RuntimeError: ;" not in msg and not msg.rstrip().endswith(":")
