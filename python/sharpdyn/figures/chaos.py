"""Figures for the route to chaos: orbit diagrams as density images (millions of points in a
fraction of a second: ``np.histogram2d`` + ``imshow``, never a scatter), the largest Lyapunov
exponent beside them, and power spectra."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from numpy.typing import NDArray

from ..chaos import LyapunovSpectrum, OrbitDiagram
from ..spectra import PowerSpectrum
from .checks import add_note

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


EDGE_OBSERVABLES = ("sharpness",)
"""Observables in units of ``lr * sharpness``: the edge of stability is the value 2."""


def draw_density(ax, diagram: OrbitDiagram, *, bins: tuple[int, int] = (1000, 700),
                 value_range: tuple[float, float] | None = None, log_values: bool = False,
                 component: int = 0, cmap: str = "magma_r") -> None:
    """Draw ``diagram`` on ``ax`` as an image of the per-parameter distribution of values
    (``log_values``: of ``log10`` of the positive values, by default the top 18 decades).
    Finite values the image leaves out (outside ``value_range``, or not positive / below the
    18 decades on a log scale) are counted in a note in the axes."""
    p, v = diagram.points(component)
    n_finite = v.size
    if log_values:
        keep = v > 0
        p, v = p[keep], np.log10(v[keep])
        # 18 decades below the largest value: converged runs reach 1e-300 and would flatten the rest
        if value_range is None and v.size:
            value_range = (max(float(v.min()), float(v.max()) - 18.0), float(v.max()))
    if value_range is None:
        value_range = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    if value_range[0] == value_range[1]:
        value_range = (value_range[0] - 0.5, value_range[1] + 0.5)
    prange = (float(diagram.params.min()), float(diagram.params.max()))
    if prange[0] == prange[1]:
        prange = (prange[0] - 0.5, prange[1] + 0.5)
    inside = (v >= value_range[0]) & (v <= value_range[1])
    h, pe, ve = np.histogram2d(p[inside], v[inside], bins=bins, range=(prange, value_range))
    col = h.sum(axis=1, keepdims=True)
    h = np.where(col > 0, h / np.where(col > 0, col, 1.0), 0.0)
    positive = h[h > 0]
    vmin = float(positive.min()) if positive.size else 1e-6
    img = np.ma.masked_equal(h.T, 0.0)
    ax.imshow(img, origin="lower", aspect="auto", extent=(pe[0], pe[-1], ve[0], ve[-1]), cmap=cmap,
              norm=LogNorm(vmin=vmin, vmax=1.0), interpolation="antialiased",
              interpolation_stage="rgba")
    ax.set_xlim(pe[0], pe[-1])
    ylabel = VALUE_LABEL.get((diagram.system, diagram.observable), diagram.observable)
    ax.set_ylabel(("log₁₀ " if log_values else "") + ylabel)
    left_out = n_finite - int(np.count_nonzero(inside))
    if left_out:
        why = "not positive or below the 18 decades shown" if log_values else "outside the value range shown"
        add_note(ax, f"{left_out:,} of {n_finite:,} finite values {why}", loc="lower right")
    if n_finite == 0:
        add_note(ax, "no finite value to draw: every orbit diverged", loc="center", fontsize=10)


def _mark_diverged(axes, params: np.ndarray, diverged: np.ndarray) -> None:
    """Shade the parameter values whose orbits diverged (grey, on every axes; the first
    axes' legend names them)."""
    if not diverged.any():
        return
    label = f"diverged ({int(diverged.sum())} of {diverged.size} parameter values)"
    for i, a in enumerate(axes):
        a.fill_between(params, 0.0, 1.0, where=diverged, step="mid", transform=a.get_xaxis_transform(),
                       color="0.82", zorder=0, lw=0, label=label if i == 0 else None)


def plot_orbit_diagram(
    diagram: OrbitDiagram,
    *,
    lyapunov: LyapunovSpectrum | np.ndarray | None = None,
    doubling: Sequence[float] | NDArray[np.float64] = (),
    bins: tuple[int, int] = (1000, 700),
    value_range: tuple[float, float] | None = None,
    log_values: bool = False,
    title: str | None = None,
) -> Figure:
    """Orbit diagram as a density image, with the largest Lyapunov exponent below it (same
    parameter axis) when ``lyapunov`` is given and dashed lines at ``doubling`` parameters.

    Parameter values whose orbits diverged are shaded grey; sharpness observables
    (``lr * sharpness``) get a dotted line at the edge of stability, 2."""
    rows = 2 if lyapunov is not None else 1
    fig = Figure(figsize=(10, 6.5 if rows == 2 else 4.5), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3][:rows]})
    axes = np.atleast_1d(axes)
    ax = axes[0]
    draw_density(ax, diagram, bins=bins, value_range=value_range, log_values=log_values)
    _mark_diverged(axes, np.asarray(diagram.params, dtype=float), np.asarray(diagram.diverged))
    lo, hi = ax.get_xlim()
    marks = [float(d) for d in doubling if lo <= d <= hi]
    for i, d in enumerate(marks):
        for a in axes:
            a.axvline(d, color="tab:blue", lw=0.6, ls="--", alpha=0.6,
                      label="period-doubling points" if i == 0 else None)
    if diagram.observable in EDGE_OBSERVABLES:
        edge = float(np.log10(2.0)) if log_values else 2.0
        ax.axhline(edge, color="tab:green", lw=1.0, ls=":", label="η · sharpness = 2 (edge of stability)")
        y0, y1 = ax.get_ylim()
        pad = 0.03 * (y1 - y0)
        ax.set_ylim(min(y0, edge - pad), max(y1, edge + pad))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", framealpha=0.85)
    ax.set_title(title or f"orbit diagram ({diagram.system}): {diagram.n_keep} states after "
                          f"{diagram.n_transient} transient steps, {diagram.params.size} parameter values")
    if lyapunov is not None:
        lam = lyapunov.max if isinstance(lyapunov, LyapunovSpectrum) else np.asarray(lyapunov)
        params = lyapunov.params if isinstance(lyapunov, LyapunovSpectrum) else diagram.params
        ax2 = axes[1]
        ax2.axhline(0.0, color="tab:red", lw=0.8, label="λ = 0 (chaos above)")
        finite = np.isfinite(lam)
        if finite.any():
            lo = float(np.nanpercentile(lam[finite], 1))
            ax2.plot(params, np.clip(lam, lo, None), lw=0.7, color="k", label="λ_max")
            below = np.count_nonzero(lam < lo)  # -inf at superstable points
            if below:
                add_note(ax2, f"{below} values below the 1st percentile ({lo:.3g}; −∞ at superstable points) "
                              "drawn at it", loc="lower right")
        else:
            add_note(ax2, "no finite Lyapunov exponent: every run diverged", loc="center", fontsize=9)
        ax2.legend(fontsize=7, loc="lower left", framealpha=0.85)
        ax2.set_ylabel("λ_max (per step)")
    axes[-1].set_xlabel(PARAM_LABEL.get(diagram.system, "parameter"))
    return fig


