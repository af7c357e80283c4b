"""Shared by the model backends: batch-size settling, chunked runs, run keys and the missing-GPU policy."""

from __future__ import annotations

import warnings

import numpy as np
import onnxruntime as ort
import pytest
import torch

from pipelib.estimators import onnx_runtime, registry
from pipelib.estimators.batching import batch_problem, probe_input, run_chunked, settle_batch_size
from pipelib.estimators.depth import DepthOnnx, DepthTorchScript
from pipelib.estimators.onnx_runtime import OnnxModel
from pipelib.estimators.placement import MissingGpuError, run_settings

# the tests build TorchScript files on purpose; recent torch releases warn that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

SHAPE = (3, 4, 5)


def doubled(x):
    return {"y": 2 * x, "s": x.sum(axis=(1, 2, 3))}


def batch_centred(x):                       # mixes frames: every output depends on the whole batch
    return {"y": x - x.mean(axis=0, keepdims=True)}


def first_repeated(x):                      # an export that broadcasts frame 0 over the batch
    return {"y": np.repeat(x[:1], len(x), axis=0)}


def refuses(x):
    if len(x) != 1:
        raise RuntimeError("\nGuard failed: x.size()[0] == 1")
    return {"y": x}


def test_batch_problem_finds_refusal_mixing_and_dropped_frames():
    sample = probe_input(SHAPE)
    assert sample.shape == (2, *SHAPE) and not np.allclose(sample[0], sample[1])
    assert batch_problem(doubled, sample) is None
    assert "differs from frame-by-frame runs" in batch_problem(batch_centred, sample)
    assert "differs from frame-by-frame runs" in batch_problem(first_repeated, sample)
    assert batch_problem(refuses, sample) == (
        "it refuses a batch of 2 (RuntimeError: Guard failed: x.size()[0] == 1)")
    assert "has shape (1, 3, 4, 5) for a batch of 2" in batch_problem(lambda x: {"y": x[:1]}, sample)


def test_settle_batch_size_keeps_safe_batches_only(caplog):
    calls = []

    def counted(x):
        calls.append(len(x))
        return batch_centred(x)

    with caplog.at_level("WARNING", logger="pipelib.estimators"):
        assert settle_batch_size(8, doubled, SHAPE, "ok.onnx") == 8
        assert settle_batch_size(1, counted, SHAPE, "mix.onnx") == 1 and calls == []   # nothing probed
        assert settle_batch_size(8, counted, SHAPE, "mix.onnx") == 1 and calls == [2, 1, 1]
        assert settle_batch_size(8, doubled, SHAPE, "fixed.onnx", fixed=1) == 1
        assert settle_batch_size(8, doubled, SHAPE, "fixed4.onnx", fixed=4) == 4
    assert "mix.onnx cannot be batched" in caplog.text
    assert "fixed.onnx has a fixed batch size of 1" in caplog.text


def test_run_chunked_keeps_frame_order():
    x = np.arange(7 * 2, dtype=np.float32).reshape(7, 2)
    seen = []

    def run(chunk):
        seen.append(len(chunk))
        return {"y": chunk * 10}

    np.testing.assert_array_equal(run_chunked(run, x, 3)["y"], x * 10)
    assert seen == [3, 3, 1]


def _onnx(module, path, batch, dynamic=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(batch, 3, 28, 28),), str(path), input_names=["image"],
                          output_names=["depth"], dynamo=False,
                          dynamic_axes={"image": {0: "b"}, "depth": {0: "b"}} if dynamic else None)
    return str(path)


