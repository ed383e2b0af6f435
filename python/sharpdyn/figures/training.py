"""Figures of network training runs (:class:`sharpdyn.torch.TrainingRun`): loss, sharpness
against the edge ``2/lr``, and the power spectrum of the sharpness at the edge of stability
(:func:`sharpdyn.spectra.power_spectrum`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..spectra import power_spectrum
from .checks import add_note

if TYPE_CHECKING:  # torch is optional
    from ..torch.train import TrainingRun


def _draw_threshold(ax: Axes, tr: TrainingRun, color: str) -> None:
    """The run's stability threshold, dashed: ``2/lr`` for plain GD/SGD, else the optimizer's
    own (``TrainingRun.threshold``, e.g. 38/lr for Adam, drawn against the preconditioned
    sharpness; it follows a warm-up)."""
    threshold = getattr(tr, "threshold", None)
    if getattr(tr.config, "optimizer", "gd") == "gd" or threshold is None or len(threshold) == 0:
        ax.axhline(2.0 / tr.config.lr, color=color, ls="--", lw=0.8)
    elif np.all(threshold == threshold[0]):
        ax.axhline(float(threshold[0]), color=color, ls="--", lw=0.8)
    else:
        ax.step(tr.sharpness_steps, threshold, where="post", color=color, ls="--", lw=0.8)


def plot_training(trajectories: Sequence[TrainingRun], labels: Sequence[str] | None = None, *,
                  late_fraction: float = 0.5) -> Figure:
    """Four panels: loss (log), sharpness with each run's ``2/lr`` (dashed), ``lr * sharpness
    / 2`` (1 = edge of stability, with the running Lyapunov exponent if recorded on a twin
    axis) and the power spectrum of the sharpness over the last ``late_fraction`` of its
    samples (:func:`sharpdyn.spectra.power_spectrum` of the finite samples, Welch with Hann
    segments of half the series (at least 16 samples), in cycles per step)."""
    fig = Figure(figsize=(15, 3.8), layout="constrained")
    ax_loss, ax_s, ax_r, ax_p = fig.subplots(1, 4)
    labels = list(labels) if labels is not None else [f"lr={tr.config.lr:.3g}" for tr in trajectories]
    ax_l = None
    for tr, label in zip(trajectories, labels):
        steps = np.arange(tr.loss.shape[0])
        line, = ax_loss.semilogy(steps, np.where(tr.loss > 0, tr.loss, np.nan), lw=1.0, label=label)
        color = line.get_color()
        ax_s.plot(tr.sharpness_steps, tr.sharpness, color=color, lw=1.0, label=label)
        _draw_threshold(ax_s, tr, color)
        ax_r.plot(tr.sharpness_steps, tr.edge_ratio, color=color, lw=1.0, label=label)
        if np.isfinite(tr.lyapunov).any():
            ax_l = ax_l or ax_r.twinx()
            ax_l.plot(steps, tr.lyapunov, color=color, lw=0.8, ls=":")
            ax_l.set_ylabel("running Lyapunov exponent (dotted)")
        n_late = int(len(tr.sharpness) * late_fraction)
        if n_late >= 8:
            spacing = float(np.median(np.diff(tr.sharpness_steps))) if len(tr.sharpness_steps) > 1 else 1.0
            late = tr.sharpness[-n_late:]
            late = late[np.isfinite(late)]
            ps = power_spectrum(late, spacing=spacing, segment=min(late.size, max(16, late.size // 2)))
            ax_p.semilogy(ps.frequency[1:], np.maximum(ps.power[1:], 1e-300), color=color, lw=1.0, label=label)
    ax_loss.set(xlabel="step", ylabel="training loss", title="loss")
    ax_s.set(xlabel="step", ylabel="sharpness λ_max(H)", title="sharpness (dashed: 2/η)")
    ax_r.axhline(1.0, color="k", lw=0.8, ls="--")
    ax_r.set(xlabel="step", ylabel="η λ_max / 2", title="sharpness / (2/η) (dashed: edge of stability)")
    ax_p.set(xlabel="frequency (cycles / step)", ylabel="power", title="sharpness spectrum (late)")
    if not ax_p.lines:
        counts = ", ".join(str(int(len(tr.sharpness) * late_fraction)) for tr in trajectories)
        add_note(ax_p, "no spectrum: it needs ≥ 8 sharpness samples\nin the late part of a run "
                       f"(here {counts or 'no runs'};\nrun longer or measure more often)", loc="center", fontsize=8)
    ax_loss.legend(fontsize=7)
    if any(getattr(tr.config, "optimizer", "gd") != "gd" for tr in trajectories):
        ax_s.set(ylabel="λ_max(H), or λ_max(P⁻¹H) for Adam/RMSprop",
                 title="optimizer's sharpness (dashed: its threshold)")
        ax_r.set(ylabel="sharpness / threshold", title="sharpness / threshold")
    return fig
