"""Route to chaos: orbit diagrams, periods, Lyapunov exponents and period-doubling points of the
cubic map and of the UV model's normalised map (compiled kernels, OpenMP over parameters).

Systems, by name:

- ``"cubic"``: ``x' = r x (1 - x^2)``, parameter ``r`` (:mod:`sharpdyn.cubic` derives it from GD
  on ``(a theta^2 - b)^2 / 2``; ``r = 1 + lr*lambda/2`` at the minimum).
- ``"uv"``: ``g' = g (1 - z + g (g + Y))``, ``z' = z + g (z g - 4 (g + Y))``, parameter
  ``Y = lr sqrt(kappa) y`` (:mod:`sharpdyn.uv`); state ``(g, z)`` with ``z = lr * ntk``.

Every call takes explicit initial conditions, an explicit transient and an explicit number of
kept or averaged steps, in the shape of ChaosTools.jl's ``orbitdiagram`` / ``lyapunovspectrum``.
Nothing carries over between parameter values unless ``continuation=True`` is asked for.
Results do not depend on the thread count. Divergence (an orbit leaving
``|x| <= max(1e6 (|x0| + 1), 2 sqrt(1 + 1/|r|))`` for the cubic map, ``|g| <= 1e6 (|g0| + |Y| + 1)``
or a non-finite ``z`` for the UV map; :mod:`sharpdyn.divergence`) is reported as ``diverged_at``
(the first step out of bounds, else -1) with a :class:`~sharpdyn.uv.DivergenceWarning`; data from
that step on are NaN.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from . import cubic as _cubic
from . import parameterization as _param
from .simd import isa_arg
from .uv import DivergenceWarning
from .validation import (
    as_float_array,
    check_allocation,
    finite_float,
    nonnegative_int,
    one_of,
    positive_array,
    positive_float,
    positive_int,
    product,
    threads_arg,
)

__all__ = [
    "FEIGENBAUM_DELTA",
    "OBSERVABLES",
    "SYSTEMS",
    "CubicCorrespondence",
    "DoublingPoints",
    "LyapunovSpectrum",
    "OrbitDiagram",
    "cycle_multipliers",
    "doubling_points",
    "lyapunov",
    "lyapunov_spectrum",
    "orbit_diagram",
    "period",
    "uv_cubic_correspondence",
    "uv_orbit_diagram",
]

FEIGENBAUM_DELTA = 4.669201609102990671853203820466
"""Feigenbaum's first constant (for reference and tests; nothing here uses it as input)."""

SYSTEMS = ("cubic", "uv")
STATE_DIM = {"cubic": 1, "uv": 2}

# Observable name -> code of csrc/core/orbit_kernels.hpp, per system.
OBSERVABLES: dict[str, dict[str, int]] = {
    "cubic": {"state": 0, "x": 0, "sharpness": 1, "loss": 2},
    "uv": {"state": 0, "sharpness": 1, "loss": 2, "ntk": 3, "z": 3},
}

# Max doubling points the solver resolves in double precision (see doubling_points).
_MAX_DOUBLING_COUNT = 19


# ----------------------------------------------------------------------------- validation


def _system(system: Any) -> str:
    return one_of(system, "system", SYSTEMS)


def _params(params: ArrayLike, name: str = "params") -> np.ndarray:
    p = as_float_array(params, name)
    if p.ndim == 0:
        p = p.reshape(1)
    if p.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of parameter values, got shape {p.shape}")
    return np.ascontiguousarray(p, dtype=np.float64)


def _initial(system: str, x0: ArrayLike, count: int) -> tuple[np.ndarray, ...]:
    """Per-parameter initial conditions: cubic -> (x0,), uv -> (g0, z0)."""
    x = as_float_array(x0, "x0")
    dim = STATE_DIM[system]
    if dim == 1:
        if x.ndim > 1 or (x.ndim == 1 and x.shape[0] != count):
            raise ValueError(f"x0 must be a scalar or have shape ({count},), got {x.shape}")
        return (np.ascontiguousarray(np.broadcast_to(x, (count,)), dtype=np.float64),)
    if x.shape not in ((2,), (count, 2)):
        raise ValueError(f"x0 for the uv system must be (g0, z0) or have shape ({count}, 2), got {x.shape}")
    x = np.broadcast_to(x, (count, 2))
    return tuple(np.ascontiguousarray(x[:, i], dtype=np.float64) for i in range(2))


