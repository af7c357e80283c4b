"""Extraction of one slot over one shard: stacking, failures, derived inputs, decoding once, frames
prepared ahead on worker threads in order, batched backends, provenance of where models ran."""

import itertools
import random
import threading
import time
import warnings

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from pipelib.estimators import registry
from pipelib.estimators.base import BatchedEstimator, DerivedEstimator, FrameEstimator, FrameOutput
from pipelib.estimators.placement import MissingGpuError
from pipelib.io import shards
from pipelib.poses import extract
from pipelib.poses import feed as feed_mod

CALLS = {"frames": 0}


class BrightnessEstimator(FrameEstimator):
    """Test backend: slot 'mediapipe' feature 0 = mean brightness; invalid when the frame is dark."""

    slot = "mediapipe"
    backend = "brightness_test"

    def process(self, frame_bgr):
        CALLS["frames"] += 1
        f = np.zeros(258, np.float32)
        f[0] = frame_bgr.mean()
        return FrameOutput(f, bool(f[0] > 10), extras={"seg": np.full((2, 2), f[0], np.float32)})


class DoubleDerived(DerivedEstimator):
    slot = "dwpose"
    backend = "double_from_holistic"

    def process_video(self, holistic):
        out = np.zeros((holistic.n_frames, 384), np.float32)
        out[:, 0] = 2 * holistic.features[:, 0]
        return out, holistic.mask.copy()


@pytest.fixture
def backends(monkeypatch):
    monkeypatch.setitem(registry.BACKENDS, ("mediapipe", "brightness_test"),
                        f"{__name__}:BrightnessEstimator")
    monkeypatch.setitem(registry.BACKENDS, ("dwpose", "double_from_holistic"), f"{__name__}:DoubleDerived")
    monkeypatch.setitem(registry.BACKENDS, ("mediapipe", "batch_brightness_test"),
                        f"{__name__}:BatchBrightness")


def _video_dir(root, name, values):
    d = root / name
    d.mkdir(parents=True)
    for i, v in enumerate(values, start=1):
        cv2.imwrite(str(d / f"images{i:04d}.png"), np.full((26, 21, 3), v, np.uint8))
    return d


def _manifest(rows):
    return pd.DataFrame([{"id": i, "split": "train", "source": str(s), "media": "frames", "frame_count": n,
                          "fps": 25.0, "signer": "S", "gloss": "G", "text": "t", "shard": k}
                         for i, s, n, k in rows])


def _counted(frames, counter):
    for f in frames:
        counter.append(int(f[0, 0, 0]))
        yield f


def _jittered(frame):
    """A prepare step whose duration varies, so worker threads finish out of order."""
    time.sleep(random.Random(int(frame[0, 0, 0])).uniform(0.0, 0.01))
    return int(frame[0, 0, 0]) * 2


def test_feed_keeps_order_and_decodes_each_frame_once():
    videos = [[np.full((4, 5, 3), 10 * v + i, np.uint8) for i in range(n)] for v, n in enumerate([9, 0, 14])]
    decoded = []
    sources = [(f"v{v}", lambda frames=frames: _counted(frames, decoded)) for v, frames in enumerate(videos)]
    got = {}
    with feed_mod.FrameFeed(sources, _jittered, workers=4, depth=3) as feed:
        for key, prepared in feed.videos():
            got[key] = [[p for _, p in b] for b in feed_mod.batches(prepared, 4)]
    assert got == {"v0": [[0, 2, 4, 6], [8, 10, 12, 14], [16]], "v1": [],
                   "v2": [[40, 42, 44, 46], [48, 50, 52, 54], [56, 58, 60, 62], [64, 66]]}
    assert decoded == [10 * v + i for v, n in enumerate([9, 0, 14]) for i in range(n)]  # each once, in order


