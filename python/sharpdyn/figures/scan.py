"""Figures of phase scans (:func:`sharpdyn.scan.grid` datasets): the regime map (phase
diagram) and heat maps of any per-point quantity."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..regimes import REGIMES
from ..scan.grids import learning_rate

REGIME_COLORS: dict[str, str] = {
    "divergence": "#3b3b3b",
    "edge_of_stability": "#d62728",
    "catapult": "#ff9f1c",
    "progressive_sharpening": "#2ca02c",
    "sharpness_reduction": "#1f77b4",
    "lazy": "#c7c7e2",
}
"""One colour per regime (fixed, so every phase diagram reads the same)."""

AXIS_LABELS: dict[str, str] = {
    "c": "c = η λ₀",
    "lr": "learning rate η",
    "Y": "Y = η √κ y",
    "g0": "g₀ = η √κ (f₀ − y)",
    "ntk0": "initial NTK λ₀",
    "f0": "initial output f₀",
    "y": "target y",
    "width": "width n",
    "x": "input x",
    "param": "parameterization exponent s",
    "r": "r = 1 + η λ / 2 (cubic map)",
    "x0": "initial x₀",
}

DERIVED: dict[str, tuple[str, Any]] = {
    "lr_final_sharpness": ("η × final sharpness (2 = edge of stability)",
                           lambda ds: learning_rate(ds) * ds["final_sharpness"]),
    "peak_loss_ratio": ("catapult peak loss / initial loss", lambda ds: ds["max_loss"] / ds["initial_loss"]),
    "time_to_converge": ("steps to converge (L ≤ 1e-10 L₀)",
                         lambda ds: ds["converged_at"].where(ds["converged_at"] >= 0)),
}
"""Quantities :func:`plot_heatmap` derives from a scan by name (label, function)."""


def _plane(ds: Any) -> tuple[str, str | None]:
    dims = list(ds["regime"].dims)
    if len(dims) == 1:
        return dims[0], None
    if len(dims) == 2:
        return dims[0], dims[1]
    raise ValueError(f"a figure needs a 1-D or 2-D scan; select a plane first (dims {dims})")


def _mesh(ax, ds, field, xdim, ydim, **kw):
    x = np.asarray(ds[xdim].values, dtype=float)
    if ydim is None:
        y = np.array([0.0, 1.0])
        values = np.asarray(field)[None, :]
        ax.set_yticks([])
    else:
        y = np.asarray(ds[ydim].values, dtype=float)
        values = np.asarray(field).T
        ax.set_ylabel(AXIS_LABELS.get(ydim, ydim))
    ax.set_xlabel(AXIS_LABELS.get(xdim, xdim))
    return ax.pcolormesh(_edges(x), _edges(y) if ydim is not None else y, values, shading="flat", **kw)


def _edges(v: np.ndarray) -> np.ndarray:
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


_LABEL_BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.8, "lw": 0}


GUIDES: dict[str, tuple[tuple[float, str, str], ...]] = {
    "c": ((2.0, "c = 2", "--"), (4.0, "c = 4", "--")),
    "r": ((2.0, "r = 2", "--"), (3.0, "r = 3", "--")),
    "Y": ((1.0, "Y = 1", ":"),),
}
"""Guide lines drawn on scan axes of these names: (value, label, line style)."""


def _guides(ax, xdim: str, ydim: str | None) -> None:
    """Dashed / dotted guides at the values of :data:`GUIDES` on the x and y axes, each
    labelled by a text on it (only those inside the axis range)."""
    for dim, vertical in ((xdim, True), (ydim, False)):
        if dim is None:
            continue
        lo, hi = sorted(ax.get_xlim() if vertical else ax.get_ylim())
        for value, text, style in GUIDES.get(dim, ()):
            if not lo <= value <= hi:
                continue
            if vertical:
                ax.axvline(value, color="k", ls=style, lw=1.0)
                ax.annotate(text, (value, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                            textcoords="offset points", fontsize=8, bbox=_LABEL_BOX)
            else:
                ax.axhline(value, color="k", ls=style, lw=1.0)
                ax.annotate(text, (1.0, value), xycoords=("axes fraction", "data"), xytext=(-36, 3),
                            textcoords="offset points", fontsize=8, bbox=_LABEL_BOX)


def plot_phase_diagram(ds: Any, *, title: str | None = None, guides: bool = True) -> Figure:
    """Regime map of a 1-D or 2-D scan: one colour per regime of
    :data:`sharpdyn.regimes.REGIMES`, a legend naming every regime, dashed guides at
    ``c = 2`` and ``c = 4`` (the large-width catapult and divergence boundaries), at
    ``Y = 1``, and at ``r = 2`` / ``r = 3`` (first doubling / escape of the cubic map) when
    those are axes."""
    xdim, ydim = _plane(ds)
    steps = ds.attrs.get("steps")
    model = ds.attrs.get("model", "function")
    what = "cubic-map" if model == "cubic" else "UV-model"
    codes = np.asarray(ds["regime"].values)
    return plot_regime_map(
        codes, {xdim: ds[xdim].values} if ydim is None else {xdim: ds[xdim].values, ydim: ds[ydim].values},
        title=title or f"{what} phase diagram ({codes.size:,} runs, {steps} steps, {model})", guides=guides)


def plot_regime_map(regime: Any, axes: dict[str, Any], *, title: str = "", guides: bool = True) -> Figure:
    """Regime map from plain arrays (no xarray needed): ``regime`` holds codes of
    :data:`sharpdyn.regimes.REGIMES` with shape ``(len(x),)`` or ``(len(x), len(y))`` and
    ``axes`` maps one or two axis names (``"c"``, ``"Y"``, ``"lr"``, ... as in
    :data:`AXIS_LABELS`) to their coordinate arrays, first axis first."""
    names = list(axes)
    if len(names) not in (1, 2):
        raise ValueError(f"axes: one or two named axes expected, got {names}")
    codes = np.asarray(regime)
    expected = tuple(np.asarray(axes[k]).size for k in names)
    if codes.shape != expected:
        raise ValueError(f"regime: shape {codes.shape} does not match the axes {dict(zip(names, expected))}")
    xdim, ydim = names[0], (names[1] if len(names) == 2 else None)
    fig = Figure(figsize=(7.8, 4.6 if ydim is not None else 2.4), layout="constrained")
    ax = fig.subplots()
    cmap = ListedColormap([REGIME_COLORS[name] for name in REGIMES])
    norm = BoundaryNorm(np.arange(len(REGIMES) + 1) - 0.5, cmap.N)
    coords = {k: _Coordinate(np.asarray(v, dtype=float)) for k, v in axes.items()}
    _mesh(ax, coords, codes, xdim, ydim, cmap=cmap, norm=norm)
    if guides:
        _guides(ax, xdim, ydim)
    handles = [
        Patch(facecolor=REGIME_COLORS[name], edgecolor="k", lw=0.5,
              label=f"{name.replace('_', ' ')} ({np.mean(codes == i):.0%})")
        for i, name in enumerate(REGIMES)
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="regime",
              frameon=False)
    ax.set_title(title)
    return fig


class _Coordinate:
    """A coordinate array with the ``.values`` attribute :func:`_mesh` reads."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values