def _warn_divergence(at: np.ndarray, what: str) -> None:
    n = int(np.count_nonzero(at >= 0))
    if n:
        warnings.warn(f"{n} of {at.size} {what} diverged (see diverged_at; their data are NaN)",
                      DivergenceWarning, stacklevel=3)


# ----------------------------------------------------------------------------- orbit diagrams


@dataclass(frozen=True)
class OrbitDiagram:
    """Late-time states of a map for each parameter value.

    Attributes
    ----------
    system, observable:
        The map (``"cubic"``, ``"uv"``, or ``"uv_lr"`` for :func:`uv_orbit_diagram`) and what
        was recorded.
    params:
        Parameter values, shape ``(P,)`` (``r``, ``Y`` or the learning rate).
    states:
        Shape ``(P, n_keep)``, or ``(P, n_keep, 2)`` for the UV state ``(g, z)``; ``states[i, k]``
        is the observable after ``n_transient + k`` steps. NaN after a divergence.
    diverged_at:
        Shape ``(P,)``: first step out of bounds, -1 if none.
    x0:
        The initial conditions used, shape ``(P,)`` or ``(P, 2)``.
    n_transient, n_keep, continuation:
        How the orbits were run.
    """

    system: str
    observable: str
    params: np.ndarray
    states: np.ndarray
    diverged_at: np.ndarray
    x0: np.ndarray
    n_transient: int
    n_keep: int
    continuation: bool = False

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0

    def points(self, component: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Flattened finite ``(param, value)`` pairs for plotting (``component`` selects g or z
        of a UV state)."""
        values = self.states if self.states.ndim == 2 else self.states[..., component]
        p = np.broadcast_to(self.params[:, None], values.shape)
        ok = np.isfinite(values)
        return p[ok], values[ok]

    def density(self, bins: tuple[int, int] = (800, 600), value_range: tuple[float, float] | None = None,
                component: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """2-D histogram of the diagram: ``(counts (n_param_bins, n_value_bins), param_edges,
        value_edges)``; each parameter column normalised to sum 1 over its finite points."""
        p, v = self.points(component)
        prange = (float(self.params.min()), float(self.params.max()))
        if prange[0] == prange[1]:
            prange = (prange[0] - 0.5, prange[1] + 0.5)
        if value_range is None:
            value_range = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
            if value_range[0] == value_range[1]:
                value_range = (value_range[0] - 0.5, value_range[1] + 0.5)
        h, pe, ve = np.histogram2d(p, v, bins=bins, range=(prange, value_range))
        col = h.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            h = np.where(col > 0, h / np.where(col > 0, col, 1.0), 0.0)
        return h, pe, ve

    def save(self, path: str | Path) -> Path:
        """Write every array and setting to a ``.npz`` file."""
        path = Path(path)
        np.savez_compressed(path, system=self.system, observable=self.observable, params=self.params,
                            states=self.states, diverged_at=self.diverged_at, x0=self.x0,
                            n_transient=self.n_transient, n_keep=self.n_keep, continuation=self.continuation)
        return path


def check_orbit_diagram_size(system: str, n_params: int, n_keep: int, *, observable: str = "state") -> None:
    """Refuse (``ValueError`` naming ``n_keep``) an orbit diagram whose ``n_params x n_keep``
    kept states would not fit in memory (see :func:`sharpdyn.validation.check_allocation`;
    override with ``SHARPDYN_MAX_BYTES``). Cheap: the command line calls it before writing."""
    system = _system(system)
    per_state = 2 if (system == "uv" and observable == "state") else 1
    nbytes = 8 * product(n_params, n_keep, per_state) + 64 * int(n_params)
    check_allocation(nbytes, "n_keep", hint=f"{n_params:,} parameters x {n_keep:,} kept states; keep fewer "
                                            "states or split params over several calls")


def orbit_diagram(
    system: str,
    params: ArrayLike,
    *,
    x0: ArrayLike,
    n_transient: int,
    n_keep: int,
    observable: str = "state",
    continuation: bool = False,
    threads: int | None = None,
    isa: str = "auto",
) -> OrbitDiagram:
    """Orbit (bifurcation) diagram: for each parameter, iterate from ``x0``, discard
    ``n_transient`` steps and keep the next ``n_keep`` states of ``observable``.

    Parameters
    ----------
    system:
        ``"cubic"`` (parameter ``r``) or ``"uv"`` (parameter ``Y``).
    params:
        1-D array of parameter values (any order; finite, non-empty).
    x0:
        Initial condition: cubic ``x0`` scalar or ``(P,)``; uv ``(g0, z0)`` or ``(P, 2)``.
    n_transient:
        Steps discarded first (>= 0).
    n_keep:
        States recorded (> 0): the states after ``n_transient, ..., n_transient + n_keep - 1`` steps.
    observable:
        cubic: ``"state"``/``"x"``, ``"sharpness"`` (``3 r x^2 - (r - 1)``, the normalised
        curvature ``lr L''``), ``"loss"`` (``(r x^2 - r + 1)^2 / 2``); uv: ``"state"`` (``(g, z)``),
        ``"sharpness"`` (``lr * lambda_H``), ``"loss"`` (``g^2/2 = lr^2 kappa L``), ``"ntk"``
        (``z``).
    continuation:
        Run parameters in the given order, each starting from the previous one's last state
        (``x0`` only for the first one and after a divergence). Serial.
    threads:
        OpenMP threads (None: default). Results do not depend on it.
    isa:
        SIMD path, one of :data:`sharpdyn.simd.ISAS` (``"auto"``: the widest this CPU has).
        Results do not depend on it.

    Notes
    -----
    The kernel is SIMD across parameters (blocks of 64) and OpenMP across blocks; see
    ``csrc/core/orbit_kernels.hpp``. Algorithm as ChaosTools.jl's ``orbitdiagram``.
    """
    system = _system(system)
    obs = one_of(observable, "observable", tuple(OBSERVABLES[system]))
    p = _params(params)
    T = nonnegative_int(n_transient, "n_transient")
    K = positive_int(n_keep, "n_keep")
    if not isinstance(continuation, (bool, np.bool_)):
        raise ValueError(f"continuation must be a bool, got {continuation!r}")
    init = _initial(system, x0, p.size)
    nt = threads_arg(threads)
    isa = isa_arg(isa)
    code = OBSERVABLES[system][obs]
    check_orbit_diagram_size(system, p.size, K, observable=obs)
    if system == "cubic":
        states, at = _core.cubic_orbits(p, init[0], T, K, code, bool(continuation), nt, isa)
        x0_used = init[0]
    else:
        states, at = _core.uv_orbits(p, init[0], init[1], T, K, code, bool(continuation), nt, isa)
        if states.shape[-1] == 1:
            states = states[..., 0]
        x0_used = np.stack(init, axis=1)
    _warn_divergence(at, "orbits")
    return OrbitDiagram(system=system, observable=obs, params=p, states=states, diverged_at=at, x0=x0_used,
                        n_transient=T, n_keep=K, continuation=bool(continuation))


def uv_orbit_diagram(
    lr: ArrayLike,
    *,
    width: float,
    f0: float,
    ntk0: float,
    n_transient: int,
    n_keep: int,
    y: float = 1.0,
    x: float = 1.0,
    param: _param.Param = "sp",
    observable: str = "sharpness",
    threads: int | None = None,
    isa: str = "auto",
) -> OrbitDiagram:
    """Orbit diagram of the finite-width UV model against the learning rate.

    Every run starts from the same physical ``(f0, ntk0)``; with ``kappa = gamma^2 x^2`` it is
    iterated in normalised variables ``g = lr sqrt(kappa)(f - y)``, ``z = lr ntk``,
    ``Y = lr sqrt(kappa) y``. Recorded per kept step:

    - ``observable="sharpness"``: ``lr * lambda_H`` (dimensionless; 2 is the edge of stability),
    - ``observable="loss"``: the physical loss ``(f - y)^2 / 2``,
    - ``observable="ntk"``: ``lr * ntk``.

    On the EoS manifold ``r = 1 + Y``: doublings at ``Y = r_k - 1`` (``Y = 1``, ``sqrt(5) - 1``,
    ...), i.e. ``lr = (r_k - 1) / (sqrt(kappa) y)``, and escape beyond ``Y = 2``.
    ``params`` of the result are the learning rates. ``threads`` and ``isa`` as in
    :func:`orbit_diagram`.
    """
    eta = _params(lr, "lr")
    positive_array(eta, "lr")
    n = positive_float(width, "width")
    yv = positive_float(y, "y")
    xv = positive_float(x, "x")
    f = finite_float(f0, "f0")
    lam = finite_float(ntk0, "ntk0")
    if lam < 0:
        raise ValueError("ntk0 must be >= 0")
    obs = one_of(observable, "observable", ("sharpness", "loss", "ntk"))
    sk = float(np.sqrt(_param.kappa(n, xv * xv, _param.exponent(param))))
    Y = eta * sk * yv
    g0 = eta * sk * (f - yv)
    z0 = eta * lam
    with warnings.catch_warnings():  # re-issued below, pointing at the caller
        warnings.simplefilter("ignore", DivergenceWarning)
        d = orbit_diagram("uv", Y, x0=np.stack([g0, z0], axis=1), n_transient=n_transient, n_keep=n_keep,
                          observable=obs, threads=threads, isa=isa)
    _warn_divergence(d.diverged_at, "runs")
    states = d.states
    if obs == "loss":
        states = states / (eta[:, None] ** 2 * sk * sk)
    return OrbitDiagram(system="uv_lr", observable=obs, params=eta, states=states, diverged_at=d.diverged_at,
                        x0=np.stack([np.full_like(eta, f), np.full_like(eta, lam)], axis=1),
                        n_transient=d.n_transient, n_keep=d.n_keep)


# ----------------------------------------------------------------------------- periods


def period(
    system: str,
    params: ArrayLike,
    *,
    x0: ArrayLike,
    n_transient: int,
    max_period: int = 1024,
    tol: float = 1e-7,
    threads: int | None = None,
) -> np.ndarray:
    """Period of the attractor reached from ``x0`` after ``n_transient`` steps, per parameter.

    The smallest ``p <= max_period`` with ``|s[t+p] - s[t]| <= tol * max(1, |s[t]|)`` for all of
    the next ``max_period`` states ``t`` (every component); 0 when there is none (chaotic or
    aperiodic, period above ``max_period``, or not converged to ``tol`` yet: near a doubling
    point convergence is slow, so give a long transient); -1 if the orbit diverged.

    ``tol=1e-7``: well above the rounding noise of a converged cycle (~1e-15) and below the
    splitting of a freshly doubled cycle except within ~1e-14 of the doubling parameter.
    Returns an int64 array of shape ``(P,)``.
    """
    system = _system(system)
    p = _params(params)
    T = nonnegative_int(n_transient, "n_transient")
    mp = positive_int(max_period, "max_period")
    if mp > 1 << 20:
        raise ValueError(f"max_period must be <= 2**20, got {mp}")
    tol = positive_float(tol, "tol")
    init = _initial(system, x0, p.size)
    nt = threads_arg(threads)
    if system == "cubic":
        return _core.cubic_periods(p, init[0], T, mp, tol, nt)
    return _core.uv_periods(p, init[0], init[1], T, mp, tol, nt)


# ----------------------------------------------------------------------------- Lyapunov


@dataclass(frozen=True)
class LyapunovSpectrum:
    """Lyapunov exponents per parameter.

    ``exponents`` has shape ``(P, dim)``, largest first (natural log per step); NaN where the
    orbit diverged (``diverged_at >= 0``).
    """

    system: str
    params: np.ndarray
    exponents: np.ndarray
    diverged_at: np.ndarray
    x0: np.ndarray
    n_transient: int
    n_steps: int

    @property
    def max(self) -> np.ndarray:
        """Largest exponent, shape ``(P,)``."""
        return self.exponents[:, 0]


def lyapunov_spectrum(
    system: str,
    params: ArrayLike,
    *,
    x0: ArrayLike,
    n_transient: int,
    n_steps: int,
    threads: int | None = None,
    isa: str = "auto",
) -> LyapunovSpectrum:
    """Lyapunov spectrum from exact Jacobians, averaged over ``n_steps`` after ``n_transient``.

    1-D (cubic): ``lambda = mean log|f'(x_t)|``. 2-D (uv): the QR (Gram-Schmidt) method
    (Benettin et al. 1980; Eckmann & Ruelle 1985): ``J_t Q_t = Q_{t+1} R_t``, exponents the
    means of ``log R_ii``; their sum equals ``mean log|det J_t|``. A superstable orbit gives
    ``-inf`` (``f' = 0`` exactly on it).

    ``isa`` is the SIMD path of the cubic kernel, one of :data:`sharpdyn.simd.ISAS` (validated
    for both systems; the uv kernel has one scalar path). Results do not depend on it.
    """
    system = _system(system)
    p = _params(params)
    T = nonnegative_int(n_transient, "n_transient")
    N = positive_int(n_steps, "n_steps")
    init = _initial(system, x0, p.size)
    nt = threads_arg(threads)
    isa = isa_arg(isa)
    if system == "cubic":
        lam, at = _core.cubic_lyapunov(p, init[0], T, N, nt, isa)
        exps, x0_used = lam[:, None], init[0]
    else:
        exps, at = _core.uv_lyapunov_spectrum(p, init[0], init[1], T, N, nt)
        x0_used = np.stack(init, axis=1)
    _warn_divergence(at, "orbits")
    return LyapunovSpectrum(system=system, params=p, exponents=exps, diverged_at=at, x0=x0_used,
                            n_transient=T, n_steps=N)


def lyapunov(
    system: str,
    params: ArrayLike,
    *,
    x0: ArrayLike,
    n_transient: int,
    n_steps: int,
    threads: int | None = None,
    isa: str = "auto",
) -> np.ndarray:
    """Largest Lyapunov exponent per parameter, shape ``(P,)`` (NaN where diverged, with a
    warning); see :func:`lyapunov_spectrum`."""
    return lyapunov_spectrum(system, params, x0=x0, n_transient=n_transient, n_steps=n_steps, threads=threads,
                             isa=isa).max


# ----------------------------------------------------------------------------- cycles and doublings


def cycle_multipliers(
    system: str,
    params: ArrayLike,
    *,
    cycle_period: int,
    x0: ArrayLike,
    n_transient: int,
) -> np.ndarray:
    """Multiplier(s) of the period-``cycle_period`` cycle near the attractor reached from ``x0``.

    cubic: the attractor point after ``n_transient`` steps is polished by Newton's method on
    ``f^p(x) = x``; returns the product of ``f'`` around the cycle, shape ``(P,)`` (NaN where
    Newton did not converge). uv: the eigenvalues of the product of the 2x2 Jacobians around
    ``p`` steps from the attractor point, shape ``(P, 2)`` complex, largest modulus first.
    """
    system = _system(system)
    p = _params(params)
    cp = positive_int(cycle_period, "cycle_period")
    T = nonnegative_int(n_transient, "n_transient")
    d = orbit_diagram(system, p, x0=x0, n_transient=T, n_keep=1)
    if system == "cubic":
        out = np.full(p.size, np.nan)
        for i, (r, xs) in enumerate(zip(p, d.states[:, 0])):
            if np.isfinite(xs):
                x, m, _, ok = _core.cubic_find_cycle(float(r), float(xs), cp)
                out[i] = m if ok else np.nan
        return out
    out = np.full((p.size, 2), np.nan, dtype=np.complex128)
    for i, (Y, s) in enumerate(zip(p, d.states[:, 0, :])):
        if np.all(np.isfinite(s)):
            _, _, J = _core.uv_product_jacobian(float(s[0]), float(s[1]), float(Y), cp)
            ev = np.linalg.eigvals(J)
            out[i] = ev[np.argsort(-np.abs(ev), kind="stable")]
    return out


@dataclass(frozen=True)
class DoublingPoints:
    """Period-doubling points and the Feigenbaum estimates built from them.

    Attributes
    ----------
    system:
        ``"cubic"`` (parameter ``r``) or ``"uv"`` (parameter ``Y = r - 1``).
    params:
        Shape ``(count,)``: ``params[k-1]`` is where the period-``2^(k-1)`` cycle loses
        stability to period ``2^k``.
    periods:
        ``2^(k-1)``, shape ``(count,)``.
    uncertainty:
        Estimated absolute error of each point (Newton's rounding floor, and the rounding of
        the multiplier divided by its parameter derivative).
    multipliers:
        The cycle multiplier at each returned point (-1 up to rounding).
    superstable:
        Superstable parameters ``s_k`` (critical point on the cycle) used as stepping stones.
    cycle_points:
        A point of the period-``2^(k-1)`` cycle at each doubling point: cubic ``x``, shape
        ``(count,)``; uv ``(g, z)`` on the invariant line, shape ``(count, 2)``.
    delta_estimates:
        ``(p_k - p_{k-1}) / (p_{k+1} - p_k)``, shape ``(count - 2,)``.
    delta, delta_error:
        The best estimate of Feigenbaum's delta and its error: the estimate minimising
        ``max(|delta_k - delta_{k-1}|, propagated uncertainty)``.
    accumulation, accumulation_error:
        Onset of chaos ``p_inf ~ p_k + (p_k - p_{k-1}) / (delta - 1)``, chosen the same way.
    """

    system: str
    params: np.ndarray
    periods: np.ndarray
    uncertainty: np.ndarray
    multipliers: np.ndarray
    superstable: np.ndarray
    cycle_points: np.ndarray
    delta_estimates: np.ndarray
    delta: float
    delta_error: float
    accumulation: float
    accumulation_error: float


def _feigenbaum_estimates(r: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, float, float, float, float]:
    d = np.diff(r)
    if d.size < 2:
        return np.empty(0), float("nan"), float("nan"), float("nan"), float("nan")
    deltas = d[:-1] / d[1:]
    # rounding propagated into each ratio: relative errors of both differences
    ud = np.hypot(u[:-1], u[1:])
    rel = np.hypot(ud[:-1] / np.abs(d[:-1]), ud[1:] / np.abs(d[1:]))
    round_err = deltas * rel
    trunc = np.full(deltas.shape, np.inf)
    trunc[1:] = np.abs(np.diff(deltas))
    err = np.maximum(trunc, round_err)
    best = int(np.argmin(err)) if np.isfinite(err).any() else deltas.size - 1
    delta, delta_err = float(deltas[best]), float(err[best])
    # accumulation point from each pair with the best delta
    acc = r[1:] + d / (delta - 1.0)
    acc_round = u[1:] + ud / (delta - 1.0) + np.abs(d) * delta_err / (delta - 1.0) ** 2
    acc_trunc = np.full(acc.shape, np.inf)
    acc_trunc[1:] = np.abs(np.diff(acc))
    acc_err = np.maximum(acc_trunc, acc_round)
    ab = int(np.argmin(acc_err))
    return deltas, delta, delta_err, float(acc[ab]), float(acc_err[ab])


def doubling_points(system: str = "cubic", count: int = 12, *, max_iter: int = 60) -> DoublingPoints:
    """The first ``count`` period-doubling points, located to near machine precision.

    For ``p = 2^(k-1)`` the point solves ``f^p(x) = x`` and ``(f^p)'(x) = -1`` (the cycle's
    exact multiplier, the product of ``f'`` around it) by Newton's method in ``(x, r)``; each
    cycle is followed from the previous one via its superstable parameter (see
    ``csrc/core/doubling.hpp``). In double precision 19 points are resolvable; the
    Feigenbaum ratio from them is good to ~7 digits around ``k = 10`` and degrades after
    ``k ~ 13`` as the differences approach the rounding floor (``uncertainty`` says how far).

    ``system="uv"`` returns ``Y_k = r_k - 1``: on the UV model's invariant line (the EoS
    manifold, which attracts for ``Y > 1``) the dynamics is the cubic map with ``r = 1 + Y``;
    :func:`cycle_multipliers` checks that the 2-D cycle multiplier there is -1.
    """
    system = _system(system)
    count = positive_int(count, "count")
    max_iter = positive_int(max_iter, "max_iter")
    if count > _MAX_DOUBLING_COUNT:
        raise ValueError(f"count must be <= {_MAX_DOUBLING_COUNT} (the doubling points resolvable in "
                         f"double precision), got {count}")
    res = _core.cubic_doubling_points(count, max_iter)
    r = res["r"]
    if r.size < count:
        raise RuntimeError(f"located only {r.size} of {count} doubling points before Newton lost convergence")
    deltas, delta, derr, acc, aerr = _feigenbaum_estimates(r, res["uncertainty"])
    shift = 1.0 if system == "uv" else 0.0
    points = res["x"]
    if system == "uv":
        points = np.stack(_cubic.uv_from_cubic(points, r - 1.0), axis=1)
    return DoublingPoints(system=system, params=r - shift, periods=res["period"], uncertainty=res["uncertainty"],
                          multipliers=res["multiplier"], superstable=res["superstable"] - shift, cycle_points=points,
                          delta_estimates=deltas, delta=delta, delta_error=derr,
                          accumulation=acc - shift, accumulation_error=aerr)


# ----------------------------------------------------------------------------- UV <-> cubic


@dataclass(frozen=True)
class CubicCorrespondence:
    """UV dynamics near the edge-of-stability minimum compared with the cubic-map prediction.

    For each ``Y``: the UV orbit from ``(g0, z0)`` and the cubic orbit at ``r = 1 + Y`` started
    from the UV state's image ``x = sqrt((g + Y)/(1 + Y))`` after ``n_transient`` steps.

    Attributes
    ----------
    Y, r:
        Shape ``(P,)``.
    line_distance:
        ``max |z - 2 (g + Y)|`` over the kept UV steps (0 on the invariant line).
    uv_x, cubic_x:
        ``|x|`` along the kept steps from the UV map and from the cubic map, ``(P, n_keep)``.
    max_deviation:
        ``max |uv_x - cubic_x|`` per ``Y``: the two orbits agree step by step until chaos
        amplifies rounding; compare ``uv_period``/``cubic_period`` and the Lyapunov exponents.
    uv_period, cubic_period:
        From :func:`period` (same ``max_period``, ``tol``).
    uv_lyapunov:
        The UV Lyapunov spectrum over the kept steps, ``(P, 2)``: one exponent is tangent to the
        invariant line and equals the cubic map's, the other is transverse.
    cubic_lyapunov:
        The cubic map's exponent over the same steps, ``(P,)``.
    """

    Y: np.ndarray
    r: np.ndarray
    line_distance: np.ndarray
    uv_x: np.ndarray
    cubic_x: np.ndarray
    max_deviation: np.ndarray
    uv_period: np.ndarray
    cubic_period: np.ndarray
    uv_lyapunov: np.ndarray
    cubic_lyapunov: np.ndarray


def uv_cubic_correspondence(
    Y: ArrayLike,
    *,
    g0: float,
    z0: float,
    n_transient: int = 20000,
    n_keep: int = 2048,
    max_period: int = 64,
    tol: float = 1e-7,
    threads: int | None = None,
) -> CubicCorrespondence:
    """Check that near the edge-of-stability minimum the UV map follows the cubic map with
    ``r = 1 + Y``: run the UV map from ``(g0, z0)``, measure its distance from the invariant
    line ``z = 2 (g + Y)``, and compare its orbit, period and Lyapunov exponent with the cubic
    map's from the corresponding point. ``Y`` in ``(1, 2)`` is the EoS range (minimum
    unstable, no escape)."""
    Ys = _params(Y, "Y")
    P = Ys.size
    x0 = np.broadcast_to(np.array([g0, z0], dtype=np.float64), (P, 2))
    uv_d = orbit_diagram("uv", Ys, x0=x0, n_transient=n_transient, n_keep=n_keep, threads=threads)
    g, z = uv_d.states[..., 0], uv_d.states[..., 1]
    line = np.max(np.abs(z - 2.0 * (g + Ys[:, None])), axis=1)
    uv_x = _cubic.uv_to_cubic(g, Ys[:, None])
    r = _cubic.uv_r(Ys)
    cubic_d = orbit_diagram("cubic", r, x0=uv_x[:, 0], n_transient=0, n_keep=n_keep, threads=threads)
    cubic_x = np.abs(cubic_d.states)
    dev = np.max(np.abs(uv_x - cubic_x), axis=1)
    uv_p = period("uv", Ys, x0=x0, n_transient=n_transient, max_period=max_period, tol=tol, threads=threads)
    cu_p = period("cubic", r, x0=uv_x[:, 0], n_transient=n_transient, max_period=max_period, tol=tol,
                  threads=threads)
    start = uv_d.states[:, 0, :]
    uv_l = lyapunov_spectrum("uv", Ys, x0=start, n_transient=0, n_steps=n_keep, threads=threads).exponents
    cu_l = lyapunov("cubic", r, x0=uv_x[:, 0], n_transient=0, n_steps=n_keep, threads=threads)
    return CubicCorrespondence(Y=Ys, r=r, line_distance=line, uv_x=uv_x, cubic_x=cubic_x, max_deviation=dev,
                               uv_period=uv_p, cubic_period=cu_p, uv_lyapunov=uv_l, cubic_lyapunov=cu_l)
