"""Figures for the UV model: trajectories (loss, output, sharpness vs 2/lr) and the
function-space flow with fixed points, the zero-loss line and a trajectory."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import parameterization as _param
from ..fixed_points import fixed_points, vector_field, zero_loss_line
from ..uv import Trajectory

KIND_STYLE = {
    "stable_node": ("o", "tab:green"),
    "stable_focus": ("o", "tab:olive"),
    "saddle": ("X", "tab:orange"),
    "unstable_node": ("s", "tab:red"),
    "unstable_focus": ("s", "tab:pink"),
    "marginal": ("D", "tab:gray"),
}


def plot_trajectories(trajectories: Sequence[Trajectory], labels: Sequence[str] | None = None) -> Figure:
    """Three panels against the step: loss (log scale), output ``f`` (with the target) and
    ``lr * sharpness`` (with the edge ``2``), one line per run."""
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    ax_loss, ax_f, ax_s = fig.subplots(1, 3)
    labels = list(labels) if labels is not None else [f"run {i}" for i in range(len(trajectories))]
    for tr, label in zip(trajectories, labels):
        t = np.arange(tr.steps + 1)
        ax_loss.semilogy(t, np.maximum(tr.loss, 1e-300), lw=1.2, label=label)
        ax_f.plot(t, tr.f, lw=1.0, label=label)
        ax_s.plot(t, tr.lr * tr.sharpness, lw=1.0, label=label)
    ax_loss.set(xlabel="step", ylabel="loss  (f - y)²/2", title="loss (runs end where they diverge)")
    bounded = [tr for tr in trajectories if not np.any(tr.diverged)]
    if bounded:
        top = max(float(np.nanmax(tr.loss)) for tr in bounded)
        ax_loss.set_ylim(1e-16, 10 * top)
        fmax = max(float(np.nanmax(np.abs(tr.f))) for tr in bounded)
        ax_f.set_ylim(-1.1 * fmax, 1.1 * fmax)
        smax = max(float(np.nanmax(tr.lr * tr.sharpness)) for tr in bounded)
        ax_s.set_ylim(0.0, max(2.5, 1.1 * smax))
    if trajectories:
        ax_f.axhline(trajectories[0].y, color="k", ls=":", lw=1, label="target y")
    ax_f.set(xlabel="step", ylabel="f", title="network output")
    ax_s.axhline(2.0, color="k", ls="--", lw=1, label="2/η")
    ax_s.set(xlabel="step", ylabel="η · sharpness", title="sharpness (top Hessian eigenvalue) × η")
    ax_s.legend(fontsize=8, loc="best")
    return fig


def plot_flow(
    *,
    lr: float,
    width: float,
    x: float = 1.0,
    y: float = 1.0,
    param: _param.Param = "sp",
    trajectory: Trajectory | None = None,
    f_range: tuple[float, float] | None = None,
    z_range: tuple[float, float] = (0.0, 6.0),
    resolution: int = 41,
) -> Figure:
    """Function-space picture in ``(f, lr * ntk)``: one-step displacement field, the
    zero-loss line (solid where it attracts, ``lr*ntk < 2``; dashed where it is
    flip-unstable), the unreachable region ``ntk < 2 sqrt(kappa) |f|``, isolated fixed
    points and period-2 points by type, and an optional trajectory."""
    sk = float(np.sqrt(_param.kappa(width, x * x, param)))
    if f_range is None:
        span = max(2.0 * abs(y), 2.0 / (lr * sk) * 0.6, 1.0)
        f_range = (y - span, y + span)
    F, Z = np.meshgrid(np.linspace(*f_range, resolution), np.linspace(*z_range, resolution))
    dF, dN = vector_field(F, Z / lr, lr=lr, width=width, x=x, y=y, param=param)
    dZ = lr * dN
    fig = Figure(figsize=(7, 5.5), layout="constrained")
    ax = fig.subplots()
    speed = np.hypot(dF / (f_range[1] - f_range[0]), dZ / (z_range[1] - z_range[0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.where(speed > 0, speed, 1.0)
    ax.quiver(F, Z, dF / (f_range[1] - f_range[0]) / norm, dZ / (z_range[1] - z_range[0]) / norm,
              np.log10(speed + 1e-16), cmap="Greys", alpha=0.55, angles="xy", scale=45, width=0.0025)
    # unreachable region below z = 2 lr sqrt(kappa) |f|
    fs = np.linspace(*f_range, 400)
    ax.fill_between(fs, z_range[0], np.minimum(2 * lr * sk * np.abs(fs), z_range[1]), color="0.85", zorder=0,
                    label="unreachable (ntk < 2√κ|f|)")
    line = zero_loss_line(lr=lr, width=width, x=x, y=y, param=param)
    zmin = lr * line.min_reachable_ntk
    ax.plot([y, y], [max(zmin, z_range[0]), min(2.0, z_range[1])], color="tab:green", lw=3, label="zero-loss line, stable")
    ax.plot([y, y], [max(2.0, zmin), z_range[1]], color="tab:red", lw=2, ls="--", label="zero-loss line, unstable")
    ax.axhline(2.0, color="k", ls=":", lw=1)
    seen: set[str] = set()
    for period, size in ((1, 90), (2, 45)):
        for p in fixed_points(lr=lr, width=width, x=x, y=y, param=param, period=period):
            if not (f_range[0] <= p.f <= f_range[1] and z_range[0] <= p.z <= z_range[1]):
                continue
            marker, color = KIND_STYLE[p.kind]
            label = f"{'fixed point' if period == 1 else '2-cycle'}: {p.kind.replace('_', ' ')}"
            ax.scatter([p.f], [p.z], marker=marker, s=size, color=color, edgecolor="k", zorder=5,
                       label=None if label in seen else label)
            seen.add(label)
    if trajectory is not None:
        ok = np.isfinite(trajectory.f)
        ax.plot(trajectory.f[ok], lr * trajectory.ntk[ok], "-o", color="tab:blue", ms=2.5, lw=0.8, zorder=4,
                label="GD trajectory")
        ax.scatter([trajectory.f[0]], [lr * trajectory.ntk[0]], color="tab:blue", s=60, marker="*", zorder=6)
    ax.set(xlim=f_range, ylim=z_range, xlabel="output f", ylabel="η · ntk  (z)",
           title=f"UV function space: η={lr:g}, n={width:g}, y={y:g}, Y={lr * sk * y:.3g}")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="k", ls=":", lw=1))
    labels.append("η·ntk = 2")
    ax.legend(handles, labels, fontsize=7, loc="upper right")
    return fig
