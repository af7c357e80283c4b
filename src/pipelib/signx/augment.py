"""Latent-sequence augmentation for SignX's 10x feature augmentation (paper Sec. 3, after SLTUNet).

One augmented version of a latent sequence ``(T, D) float32`` applies, in this order:

1. temporal scaling: a factor ``s ~ U[scale_min, scale_max]``; the sequence is resampled to
   ``round(s * T)`` frames by linear interpolation along time (first and last frame kept);
2. spatial jitter, with probability ``jitter_prob``: the latent stand-in for moving / resizing the
   signer in the image. The features are not coordinates any more, so the jitter is one small affine
   change per feature dimension held fixed over the whole sequence: ``y[:, d] = y[:, d] * g[d] + b[d]``
   with ``g[d] = 1 + N(0, jitter_scale_std)`` and ``b[d] = N(0, jitter_offset_std)`` (feature units;
   standard deviations for z-normalised latents);
3. Gaussian feature noise ``N(0, noise_std)`` added independently to every value.

Every draw of version ``j`` of video ``i`` comes from ``version_rng(seed, i, j)``
(``np.random.default_rng([seed, i, j])``), so a version is the same whatever order or shard the
videos are processed in. The draws are made in a fixed order (factor, jitter coin, jitter gains and
offsets, noise), the jitter parameters being drawn whether or not the coin applies them.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pipelib.sections import from_section

CONFIG_SECTION = "signx.augmentation"


@dataclass(frozen=True)
class AugmentConfig:
    """Parameters of one augmented version; keys of the ``signx.augmentation`` config section.

    scale_min / scale_max: range of the temporal scaling factor (new length = round(factor * T));
    jitter_prob: probability that a version is jittered; jitter_offset_std / jitter_scale_std: std of
    the per-dimension additive offset and of the multiplicative gain around 1 (feature units);
    noise_std: std of the additive per-value Gaussian noise (feature units).
    """

    scale_min: float = 0.8
    scale_max: float = 1.2
    jitter_prob: float = 0.3
    jitter_offset_std: float = 0.05
    jitter_scale_std: float = 0.05
    noise_std: float = 0.01

    def __post_init__(self) -> None:
        where = CONFIG_SECTION
        if not 0.0 < self.scale_min <= self.scale_max:
            raise ValueError(
                f"{where}.scale_min / scale_max = {self.scale_min!r} / {self.scale_max!r}: "
                "use 0 < scale_min <= scale_max (e.g. 0.8 and 1.2)"
            )
        if not 0.0 <= self.jitter_prob <= 1.0:
            raise ValueError(f"{where}.jitter_prob = {self.jitter_prob!r}: use a probability in [0, 1]")
        for key in ("jitter_offset_std", "jitter_scale_std", "noise_std"):
            value = getattr(self, key)
            if not (value >= 0.0 and math.isfinite(value)):
                raise ValueError(f"{where}.{key} = {value!r}: use a finite standard deviation >= 0")

    def as_dict(self) -> dict[str, Any]:
        """The section as a plain dict (for provenance and file attributes)."""
        return asdict(self)


def augment_config(data: Mapping[str, Any] | AugmentConfig | None) -> AugmentConfig:
    """An :class:`AugmentConfig` from the ``signx.augmentation`` mapping (missing keys: defaults).

    Unknown keys and wrong types raise ValueError naming ``signx.augmentation.<key>``.
    """
    if isinstance(data, AugmentConfig):
        return data
    return from_section(AugmentConfig, data, CONFIG_SECTION)


@dataclass(frozen=True)
class AugmentParams:
    """What one version drew: the temporal factor, the resulting length, whether it was jittered."""

    scale: float
    length: int
    jittered: bool


def index_entropy(index: str) -> int:
    """The integer that stands for a video index in seeds: the number itself for a canonical
    non-negative decimal (``"12"`` -> 12), else the first 8 bytes of the UTF-8 sha256 (stable across
    runs and machines, unlike ``hash``)."""
    if index.isdecimal() and index.isascii() and str(int(index)) == index:
        return int(index)
    return int.from_bytes(hashlib.sha256(index.encode("utf-8")).digest()[:8], "little")


def version_rng(seed: int, index: str, version: int) -> np.random.Generator:
    """The generator every draw of version ``version`` of video ``index`` comes from."""
    return np.random.default_rng([int(seed), index_entropy(index), int(version)])


_BLOCK_VALUES = 16384  # values per temporary in the blocked loops: 64 KiB, reused from the heap
_scratch = threading.local()  # per-thread uniform buffer: fresh pages cost as much as the noise math


def _uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n,) float32 U[0, 1) from ``rng`` in this thread's reusable buffer (valid until the next call)."""
    buf = getattr(_scratch, "uniforms", None)
    if buf is None or buf.size < n:
        buf = _scratch.uniforms = np.empty(max(n, 1 << 18), dtype=np.float32)
    return rng.random(dtype=np.float32, out=buf[:n])


