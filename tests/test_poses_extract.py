"""Extraction of one slot over one shard: stacking, failures, derived inputs, decoding once."""

import cv2
import numpy as np
import pandas as pd
import pytest

from pipelib.estimators import registry
from pipelib.estimators.base import DerivedEstimator, FrameEstimator, FrameOutput
from pipelib.io import shards
from pipelib.poses import extract

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


def test_prefetch_keeps_order_and_raises_at_failure():
    def gen():
        yield 1
        yield 2
        raise OSError("broken frame 3")

    it = extract.prefetch(gen(), depth=1)
    assert next(it) == 1 and next(it) == 2
    with pytest.raises(OSError, match="broken frame 3"):
        next(it)


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
