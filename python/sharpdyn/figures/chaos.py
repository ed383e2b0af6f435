"""Figures for the route to chaos: orbit diagrams as density images (millions of points in a
fraction of a second: ``np.histogram2d`` + ``imshow``, never a scatter), the largest Lyapunov
exponent beside them, and power spectra."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ..chaos import LyapunovSpectrum, OrbitDiagram
from ..spectra import PowerSpectrum

PARAM_LABEL = {"cubic": "r", "uv": "Y = η√κ y", "uv_lr": "learning rate η"}
VALUE_LABEL = {
    ("cubic", "state"): "x",
    ("cubic", "x"): "x",
    ("cubic", "sharpness"): "η · L''(θ)  (3 r x² − (r − 1))",
    ("cubic", "loss"): "normalised loss  (r x² − r + 1)² / 2",
    ("uv", "state"): "g = η√κ (f − y)",
    ("uv", "sharpness"): "η · λ_H",
    ("uv", "loss"): "normalised loss g²/2",
    ("uv", "ntk"): "z = η · NTK",
    ("uv", "z"): "z = η · NTK",
    ("uv_lr", "sharpness"): "η · sharpness",
    ("uv_lr", "loss"): "loss (f − y)²/2",
    ("uv_lr", "ntk"): "η · NTK",
}


def draw_density(ax, diagram: OrbitDiagram, *, bins: tuple[int, int] = (1000, 700),
                 value_range: tuple[float, float] | None = None, log_values: bool = False,
                 component: int = 0, cmap: str = "magma_r") -> None:
    """Draw ``diagram`` on ``ax`` as an image of the per-parameter distribution of values
    (``log_values``: of ``log10`` of the positive values, by default the top 18 decades)."""
    if log_values:
        p, v = diagram.points(component)
        keep = v > 0
        p, v = p[keep], np.log10(v[keep])
        prange = (float(diagram.params.min()), float(diagram.params.max()))
        # 18 decades below the largest value: converged runs reach 1e-300 and would flatten the rest
        vr = value_range if value_range is not None else (max(float(v.min()), float(v.max()) - 18.0),
                                                          float(v.max()))
        h, pe, ve = np.histogram2d(p, v, bins=bins, range=(prange, vr))
        col = h.sum(axis=1, keepdims=True)
        h = np.where(col > 0, h / np.where(col > 0, col, 1.0), 0.0)
    else:
        h, pe, ve = diagram.density(bins=bins, value_range=value_range, component=component)
    positive = h[h > 0]
    vmin = float(positive.min()) if positive.size else 1e-6
    img = np.ma.masked_equal(h.T, 0.0)
    ax.imshow(img, origin="lower", aspect="auto", extent=(pe[0], pe[-1], ve[0], ve[-1]), cmap=cmap,
              norm=LogNorm(vmin=vmin, vmax=1.0), interpolation="antialiased",
              interpolation_stage="rgba")
    ax.set_xlim(pe[0], pe[-1])
    ylabel = VALUE_LABEL.get((diagram.system, diagram.observable), diagram.observable)
    ax.set_ylabel(("log₁₀ " if log_values else "") + ylabel)


def plot_orbit_diagram(
    diagram: OrbitDiagram,
    *,
    lyapunov: LyapunovSpectrum | np.ndarray | None = None,
    doubling: Sequence[float] = (),
    bins: tuple[int, int] = (1000, 700),
    value_range: tuple[float, float] | None = None,
    log_values: bool = False,
    title: str | None = None,
) -> Figure:
    """Orbit diagram as a density image, with the largest Lyapunov exponent below it (same
    parameter axis) when ``lyapunov`` is given and dashed lines at ``doubling`` parameters."""
    rows = 2 if lyapunov is not None else 1
    fig = Figure(figsize=(10, 6.5 if rows == 2 else 4.5), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3][:rows]})
    axes = np.atleast_1d(axes)
    ax = axes[0]
    draw_density(ax, diagram, bins=bins, value_range=value_range, log_values=log_values)
    for d in doubling:
        for a in axes:
            a.axvline(d, color="tab:blue", lw=0.6, ls="--", alpha=0.6)
    ax.set_title(title or f"orbit diagram ({diagram.system}): {diagram.n_keep} states after "
                          f"{diagram.n_transient} transient steps, {diagram.params.size} parameter values")
    if lyapunov is not None:
        lam = lyapunov.max if isinstance(lyapunov, LyapunovSpectrum) else np.asarray(lyapunov)
        params = lyapunov.params if isinstance(lyapunov, LyapunovSpectrum) else diagram.params
        lo = np.nanpercentile(lam[np.isfinite(lam)], 1) if np.isfinite(lam).any() else -1.0
        ax2 = axes[1]
        ax2.plot(params, np.clip(lam, lo, None), lw=0.7, color="k")
        ax2.axhline(0.0, color="tab:red", lw=0.8)
        ax2.set_ylabel("λ_max (per step)")
    axes[-1].set_xlabel(PARAM_LABEL.get(diagram.system, "parameter"))
    return fig


def plot_power_spectra(spectra: Sequence[PowerSpectrum], labels: Sequence[str]) -> Figure:
    """Power spectral densities (log scale) against frequency in cycles per step, one panel
    per spectrum, with the lines 1/2, 1/4, 1/8 marked."""
    fig = Figure(figsize=(10, 1.9 * len(spectra) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(spectra), 1, sharex=True))
    for ax, s, label in zip(axes, spectra, labels):
        floor = s.power.max() * 1e-14
        ax.semilogy(s.frequency, np.maximum(s.power, floor), lw=0.8)
        for f in (0.5, 0.25, 0.125):
            ax.axvline(f, color="gray", lw=0.5, ls=":")
        ax.set_ylabel("PSD")
        ax.set_title(label, fontsize=9, loc="left")
    axes[-1].set_xlabel("frequency (cycles per step)")
    return fig
