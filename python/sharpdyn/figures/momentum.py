"""Figures of heavy-ball momentum in the minimal models (:mod:`sharpdyn.momentum`): the UV
model's ``(c, b)`` phase diagram with its boundaries, and the cubic map's doubling and escape
boundaries against ``b``."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .. import regimes as _regimes
from .scan import REGIME_COLORS


def _edges(v: np.ndarray) -> np.ndarray:
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def plot_momentum_phase(scan: Any, cubic: Any | None = None) -> Figure:
    """Left: regimes of a :func:`sharpdyn.momentum.phase_scan` over ``(c, b)`` (labels against
    the momentum threshold) with the linear edge ``c = (2 + 2b) lambda_0 / lambda_H`` (dashed)
    and ``c = 2`` (dotted, where a zero-velocity start first overshoots). Right (if ``cubic``, a
    :class:`~sharpdyn.momentum.CubicBoundaries`): the cubic map's first doubling (the edge of
    stability, ``lr lambda = 2 + 2b`` at the minimum), second doubling and escape, as
    ``lr lambda = 2 (r - 1)`` against ``b``."""
    from ..momentum import uv_boundaries

    fig = Figure(figsize=(12 if cubic is not None else 7, 4.2), layout="constrained")
    axes = fig.subplots(1, 2 if cubic is not None else 1, squeeze=False)[0]
    ax = axes[0]
    codes = np.vectorize(_regimes.REGIME_CODES.get)(scan.regime)
    cmap = ListedColormap([REGIME_COLORS[n] for n in _regimes.REGIMES])
    norm = BoundaryNorm(np.arange(len(_regimes.REGIMES) + 1) - 0.5, cmap.N)
    ax.pcolormesh(_edges(scan.c), _edges(scan.momentum), codes, cmap=cmap, norm=norm, shading="flat")
    bd = uv_boundaries(scan)
    ax.plot(bd.linear_edge, scan.momentum, "k--", lw=1.2, label="linear edge (2+2b)/η")
    ax.axvline(2.0, color="k", ls=":", lw=1.0, label="c = 2")
    ax.plot(bd.divergence, scan.momentum, "w-", lw=1.0, label="first divergence on the grid")
    present = sorted(set(codes.ravel().tolist()))
    handles = [Patch(color=REGIME_COLORS[_regimes.REGIMES[i]], label=_regimes.REGIMES[i]) for i in present]
    ax.legend(handles=handles + ax.get_legend_handles_labels()[0], fontsize=7, loc="upper right")
    ax.set(xlabel="c = η λ₀ (NTK at init)", ylabel="momentum b",
           title=f"UV model with heavy-ball momentum (width {scan.width}, y = {scan.y:g}, {scan.steps} steps)")
    if cubic is not None:
        ax2 = axes[1]
        b = cubic.momentum
        ax2.plot(b, 2 * (cubic.first_doubling - 1), "C0-", label="first doubling = EoS: 2 + 2b")
        ax2.plot(b, 2 * (cubic.second_doubling - 1), "C1-", label="second doubling")
        ax2.plot(b, 2 * (cubic.escape - 1), "C3-", label="escape (from next to the minimum)")
        ax2.plot(b, np.full_like(b, 2.0), "k:", lw=1.0, label="GD's edge, 2")
        ax2.set(xlabel="momentum b", ylabel="η λ at the minimum = 2 (r − 1)",
                title="cubic map with momentum: boundaries")
        ax2.legend(fontsize=8)
    return fig
