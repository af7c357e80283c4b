"""Channel priors of the autoencoder's latent space, and the masked channel-prior KL term (DARSLP phase 2).

Statistics (:func:`compute_priors`) come from the latents of every valid TRAINING frame: padded and
masked frames never enter (:func:`collect_latents` drops them; a per-channel mask also leaves out a
region whose joints were not tracked). Per channel:

* ``mean``, ``std`` (ddof=1); prior log-variance ``logvar = log(max(std, min_std)^2)``. The floor
  ``min_std`` (default 0.01 latent units; not in the paper, whose reference clamps at 1e-8) keeps
  the KL finite for channels the encoder's L1 sparsity switched off: with a near-zero prior variance
  any predicted spread costs var / 1e-16 and the KL swamps every other loss (measured on the demo:
  KL 2e5 against a latent L1 of 60, and phase 2 unlearned the hands).
* ``entropy`` in bits: Shannon entropy of a histogram with fixed-width bins (``bin_width``, default
  0.1 latent units, anchored at the channel's minimum: ``[min + k*w, min + (k+1)*w)``), as the
  DARSLP reference computes the entropies of the paper's Figure 3. ``diff_entropy`` =
  ``entropy + log2(bin_width)`` is the matching histogram estimate of the differential entropy;
  with one bin width for every channel both rank channels the same way.
* ``iqr`` (75th - 25th percentile, linear interpolation), ``sd`` (= ``std``), ``n_valid``
* a plotting histogram of ``plot_bins`` equal bins over [min, max] (what :mod:`figures` draws)

KL (:func:`masked_kl`): for each batch, per channel c, mu_c and var_c are the mean and population
variance of the predicted latents over the valid (batch, time) positions only; the loss is
``sum_c w_c * KL(N(mu_c, var_c) || N(prior_mean_c, exp(prior_logvar_c)))`` with w_c the weight of
the channel's region (default 1 / 10 / 6 / 1 for body / right hand / left hand / face, the paper's
final setting). The DARSLP reference pooled padded frames into mu and var; here they cannot count.

File (:func:`save_priors` / :func:`load_priors`, HDF5, written atomically): datasets ``mean``,
``std``, ``logvar``, ``entropy``, ``diff_entropy``, ``iqr``, ``n_valid`` (C,), ``region`` (C,)
strings, ``hist_counts`` (C, P), ``hist_edges`` (C, P+1); attrs ``format``, ``bin_width``,
``slices`` (JSON ``{region: [start, stop]}``), ``min_std`` and ``provenance`` (JSON).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from pipelib.io.atomic import atomic_path
from pipelib.production.regions import REGION_JOINTS, REGIONS

FORMAT = "pipelib.production.priors/1"
STD_FLOOR = 1e-8
DEFAULT_MIN_STD = 0.01
DEFAULT_BIN_WIDTH = 0.1
DEFAULT_PLOT_BINS = 50
MAX_ENTROPY_BINS = 1_000_000
#: Default KL weight of each region (body-rh-lh-face 1-10-6-1).
KL_REGION_WEIGHTS: dict[str, float] = {"body": 1.0, "right_hand": 10.0, "left_hand": 6.0, "face": 1.0}
#: Channel ranges of the default 80-channel autoencoder (8 | 28 | 28 | 16).
DEFAULT_SLICES: dict[str, slice] = {
    "body": slice(0, 8), "right_hand": slice(8, 36), "left_hand": slice(36, 64), "face": slice(64, 80),
}


def _check_slices(slices: Mapping[str, slice], n_channels: int | None = None) -> int:
    """Total width of contiguous region slices in REGIONS order; raise ValueError otherwise."""
    if list(slices) != list(REGIONS):
        raise ValueError(f"slices must name the regions {list(REGIONS)} in order, got {list(slices)}")
    start = 0
    for name in REGIONS:
        sl = slices[name]
        if sl.start != start or sl.stop <= sl.start or sl.step not in (None, 1):
            raise ValueError(f"slices must be contiguous and non-empty; region {name} has {sl}")
        start = sl.stop
    if n_channels is not None and start != n_channels:
        raise ValueError(f"slices cover {start} channels but the latents have {n_channels}")
    return start


def region_labels(slices: Mapping[str, slice]) -> tuple[str, ...]:
    """Region name of every channel, e.g. 8 x "body", 28 x "right_hand", ..."""
    _check_slices(slices)
    return tuple(name for name in REGIONS for _ in range(slices[name].stop - slices[name].start))


def channel_weights(slices: Mapping[str, slice] = DEFAULT_SLICES,
                    weights: Mapping[str, float] = KL_REGION_WEIGHTS) -> torch.Tensor:
    """``(C,)`` float32: each channel's region weight."""
    missing = [name for name in REGIONS if name not in weights]
    if missing:
        raise ValueError(f"KL region weights miss {missing}; give one weight per region {list(REGIONS)}")
    return torch.tensor([float(weights[name]) for name in region_labels(slices)], dtype=torch.float32)


