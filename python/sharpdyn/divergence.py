"""When a run has diverged: every divergence rule of sharpdyn, in one place.

A run *diverges* at the first step whose state leaves its bound (or is not finite); it stops
there and reports ``diverged=True`` and ``diverged_at`` (that step; -1 when it never left).
Every bound is relative to the run's own initial state, so it is unit-free. Which quantity is
bounded depends on what the model exposes, hence four named rules:

=========================  ====================================================  ==============================
rule                       the run has diverged once                             used by
=========================  ====================================================  ==============================
:func:`output_bound`       ``|f - y| > 1e6 (|f_0 - y| + |y| + 1)``, or the NTK   :mod:`sharpdyn.uv`,
                           is not finite (UV function-space and parameter-space  :mod:`sharpdyn.momentum`,
                           GD); :func:`normalized_output_bound` is the same      :mod:`sharpdyn.scan`,
                           rule in the normalised map's ``(g, z)``               :mod:`sharpdyn.chaos` (UV)
:func:`cubic_bound`        ``|x| > max(1e6 (|x_0| + 1), 2 sqrt(1 + 1/|r|))``     :mod:`sharpdyn.chaos` and
                                                                                 :mod:`sharpdyn.scan` (cubic)
:func:`loss_bound`         ``L_t > divergence_factor * max(L_0, 1)`` or ``L_t``  :mod:`sharpdyn.torch` (``train``,
                           not finite (default factor 1e6)                       ``lyapunov_exponent``,
                                                                                 ``sweep``),
                                                                                 ``bifurcation.torch_bifurcation``
:func:`mlp_loss_bound`     ``L_t > divergence_factor * (L_0 + 1)`` or ``L_t``    :mod:`sharpdyn.mlp`,
                           not finite (default factor 1e12)                      ``bifurcation.mlp_bifurcation``
=========================  ====================================================  ==============================

The first two are evaluated inside the compiled kernels (``csrc/core/uv_model.hpp``,
``uv_normalized.hpp``, ``cubic_map.hpp``; the functions here mirror them for documentation and
tests); the last two bound the training loss. :func:`loss_bound` and :func:`mlp_loss_bound`
differ (``max(L_0, 1)`` against ``L_0 + 1``, and their default factors) for historical reasons;
changing either would move the reported ``diverged_at`` of runs near the bound, so both are kept
under distinct names.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CUBIC_DIVERGENCE_FACTOR",
    "LOSS_DIVERGENCE_FACTOR",
    "MLP_DIVERGENCE_FACTOR",
    "UV_DIVERGENCE_FACTOR",
    "cubic_bound",
    "loss_bound",
    "loss_diverged",
    "mlp_loss_bound",
    "normalized_output_bound",
    "output_bound",
]

UV_DIVERGENCE_FACTOR = 1e6
"""Factor of :func:`output_bound` (``kDivergenceFactor`` in ``csrc/core/uv_model.hpp``)."""
CUBIC_DIVERGENCE_FACTOR = 1e6
"""Factor of :func:`cubic_bound` (``csrc/core/cubic_map.hpp``)."""
LOSS_DIVERGENCE_FACTOR = 1e6
"""Default ``divergence_factor`` of :func:`loss_bound` (the torch layer)."""
MLP_DIVERGENCE_FACTOR = 1e12
"""Default ``divergence_factor`` of :func:`mlp_loss_bound` (the compiled MLP trainer)."""


def output_bound(f0: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    """Bound on ``|f - y|`` of a UV-model run from ``f0`` towards the target ``y``:
    ``1e6 (|f0 - y| + |y| + 1)`` (the run has also diverged once its NTK is not finite)."""
    f0a, ya = np.asarray(f0, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return UV_DIVERGENCE_FACTOR * (np.abs(f0a - ya) + np.abs(ya) + 1.0)


def normalized_output_bound(g0: ArrayLike, Y: ArrayLike) -> NDArray[np.float64]:
    """:func:`output_bound` in the normalised coordinates of :func:`sharpdyn.uv.normalized_map`:
    bound on ``|g|``, ``1e6 (|g0| + |Y| + 1)``."""
    g0a, Ya = np.asarray(g0, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    return UV_DIVERGENCE_FACTOR * (np.abs(g0a) + np.abs(Ya) + 1.0)


def cubic_bound(x0: ArrayLike, r: ArrayLike) -> NDArray[np.float64]:
    """Bound on ``|x|`` of a cubic-map orbit from ``x0`` at parameter ``r``:
    ``max(1e6 (|x0| + 1), 2 sqrt(1 + 1/|r|))`` (infinite at ``r = 0``). At least twice the
    escape radius, so an orbit that crosses it never comes back."""
    x0a, ra = np.asarray(x0, dtype=np.float64), np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore"):
        escape = np.where(ra == 0.0, np.inf, 2.0 * np.sqrt(1.0 + 1.0 / np.abs(ra)))
    return np.maximum(CUBIC_DIVERGENCE_FACTOR * (np.abs(x0a) + 1.0), escape)


def loss_bound(loss0: float, divergence_factor: float = LOSS_DIVERGENCE_FACTOR) -> float:
    """Bound on the training loss of a torch-layer run whose initial loss is ``loss0``:
    ``divergence_factor * max(loss0, 1)`` (a non-finite ``loss0`` gives a non-finite bound;
    the run has diverged at step 0 anyway, see :func:`loss_diverged`)."""
    return divergence_factor * max(loss0, 1.0)


def mlp_loss_bound(loss0: float, divergence_factor: float = MLP_DIVERGENCE_FACTOR) -> float:
    """Bound on the training loss of a compiled-MLP run (:func:`sharpdyn.mlp.train`,
    evaluated in ``csrc/core/mlp.cpp``): ``divergence_factor * (loss0 + 1)``."""
    return divergence_factor * (loss0 + 1.0)


def loss_diverged(loss: float, bound: float) -> bool:
    """Whether a loss value is out of bounds: not finite, or above ``bound``."""
    return not math.isfinite(loss) or loss > bound
