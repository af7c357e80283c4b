"""Model inputs from uint8 images: per-channel scaling and normalisation into (1, 3, h, w) float32.

Computed one channel plane at a time into the channels-first output, which gives bit-for-bit the
values of the whole-image NumPy expression ``((x / divide) - mean) / std`` in float32 while avoiding
its (h, w, 3) float temporaries and the transposing copy (several times faster on large inputs; this
runs for every frame on the preparation threads).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def channels_first(image: np.ndarray, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                   divide: float | None = None, reverse: bool = False) -> np.ndarray:
    """(h, w, 3) uint8 -> (1, 3, h, w) float32: ``((x / divide) - mean[c]) / std[c]`` per channel ``c``.

    ``reverse`` takes the channels in reverse order (BGR in, RGB out); ``None`` skips a step.
    """
    h, w, n = image.shape
    if n != 3:
        raise ValueError(f"expected an (H, W, 3) image, got {image.shape}")
    out = np.empty((1, 3, h, w), np.float32)
    for c in range(3):
        plane = image[..., 2 - c if reverse else c].astype(np.float32)   # (h, w)
        if divide is not None:
            plane /= np.float32(divide)
        if mean is not None:
            plane -= np.float32(mean[c])
        if std is not None:
            plane /= np.float32(std[c])
        out[0, c] = plane
    return out