def region_channel_mask(joint_mask: np.ndarray, slices: Mapping[str, slice] = DEFAULT_SLICES) -> np.ndarray:
    """``joint_mask: (..., 178)`` bool -> ``(..., C)`` bool: a channel is valid where every joint of its
    region is valid (body: the six body joints without wrists)."""
    _check_slices(slices)
    joint_mask = np.asarray(joint_mask, dtype=bool)
    cols = [np.broadcast_to(joint_mask[..., list(REGION_JOINTS[name])].all(axis=-1)[..., None],
                            (*joint_mask.shape[:-1], slices[name].stop - slices[name].start))
            for name in REGIONS]
    return np.concatenate(cols, axis=-1)                                      # (..., C)


def collect_latents(items: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Stack the valid latents of many videos: ``(N, C)`` float32, NaN where a channel is not valid.

    ``items`` yields ``(latents (T, C), mask)`` per video with ``mask`` ``(T,)`` bool (frame valid) or
    ``(T, C)`` bool (channel valid). Frames with no valid channel are dropped. Non-finite values at
    valid positions raise ValueError naming the item.
    """
    rows: list[np.ndarray] = []
    width: int | None = None
    for i, (latents, mask) in enumerate(items):
        z = np.asarray(latents, dtype=np.float32)
        m = np.asarray(mask, dtype=bool)
        if z.ndim != 2 or (width is not None and z.shape[1] != width):
            raise ValueError(f"item {i}: latents must be (T, {width or 'C'}), got {z.shape}")
        width = z.shape[1]
        if m.shape == z.shape[:1]:
            m = np.broadcast_to(m[:, None], z.shape)
        if m.shape != z.shape:
            raise ValueError(f"item {i}: mask must be ({z.shape[0]},) or {z.shape}, got {m.shape}")
        if not np.isfinite(z[m]).all():
            raise ValueError(f"item {i}: non-finite latents at valid positions; check the encoder input")
        keep = m.any(axis=1)
        rows.append(np.where(m, z, np.nan)[keep])
    if not rows:
        raise ValueError("no latents given: the training split is empty")
    return np.concatenate(rows, axis=0)                                       # (N, C)


def histogram_entropy(values: np.ndarray, bin_width: float) -> float:
    """Shannon entropy (bits) of ``values`` binned as ``[min + k*w, min + (k+1)*w)``, w = ``bin_width``."""
    v = np.asarray(values, dtype=np.float64)
    span = float(v.max() - v.min())
    n_bins = int(math.floor(span / bin_width)) + 1
    if n_bins > MAX_ENTROPY_BINS:
        raise ValueError(f"a channel spans {span:.3g}: {n_bins} bins of width {bin_width} is too many; "
                         f"raise the priors bin_width")
    idx = np.minimum(np.floor((v - v.min()) / bin_width).astype(np.int64), n_bins - 1)
    p = np.bincount(idx, minlength=n_bins) / v.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


@dataclass
class ChannelPriors:
    """Per-channel statistics of the training latents; every array is ``(C,)`` unless noted."""

    mean: np.ndarray
    std: np.ndarray
    entropy: np.ndarray
    iqr: np.ndarray
    n_valid: np.ndarray
    slices: dict[str, slice]
    bin_width: float
    hist_counts: np.ndarray  # (C, P)
    hist_edges: np.ndarray   # (C, P + 1)
    provenance: dict[str, Any] = field(default_factory=dict)
    min_std: float = DEFAULT_MIN_STD  # floor of the prior sd in ``logvar``

    @property
    def n_channels(self) -> int:
        return int(self.mean.shape[0])

    @property
    def logvar(self) -> np.ndarray:
        """Prior log-variance ``log(max(std, min_std, 1e-8)^2)``."""
        return np.log(np.maximum(self.std, max(self.min_std, STD_FLOOR)) ** 2)

    @property
    def sd(self) -> np.ndarray:
        """Standard deviation (ddof=1), the SD of the paper's Figure 3."""
        return self.std

    @property
    def diff_entropy(self) -> np.ndarray:
        """Histogram estimate of the differential entropy (bits): ``entropy + log2(bin_width)``."""
        return self.entropy + math.log2(self.bin_width)

    @property
    def regions(self) -> tuple[str, ...]:
        """Region label of every channel."""
        return region_labels(self.slices)

    def region_mean_entropy(self) -> dict[str, float]:
        """Average entropy (bits) over each region's channels."""
        return {name: float(self.entropy[sl].mean()) for name, sl in self.slices.items()}

    def kl_tensors(self, weights: Mapping[str, float] = KL_REGION_WEIGHTS,
                   device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(prior_mean, prior_logvar, channel_weights)``, each ``(C,)`` float32, for :func:`masked_kl`."""
        return (torch.as_tensor(self.mean, dtype=torch.float32, device=device),
                torch.as_tensor(self.logvar, dtype=torch.float32, device=device),
                channel_weights(self.slices, weights).to(device))


def compute_priors(latents: np.ndarray, slices: Mapping[str, slice] = DEFAULT_SLICES, *,
                   bin_width: float = DEFAULT_BIN_WIDTH, plot_bins: int = DEFAULT_PLOT_BINS,
                   min_std: float = DEFAULT_MIN_STD,
                   provenance: Mapping[str, Any] | None = None) -> ChannelPriors:
    """Statistics of ``latents: (N, C)`` (NaN = not valid, as from :func:`collect_latents`);
    ``min_std`` floors the prior sd used by the KL (see the module doc)."""
    z = np.asarray(latents, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"latents must be (N, C), got shape {z.shape}")
    _check_slices(slices, z.shape[1])
    if not bin_width > 0:
        raise ValueError(f"priors bin_width must be > 0, got {bin_width}")
    if int(plot_bins) < 1:
        raise ValueError(f"priors plot_bins must be >= 1, got {plot_bins}")
    if not min_std >= 0:
        raise ValueError(f"priors min_std must be >= 0, got {min_std}")
    labels = region_labels(slices)
    n_ch = z.shape[1]
    mean, std, ent, iqr, n_valid = (np.zeros(n_ch) for _ in range(5))
    counts = np.zeros((n_ch, int(plot_bins)), dtype=np.int64)
    edges = np.zeros((n_ch, int(plot_bins) + 1))
    for c in range(n_ch):
        v = z[:, c][~np.isnan(z[:, c])]
        if v.size < 2:
            raise ValueError(f"latent channel {c} ({labels[c]}) has {v.size} valid training frame(s); "
                             "priors need at least 2: check the training split and its masks")
        if not np.isfinite(v).all():
            raise ValueError(f"latent channel {c} ({labels[c]}) holds infinite values")
        mean[c], std[c], n_valid[c] = v.mean(), v.std(ddof=1), v.size
        ent[c] = histogram_entropy(v, bin_width)
        q25, q75 = np.percentile(v, [25, 75])
        iqr[c] = q75 - q25
        lo, hi = v.min(), v.max()
        span = (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)
        counts[c], edges[c] = np.histogram(v, bins=int(plot_bins), range=span)
    return ChannelPriors(mean=mean, std=std, entropy=ent, iqr=iqr, n_valid=n_valid.astype(np.int64),
                         slices=dict(slices), bin_width=float(bin_width), hist_counts=counts,
                         hist_edges=edges, provenance=dict(provenance or {}), min_std=float(min_std))


def save_priors(priors: ChannelPriors, path: str | os.PathLike[str]) -> Path:
    """Write ``priors`` to an HDF5 file atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name in ("mean", "std", "logvar", "entropy", "diff_entropy", "iqr", "n_valid",
                     "hist_counts", "hist_edges"):
            f.create_dataset(name, data=np.asarray(getattr(priors, name)))
        f.create_dataset("region", data=np.array(priors.regions, dtype=h5py.string_dtype()))
        f.attrs["format"] = FORMAT
        f.attrs["bin_width"] = priors.bin_width
        f.attrs["min_std"] = priors.min_std
        f.attrs["slices"] = json.dumps({k: [s.start, s.stop] for k, s in priors.slices.items()})
        f.attrs["provenance"] = json.dumps(priors.provenance, sort_keys=True, default=str)
    return path


def load_priors(path: str | os.PathLike[str]) -> ChannelPriors:
    """Read a file written by :func:`save_priors`."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: cannot open as a priors HDF5 file ({exc}); rerun the priors step") \
            from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{path}: not a priors file of format {FORMAT!r} "
                             f"(got {f.attrs.get('format')!r}); rerun the priors step")
        slices = {k: slice(a, b) for k, (a, b) in json.loads(f.attrs["slices"]).items()}
        return ChannelPriors(
            mean=f["mean"][()], std=f["std"][()], entropy=f["entropy"][()], iqr=f["iqr"][()],
            n_valid=f["n_valid"][()], slices=slices, bin_width=float(f.attrs["bin_width"]),
            hist_counts=f["hist_counts"][()], hist_edges=f["hist_edges"][()],
            provenance=json.loads(f.attrs["provenance"]),
            min_std=float(f.attrs.get("min_std", STD_FLOOR)),  # files before the floor: the 1e-8 clamp
        )


def masked_kl(mu_pred: torch.Tensor, mask: torch.Tensor, prior_mean: torch.Tensor, prior_logvar: torch.Tensor,
              region_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Region-weighted KL of the batch's latent channel distributions from the priors (scalar).

    ``mu_pred: (B, T, C)`` predicted latents; ``mask: (B, T)`` bool, True at real (non-padded) frames,
    or ``(B, T, C)`` per channel; ``prior_mean``, ``prior_logvar``, ``region_weights``: ``(C,)``
    (``None``: the 1-10-6-1 weights of the default 80-channel layout). Values at masked positions
    never reach the result or its gradient. The batch variance is floored at ``1e-8**2``; a channel
    with no valid position contributes 0.
    """
    if mu_pred.dim() != 3:
        raise ValueError(f"mu_pred must be (B, T, C), got shape {tuple(mu_pred.shape)}")
    n_ch = mu_pred.shape[-1]
    if region_weights is None:
        if n_ch != _check_slices(DEFAULT_SLICES):
            raise ValueError(f"{n_ch} latent channels: pass region_weights (priors.channel_weights(slices))")
        region_weights = channel_weights()
    if mu_pred.dtype in (torch.float16, torch.bfloat16):
        mu_pred = mu_pred.float()  # the variance floor and log need float32 range
    m = mask.to(torch.bool)
    if m.shape == mu_pred.shape[:2]:
        m = m[..., None].expand_as(mu_pred)                                   # (B, T, C)
    if m.shape != mu_pred.shape:
        raise ValueError(f"mask must be {tuple(mu_pred.shape[:2])} or {tuple(mu_pred.shape)}, "
                         f"got {tuple(mask.shape)}")
    zero = torch.zeros((), dtype=mu_pred.dtype, device=mu_pred.device)
    n = m.sum(dim=(0, 1))                                                     # (C,)
    n_safe = n.clamp(min=1).to(mu_pred.dtype)
    mu = torch.where(m, mu_pred, zero).sum(dim=(0, 1)) / n_safe               # (C,)
    dev = torch.where(m, mu_pred - mu, zero)                                  # (B, T, C)
    var = ((dev ** 2).sum(dim=(0, 1)) / n_safe).clamp(min=STD_FLOOR ** 2)     # (C,) population variance
    pm = prior_mean.to(mu_pred)
    plv = prior_logvar.to(mu_pred)
    kl = 0.5 * (plv - var.log() + (var + (mu - pm) ** 2) / plv.exp() - 1.0)  # (C,)
    kl = torch.where(n > 0, kl, zero)
    return (region_weights.to(mu_pred) * kl).sum()