class Gradient(torch.nn.Module):
    """Depth (B, H, W) = normalised R - normalised B: per-frame, so batching must not change it."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image[:, 0] - image[:, 2]


def test_onnx_model_pads_a_fixed_batch(tmp_path):
    session = ort.InferenceSession(_onnx(Gradient(), tmp_path / "b2.onnx", batch=2),
                                   providers=["CPUExecutionProvider"])
    model = OnnxModel(session)
    assert model.fixed_batch == 2
    x = np.random.default_rng(1).standard_normal((3, 3, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(model(x)["depth"], x[:, 0] - x[:, 2], rtol=1e-6)   # 2 + (1 padded to 2)


def test_run_settings_are_checked_with_their_keys():
    s = run_settings({"batch_size": 3, "precision": "FP16", "device": "CUDA"}, "estimators.sapiens")
    assert (s.device, s.precision, s.batch_size, s.on_missing_gpu) == ("cuda", "fp16", 3, "fail")
    assert s.batch_for("cpu") == 3 and run_settings({}, "x").batch_for("cuda") == 16
    for cfg, key in (({"batch_size": 0}, "batch_size"), ({"batch_size": True}, "batch_size"),
                     ({"precision": "int8"}, "precision"), ({"device": "tpu"}, "device"),
                     ({"on_missing_gpu": "ignore"}, "on_missing_gpu")):
        with pytest.raises(ValueError, match=rf"config key estimators\.sapiens\.{key} = "):
            run_settings(cfg, "estimators.sapiens")


@pytest.fixture
def depth_files(tmp_path):
    ts = tmp_path / "gradient_ts.pt"
    torch.jit.save(torch.jit.script(Gradient()), str(ts))
    return {"onnx": _onnx(Gradient(), tmp_path / "gradient.onnx", batch=1, dynamic=True),
            "torchscript": str(ts)}


@pytest.mark.parametrize("kind", ["onnx", "torchscript"])
def test_cuda_asked_on_a_cpu_machine_fails_or_warns(depth_files, kind, caplog):
    cls = DepthOnnx if kind == "onnx" else DepthTorchScript
    cfg = {"weights": depth_files[kind], "input_size": [28, 28], "device": "cuda"}
    with pytest.raises(MissingGpuError) as err:
        cls(cfg)
    msg = str(err.value)
    assert "estimators.primedepth.device is 'cuda'" in msg and "runs on the CPU" in msg
    assert ("'onnxruntime-gpu'" if kind == "onnx" else "sees no CUDA device") in msg
    assert "estimators.primedepth.on_missing_gpu: warn" in msg and "docs/estimators.md" in msg

    with caplog.at_level("WARNING", logger="pipelib.estimators"):
        est = cls({**cfg, "on_missing_gpu": "warn"})
    assert "GPU REQUESTED BUT NOT USED" in caplog.text
    prov = est.provenance()
    assert prov["device"] == "cpu"
    assert prov["provider"] == ("CPUExecutionProvider" if kind == "onnx" else "torch-cpu")
    assert prov["batch_size"] == 4                    # the CPU default, as the model runs on the CPU


def test_auto_device_fails_only_when_the_job_booked_a_gpu(depth_files):
    cfg = {"backend": "depth_onnx", "weights": depth_files["onnx"], "input_size": [28, 28]}
    assert registry.build("primedepth", cfg).placement.device == "cpu"          # no GPU wanted: fine
    with pytest.raises(MissingGpuError, match="'auto' and the extraction rule booked a GPU"):
        registry.build("primedepth", cfg, gpu_booked=True)
    cpu = registry.build("primedepth", {**cfg, "device": "cpu"}, gpu_booked=True)  # CPU on purpose
    assert cpu.placement.device == "cpu"


def test_cuda_provider_that_falls_back_to_cpu_is_caught(depth_files, monkeypatch, caplog):
    """onnxruntime-gpu whose CUDA libraries do not load: the session silently runs on the CPU."""
    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(onnx_runtime, "_preloaded", True)     # no CUDA libraries to preload here
    cfg = {"backend": "depth_onnx", "weights": depth_files["onnx"], "input_size": [28, 28]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                          # onnxruntime's own provider warning
        with pytest.raises(MissingGpuError, match="offers CUDAExecutionProvider but the session could not"):
            registry.build("primedepth", cfg, gpu_booked=True)
        est = registry.build("primedepth", {**cfg, "on_missing_gpu": "warn"}, gpu_booked=True)
    assert est.provenance()["provider"] == "CPUExecutionProvider"
    assert est.placement.why_cpu.startswith("onnxruntime")
