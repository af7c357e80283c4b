"""Figure of the latent channel distributions, like the DARSLP paper's Figure 3.

One row per region (right hand, left hand, face, body as in the paper); each row shows the ``top_k``
channels with the highest entropy, as the stored plotting histogram of the priors file, titled with
the channel index, its entropy E in bits, IQR and SD. Axes: x the channel's value in latent units
(the autoencoder's output, dimensionless), y the count of valid training frames per bar. The row
label gives the region's average entropy over all its channels; a note under the panels names both
bin rules (E: fixed-width bins of the priors' ``bin_width`` from the channel's minimum; bars: the
stored equal bins over [min, max]). Drawn with the Agg backend (no display needed) and written
atomically as PNG; the same priors give the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pipelib.io.atomic import atomic_path
from pipelib.production.priors import ChannelPriors

#: Row order of the figure (the paper's panel order).
FIGURE_REGIONS: tuple[str, ...] = ("right_hand", "left_hand", "face", "body")
REGION_TITLES = {"body": "body", "right_hand": "right hand", "left_hand": "left hand", "face": "face"}


def top_entropy_channels(priors: ChannelPriors, region: str, top_k: int) -> list[int]:
    """Global indices of the ``top_k`` highest-entropy channels of ``region``, highest first."""
    sl = priors.slices[region]
    local = np.argsort(-priors.entropy[sl], kind="stable")[:top_k]
    return [sl.start + int(i) for i in local]


#: Axis labels of every histogram panel (the latent channels carry no physical unit).
X_LABEL = "value (latent units)"
Y_LABEL = "count (training frames)"


def bin_rule_note(priors: ChannelPriors) -> str:
    """The sentence under the figure that says how E and the bars are binned."""
    n_bars = priors.hist_counts.shape[1]
    return (f"E: Shannon entropy in bits of a histogram with fixed-width bins of {priors.bin_width:g} latent "
            f"units from the channel's minimum; bars: {n_bars} equal bins over the channel's [min, max]")


def channel_histogram_figure(priors: ChannelPriors, *, top_k: int = 8, dpi: int = 100,
                             title: str | None = None) -> Figure:
    """The Agg figure of the top-``top_k``-entropy channel histograms per region (see the module doc)."""
    if int(top_k) < 1:
        raise ValueError(f"figure top_k must be >= 1, got {top_k}")
    cols = min(int(top_k), max(sl.stop - sl.start for sl in priors.slices.values()))
    rows = [r for r in FIGURE_REGIONS if r in priors.slices]
    fig = Figure(figsize=(2.4 * cols, 2.4 * len(rows) + 0.3), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), cols, squeeze=False)
    avg = priors.region_mean_entropy()
    for i, region in enumerate(rows):
        chans = top_entropy_channels(priors, region, cols)
        for j in range(cols):
            ax = axes[i, j]
            if j >= len(chans):
                ax.set_axis_off()
                continue
            c = chans[j]
            edges, counts = priors.hist_edges[c], priors.hist_counts[c]
            ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="tab:blue", linewidth=0)
            stats = f"IQR={priors.iqr[c]:.2f} SD={priors.sd[c]:.2f}"
            ax.set_title(f"ch {c}: E={priors.entropy[c]:.2f} bits\n{stats}", fontsize=7)
            ax.set_xlabel(X_LABEL, fontsize=6)
            ax.set_ylabel(Y_LABEL, fontsize=6)
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_ylabel(f"{REGION_TITLES[region]}, avg E={avg[region]:.2f} bits\n{Y_LABEL}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.supxlabel(bin_rule_note(priors), fontsize=7)
    return fig


def plot_channel_histograms(priors: ChannelPriors, path: str | os.PathLike[str], *, top_k: int = 8,
                            dpi: int = 100, title: str | None = None) -> Path:
    """Write :func:`channel_histogram_figure` to ``path`` (PNG); returns the path."""
    fig = channel_histogram_figure(priors, top_k=top_k, dpi=dpi, title=title)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
