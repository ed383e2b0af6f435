"""Fit the UV model to the late-time edge-of-stability oscillation of a real network.

The UV model's normalised map (:func:`sharpdyn.uv.normalized_map`) has one parameter,
``Y = lr sqrt(kappa) y``; on its EoS manifold it is the cubic map with ``r = 1 + Y`` (period 2
for ``1 < Y < sqrt(5) - 1``, then 4, 8, ..., chaos from ``Y ~ 1.302``, escape beyond ``Y = 2``).
Its attractor, read in units of ``lr * sharpness`` (2 is the edge of stability), is compared with
a measured late-time series of ``lr * sharpness`` of a real network.

**How the fit works.** The model attractor for a given ``Y`` is the orbit of the normalised map
started on the EoS manifold next to its fixed point (cubic state ``x0 = 1.05 sqrt(1 - 1/r)``,
``(g, z) = sharpdyn.cubic.uv_from_cubic(x0, Y)``), after ``n_transient`` steps, ``n_keep`` samples of
``lr * lambda_H`` (:func:`sharpdyn.chaos.orbit_diagram` with ``observable="sharpness"``). Both
series are reduced (a measured periodic series first to its last whole cycles) to ``n_quantiles``
quantiles (``(i + 1/2) / n``, inverted-CDF, so a cycle's values are reproduced exactly) and the rms
difference of the quantiles is minimised over ``Y`` (a grid of ``n_grid`` values in ``Y_bounds``, then
a bounded Brent refinement around the best grid point). Matching distributions (not time series)
makes the fit blind to the phase of the oscillation and to which branch a cycle is on, and it
applies to chaotic attractors too.

Errors: ``rms_error`` is the rms quantile difference divided by the measured series' spread
(max - min; 0 when it is 0), so 0.1 means the model's values are off by a tenth of the
oscillation; ``rms_error_level`` divides by the measured mean instead (the error relative to
``lr * sharpness ~ 2`` itself).

:func:`fit_uv_bifurcation` fits a whole diagram with one slope: the UV model has ``Y``
proportional to the learning rate, ``Y = alpha * lr``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import chaos as _chaos
from . import cubic as _cubic
from .attractor import detect_period
from .uv import DivergenceWarning
from .validation import positive_int

__all__ = ["UVBifurcationFit", "UVFit", "fit_uv", "fit_uv_bifurcation", "uv_attractor"]


def uv_attractor(Y: ArrayLike, *, n_transient: int = 4000, n_keep: int = 256, x0_factor: float = 1.05) -> np.ndarray:
    """Late-time ``lr * sharpness`` of the UV model's normalised map for each ``Y``.

    Started on the EoS manifold at cubic state ``x0 = x0_factor * sqrt(1 - 1/(1 + Y))``; shape
    ``(len(Y), n_keep)`` (rows of ``Y`` that escape, e.g. ``Y > 2``, are NaN; no warning).
    ``Y`` must be > 0.
    """
    Yv = np.atleast_1d(np.asarray(Y, dtype=np.float64))
    if Yv.ndim != 1 or not np.all(np.isfinite(Yv)) or np.any(Yv <= 0):
        raise ValueError("Y must be a finite scalar or 1-D array of values > 0")
    x = x0_factor * _cubic.fixed_point(1.0 + Yv)
    g0, z0 = _cubic.uv_from_cubic(x, Yv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        d = _chaos.orbit_diagram("uv", Yv, x0=np.stack([g0, z0], axis=1), n_transient=n_transient,
                                 n_keep=n_keep, observable="sharpness", threads=1 if Yv.size <= 64 else None)
    out = np.array(d.states, dtype=np.float64)
    out[d.diverged_at >= 0] = np.nan
    return out


def _quantiles(x: np.ndarray, n: int) -> np.ndarray:
    """Quantiles at ``(i + 1/2)/n`` along the last axis (inverted CDF; NaN rows stay NaN)."""
    q = (np.arange(n) + 0.5) / n
    srt = np.sort(x, axis=-1)
    k = np.clip(np.ceil(q * x.shape[-1]).astype(int) - 1, 0, x.shape[-1] - 1)
    return srt[..., k]


def _series(values: Any, name: str, ndim: int) -> np.ndarray:
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        values = values.detach().cpu().numpy()
    if np.iscomplexobj(np.asarray(values)):
        raise ValueError(f"{name} must be real")
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if a.shape[-1] < 4:
        raise ValueError(f"{name} needs at least 4 samples along its last axis, got {a.shape[-1]}")
    return a


def _bounds(Y_bounds: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in Y_bounds)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Y_bounds must be a pair (low, high), got {Y_bounds!r}") from exc
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"Y_bounds must satisfy 0 < low < high (finite), got {Y_bounds!r}")
    return lo, hi


@dataclass(frozen=True)
class UVFit:
    """The UV model fitted to one measured late-time series of ``lr * sharpness``.

    Attributes
    ----------
    Y, r:
        Best-fit UV parameter and the cubic map's ``r = 1 + Y``.
    predicted:
        ``(n_keep,)`` the model attractor at ``Y`` (``lr * sharpness``).
    measured:
        The measured series that was fitted.
    rms_error, rms_error_level:
        Rms quantile difference relative to the measured spread / the measured mean.
    period_measured, period_model:
        :func:`~sharpdyn.attractor.detect_period` of each (0 aperiodic / chaotic).
    Y_grid, error_grid:
        The coarse search: candidate ``Y`` and their rms errors (relative to the spread).
    settings:
        The fit's options.
    """

    Y: float
    r: float
    predicted: np.ndarray
    measured: np.ndarray
    rms_error: float
    rms_error_level: float
    period_measured: int
    period_model: int
    Y_grid: np.ndarray
    error_grid: np.ndarray
    settings: dict


def _centred(q: np.ndarray, centre: bool) -> np.ndarray:
    return q - q.mean(axis=-1, keepdims=True) if centre else q


def _errors(measured_q: np.ndarray, model: np.ndarray, n_q: int, centre: bool = False) -> np.ndarray:
    """Rms quantile difference per model row (inf for diverged rows)."""
    mq = _centred(_quantiles(model, n_q), centre)
    err = np.sqrt(np.mean((mq - measured_q) ** 2, axis=-1))
    return np.where(np.isfinite(err), err, np.inf)


def _whole_cycles(m: np.ndarray, period: int) -> np.ndarray:
    """The last whole cycles of a periodic series (so every cycle value is counted equally)."""
    if period > 1:
        return m[m.size - (m.size // period) * period:]
    return m


def _max_period(n: int) -> int:
    return max(1, min(64, n // 2))


def fit_uv(
    eta_sharpness: ArrayLike,
    *,
    Y_bounds: tuple[float, float] = (1.0, 2.0),
    n_grid: int = 201,
    n_quantiles: int = 64,
    n_transient: int = 4000,
    n_keep: int = 256,
    rtol: float = 1e-3,
    centre: bool = False,
) -> UVFit:
    """Fit the UV model's ``Y`` to a measured late-time series of ``lr * sharpness``.

    Parameters
    ----------
    eta_sharpness:
        ``(W,)`` finite late-time ``lr * sharpness`` (one sample per step; ``W >= 4``).
    Y_bounds:
        Search interval of ``Y`` (default ``(1, 2)``: the edge-of-stability range from the first
        doubling to escape).
    n_grid, n_quantiles:
        Coarse grid size and number of compared quantiles.
    n_transient, n_keep:
        Model orbit: discarded steps and kept samples.
    rtol:
        Period detection tolerance (:func:`~sharpdyn.attractor.detect_period`).
    centre:
        Compare the attractors about their own means (fit the shape and amplitude of the
        oscillation only, not its level: real networks' cycles often sit above ``2``, while the
        UV model's 2-cycle is pinned about it).

    Returns
    -------
    :class:`UVFit`.
    """
    from scipy.optimize import minimize_scalar

    m = _series(eta_sharpness, "eta_sharpness", 1)
    if not np.all(np.isfinite(m)):
        raise ValueError("eta_sharpness must be finite (cut a diverged run first)")
    lo, hi = _bounds(Y_bounds)
    per_m = int(detect_period(m, max_period=_max_period(m.size), rtol=rtol))
    m = _whole_cycles(m, per_m)
    n_grid = positive_int(n_grid, "n_grid")
    n_q = positive_int(n_quantiles, "n_quantiles")
    n_transient = positive_int(n_transient, "n_transient")
    n_keep = positive_int(n_keep, "n_keep")
    if not isinstance(centre, (bool, np.bool_)):
        raise ValueError(f"centre must be a bool, got {centre!r}")
    mq = _centred(_quantiles(m, n_q), centre)
    spread = float(m.max() - m.min())
    level = float(np.mean(np.abs(m)))
    grid = np.linspace(lo, hi, max(n_grid, 2))
    err = _errors(mq, uv_attractor(grid, n_transient=n_transient, n_keep=n_keep), n_q, centre)
    k = int(np.argmin(err))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]

    def objective(y: float) -> float:
        return float(_errors(mq, uv_attractor([y], n_transient=n_transient, n_keep=n_keep), n_q, centre)[0])

    best_Y, best_err = float(grid[k]), float(err[k])
    if b > a:
        res = minimize_scalar(objective, bounds=(a, b), method="bounded", options={"xatol": 1e-7 * max(1.0, hi)})
        if res.fun < best_err:
            best_Y, best_err = float(res.x), float(res.fun)
    pred = uv_attractor([best_Y], n_transient=n_transient, n_keep=n_keep)[0]
    return UVFit(
        Y=best_Y, r=1.0 + best_Y, predicted=pred, measured=m,
        rms_error=best_err / spread if spread > 0 else (0.0 if best_err == 0 else float("inf")),
        rms_error_level=best_err / level if level > 0 else float("inf"),
        period_measured=per_m,
        period_model=int(detect_period(pred, max_period=_max_period(pred.size), rtol=rtol))
        if np.all(np.isfinite(pred)) else -1,
        Y_grid=grid, error_grid=err / spread if spread > 0 else err,
        settings={"Y_bounds": (lo, hi), "n_grid": n_grid, "n_quantiles": n_q, "n_transient": n_transient,
                  "n_keep": n_keep, "rtol": rtol, "centre": bool(centre)},
    )


@dataclass(frozen=True)
class UVBifurcationFit:
    """The UV model with ``Y = alpha * lr`` fitted to a bifurcation diagram.

    Attributes
    ----------
    lr:
        ``(L,)`` learning rates.
    alpha:
        The fitted slope (``Y = alpha * lr``; for the UV model itself ``alpha = sqrt(kappa) y``).
    Y:
        ``(L,)`` ``alpha * lr``.
    Y_single:
        ``(L,)`` the per-run fits of :func:`fit_uv` (NaN for runs not used).
    used:
        ``(L,)`` runs at the edge of stability that entered the fit: not diverged and period
        ``>= 2`` or aperiodic (0).
    period_measured, period_model:
        ``(L,)`` detected periods of the measured rows and of the model at ``Y`` (-1 diverged).
    predicted:
        ``(L, n_keep)`` the model attractor at ``Y`` (``lr * sharpness``; NaN where it escapes).
    rms_error:
        ``(L,)`` per-run rms quantile error relative to the measured spread (NaN where not used).
    rms_error_level:
        ``(L,)`` the same error relative to the measured mean (i.e. to ``lr * sharpness ~ 2``).
    rms_error_mean:
        The mean of ``rms_error`` over the used runs.
    settings:
        The fit's options.
    """

    lr: np.ndarray
    alpha: float
    Y: np.ndarray
    Y_single: np.ndarray
    used: np.ndarray
    period_measured: np.ndarray
    period_model: np.ndarray
    predicted: np.ndarray
    rms_error: np.ndarray
    rms_error_level: np.ndarray
    rms_error_mean: float
    settings: dict


def fit_uv_bifurcation(
    lr: ArrayLike,
    eta_sharpness: ArrayLike,
    *,
    Y_bounds: tuple[float, float] = (1.0, 2.0),
    n_grid: int = 201,
    n_alpha: int = 201,
    n_quantiles: int = 64,
    n_transient: int = 4000,
    n_keep: int = 256,
    rtol: float = 1e-3,
    centre: bool = False,
) -> UVBifurcationFit:
    """Fit ``Y = alpha * lr`` to a diagram of late-time ``lr * sharpness``.

    ``centre=True`` fits the oscillations about their own means (see :func:`fit_uv`).
    Every run at the edge of stability (finite, detected period ``>= 2`` or 0) is first fitted on
    its own (:func:`fit_uv`); ``alpha`` is then the minimiser of the summed squared rms quantile
    errors over those runs, searched on ``n_alpha`` values spanning the per-run ratios
    ``Y_single / lr`` and refined by bounded Brent. Needs at least one such run.

    Parameters
    ----------
    lr:
        ``(L,)`` learning rates (> 0).
    eta_sharpness:
        ``(L, W)`` late-time ``lr * sharpness`` (rows with non-finite entries are diverged runs).
    Other options as in :func:`fit_uv`.
    """
    from scipy.optimize import minimize_scalar

    eta = np.asarray(lr, dtype=np.float64) if not hasattr(lr, "detach") else lr.detach().cpu().numpy()
    if eta.ndim != 1 or eta.size == 0 or not np.all(np.isfinite(eta)) or np.any(eta <= 0):
        raise ValueError("lr must be a non-empty 1-D array of finite values > 0")
    S = _series(eta_sharpness, "eta_sharpness", 2)
    if S.shape[0] != eta.size:
        raise ValueError(f"eta_sharpness must have {eta.size} rows (one per lr), got shape {S.shape}")
    n_alpha = positive_int(n_alpha, "n_alpha")
    n_q = positive_int(n_quantiles, "n_quantiles")
    lo, hi = _bounds(Y_bounds)
    W = S.shape[1]
    per = detect_period(S, max_period=_max_period(W), rtol=rtol)
    used = (per >= 2) | (per == 0)
    if not used.any():
        raise ValueError("eta_sharpness: no run is at the edge of stability (period >= 2 or aperiodic, finite)")
    Y_single = np.full(eta.size, np.nan)
    opts = dict(Y_bounds=(lo, hi), n_grid=n_grid, n_quantiles=n_q, n_transient=n_transient, n_keep=n_keep,
                rtol=rtol, centre=centre)
    for i in np.flatnonzero(used):
        Y_single[i] = fit_uv(S[i], Y_bounds=(lo, hi), n_grid=n_grid, n_quantiles=n_q, n_transient=n_transient,
                             n_keep=n_keep, rtol=rtol, centre=centre).Y
    idx = np.flatnonzero(used)
    mq = _centred(np.stack([_quantiles(_whole_cycles(S[i], int(per[i])), n_q) for i in idx]), centre)
    spread = S[idx].max(axis=1) - S[idx].min(axis=1)
    spread = np.where(spread > 0, spread, 1.0)

    def total(alpha: float) -> float:
        model = uv_attractor(alpha * eta[idx], n_transient=n_transient, n_keep=n_keep)
        e = np.sqrt(np.mean((_centred(_quantiles(model, n_q), centre) - mq) ** 2, axis=-1)) / spread
        e = np.where(np.isfinite(e), e, 1e6)
        return float(np.sum(e ** 2))

    ratios = Y_single[idx] / eta[idx]
    a_lo, a_hi = float(ratios.min()), float(ratios.max())
    if a_hi - a_lo < 1e-12 * a_hi:
        a_lo, a_hi = a_lo * (1 - 1e-3), a_hi * (1 + 1e-3)
    grid = np.linspace(a_lo, a_hi, n_alpha)
    vals = np.array([total(a) for a in grid])
    k = int(np.argmin(vals))
    alpha, best = float(grid[k]), float(vals[k])
    res = minimize_scalar(total, bounds=(grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]), method="bounded",
                          options={"xatol": 1e-9 * a_hi})
    if res.fun < best:
        alpha = float(res.x)
    Yfit = alpha * eta
    pred = uv_attractor(Yfit, n_transient=n_transient, n_keep=n_keep)
    model_per = np.where(np.all(np.isfinite(pred), axis=1),
                         detect_period(np.nan_to_num(pred), max_period=_max_period(n_keep), rtol=rtol), -1)
    err = np.full(eta.size, np.nan)
    err_level = np.full(eta.size, np.nan)
    rms = np.sqrt(np.mean((_centred(_quantiles(pred[idx], n_q), centre) - mq) ** 2, axis=-1))
    err[idx] = rms / spread
    err_level[idx] = rms / np.mean(np.abs(S[idx]), axis=1)
    return UVBifurcationFit(
        lr=eta, alpha=alpha, Y=Yfit, Y_single=Y_single, used=used, period_measured=per,
        period_model=model_per.astype(np.int64), predicted=pred, rms_error=err, rms_error_level=err_level,
        rms_error_mean=float(np.nanmean(err[idx])),
        settings=dict(opts, n_alpha=n_alpha),
    )