def test_feed_fails_one_video_at_its_failing_frame_and_goes_on():
    def broken():
        yield np.zeros((2, 2, 3), np.uint8)
        yield np.ones((2, 2, 3), np.uint8)
        raise OSError("broken frame 3")

    def unopenable():
        raise FileNotFoundError("no such video")

    def bad_prepare(frame):
        if frame[0, 0, 0] == 3:
            raise ValueError("cannot crop frame 3")
        return int(frame[0, 0, 0])

    frames = [np.full((2, 2, 3), i, np.uint8) for i in range(6)]
    sources = [("broken", broken), ("unopenable", unopenable), ("crop", lambda: iter(frames)),
               ("left", lambda: iter(frames[:2])), ("ok", lambda: iter(frames[4:]))]
    seen = {}
    with feed_mod.FrameFeed(sources, bad_prepare, workers=3, depth=2) as feed:
        for key, prepared in feed.videos():
            try:
                for _, p in prepared:
                    seen.setdefault(key, []).append(p)
                    if key == "left":
                        break                          # the consumer gives up on a video early
            except Exception as exc:
                seen.setdefault(key, []).append(f"{type(exc).__name__}: {exc}")
    assert seen == {"broken": [0, 1, "OSError: broken frame 3"],
                    "unopenable": ["FileNotFoundError: no such video"],
                    "crop": [0, 1, 2, "ValueError: cannot crop frame 3"], "left": [0], "ok": [4, 5]}
    assert not feed._thread.is_alive()

    endless = ((f"v{i}", lambda: (np.full((2, 2, 3), j % 250, np.uint8) for j in range(10**9)))
               for i in range(10**9))                  # neither the videos nor their frames end
    with feed_mod.FrameFeed(endless, lambda f: 0, workers=2, depth=4) as feed:
        key, prepared = next(feed.videos())
        assert key == "v0" and [p for _, p in itertools.islice(prepared, 5)] == [0] * 5
    assert not feed._thread.is_alive()                 # closing stopped the endless decoder


class BatchBrightness(BatchedEstimator):
    """Test model backend: feature 0 = mean brightness of a frame, computed in batches; invalid when dark.

    ``prepare`` fails on a frame of brightness 77, ``finish`` on one of 66 (errors on worker threads)."""

    slot = "mediapipe"
    backend = "batch_brightness_test"
    calls: list[int] = []

    def __init__(self, cfg, *, gpu_booked=False):
        super().__init__(cfg, gpu_booked=gpu_booked)
        self.place("cpu", "test-cpu", "fp32")
        self.settle_batches({"model": (lambda x: {"y": x * 1.0}, (1,), None, "brightness")})

    def prepare(self, frame_bgr):
        if round(frame_bgr.mean()) == 77:
            raise ValueError("cannot prepare a frame of brightness 77")
        return np.array([frame_bgr.mean()], np.float32)

    def infer(self, prepared):
        BatchBrightness.calls.append(len(prepared))
        return [float(x[0]) for x in prepared]

    def finish(self, raw):
        if round(raw) == 66:
            raise ValueError("cannot finish a frame of brightness 66")
        f = np.zeros(258, np.float32)
        f[0] = raw
        return FrameOutput(f, bool(raw > 10))


def test_batched_backend_through_extraction_with_a_failing_worker(tmp_path, backends, caplog):
    a = _video_dir(tmp_path, "a", [0, 50, 100, 5, 200, 30, 0])
    bad = _video_dir(tmp_path, "bad", [20, 40, 77, 60])
    b = _video_dir(tmp_path, "b", [90, 3])
    bad2 = _video_dir(tmp_path, "c_bad", [20, 66, 70, 80, 90])
    m = _manifest([("a", a, 7, 0), ("bad", bad, 4, 0), ("b", b, 2, 0), ("c_bad", bad2, 5, 0)])
    BatchBrightness.calls = []
    result = {}

    def job():
        result["summary"] = extract.extract_shard(
            m, 0, "mediapipe", {"backend": "batch_brightness_test", "batch_size": 3}, tmp_path / "x.h5",
            max_failure_fraction=0.6, workers=2)

    with caplog.at_level("INFO", logger="pipelib"):
        t = threading.Thread(target=job, daemon=True)
        t.start()
        t.join(timeout=120)
    assert not t.is_alive(), "a failing worker thread hung the extraction"
    summary = result["summary"]
    assert summary["videos"] == 4 and summary["failed"] == 2 and summary["frames"] == 9
    assert 0.0 <= summary["input_wait_fraction"] <= 1.0
    failures = dict(shards.read_failures(tmp_path / "x.h5"))
    assert "cannot prepare a frame of brightness 77" in failures["bad"]
    assert "cannot finish a frame of brightness 66" in failures["c_bad"]
    va = shards.read_video(tmp_path / "x.h5", "a")
    np.testing.assert_allclose(va.features[:, 0], [0, 50, 100, 5, 200, 30, 0])
    assert va.mask.tolist() == [False, True, True, False, True, True, False]
    assert shards.read_video(tmp_path / "x.h5", "b").mask.tolist() == [True, False]
    assert BatchBrightness.calls[:3] == [3, 3, 1]            # video a in batches of 3
    est_prov = shards.read_attrs(tmp_path / "x.h5")["provenance"]["estimator"]
    assert {k: est_prov[k] for k in ("device", "provider", "precision", "batch_size")} == \
        {"device": "cpu", "provider": "test-cpu", "precision": "fp32", "batch_size": 3}
    assert "device cpu, provider test-cpu, precision fp32, batch 3" in caplog.text
    assert "inference waited for decoded/prepared input" in caplog.text and "frames/s" in caplog.text


