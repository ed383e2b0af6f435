"""Heavy-ball momentum in the minimal models: the UV model, the quadratic and the cubic map.

Heavy-ball (Polyak) momentum with step ``lr`` and momentum ``b``::

    theta_{t+1} = theta_t - lr grad L(theta_t) + b (theta_t - theta_{t-1}),   theta_{-1} = theta_0

(torch's ``SGD(momentum=b)`` with a constant learning rate; zero initial velocity). On a
quadratic with curvature ``lambda`` and ``c = lr * lambda`` it is the linear recursion
``x_{t+1} = (1 + b - c) x_t - b x_{t-1}``, stable iff ``0 < c < 2 + 2b``; Nesterov's variant
``x_{t+1} = (1 + b)(1 - c) x_t - b (1 - c) x_{t-1}`` is stable iff ``c < 2 (1 + b) / (1 + 2b)``
(:func:`heavy_ball_threshold`). Momentum thus moves the edge of stability from ``2/lr`` to
``(2 + 2b)/lr``.

* :func:`train_uv` -- the UV model in parameter space with heavy-ball momentum (C++, batched,
  OpenMP; at ``b = 0`` bit for bit :func:`sharpdyn.uv.train`), recording loss, output, NTK and
  the exact sharpness in a :class:`sharpdyn.uv.Trajectory` with ``momentum`` set, which labels
  runs with the regimes of :mod:`sharpdyn.regimes` against the momentum threshold.
* :func:`phase_scan` -- a ``(c, b)`` phase diagram of the UV model from one initialisation;
  :func:`uv_boundaries` -- where the loss-spike, sharpness-reduction (catapult) and divergence
  boundaries lie for each ``b``.
* :func:`quadratic_map`, :func:`cubic_map` -- the quadratic and the cubic map
  ``x' = r x (1 - x^2)`` (GD on ``(a theta^2 - q)^2 / 2``, :mod:`sharpdyn.cubic`) with momentum;
  :func:`cubic_boundaries` -- the first period doubling (exactly ``r = 2 + b``, i.e. ``lr
  lambda = 2 + 2b`` at the minimum), the second doubling (the closed-form 2-cycle's multiplier
  reaching -1, :func:`cubic_two_cycle`) and the escape of the orbit from ``x0``, for each ``b``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from . import parameterization as _param
from . import regimes as _regimes
from .uv import Trajectory, _weights_and_example
from .validation import as_float_array, nonnegative_int, positive_array, positive_int, threads_arg

__all__ = [
    "CubicBoundaries",
    "PhaseScan",
    "UVBoundaries",
    "cubic_boundaries",
    "cubic_map",
    "cubic_period",
    "cubic_two_cycle",
    "cubic_two_cycle_flip",
    "heavy_ball_threshold",
    "phase_scan",
    "quadratic_map",
    "train_uv",
    "uv_boundaries",
]


def _momentum_array(value: ArrayLike, name: str = "momentum") -> np.ndarray:
    b = as_float_array(value, name)
    if not np.all((b >= 0) & (b < 1)):
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return b


def heavy_ball_threshold(lr: ArrayLike, momentum: ArrayLike, *, nesterov: bool = False) -> np.ndarray:
    """Largest stable curvature of heavy-ball (``(2 + 2b)/lr``) or Nesterov
    (``2 (1 + b) / ((1 + 2b) lr)``) momentum on a quadratic; broadcasts."""
    eta = positive_array(lr, "lr")
    b = _momentum_array(momentum)
    if nesterov:
        return 2.0 * (1.0 + b) / ((1.0 + 2.0 * b) * eta)
    return (2.0 + 2.0 * b) / eta


# -- the UV model -----------------------------------------------------------------------------

def train_uv(
    u0: ArrayLike,
    v0: ArrayLike,
    *,
    lr: ArrayLike,
    momentum: ArrayLike,
    steps: int,
    x: ArrayLike = 1.0,
    y: float = 1.0,
    param: _param.Param = "sp",
    threads: int | None = None,
) -> Trajectory:
    """Heavy-ball GD of the UV model in parameter space (compiled, batched): a
    :class:`sharpdyn.uv.Trajectory` with ``momentum`` set (its ``threshold`` and ``regime``
    use ``(2 + 2b)/lr``).

    Parameters
    ----------
    u0, v0:
        As in :func:`sharpdyn.uv.train`: ``u0`` shape ``([batch,] n)`` for a scalar ``x`` or
        ``([batch,] n, d)``, ``v0`` shape ``([batch,] n)``.
    lr, momentum:
        Scalars or one per batch element; ``momentum`` in ``[0, 1)``.
    steps:
        Number of steps (>= 1).
    x, y, param, threads:
        As in :func:`sharpdyn.uv.train`. Results do not depend on ``threads``.
    """
    steps = positive_int(steps, "steps")
    s = _param.exponent(param)
    w = _weights_and_example(u0, v0, x, y)
    u, xv, B, n, batched = w.u, w.x, w.batch, w.width, w.batched
    eta = positive_array(lr, "lr")
    b = _momentum_array(momentum)
    for arr, name in ((eta, "lr"), (b, "momentum")):
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != B):
            raise ValueError(f"{name} must be a scalar or have shape ({B},), got {arr.shape}")
    eta_b = np.ascontiguousarray(np.broadcast_to(eta, (B,)), dtype=np.float64)
    b_b = np.ascontiguousarray(np.broadcast_to(b, (B,)), dtype=np.float64)
    gam = float(_param.gamma(n, s))
    u3, v2, x1 = w.kernel_arrays()
    loss, f, ntk, sh, div, at, uf, vf = _core.uv_train_momentum(u3, v2, x1, eta_b, b_b, w.y, gam, steps,
                                                                threads_arg(threads))
    sq = (lambda a: a) if batched else (lambda a: a[0])
    return Trajectory(
        loss=sq(loss), f=sq(f), ntk=sq(ntk), sharpness=sq(sh), diverged=sq(div.astype(bool)), diverged_at=sq(at),
        lr=eta_b if batched else np.asarray(eta_b[0]), momentum=b_b if batched else np.asarray(b_b[0]),
        width=n, x=xv, y=w.y, s=s, kappa=gam * gam * float(x1 @ x1),
        u=sq(uf.reshape(u.shape if batched else (1, *u.shape))), v=sq(vf),
    )


@dataclass(frozen=True)
class PhaseScan:
    """Regimes of the UV model over a ``(c, b)`` grid from one initialisation.

    Attributes
    ----------
    c, momentum:
        The axes, shapes ``(Nc,)`` and ``(Nb,)``.
    regime:
        Shape ``(Nb, Nc)``: regime names (:mod:`sharpdyn.regimes`, momentum threshold).
    max_loss_ratio:
        Shape ``(Nb, Nc)``: ``max_{t>=1} L_t / L_0`` (NaN when diverged).
    final_edge_ratio:
        Shape ``(Nb, Nc)``: final ``sharpness / ((2 + 2b)/lr)``.
    initial_edge_ratio:
        Shape ``(Nb, Nc)``: initial ``sharpness / ((2 + 2b)/lr)``.
    diverged_at:
        Shape ``(Nb, Nc)``.
    ntk0, sharpness0, width, y, steps, seed:
        The initialisation and settings.
    """

    c: np.ndarray
    momentum: np.ndarray
    regime: np.ndarray
    max_loss_ratio: np.ndarray
    final_edge_ratio: np.ndarray
    initial_edge_ratio: np.ndarray
    diverged_at: np.ndarray
    ntk0: float
    sharpness0: float
    width: int
    y: float
    steps: int
    seed: int

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        np.savez_compressed(path, c=self.c, momentum=self.momentum, regime=self.regime.astype(str),
                            max_loss_ratio=self.max_loss_ratio, final_edge_ratio=self.final_edge_ratio,
                            initial_edge_ratio=self.initial_edge_ratio, diverged_at=self.diverged_at,
                            ntk0=self.ntk0, sharpness0=self.sharpness0, width=self.width, y=self.y,
                            steps=self.steps, seed=self.seed)
        return path


def phase_scan(c: ArrayLike, momentum: ArrayLike, *, width: int = 1024, y: float = 1.0, steps: int = 1000,
               seed: int = 0, param: _param.Param = "sp", criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA,
               threads: int | None = None) -> PhaseScan:
    """Heavy-ball UV runs over every ``(c, b)`` pair from the same initial weights
    (:func:`sharpdyn.uv.init` with ``seed``; scalar ``x = 1``), ``lr = c / ntk_0``.

    ``c`` and ``momentum`` are 1-d arrays (``c > 0``, ``0 <= b < 1``). Returns a
    :class:`PhaseScan`; the labels use the momentum threshold ``(2 + 2b)/lr``.
    """
    from . import uv as _uv

    cs = positive_array(c, "c").reshape(-1)
    bs = _momentum_array(momentum).reshape(-1)
    if cs.size == 0 or bs.size == 0:
        raise ValueError("c and momentum must not be empty")
    steps = positive_int(steps, "steps")
    u0, v0 = _uv.init(width, seed=seed, param=param)
    probe = _uv.train(u0, v0, lr=1.0, steps=1, y=y, param=param)
    ntk0, sharp0 = float(probe.ntk[0]), float(probe.sharpness[0])
    C, Bm = np.meshgrid(cs, bs)
    n_runs = C.size
    tr = train_uv(np.broadcast_to(u0, (n_runs, *u0.shape)), np.broadcast_to(v0, (n_runs, *v0.shape)),
                  lr=(C / ntk0).reshape(-1), momentum=Bm.reshape(-1), steps=steps, y=y, param=param,
                  threads=threads)
    names = np.asarray(tr.regime(criteria)).reshape(C.shape)
    with np.errstate(invalid="ignore"):
        max_ratio = np.nanmax(tr.loss[:, 1:], axis=1) / tr.loss[:, 0]
        final = np.array([s[np.isfinite(s)][-1] if np.isfinite(s).any() else np.nan for s in tr.sharpness])
    max_ratio = np.where(tr.diverged, np.nan, max_ratio)
    thr = tr.threshold
    return PhaseScan(c=cs, momentum=bs, regime=names, max_loss_ratio=max_ratio.reshape(C.shape),
                     final_edge_ratio=np.where(tr.diverged, np.nan, final / thr).reshape(C.shape),
                     initial_edge_ratio=(tr.sharpness[:, 0] / thr).reshape(C.shape),
                     diverged_at=tr.diverged_at.reshape(C.shape), ntk0=ntk0, sharpness0=sharp0,
                     width=int(width), y=float(y), steps=steps, seed=int(seed))


@dataclass(frozen=True)
class UVBoundaries:
    """Per momentum ``b``: the smallest ``c`` on the grid with a loss spike
    (``max L_t > L_0``), with a catapult in the strict sense (spike and the final sharpness more
    than ``rel_change`` below the initial one) and with divergence (NaN: none on the grid).
    ``linear_edge`` is ``c`` at which the initial sharpness meets ``(2 + 2b)/lr``."""

    momentum: np.ndarray
    spike: np.ndarray
    catapult: np.ndarray
    divergence: np.ndarray
    linear_edge: np.ndarray


def uv_boundaries(scan: PhaseScan, *, rel_change: float = 0.05) -> UVBoundaries:
    """Read the boundaries of :class:`UVBoundaries` off a :func:`phase_scan` (grid resolution)."""
    c = scan.c

    def first(mask: np.ndarray) -> np.ndarray:
        return np.where(mask.any(axis=1), c[np.argmax(mask, axis=1)], np.nan)

    div = scan.diverged_at >= 0
    spike = ~div & (scan.max_loss_ratio > 1.0 + 1e-9)
    reduced = scan.final_edge_ratio < (1.0 - rel_change) * scan.initial_edge_ratio
    return UVBoundaries(momentum=scan.momentum, spike=first(spike), catapult=first(spike & reduced),
                        divergence=first(div),
                        linear_edge=(2.0 + 2.0 * scan.momentum) * scan.ntk0 / scan.sharpness0)


# -- quadratic and cubic maps ------------------------------------------------------------------

def quadratic_map(c: ArrayLike, momentum: ArrayLike, *, steps: int, x0: ArrayLike = 1.0,
                  x_prev: ArrayLike | None = None, nesterov: bool = False) -> np.ndarray:
    """Momentum GD on ``L = lambda x^2 / 2`` in ``c = lr lambda``: heavy ball
    ``x_{t+1} = (1 + b - c) x_t - b x_{t-1}`` or Nesterov
    ``x_{t+1} = (1 + b)(1 - c) x_t - b (1 - c) x_{t-1}`` (``x_{t+1} = y_t - lr L'(y_t)`` at the
    look-ahead ``y_t = x_t + b (x_t - x_{t-1})``).

    ``x_prev`` is ``x_{-1}`` (default ``x0``: zero initial velocity, which is also torch's
    ``SGD(momentum=b)``; torch's ``nesterov=True`` takes a first step of ``(1 + b) lr``,
    i.e. ``x_prev = x0 / (1 - c)``). ``c``, ``momentum``, ``x0`` and ``x_prev`` broadcast;
    returns shape ``(..., steps + 1)``.
    """
    steps = nonnegative_int(steps, "steps")
    cc = as_float_array(c, "c")
    b = _momentum_array(momentum)
    x0a = as_float_array(x0, "x0")
    xp = x0a if x_prev is None else as_float_array(x_prev, "x_prev")
    shape = np.broadcast_shapes(cc.shape, b.shape, x0a.shape, xp.shape)
    cc, b = np.broadcast_to(cc, shape), np.broadcast_to(b, shape)
    cur = np.broadcast_to(x0a, shape).astype(np.float64)
    prev = np.broadcast_to(xp, shape).astype(np.float64)
    out = np.empty(shape + (steps + 1,))
    out[..., 0] = cur
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            if nesterov:
                nxt = (1.0 + b) * (1.0 - cc) * cur - b * (1.0 - cc) * prev
            else:
                nxt = (1.0 + b - cc) * cur - b * prev
            prev, cur = cur, nxt
            out[..., t + 1] = cur
    return out


ESCAPE_BOUND = 10.0
"""An orbit of :func:`cubic_map` counts as escaped once ``|x| > ESCAPE_BOUND`` (beyond it the
cubic term grows it super-exponentially)."""


def cubic_map(r: ArrayLike, momentum: ArrayLike, *, steps: int, x0: ArrayLike = 0.3, x_prev: ArrayLike | None = None,
              n_keep: int | None = None) -> np.ndarray:
    """The cubic map with heavy-ball momentum
    ``x_{t+1} = r x_t (1 - x_t^2) + b (x_t - x_{t-1})``
    (GD with momentum on ``(a theta^2 - q)^2 / 2`` in the variables of :mod:`sharpdyn.cubic`).

    Parameters
    ----------
    r, momentum, x0, x_prev:
        Broadcast together (``r > 0``, ``0 <= b < 1``); ``x_prev`` is ``x_{-1}`` (default
        ``x0``: zero initial velocity, as torch's ``SGD(momentum=b)``).
    steps:
        Number of iterations.
    n_keep:
        Return only the last ``n_keep`` states (default: all ``steps + 1``).

    Returns
    -------
    Array of shape ``(..., n_keep or steps + 1)``; NaN from the step an orbit passes
    :data:`ESCAPE_BOUND` on.
    """
    steps = nonnegative_int(steps, "steps")
    rr = positive_array(r, "r")
    b = _momentum_array(momentum)
    x0a = as_float_array(x0, "x0")
    xp = x0a if x_prev is None else as_float_array(x_prev, "x_prev")
    shape = np.broadcast_shapes(rr.shape, b.shape, x0a.shape, xp.shape)
    x = np.broadcast_to(x0a, shape).astype(np.float64)
    rr, b = np.broadcast_to(rr, shape), np.broadcast_to(b, shape)
    keep = steps + 1 if n_keep is None else min(positive_int(n_keep, "n_keep"), steps + 1)
    out = np.empty(shape + (keep,))
    first = steps + 1 - keep
    if first == 0:
        out[..., 0] = x
    prev, cur = np.broadcast_to(xp, shape).astype(np.float64), x.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            nxt = rr * cur * (1.0 - cur * cur) + b * (cur - prev)
            nxt = np.where(np.abs(nxt) <= ESCAPE_BOUND, nxt, np.nan)
            prev, cur = cur, nxt
            if t + 1 >= first:
                out[..., t + 1 - first] = cur
    return out


def cubic_period(r: ArrayLike, momentum: ArrayLike, *, x0: ArrayLike = 0.3, x_prev: ArrayLike | None = None,
                 n_transient: int = 20_000, max_period: int = 64, tol: float = 1e-7) -> np.ndarray:
    """Period of the late orbit of :func:`cubic_map` (smallest ``p <= max_period`` with
    ``|x_{t+p} - x_t| <= tol`` over the last ``2 max_period`` states), 0 if none (chaos or slow
    convergence), -1 if the orbit escaped. Broadcasts; int array."""
    states = cubic_map(r, momentum, steps=n_transient + 2 * max_period, x0=x0, x_prev=x_prev,
                       n_keep=2 * max_period + 1)
    escaped = ~np.isfinite(states).all(axis=-1)
    period = np.zeros(states.shape[:-1], dtype=np.int64)
    for p in range(max_period, 0, -1):
        ok = np.all(np.abs(states[..., p:] - states[..., :-p]) <= tol, axis=-1)
        period = np.where(ok, p, period)
    return np.where(escaped, -1, period)


def cubic_two_cycle(r: ArrayLike, momentum: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The flip-born 2-cycle ``{p, q}`` of the momentum cubic map, in closed form.

    Subtracting and adding the cycle equations ``q = F(p) + b (p - q)``, ``p = F(q) + b (q - p)``
    (``F(x) = r x (1 - x^2)``) and dividing by ``p - q`` and ``p + q`` gives
    ``p^2 + pq + q^2 = 1 + (1 + 2b)/r`` and ``p^2 - pq + q^2 = 1 - 1/r``, so
    ``pq = (1 + b)/r``, ``p + q = sqrt(1 + (2 + 3b)/r)`` and ``(p - q)^2 = 1 - (2 + b)/r``: the
    cycle exists for ``r >= 2 + b`` (born at the first doubling). At ``b = 0`` this is
    :mod:`sharpdyn.cubic`'s ``p^2 + q^2 = 1``, ``pq = 1/r``. NaN where it does not exist."""
    rr = positive_array(r, "r")
    b = _momentum_array(momentum)
    with np.errstate(invalid="ignore"):
        total = np.sqrt(1.0 + (2.0 + 3.0 * b) / rr)
        diff = np.sqrt(1.0 - (2.0 + b) / rr)
    return (total + diff) / 2.0, (total - diff) / 2.0


def cubic_two_cycle_flip(r: ArrayLike, momentum: ArrayLike) -> np.ndarray:
    """``1 + tr M + det M`` of the 2-cycle's monodromy ``M = J(q) J(p)``,
    ``J(x) = [[F'(x) + b, -b], [1, 0]]`` in the state ``(x_t, x_{t-1})``; it vanishes where an
    eigenvalue of ``M`` is -1 (``det M = b^2``, ``tr M = a_p a_q - 2b`` with
    ``a_x = F'(x) + b``). Complex eigenvalues have modulus ``b < 1``, so the cycle can only
    lose stability through -1 (or +1)."""
    rr = positive_array(r, "r")
    b = _momentum_array(momentum)
    p, q = cubic_two_cycle(rr, b)
    a_p = rr * (1.0 - 3.0 * p * p) + b
    a_q = rr * (1.0 - 3.0 * q * q) + b
    return 1.0 + a_p * a_q - 2.0 * b + b * b


@dataclass(frozen=True)
class CubicBoundaries:
    """Boundaries of the momentum cubic map, per momentum ``b`` (shape ``(Nb,)``).

    Attributes
    ----------
    first_doubling:
        ``r = 2 + b`` (``lr lambda = 2 + 2b`` at the minimum): the fixed point flips.
    second_doubling:
        ``r`` at which the flip-born 2-cycle (:func:`cubic_two_cycle`, closed form) has a
        multiplier -1 (``sqrt(5)`` at ``b = 0``), by Brent's method on
        :func:`cubic_two_cycle_flip` (to rounding); NaN if none below ``r_max``.
    escape:
        Smallest ``r`` on the scan grid whose orbit escapes (NaN: none).
    """

    momentum: np.ndarray
    first_doubling: np.ndarray
    second_doubling: np.ndarray
    escape: np.ndarray

    @property
    def first_doubling_c(self) -> np.ndarray:
        """The first doubling as ``lr * lambda`` at the minimum: ``2 (r - 1)``."""
        return 2.0 * (self.first_doubling - 1.0)


def cubic_boundaries(momentum: ArrayLike, *, x0: float | None = None, x0_offset: float = 1e-3, r_max: float = 6.0,
                     n_r: int = 501, n_transient: int = 5000) -> CubicBoundaries:
    """:class:`CubicBoundaries` for each momentum value (1-d, each in ``[0, 1)``).

    The escape is scanned on ``n_r`` values of ``r`` in ``[1, r_max]`` from ``x0`` (default:
    just off the minimum, ``x* + x0_offset`` with ``x*^2 = 1 - 1/r``, so that it is the orbit
    born at the minimum that escapes; from a far start momentum's overshoot leaves the basin
    earlier)."""
    from scipy.optimize import brentq

    bs = _momentum_array(momentum).reshape(-1)
    r_max = float(positive_array(r_max, "r_max"))
    n_r = positive_int(n_r, "n_r")
    second = np.full(bs.shape, np.nan)
    for i, b in enumerate(bs):
        r1 = 2.0 + b
        grid = np.linspace(r1, r_max, 4001)[1:]
        g = cubic_two_cycle_flip(grid, b)
        cross = np.nonzero((g[:-1] > 0) & (g[1:] <= 0))[0]
        if cross.size:
            j = int(cross[0])
            second[i] = brentq(lambda rr, b=b: float(cubic_two_cycle_flip(rr, b)), grid[j], grid[j + 1],
                               xtol=1e-15, rtol=4 * np.finfo(float).eps)
    grid = np.linspace(1.0, r_max, n_r)
    start = np.sqrt(1.0 - 1.0 / grid)[None, :] + x0_offset if x0 is None else x0
    esc = cubic_period(grid[None, :], bs[:, None], x0=start, n_transient=n_transient, max_period=1) < 0
    escape = np.where(esc.any(axis=1), grid[np.argmax(esc, axis=1)], np.nan)
    return CubicBoundaries(momentum=bs, first_doubling=2.0 + bs, second_doubling=second, escape=escape)
