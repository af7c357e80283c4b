"""The priors figure explains itself: axis labels with units, entropy in bits, the bin rules named."""

from __future__ import annotations

import numpy as np

from pipelib.production import figures
from pipelib.production.priors import compute_priors


def priors():
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(400, 80)) * np.linspace(0.05, 2.0, 80)
    return compute_priors(latents, bin_width=0.1, plot_bins=30)


def test_every_panel_has_units_on_both_axes_and_entropy_in_bits():
    pri = priors()
    fig = figures.channel_histogram_figure(pri, top_k=3, title="t")
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(shown) == 4 * 3  # four regions, three channels each
    for ax in shown:
        assert ax.get_xlabel() == "value (latent units)"
        assert ax.get_ylabel().endswith("count (training frames)")
        assert ax.get_title().startswith("ch ") and " bits\n" in ax.get_title()
    rows = [ax.get_ylabel() for ax in fig.axes[::3]]
    assert [r.split(",")[0] for r in rows] == ["right hand", "left hand", "face", "body"]
    assert all("avg E=" in r and " bits" in r for r in rows)
    note = fig.get_supxlabel()
    assert "bits" in note and "fixed-width bins of 0.1 latent units" in note and "30 equal bins" in note


def test_figure_png_is_the_same_bytes_for_the_same_priors(tmp_path):
    a = figures.plot_channel_histograms(priors(), tmp_path / "a.png", top_k=2, dpi=40)
    b = figures.plot_channel_histograms(priors(), tmp_path / "b.png", top_k=2, dpi=40)
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and a.read_bytes() == b.read_bytes()
