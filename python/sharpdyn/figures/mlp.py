"""Figures for small MLPs trained with :func:`sharpdyn.mlp.train`: loss and sharpness
against the step (with the edge ``2/lr``), and the regime phase diagram over
(normalised learning rate ``c``, width)."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from .. import regimes as _regimes
from ..mlp import TrainingRuns
from .scan import REGIME_COLORS


def _edge_name(runs: TrainingRuns) -> str:
    b = runs.momentum
    if b == 0:
        return "2/η"
    return f"2(1+b)/((1+2b)η), b = {b:g}" if runs.nesterov else f"(2+2b)/η, b = {b:g}"


def plot_training(runs: TrainingRuns, *, width_index: int = 0, seed_index: int = 0,
                  criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA) -> Figure:
    """Two panels against the step for every learning rate of one (width, seed): the loss
    (log scale) and the sharpness with its edge (dashed, same colour; log scale, so that every
    edge is in view): the optimizer's threshold ``runs.threshold``, ``2/lr`` for GD/SGD and
    ``(2 + 2b)/lr`` with heavy-ball momentum ``b``."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_loss, ax_s = fig.subplots(1, 2)
    names = runs.regime(criteria)
    threshold = np.asarray(runs.threshold)  # filled from lr when not given
    colors = [f"C{i % 10}" for i in range(runs.lr.shape[1])]
    for r, col in enumerate(colors):
        lr = float(runs.lr[width_index, r, seed_index])
        label = f"η = {lr:.3g} (c = {runs.c[width_index, r, seed_index]:.2f}): {names[width_index, r, seed_index]}"
        ax_loss.semilogy(runs.steps, runs.loss[width_index, r, seed_index], color=col, lw=1.0, label=label)
        ax_s.plot(runs.sharpness_steps, runs.sharpness[width_index, r, seed_index], color=col, lw=1.2)
        ax_s.axhline(float(threshold[width_index, r, seed_index]), color=col, ls="--", lw=0.9)
    # log scale, so that every edge 2/η (often far above the sharpness of small-η runs) is in view
    shown = runs.sharpness[width_index, :, seed_index]
    shown = np.concatenate([shown[np.isfinite(shown) & (shown > 0)], threshold[width_index, :, seed_index]])
    ax_s.set_yscale("log")
    ax_s.set_ylim(float(shown.min()) / 1.25, float(shown.max()) * 1.25)
    ax_s.yaxis.set_major_locator(LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
    ax_s.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax_s.yaxis.set_minor_formatter(NullFormatter())
    spec = runs.spec
    ax_loss.set(xlabel="step", ylabel="training loss", title=f"{spec.activation} MLP {list(spec.widths)}, {spec.param}")
    ax_loss.legend(fontsize=8)
    ax_s.set(xlabel="step", ylabel="sharpness λ (top Hessian eigenvalue, log scale)",
             title=f"sharpness; dashed: {_edge_name(runs)} of the same colour")
    return fig


def plot_phase_diagram(runs: TrainingRuns, *, seed_index: int = 0,
                       criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA) -> Figure:
    """Regime of each run on the grid (c = lr * lambda_0, hidden width) for one seed."""
    codes = np.vectorize(_regimes.REGIME_CODES.get)(runs.regime(criteria))[:, :, seed_index]
    c = runs.c[:, :, seed_index]
    c_axis = runs.lr_axis if runs.lr_is_normalized else np.median(c, axis=0)
    fig = Figure(figsize=(7, 3.8), layout="constrained")
    ax = fig.subplots()
    cmap = ListedColormap([REGIME_COLORS[n] for n in _regimes.REGIMES])
    norm = BoundaryNorm(np.arange(len(_regimes.REGIMES) + 1) - 0.5, cmap.N)
    ax.pcolormesh(np.arange(len(c_axis) + 1) - 0.5, np.arange(len(runs.width) + 1) - 0.5, codes, cmap=cmap,
                  norm=norm, edgecolors="white", linewidth=0.5)
    ax.set_xticks(np.arange(len(c_axis)), [f"{v:.2g}" for v in c_axis], rotation=60, fontsize=8)
    ax.set_yticks(np.arange(len(runs.width)), [str(w) for w in runs.width])
    ax.set(xlabel="c = η λ₀" if runs.lr_is_normalized else "c = η λ₀ (median over widths)", ylabel="hidden width",
           title=f"regimes, {runs.spec.activation} MLP depth {runs.spec.depth}, {runs.spec.param}")
    present = sorted(set(codes.ravel().tolist()))
    ax.legend(handles=[Patch(color=REGIME_COLORS[_regimes.REGIMES[i]], label=_regimes.REGIMES[i]) for i in present],
              fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
