"""Figures for the UV model: trajectories (loss, output, sharpness vs 2/lr) and the
function-space flow with fixed points, the zero-loss line and a trajectory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import parameterization as _param
from ..fixed_points import fixed_points, vector_field, zero_loss_line
from ..uv import Trajectory
from .checks import mark_clipped

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
    lines: dict[str, list] = {"loss": [], "f": [], "s": []}
    for tr, label in zip(trajectories, labels):
        t = np.arange(tr.steps + 1)
        lines["loss"] += ax_loss.semilogy(t, np.maximum(tr.loss, 1e-300), lw=1.2, label=label)
        lines["f"] += ax_f.plot(t, tr.f, lw=1.0, label=label)
        lines["s"] += ax_s.plot(t, tr.lr * tr.sharpness, lw=1.0, label=label)
    ax_loss.set(xlabel="step", ylabel="loss  (f - y)²/2", title="loss (runs end where they diverge)")
    bounded = [tr for tr in trajectories if not np.any(tr.diverged)]
    if bounded:
        # limits from the bounded runs and the start of the diverging ones; what leaves them is named
        first = [tr for tr in trajectories if np.any(tr.diverged)]
        top = max([float(np.nanmax(tr.loss)) for tr in bounded] + [float(tr.loss[0]) for tr in first])
        floor = 1e-16
        ax_loss.set_ylim(floor, 10 * top)
        fmax = max([float(np.nanmax(np.abs(tr.f))) for tr in bounded] + [abs(float(tr.f[0])) for tr in first])
        ax_f.set_ylim(-1.1 * fmax, 1.1 * fmax)
        smax = max([float(np.nanmax(tr.lr * tr.sharpness)) for tr in bounded]
                   + [float(tr.lr * tr.sharpness[0]) for tr in first])
        ax_s.set_ylim(0.0, max(2.5, 1.1 * smax))
        for key, ax in (("loss", ax_loss), ("f", ax_f), ("s", ax_s)):
            _name_what_leaves(ax, lines[key], trajectories, labels, floor=floor if key == "loss" else None)
    handles = []
    if trajectories:
        handles.append(ax_f.axhline(trajectories[0].y, color="k", ls=":", lw=1, label="target y"))
    ax_f.set(xlabel="step", ylabel="f", title="network output")
    if handles:
        ax_f.legend(handles=handles, fontsize=8, loc="upper right")
    ax_s.axhline(2.0, color="k", ls="--", lw=1, label="2/η")
    ax_s.set(xlabel="step", ylabel="η · sharpness", title="sharpness (top Hessian eigenvalue) × η")
    ax_s.legend(fontsize=8, loc="best")
    return fig


def _name_what_leaves(ax, lines: list, trajectories: Sequence[Trajectory], labels: Sequence[str], *,
                      floor: float | None) -> None:
    """Mark the lines that leave the view of ``ax`` (diverging runs above, converged runs below
    ``floor``) and say how many in the axes' note."""
    lo, hi = ax.get_ylim()
    above, below, marked = [], [], []
    for line, tr in zip(lines, trajectories):
        v = np.asarray(line.get_ydata(), dtype=float)
        v = v[np.isfinite(v)]
        if np.any(v > hi):
            above.append(int(np.max(tr.diverged_at)))
        if np.any(v < lo):
            below.append(line)
        if np.any(v > hi) or np.any(v < lo):
            marked.append(line)
    if not marked:
        return
    parts = []
    if above:
        steps = ", ".join(str(a) for a in above if a >= 0)
        parts.append(f"↑ {len(above)} run{'s' if len(above) > 1 else ''} leave{'' if len(above) > 1 else 's'} "
                     "the top" + (f" (diverging at step {steps})" if steps else ""))
    if below:
        where = f"below {floor:g}" if floor is not None else "the bottom"
        parts.append(f"↓ {len(below)} run{'s' if len(below) > 1 else ''} go{'' if len(below) > 1 else 'es'} "
                     f"{where}" + (" (converged)" if floor is not None else ""))
    mark_clipped(ax, marked, "\n".join(parts))