def plot_power_spectra(spectra: Sequence[PowerSpectrum], labels: Sequence[str], *,
                       observable: str | None = None, dynamic_range: float = 1e-14) -> Figure:
    """Power spectral densities (log scale) against frequency in cycles per step, one panel
    per spectrum, with the lines 1/2, 1/4, 1/8 marked and labelled and each panel's three
    highest peaks marked (a period-2 orbit's peak is at the Nyquist frequency 1/2, the end
    of the axis). ``observable`` names the series (e.g. ``"η · sharpness"``); power below
    ``dynamic_range`` times a panel's maximum is drawn at that floor, and a note says so."""
    if len(spectra) != len(labels):
        raise ValueError(f"labels: one per spectrum expected, got {len(labels)} for {len(spectra)} spectra")
    if len(spectra) == 0:
        raise ValueError("spectra: at least one spectrum expected")
    fig = Figure(figsize=(10, 1.9 * len(spectra) + 0.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(spectra), 1, sharex=True))
    for ax, s, label in zip(axes, spectra, labels):
        floor = s.power.max() * dynamic_range
        ax.semilogy(s.frequency, np.maximum(s.power, floor), lw=0.8)
        floored = int(np.count_nonzero(s.power < floor))
        if floored:
            add_note(ax, f"{floored} of {s.power.size} frequencies below {dynamic_range:g} × max drawn at that floor",
                     loc="lower left")
        peaks = s.peaks(3)
        if peaks.size:
            at = np.searchsorted(s.frequency, peaks)
            ax.plot(peaks, s.power[at] * 3.0, "v", color="tab:red", ms=5,
                    label="highest peaks: " + ", ".join(f"{f:.4g}" for f in peaks))
        for f, text in ((0.5, "1/2 (Nyquist)"), (0.25, "1/4"), (0.125, "1/8")):
            ax.axvline(f, color="gray", lw=0.5, ls=":")
            ax.annotate(text, (f, 1.0), xycoords=("data", "axes fraction"), xytext=(0, -2), textcoords="offset points",
                        ha="right" if f == 0.5 else "center", va="top", fontsize=7, color="0.3",
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "alpha": 0.8, "lw": 0})
        y0, y1 = ax.get_ylim()
        ax.set_ylim(y0, y1 * 30.0)  # room for the peak markers and the guide labels
        ax.set_xlim(-0.01, 0.535)
        ax.set_ylabel("PSD")
        ax.set_title(label, fontsize=9, loc="left")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.01, 0.88), framealpha=0.85)
    fig.suptitle(f"power spectra of {observable}" if observable else "power spectra", fontsize=10)
    axes[-1].set_xlabel("frequency (cycles per step; 1/2 = Nyquist, period 2)")
    return fig
