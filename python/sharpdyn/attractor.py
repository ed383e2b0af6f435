"""Periods of late-time series: which attractor did a run settle on?

:func:`detect_period` reads the period of the attractor off a recorded series (late-time
``lr * sharpness`` or loss of a training run, an orbit of a map): 1 for a fixed point
(convergence, or a slowly drifting state), 2, 4, ... for edge-of-stability cycles, 0 when no
period up to ``max_period`` fits (chaotic or quasi-periodic), -1 when the run diverged.

Real networks drift: at the edge of stability the sharpness cycles about ``2/lr`` while the loss
keeps falling and the cycle's centre moves slowly. A drifting period-``p`` series
``s_t = c_t + D(t)`` (``c`` exactly periodic, ``D`` smooth) has ``p``-step increments
``s_{t+p} - s_t = D(t+p) - D(t) ~ p D'(t)`` that change only slowly from one step to the next,
whereas for any other ``p`` they jump by the cycle's own amplitude. So with ``detrend=True``
(default) a period ``p`` is accepted when

    | (s_{t+1+p} - s_{t+1}) - (s_{t+p} - s_t) | <= rtol * scale     for every t of the window,

which is exact for a cycle plus a linear drift and tolerates curvature of the drift up to
``rtol * scale / p``. With ``detrend=False`` the plain test ``|s_{t+p} - s_t| <= rtol * scale``
is used. ``scale`` is the spread (max - min) of the window, floored at
``floor * max|s|`` so that a converged series (spread at rounding level) still reads as period 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .validation import positive_float, positive_int

__all__ = ["detect_period"]


def _as_series(series: Any) -> np.ndarray:
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
    series: Any,
    *,
    max_period: int = 64,
    rtol: float = 1e-3,
    window: int | None = None,
    detrend: bool = True,
    floor: float = 1e-9,
) -> np.ndarray:
    """Period of the attractor of each series (last axis is time).

    Parameters
    ----------
    series:
        Array ``(..., T)`` of samples one step apart (e.g. ``lr * sharpness`` of the last ``T``
        steps of a run). ``T >= 2 * max_period`` (or ``>= window``).
    max_period:
        Largest period looked for (>= 1).
    rtol:
        Tolerance relative to ``scale`` (see the module docstring): ``1e-3`` separates the
        cycles of real networks measured with ~1e-7 accurate eigensolvers, and is far below the
        splitting of a doubled cycle except very close to its doubling point.
    window:
        Number of last samples examined (default ``2 * max_period``; at least ``max_period + 2``).
    detrend:
        Accept a drifting cycle (increments that change by at most ``rtol * scale`` per step),
        see the module docstring; ``False`` asks for exact repetition.
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
    if not isinstance(detrend, (bool, np.bool_)):
        raise ValueError(f"detrend must be a bool, got {detrend!r}")
    W = 2 * mp if window is None else positive_int(window, "window")
    if W < mp + 2:
        raise ValueError(f"window must be >= max_period + 2 = {mp + 2}, got {W}")
    T = s.shape[-1]
    if T < W:
        raise ValueError(f"series has {T} samples along its last axis; max_period={mp} needs at least "
                         f"{W} (2 * max_period, or window)")
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
        dev = np.abs(np.diff(inc, axis=1)) if detrend else np.abs(inc)
        ok = np.all(dev <= thresh[todo, None], axis=1)
        idx = np.flatnonzero(todo)[ok]
        out[idx] = p
        todo[idx] = False
    out[bad] = -1
    return out.reshape(lead)