def plot_flow(
    *,
    lr: float,
    width: float,
    x: float = 1.0,
    y: float = 1.0,
    param: _param.Param = "sp",
    trajectory: Trajectory | None = None,
    f_range: tuple[float, float] | None = None,
    z_range: tuple[float, float] | None = None,
    resolution: int = 41,
) -> Figure:
    """Function-space picture in ``(f, lr * ntk)``: one-step displacement field, the
    zero-loss line (solid where it attracts and is reachable, ``2 lr sqrt(kappa) |y| <=
    lr*ntk < 2``; dashed where it is flip-unstable), the unreachable region
    ``ntk < 2 sqrt(kappa) |f|``, isolated fixed points and period-2 points by type, and an
    optional trajectory.

    ``f_range`` / ``z_range`` default to views that hold the whole trajectory (``z_range``:
    ``(0, 6)`` or more). A trajectory leaving explicitly given ranges is named in a note."""
    sk = float(np.sqrt(_param.kappa(width, x * x, param)))
    ok = np.isfinite(trajectory.f) & np.isfinite(trajectory.ntk) if trajectory is not None else None
    tf = trajectory.f[ok] if trajectory is not None else np.empty(0)
    tz = lr * trajectory.ntk[ok] if trajectory is not None else np.empty(0)
    if f_range is None:
        span = max(2.0 * abs(y), 2.0 / (lr * sk) * 0.6, 1.0, 1.05 * float(np.max(np.abs(tf - y), initial=0.0)))
        f_range = (y - span, y + span)
    if z_range is None:
        z_range = (min(0.0, 1.05 * float(np.min(tz, initial=0.0))), max(6.0, 1.05 * float(np.max(tz, initial=0.0))))
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
    ax.fill_between(fs, z_range[0], np.clip(2 * lr * sk * np.abs(fs), z_range[0], z_range[1]), color="0.85",
                    zorder=0, label="unreachable (ntk < 2√κ|f|)")
    line = zero_loss_line(lr=lr, width=width, x=x, y=y, param=param)
    zmin = max(lr * line.min_reachable_ntk, z_range[0])  # the line exists only where it is reachable
    if f_range[0] <= y <= f_range[1]:
        if zmin < min(2.0, z_range[1]):
            ax.plot([y, y], [zmin, min(2.0, z_range[1])], color="tab:green", lw=3, label="zero-loss line, stable")
        if max(2.0, zmin) < z_range[1]:
            ax.plot([y, y], [max(2.0, zmin), z_range[1]], color="tab:red", lw=2, ls="--",
                    label="zero-loss line, unstable" + (" (no stable part: 2Y > 2)" if zmin >= 2.0 else ""))
    edge_in_view = z_range[0] <= 2.0 <= z_range[1]
    if edge_in_view:
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
    if trajectory is not None and tf.size:
        path, = ax.plot(tf, tz, "-o", color="tab:blue", ms=2.5, lw=0.8, zorder=4, label="GD trajectory")
        start = ax.scatter([tf[0]], [tz[0]], color="tab:blue", s=60, marker="*", zorder=6)
        outside = (tf < f_range[0]) | (tf > f_range[1]) | (tz < z_range[0]) | (tz > z_range[1])
        if outside.any():
            mark_clipped(ax, [path, start], f"GD trajectory leaves the view at {int(outside.sum())} of {tf.size} steps "
                                     f"(f in [{tf.min():.3g}, {tf.max():.3g}], η·ntk in [{tz.min():.3g}, "
                                     f"{tz.max():.3g}])")
    ax.set(xlim=f_range, ylim=z_range, xlabel="output f", ylabel="η · ntk  (z)",
           title=f"UV function space: η={lr:g}, n={width:g}, y={y:g}, Y={lr * sk * y:.3g}")
    handles, labels = ax.get_legend_handles_labels()
    if edge_in_view:
        handles.append(Line2D([], [], color="k", ls=":", lw=1))
        labels.append("η·ntk = 2")
    ax.legend(handles, labels, fontsize=7, loc="upper right")
    return fig
