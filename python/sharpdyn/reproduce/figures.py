"""Figures of the reproduction report (matplotlib ``Figure`` objects, no GUI backend)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..figures.scan import REGIME_COLORS


def save(fig: Figure, out: Path, name: str, *, dpi: int = 110) -> str:
    """Write ``fig`` to ``out/figures/name`` and return ``name``."""
    fig.savefig(out / "figures" / name, dpi=dpi)
    return name


def uv_regimes_figure(runs: Mapping[str, Mapping[str, np.ndarray]], *, top: float = 5.0,
                      floor: float = 1e-16) -> Figure:
    """Loss, η·ntk and η·sharpness of UV runs (one colour per regime name) against step.
    Values above ``top`` (a diverging run) are cut where they leave the axes and marked
    with the step of divergence; losses are floored at ``floor`` for the log axis."""
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    colors = {"lazy": "tab:gray", "catapult": "tab:orange", "divergence": "tab:red", "reduction": "tab:purple",
              "plateau": "tab:brown", "sharpening": "tab:green", "edge_of_stability": "tab:blue"}
    last = 1
    for name, r in runs.items():
        steps = np.arange(r["loss"].size)
        last = max(last, int(steps[-1]))
        kw = {"color": colors.get(name), "lw": 1.2, "label": name.replace("_", " ")}
        ok = np.isfinite(r["loss"])
        axes[0].plot(steps[ok], np.maximum(r["loss"][ok], floor), **kw)
        for ax, field in ((axes[1], "ntk"), (axes[2], "sharpness")):
            z = r["lr"] * r[field]
            out = ~(np.isfinite(z) & (z <= top))
            stop = int(np.argmax(out)) if out.any() else z.size
            ax.plot(steps[:stop], z[:stop], **kw)
            if stop < z.size:
                ax.annotate(f"{name.replace('_', ' ')}: off scale from step {stop}", (steps[max(stop - 1, 0)], top),
                            xytext=(0, -12), textcoords="offset points", fontsize=7, color=kw["color"], ha="right")
    axes[0].set(yscale="log", xscale="symlog", xlabel="step", ylabel=f"loss (f − y)²/2 (floored at {floor:g})",
                title="loss", xlim=(0, last))
    for ax, what in ((axes[1], "η · ntk"), (axes[2], "η · sharpness (Hessian)")):
        ax.axhline(2.0, color="k", ls=":", lw=1, label="2 (edge of stability)")
        ax.set(xscale="symlog", xlabel="step", ylabel=what, title=f"{what} (dotted: 2)", ylim=(0.0, top),
               xlim=(0, last))
    axes[2].legend(fontsize=7, loc="center right")
    return fig


def regime_map_figure(regime: np.ndarray, x: np.ndarray, y: np.ndarray, *, xlabel: str, ylabel: str, title: str,
                      lines: Sequence[tuple[str, float, str]] = (), log_x: bool = False) -> Figure:
    """Regime labels (codes of :mod:`sharpdyn.regimes`) on a grid ``regime[ix, iy]``: ``x``
    continuous (log if ``log_x``), ``y`` categorical (one row per value), with vertical
    reference lines ``(axis, value, label)``."""
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch
    from matplotlib.ticker import ScalarFormatter

    from .. import regimes

    names = list(regimes.REGIMES)
    cmap = ListedColormap([REGIME_COLORS[n] for n in names])
    norm = BoundaryNorm(np.arange(len(names) + 1) - 0.5, len(names))
    fig = Figure(figsize=(7.0, 3.6), layout="constrained")
    ax = fig.subplots()
    rows = np.arange(len(y), dtype=float)
    ax.pcolormesh(_edges(x, log_x), _edges(rows, False), np.asarray(regime).T, cmap=cmap, norm=norm)
    for axis, value, label in lines:
        if axis == "x":
            ax.axvline(value, color="k", ls="--", lw=1)
            ax.text(value, 0.02, f" {label}", transform=ax.get_xaxis_transform(), rotation=90, ha="right",
                    va="bottom", fontsize=7)
    present = sorted(set(np.asarray(regime).ravel().tolist()))
    ax.legend(handles=[Patch(color=REGIME_COLORS[names[i]], label=names[i].replace("_", " ")) for i in present],
              fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xscale="log" if log_x else "linear")
    ax.set_yticks(rows, [f"{v:g}" for v in y])
    if log_x:
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(ScalarFormatter())
        ax.tick_params(axis="x", which="minor", labelsize=7)
    return fig


def _edges(v: np.ndarray, log: bool) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    if v.size == 1:
        return np.array([v[0] * 0.9, v[0] * 1.1]) if log else np.array([v[0] - 0.5, v[0] + 0.5])
    w = np.log(v) if log else v
    mid = (w[1:] + w[:-1]) / 2
    e = np.concatenate([[w[0] - (mid[0] - w[0])], mid, [w[-1] + (w[-1] - mid[-1])]])
    return np.exp(e) if log else e


def series_figure(series: Sequence[tuple[str, np.ndarray, np.ndarray]], *, ylabel: str, title: str,
                  hline: tuple[float, str] | None = None, log_y: bool = False, xlabel: str = "step") -> Figure:
    """Several ``(label, x, y)`` curves on one axes, optional horizontal reference line."""
    fig = Figure(figsize=(6.2, 4.0), layout="constrained")
    ax = fig.subplots()
    for label, x, y in series:
        ok = np.isfinite(y)
        ax.plot(np.asarray(x)[ok], np.asarray(y)[ok], lw=1.1, label=label)
    if hline is not None:
        ax.axhline(hline[0], color="k", ls=":", lw=1, label=hline[1])
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, yscale="log" if log_y else "linear")
    ax.legend(fontsize=7)
    return fig



def bifurcation_figure(b, *, title: str, reference=None, onset: float | None = None) -> Figure:
    """Late-time η·sharpness against c (coloured by period), the finite-time Lyapunov
    exponent below, and the power spectra of three runs at the right. ``reference`` is an
    optional ``(x, states, label)`` minimal-model diagram drawn on the same normalised axis."""
    fig = Figure(figsize=(12 if reference is None else 15, 6.5), layout="constrained")
    grid = fig.add_gridspec(2, 3 if reference is None else 4, height_ratios=[3, 1.3])
    ax = fig.add_subplot(grid[0, 0:2])
    axl = fig.add_subplot(grid[1, 0:2], sharex=ax)
    axs = fig.add_subplot(grid[:, 2])
    c = np.asarray(b.c)
    period = np.asarray(b.period)
    cmap = {1: "tab:gray", 2: "tab:blue", 4: "tab:green", 8: "tab:purple", 0: "tab:red", -1: "k"}
    seen = set()
    for i, ci in enumerate(c):
        es = np.asarray(b.eta_sharpness[i])
        ok = np.isfinite(es)
        p = int(period[i])
        col = cmap.get(p, "tab:orange")
        lab = {0: "aperiodic / chaotic", -1: "diverged"}.get(p, f"period {p}")
        if ok.any():
            ax.scatter(np.full(ok.sum(), ci), es[ok], s=3, color=col, label=None if lab in seen else lab)
            seen.add(lab)
    ax.axhline(2.0, color="k", ls=":", lw=1, label="η·sharpness = 2")
    div = c[np.asarray(b.diverged)]
    if div.size:
        ax.axvspan(div.min(), c.max(), color="0.9", zorder=0, label="diverged")
    ax.set(ylabel="late-time η · sharpness", title=title)
    ax.legend(fontsize=7, loc="upper left")
    if onset is not None and onset > 0:
        top = ax.secondary_xaxis("top", functions=(lambda x: np.asarray(x) / onset, lambda x: np.asarray(x) * onset))
        top.set_xlabel(f"c / c₁ (c₁ = {onset:.3g}: onset of the edge of stability)", fontsize=8)
    lam = np.asarray(b.lyapunov)
    ok = np.isfinite(lam)
    axl.plot(c[ok], lam[ok], "-o", ms=3, color="k")
    axl.axhline(0.0, color="tab:red", lw=0.8, label="0 (chaos above)")
    axl.set(xlabel="c = η λ₀", ylabel="FTLE (per step)")
    axl.legend(fontsize=7, loc="upper left")
    live = np.nonzero(~np.asarray(b.diverged))[0]
    picks = live[np.linspace(0, live.size - 1, min(3, live.size)).astype(int)] if live.size else []
    for i in picks:
        ps = b.power_spectrum(int(i))
        axs.semilogy(ps.frequency, np.maximum(ps.power, ps.power.max() * 1e-14), lw=0.8, label=f"c = {c[i]:.3g}")
    for f in (0.5, 0.25):
        axs.axvline(f, color="gray", lw=0.5, ls=":")
    axs.set(xlabel="frequency (cycles per step; dotted 1/2, 1/4)", ylabel="PSD of η·sharpness",
            title="power spectra")
    if len(picks):
        axs.legend(fontsize=7)
    if reference is not None:
        x, states, label = reference
        axr = fig.add_subplot(grid[:, 3])
        xx = np.repeat(np.asarray(x), states.shape[1])
        yy = np.asarray(states).ravel()
        ok = np.isfinite(yy)
        axr.scatter(xx[ok], yy[ok], s=0.5, color="tab:blue")
        axr.axhline(2.0, color="k", ls=":", lw=1, label="η·sharpness = 2")
        axr.set(xlabel="Y / Y₁ (compare c / c₁ on the left)", ylabel="late-time η · sharpness", title=label)
        axr.legend(fontsize=7, loc="upper left")
    return fig


def correspondence_figure(b, fit, rows: np.ndarray, *, title: str) -> Figure:
    """Measured late-time η·sharpness of the fitted runs against c with the fitted UV model's
    attractor overlaid, and the UV orbit diagram over Y on the right."""
    from .. import chaos

    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax, axr = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    c = np.asarray(b.c)[rows]
    for i, ci in enumerate(c):
        m = np.asarray(b.eta_sharpness)[rows][i]
        p = np.asarray(fit.predicted)[i]
        ax.scatter(np.full(m.size, ci), m, s=4, color="tab:blue", label="network" if i == 0 else None)
        ok = np.isfinite(p)
        ax.scatter(np.full(ok.sum(), ci), p[ok], s=14, marker="x", color="tab:red",
                   label=f"UV model, Y = {fit.alpha:.3g}·η" if i == 0 else None)
    ax.axhline(2.0, color="k", ls=":", lw=1, label="η·sharpness = 2")
    ax.set(xlabel="c = η λ₀", ylabel="late-time η · sharpness", title=f"{title}: UV fit")
    ax.legend(fontsize=7)
    Y = np.linspace(0.9, 1.7, 400)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d = chaos.orbit_diagram("uv", Y, x0=np.ascontiguousarray(np.broadcast_to([-0.8, 1.3], (Y.size, 2))),
                                n_transient=3000, n_keep=200, observable="sharpness", threads=1)
    yy = d.states.ravel()
    xx = np.repeat(Y, d.states.shape[1])
    ok = np.isfinite(yy)
    axr.scatter(xx[ok], yy[ok], s=0.3, color="0.4")
    fy = np.asarray(fit.Y)
    axr.axvspan(float(np.nanmin(fy)), float(np.nanmax(fy)), color="tab:red", alpha=0.15, label="fitted Y range")
    axr.axhline(2.0, color="k", ls=":", lw=1, label="η·sharpness = 2")
    axr.set(xlabel="Y (UV model; r = 1 + Y)", ylabel="late-time η · sharpness", title="UV model orbit diagram")
    axr.legend(fontsize=7)
    return fig