def resample_time(latents: np.ndarray, length: int) -> np.ndarray:
    """(T, D) -> (length, D) float32 by linear interpolation along time; frame 0 and frame T-1 map
    onto the first and last output frames. A one-frame input is repeated."""
    x = np.asarray(latents, dtype=np.float32)
    t, dim = x.shape
    if length < 1:
        raise ValueError(f"resample length must be >= 1, got {length}")
    if length == t:
        return x.copy()
    if t == 1:
        return np.repeat(x, length, axis=0)
    pos = np.linspace(0.0, t - 1, length)  # (length,) fractional source frame
    lo = np.minimum(pos.astype(np.int64), t - 2)  # (length,)
    w = (pos - lo).astype(np.float32)[:, None]  # (length, 1) weight of the later frame
    out = np.take(x, lo, axis=0)  # (length, D)
    rows = max(1, _BLOCK_VALUES // max(dim, 1))
    for r in range(0, length, rows):  # small blocks: the temporaries stay in cache
        step = np.take(x, lo[r:r + rows] + 1, axis=0)  # (rows, D)
        step -= out[r:r + rows]
        step *= w[r:r + rows]
        out[r:r + rows] += step
    return out


def add_gaussian_noise(rng: np.random.Generator, values: np.ndarray, std: float) -> None:
    """Add N(0, std^2) float32 noise to every element of the C-contiguous float32 ``values`` in place.

    Box-Muller transform of float32 uniforms drawn in one call (first half: radii, second half:
    angles; the cosines go to the first half of the values, the sines to the second), about 3x faster
    than ``rng.standard_normal(dtype=float32)`` here, where noise is the augmentation's main cost.
    Exact in distribution up to the float32 uniform grid, which caps |noise| at about 5.8 std.
    """
    if values.dtype != np.float32 or not values.flags.c_contiguous:
        raise ValueError("add_gaussian_noise needs a C-contiguous float32 array")
    flat = values.reshape(-1)
    n = flat.size
    half = (n + 1) // 2
    u = _uniforms(rng, 2 * half)
    two_pi, minus_two_var = np.float32(2.0 * math.pi), np.float32(-2.0 * std * std)
    for k in range(0, half, _BLOCK_VALUES):
        radius = u[k:min(k + _BLOCK_VALUES, half)]  # views of u, transformed in place
        angle = u[half + k:half + k + len(radius)]
        np.subtract(np.float32(1.0), radius, out=radius)  # (0, 1]: log stays finite
        np.log(radius, out=radius)
        radius *= minus_two_var
        np.sqrt(radius, out=radius)  # |z| * std
        angle *= two_pi
        flat[k:k + len(radius)] += np.cos(angle) * radius
        second = flat[half + k:half + k + len(radius)]  # one shorter at the very end when n is odd
        second += (np.sin(angle) * radius)[:len(second)]


def augment(latents: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator
            ) -> tuple[np.ndarray, AugmentParams]:
    """One augmented version of ``latents`` (T, D) -> (T', D) float32, T' = round(factor * T) >= 1,
    and the parameters drawn. All randomness comes from ``rng``; the input is not modified."""
    x = np.asarray(latents, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"latents must be (T, D) with T >= 1, got shape {x.shape}")
    dim = x.shape[1]
    factor = float(rng.uniform(cfg.scale_min, cfg.scale_max))
    jittered = bool(rng.random() < cfg.jitter_prob)
    gain = rng.standard_normal(dim, dtype=np.float32)  # (D,)
    offset = rng.standard_normal(dim, dtype=np.float32)  # (D,)
    length = max(1, round(factor * x.shape[0]))
    y = resample_time(x, length)  # (T', D)
    if jittered:
        gain *= np.float32(cfg.jitter_scale_std)
        gain += np.float32(1.0)
        offset *= np.float32(cfg.jitter_offset_std)
        y *= gain
        y += offset
    if cfg.noise_std > 0:
        add_gaussian_noise(rng, y, cfg.noise_std)
    return y, AugmentParams(scale=factor, length=length, jittered=jittered)
