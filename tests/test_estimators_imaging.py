"""Model inputs built plane by plane equal, bit for bit, the whole-image formulas they replace."""

import numpy as np
import pytest

from pipelib.estimators import depth, sapiens, smplerx
from pipelib.estimators.dwpose import simcc
from pipelib.estimators.imaging import channels_first


@pytest.fixture
def image():
    return np.random.default_rng(3).integers(0, 256, (37, 53, 3), dtype=np.uint8)


def test_channels_first_matches_the_whole_image_expression(image):
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    want = (image[..., ::-1].astype(np.float32) / 255.0 - np.float32(mean)) / np.float32(std)
    got = channels_first(image, mean, std, divide=255.0, reverse=True)
    assert got.shape == (1, 3, 37, 53) and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got[0], want.transpose(2, 0, 1))
    np.testing.assert_array_equal(channels_first(image)[0], image.transpose(2, 0, 1).astype(np.float32))


def test_backend_inputs_are_unchanged(image):
    """The formulas each backend used before building its inputs plane by plane."""
    import cv2

    resized = cv2.resize(image, (42, 28), interpolation=cv2.INTER_CUBIC)[..., ::-1]
    want = (resized.astype(np.float32) / 255.0 - np.float32(depth.MEAN_RGB)) / np.float32(depth.STD_RGB)
    np.testing.assert_array_equal(depth.preprocess(image, (28, 42))[0], want.transpose(2, 0, 1))

    resized = cv2.resize(image, (24, 32), interpolation=cv2.INTER_LINEAR)[..., ::-1]
    want = (resized.astype(np.float32) - np.float32(sapiens.MEAN_RGB)) / np.float32(sapiens.STD_RGB)
    np.testing.assert_array_equal(sapiens.preprocess(image, (32, 24))[0], want.transpose(2, 0, 1))

    want = image[..., ::-1].astype(np.float32) / 255.0
    np.testing.assert_array_equal(smplerx.to_input(image)[0], want.transpose(2, 0, 1))

    rgb = image[..., ::-1]
    want = (rgb.astype(np.float32) - simcc.MEAN_RGB) / simcc.STD_RGB
    np.testing.assert_array_equal(simcc.normalise(rgb)[0], want.transpose(2, 0, 1))
