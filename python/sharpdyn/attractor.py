"""Periods of late-time series: which attractor did a run settle on?

:func:`detect_period` reads the period of the attractor off a recorded series (late-time
``lr * sharpness`` or loss of a training run, an orbit of a map): 1 for a fixed point
(convergence, or a slowly drifting state), 2, 4, ... for edge-of-stability cycles, 0 when no
period up to ``max_period`` fits (chaotic or quasi-periodic), -1 when the run diverged.

Real networks drift: at the edge of stability the sharpness cycles about ``2/lr`` while the loss
keeps falling, the cycle's centre moves slowly and its amplitude grows or shrinks. Three tests of a
candidate period ``p`` are offered (``detrend``), each required for every ``t`` of the window:

- ``"none"`` (exact repetition): ``|s_{t+p} - s_t| <= rtol * scale``.
- ``"linear"`` (a cycle plus a drift common to all phases): the ``p``-step increments
  ``e_t = s_{t+p} - s_t`` of ``s_t = c_t + D(t)`` are ``~ p D'(t)`` and change slowly, so
  ``|e_{t+1} - e_t| <= rtol * scale``. Exact for a cycle plus a linear drift.
- ``"phase"`` (default; each phase of the cycle drifts on its own, e.g. a cycle whose centre
  *and* amplitude change slowly): ``|e_{t+p} - e_t| = |s_{t+2p} - 2 s_{t+p} + s_t| <= rtol * scale``.
  Exact for a cycle whose every phase drifts linearly; tolerates curvature of the drift up to
  ``rtol * scale / p^2``.

None of them accepts a divisor of the true period of a cycle (for an exact ``2p``-cycle the
``"phase"`` quantity at lag ``p`` is ``2 |s_t - s_{t+p}|``), nor any ``p`` for a chaotic orbit,
whose ``p``-step differences jump by the attractor's own size. A cycle that slowly decays onto a
fixed point (a multiplier near -1) reads as the cycle it still is within the window; use the
Lyapunov exponent or a longer run to tell it from a persistent one. ``scale`` is the spread
(max - min) of the window, floored at ``floor * max|s|`` so that a converged series (spread at
rounding level) still reads as period 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .validation import one_of, positive_float, positive_int

__all__ = ["detect_period"]


def _as_series(series: ArrayLike) -> np.ndarray:
    if hasattr(series, "detach") and hasattr(series, "cpu"):
        series = series.detach().cpu().numpy()
    if np.iscomplexobj(series) or np.iscomplexobj(np.asarray(series)):
        raise ValueError("series must be real, got complex values")
    try:
        arr = np.asarray(series, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"series must be numeric, got {type(series).__name__}") from exc
    if arr.ndim == 0:
        raise ValueError("series must have a time axis (last axis), got a scalar")
    return arr


def detect_period(
    series: ArrayLike,
    *,
    max_period: int = 64,
    rtol: float = 1e-3,
    window: int | None = None,
    detrend: bool | str = "phase",
    floor: float = 1e-9,
) -> np.ndarray:
    """Period of the attractor of each series (last axis is time).

    Parameters
    ----------
    series:
        Array ``(..., T)`` of samples one step apart (e.g. ``lr * sharpness`` of the last ``T``
        steps of a run). ``T >= 2 * max_period`` (``>= window`` if given).
    max_period:
        Largest period looked for (>= 1).
    rtol:
        Tolerance relative to ``scale`` (see the module docstring): ``1e-3`` separates the
        cycles of real networks measured with ~1e-7 accurate eigensolvers, and is far below the
        splitting of a doubled cycle except very close to its doubling point.
    window:
        Number of last samples examined (default ``min(T, 3 * max_period)``; at least
        ``max_period + 2``). With ``"phase"``, periods ``p > window / 3`` (fewer than ``p``
        second differences in the window) are tested with ``"linear"`` instead.
    detrend:
        ``"phase"`` (default), ``"linear"`` (or ``True``) or ``"none"`` (or ``False``): how a
        drifting cycle is accepted, see the module docstring.
    floor:
        ``scale = max(max - min, floor * max|s|)`` over the window.

    Returns
    -------
    int64 array of shape ``(...)`` (0-d for 1-D input): the smallest period ``p`` in
    ``1..max_period`` that fits, 0 when none does (chaotic / aperiodic / longer period), -1 when
    the series holds any non-finite entry (a diverged run).
    """
    s = _as_series(series)
    mp = positive_int(max_period, "max_period")
    tol = positive_float(rtol, "rtol")
    fl = float(floor)
    if not (np.isfinite(fl) and fl >= 0):
        raise ValueError(f"floor must be a finite number >= 0, got {floor!r}")
    if isinstance(detrend, (bool, np.bool_)):
        detrend = "linear" if detrend else "none"
    one_of(detrend, "detrend", ("none", "linear", "phase"))
    T = s.shape[-1]
    if window is None:
        if T < 2 * mp:
            raise ValueError(f"series has {T} samples along its last axis; max_period={mp} needs at least "
                             f"{2 * mp} (2 * max_period)")
        W = min(T, 3 * mp)
    else:
        W = positive_int(window, "window")
        if W < mp + 2:
            raise ValueError(f"window must be >= max_period + 2 = {mp + 2}, got {W}")
        if T < W:
            raise ValueError(f"series has {T} samples along its last axis, fewer than window={W}")
    lead = s.shape[:-1]
    flat = s.reshape(-1, T)
    bad = ~np.all(np.isfinite(flat), axis=1)
    w = np.where(bad[:, None], 0.0, flat[:, T - W:])
    spread = w.max(axis=1) - w.min(axis=1)
    scale = np.maximum(spread, fl * np.abs(w).max(axis=1))
    thresh = tol * scale
    out = np.zeros(flat.shape[0], dtype=np.int64)
    todo = ~bad
    for p in range(1, mp + 1):
        if not todo.any():
            break
        inc = w[todo, p:] - w[todo, :-p]
        if detrend == "phase" and W >= 3 * p:
            dev = np.abs(inc[:, p:] - inc[:, :-p])
        elif detrend == "linear":
            dev = np.abs(np.diff(inc, axis=1))
        else:
            dev = np.abs(inc)
        ok = np.all(dev <= thresh[todo, None], axis=1)
        idx = np.flatnonzero(todo)[ok]
        out[idx] = p
        todo[idx] = False
    out[bad] = -1
    return out.reshape(lead)