def test_provider_of_a_real_onnx_backend_reaches_the_shard(tmp_path):
    class Gradient(torch.nn.Module):
        def forward(self, image):
            return image[:, 0] - image[:, 2]

    weights = tmp_path / "g.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Gradient(), (torch.zeros(1, 3, 28, 28),), str(weights), input_names=["image"],
                          output_names=["depth"], dynamo=False,
                          dynamic_axes={"image": {0: "b"}, "depth": {0: "b"}})
    a = _video_dir(tmp_path, "a", [0, 50, 100])
    m = _manifest([("a", a, 3, 0)])
    cfg = {"backend": "depth_onnx", "weights": str(weights), "input_size": [28, 28], "device": "auto"}
    with pytest.raises(MissingGpuError, match="booked a GPU"):
        extract.extract_shard(m, 0, "primedepth", cfg, tmp_path / "d.h5", gpu_booked=True)
    extract.extract_shard(m, 0, "primedepth", {**cfg, "on_missing_gpu": "warn"}, tmp_path / "d.h5",
                          gpu_booked=True, max_failure_fraction=1.0)
    prov = shards.read_attrs(tmp_path / "d.h5")["provenance"]["estimator"]
    assert (prov["device"], prov["provider"], prov["batch_size"]) == ("cpu", "CPUExecutionProvider", 4)
    assert prov["precision"] == "fp32" and set(prov["weights"]) == {"depth"}


def test_frame_slot_then_derived_slot(tmp_path, backends):
    a = _video_dir(tmp_path, "a", [0, 50, 100])
    b = _video_dir(tmp_path, "b", [200, 200])
    broken = _video_dir(tmp_path, "broken", [30])
    (broken / "images0002.png").write_bytes(b"not a png")
    other = _video_dir(tmp_path, "other", [5])
    m = _manifest([("a", a, 3, 0), ("b", b, 2, 0), ("broken", broken, 2, 0), ("other", other, 1, 1)])
    CALLS["frames"] = 0
    out = tmp_path / "mp.h5"
    summary = extract.extract_shard(m, 0, "mediapipe", {"backend": "brightness_test"}, out,
                                    max_failure_fraction=0.5)
    assert CALLS["frames"] == 3 + 2 + 1  # each frame decoded and processed once; shard 1 untouched
    assert summary["videos"] == 3 and summary["failed"] == 1 and summary["frames"] == 5
    assert shards.video_ids(out) == ["a", "b"]
    va = shards.read_video(out, "a")
    np.testing.assert_allclose(va.features[:, 0], [0, 50, 100])
    assert va.mask.tolist() == [False, True, True]  # the dark frame is masked, not a valid zero
    assert va.extras["seg"].shape == (3, 2, 2) and va.attrs["image_size"] == [21, 26]
    [(vid, reason)] = shards.read_failures(out)
    assert vid == "broken" and "images0002.png" in reason
    attrs = shards.read_attrs(out)
    assert attrs["slot"] == "mediapipe" and attrs["provenance"]["estimator"]["backend"] == "brightness_test"

    derived = tmp_path / "dw.h5"
    extract.extract_shard(m, 0, "dwpose", {"backend": "double_from_holistic"}, derived, holistic_path=out,
                          max_failure_fraction=0.5)
    np.testing.assert_allclose(shards.read_video(derived, "b").features[:, 0], [400, 400])
    [(vid, reason)] = shards.read_failures(derived)
    assert vid == "broken" and "mediapipe shard has no result" in reason and "images0002.png" in reason


def test_failure_fraction_limit_raises_with_config_key(tmp_path, backends):
    broken = _video_dir(tmp_path, "broken", [30])
    (broken / "images0001.png").write_bytes(b"")
    m = _manifest([("broken", broken, 1, 0)])
    with pytest.raises(extract.ExtractionError, match="extraction.max_failure_fraction"):
        extract.extract_shard(m, 0, "mediapipe", {"backend": "brightness_test"}, tmp_path / "x.h5")


def test_unknown_backend_names_config_key():
    with pytest.raises(KeyError, match="estimators.sapiens.backend"):
        registry.build("sapiens", {"backend": "nope"})