def plot_heatmap(ds: Any, quantity: str, *, log: bool = False, title: str | None = None,
                 cmap: str = "viridis") -> Figure:
    """Heat map of a per-point variable of the scan, or of a derived quantity named in
    :data:`DERIVED` (``"lr_final_sharpness"``, ``"peak_loss_ratio"``,
    ``"time_to_converge"``). Diverged points are left blank. ``log`` uses a log colour scale."""
    from matplotlib.colors import LogNorm

    xdim, ydim = _plane(ds)
    if quantity in DERIVED:
        label, fn = DERIVED[quantity]
        field = fn(ds)
    elif quantity in ds:
        label, field = quantity.replace("_", " "), ds[quantity]
    else:
        raise ValueError(f"unknown quantity {quantity!r}; use a variable of the scan {sorted(ds.data_vars)} "
                         f"or one of {sorted(DERIVED)}")
    values = np.asarray(field.values, dtype=float)
    values = np.where(np.asarray(ds["diverged"].values), np.nan, values)
    finite = values[np.isfinite(values)]
    norm = None
    if log and finite.size and np.any(finite > 0):
        values = np.where(values > 0, values, np.nan)
        norm = LogNorm(vmin=np.nanmin(values), vmax=np.nanmax(values))
    fig = Figure(figsize=(7.2, 4.6 if ydim is not None else 2.4), layout="constrained")
    ax = fig.subplots()
    ax.set_facecolor("#e8e8e8")
    mesh = _mesh(ax, ds, values, xdim, ydim, cmap=cmap, norm=norm)
    fig.colorbar(mesh, ax=ax, label=label)
    _guides(ax, xdim, ydim)
    ax.set_title(title or f"{label} (grey: diverged)")
    return fig
