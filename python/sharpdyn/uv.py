"""The UV model: the paper's minimal model of sharpness dynamics.

A two-layer linear network of width ``n`` on one example ``(x, y)``::

    f = gamma * v^T (u x),   u in R^{n x d},  v in R^n,  gamma = n^{-(1-s)/2},
    L = (f - y)^2 / 2,       initial weights ~ N(0, sigma^2 / n^s)

with ``s = 0`` (``param="sp"``), ``s = 1`` (``param="mup"``) or any ``s`` in [0, 1].

Gradient descent with step ``lr`` closes exactly on the output ``f`` and the NTK
``lambda = |grad f|^2`` (``kappa = gamma^2 |x|^2``, ``df = f - y``)::

    f'      = f - lr*lambda*df + lr^2*kappa*f*df^2
    lambda' = lambda + lr*kappa*df*(lr*lambda*df - 4 f)

and, in the normalised variables ``g = lr*sqrt(kappa)*df``, ``z = lr*lambda``,
``Y = lr*sqrt(kappa)*y``, on the one-parameter map::

    g' = g (1 - z + g (g + Y)),    z' = z + g (z g - 4 (g + Y)).

The sharpness (top eigenvalue of the loss Hessian in (u, v)) is exact:
``lambda_H = lambda/2 + sqrt(lambda^2/4 + kappa*df*(3f - y))``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from . import parameterization as _param
from . import regimes as _regimes
from .fixed_points import FixedPoint, ZeroLossLine, fixed_points, vector_field, zero_loss_line
from .validation import (
    as_float_array,
    check_allocation,
    nonnegative_array,
    positive_array,
    positive_float,
    positive_int,
    product,
    threads_arg,
)

__all__ = [
    "DivergenceWarning",
    "FixedPoint",
    "Trajectory",
    "ZeroLossLine",
    "classify",
    "fixed_points",
    "from_normalized",
    "function_map",
    "init",
    "iterate",
    "normalized_map",
    "sharpness",
    "to_normalized",
    "train",
    "vector_field",
    "zero_loss_line",
]


class DivergenceWarning(RuntimeWarning):
    """Some points of a map iteration diverged (their outputs are +-inf)."""


def _kappa(width: ArrayLike, x: ArrayLike, param: _param.Param) -> np.ndarray:
    w = positive_array(width, "width")
    xx = as_float_array(x, "x")
    return _param.kappa(w, xx * xx, param)


def sharpness(f: ArrayLike, ntk: ArrayLike, *, width: ArrayLike, x: ArrayLike = 1.0, y: ArrayLike = 1.0,
              param: _param.Param = "sp") -> np.ndarray:
    """Exact sharpness (top Hessian eigenvalue of ``L = (f-y)^2/2`` in (u, v)) at ``(f, ntk)``.

    ``x`` is the input (a scalar, or ``|x|`` for a vector input); arrays broadcast.
    """
    f = as_float_array(f, "f")
    lam = nonnegative_array(ntk, "ntk")
    y = as_float_array(y, "y")
    k = _kappa(width, x, param)
    df = f - y
    rad = np.maximum(0.25 * lam * lam + k * df * (3.0 * f - y), 0.0)
    return 0.5 * lam + np.sqrt(rad)


_MAP_BYTES_PER_POINT = 96  # five contiguous inputs, three outputs, reshaped results


def _check_map_size(arrays: tuple[np.ndarray, ...], names: str) -> None:
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as exc:
        raise ValueError(f"{names} must broadcast together: {exc}") from exc
    check_allocation(_MAP_BYTES_PER_POINT * product(*shape), names,
                     hint=f"the broadcast shape {shape} is too large; map fewer points per call")


def _run_map(f, lam, lr, kappa, y, steps, threads):
    f, lam, lr, kappa, y = np.broadcast_arrays(f, lam, lr, kappa, y)
    shape = f.shape
    flat = [np.ascontiguousarray(a, dtype=np.float64).ravel() for a in (f, lam, lr, kappa, y)]
    f_out, lam_out, at = _core.uv_function_map(*flat, steps, threads)
    return f_out.reshape(shape), lam_out.reshape(shape), at.reshape(shape)


def function_map(
    f: ArrayLike,
    ntk: ArrayLike,
    *,
    lr: ArrayLike,
    width: ArrayLike,
    x: ArrayLike = 1.0,
    y: ArrayLike = 1.0,
    param: _param.Param = "sp",
    steps: int = 1,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the exact function-space GD map ``steps`` times.

    Parameters
    ----------
    f, ntk:
        Network output and NTK eigenvalue ``lambda = |grad f|^2 >= 0`` (a negative NTK
        raises ``ValueError``, as everywhere). Weights realise only
        ``ntk >= 2 sqrt(kappa) |f|``, but the map is iterated for any finite ``f`` and ``ntk >= 0``.
    lr:
        Learning rate ``eta > 0``.
    width:
        Width ``n > 0`` (enters through ``kappa = n^{-(1-s)} x^2``).
    x, y:
        Input (scalar; for a vector input pass its norm) and target.
    param:
        ``"sp"``, ``"mup"`` or an exponent ``s`` in [0, 1].
    steps:
        Number of GD steps (>= 1).

    All array arguments broadcast together; the result has the broadcast shape (0-d for
    scalars). A point that diverges (``|f - y|`` beyond ``1e6 (|f0 - y| + |y| + 1)`` or
    overflow; :func:`sharpdyn.divergence.output_bound`) stops there and returns ``f = +-inf``, ``ntk = +inf``, with a
    :class:`DivergenceWarning`; use :func:`iterate` for the step at which it diverged.
    """
    steps = positive_int(steps, "steps")
    f = as_float_array(f, "f")
    lam = nonnegative_array(ntk, "ntk")
    eta = positive_array(lr, "lr")
    yy = as_float_array(y, "y")
    k = _kappa(width, x, param)
    _check_map_size((f, lam, eta, k, yy), "f, ntk, lr, width, x, y")
    try:
        f_out, lam_out, at = _run_map(f, lam, eta, k, yy, steps, threads_arg(threads))
    except ValueError as exc:  # broadcasting failure
        raise ValueError(f"f, ntk, lr, width, x, y must broadcast together: {exc}") from exc
    n_div = int(np.count_nonzero(at >= 0))
    if n_div:
        warnings.warn(f"{n_div} point(s) diverged; their f/ntk are returned as inf", DivergenceWarning, stacklevel=2)
    return f_out, lam_out


def normalized_map(g: ArrayLike, z: ArrayLike, *, Y: ArrayLike, steps: int = 1,
                   threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The one-parameter map ``g' = g(1 - z + g(g + Y))``, ``z' = z + g(zg - 4(g + Y))``.

    ``g = lr*sqrt(kappa)*(f - y)``, ``z = lr*ntk``, ``Y = lr*sqrt(kappa)*y``; it is the
    function-space map with ``lr = kappa = 1`` and target ``Y`` (so ``f = g + Y``).
    ``steps >= 1``. ``z`` may be any real number here: the normalised map is studied as a
    dynamical system in the whole plane (:func:`fixed_points` reports its unphysical points
    with ``z < 0`` too); the physical NTK ``ntk``/``ntk0`` of every other function must be
    ``>= 0``. Divergence is reported as in :func:`function_map`.
    """
    steps = positive_int(steps, "steps")
    g = as_float_array(g, "g")
    zz = as_float_array(z, "z")
    YY = as_float_array(Y, "Y")
    _check_map_size((g, zz, YY), "g, z, Y")
    one = np.ones(())
    f_out, z_out, at = _run_map(g + YY, zz, one, one, YY, steps, threads_arg(threads))
    n_div = int(np.count_nonzero(at >= 0))
    if n_div:
        warnings.warn(f"{n_div} point(s) diverged; their g/z are returned as inf", DivergenceWarning, stacklevel=2)
    return f_out - YY, z_out


def to_normalized(f: ArrayLike, ntk: ArrayLike, *, lr: ArrayLike, width: ArrayLike, x: ArrayLike = 1.0,
                  y: ArrayLike = 1.0, param: _param.Param = "sp") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(g, z, Y)`` from physical ``(f, ntk)``: ``g = lr sqrt(kappa)(f - y)``, ``z = lr ntk``,
    ``Y = lr sqrt(kappa) y``."""
    eta = positive_array(lr, "lr")
    sk = np.sqrt(_kappa(width, x, param))
    yy = as_float_array(y, "y")
    return eta * sk * (as_float_array(f, "f") - yy), eta * nonnegative_array(ntk, "ntk"), eta * sk * yy


def from_normalized(g: ArrayLike, z: ArrayLike, *, lr: ArrayLike, width: ArrayLike, x: ArrayLike = 1.0,
                    y: ArrayLike = 1.0, param: _param.Param = "sp") -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`to_normalized`: ``(f, ntk)`` from ``(g, z)``."""
    eta = positive_array(lr, "lr")
    sk = np.sqrt(_kappa(width, x, param))
    return as_float_array(y, "y") + as_float_array(g, "g") / (eta * sk), as_float_array(z, "z") / eta


def init(
    width: int,
    *,
    d: int | None = None,
    batch: int | None = None,
    sigma: float = 1.0,
    param: _param.Param = "sp",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Random initial weights ``u ~ N(0, sigma^2/n^s)``, ``v ~ N(0, sigma^2/n^s)``.

    Returns ``u`` of shape ``([batch,] n)`` for a scalar input (``d=None``) or
    ``([batch,] n, d)``, and ``v`` of shape ``([batch,] n)``. Same ``seed`` gives the same
    weights (NumPy's PCG64). ``sigma`` must be finite and > 0. Sizes whose weights would not
    fit in memory raise ``ValueError`` (see :func:`sharpdyn.validation.check_allocation`).
    """
    n = positive_int(width, "width")
    if d is not None:
        d = positive_int(d, "d")
    lead = () if batch is None else (positive_int(batch, "batch"),)
    sigma = positive_float(sigma, "sigma")
    check_allocation(8 * 2 * product(*lead, n, d or 1) + 8 * product(*lead, n),
                     "width" if batch is None else "width, batch",
                     hint="ask for fewer or narrower networks")
    std = float(_param.init_std(n, param, sigma))
    rng = np.random.default_rng(seed)
    u_shape = lead + ((n,) if d is None else (n, d))
    u = rng.standard_normal(u_shape) * std
    v = rng.standard_normal(lead + (n,)) * std
    return u, v


@dataclass(frozen=True)
class Trajectory:
    """A UV-model run (or a batch of runs): arrays of length ``steps + 1``, index 0 the
    initial state, with an optional leading batch axis. Plain GD (:func:`train`,
    :func:`iterate`) and heavy-ball momentum (:func:`sharpdyn.momentum.train_uv`, which sets
    ``momentum``) give this one type.

    Entries after a divergence are NaN ("no data"); ``diverged_at`` is the first step whose
    state was out of bounds (-1 if none; :func:`sharpdyn.divergence.output_bound`).

    Its normalised learning rate is ``c = lr * ntk0`` (:attr:`c`), ``ntk0`` being the NTK
    ``|grad f|^2`` at initialisation (not the sharpness, which normalises ``c`` in
    :mod:`sharpdyn.mlp` and :mod:`sharpdyn.torch`).

    Attributes
    ----------
    loss, f, ntk, sharpness:
        ``(f - y)^2/2``, the output, the NTK ``|grad f|^2`` and the exact top Hessian
        eigenvalue, shape ``([batch,] steps + 1)``.
    diverged, diverged_at:
        Shape ``([batch])``.
    lr, width, x, y, s, kappa:
        The parameters that made the run (``lr`` broadcast to the batch shape; ``s`` the
        parameterization exponent; ``x`` as given, a scalar or a vector).
    u, v:
        Weights after the last step (runs from weights only).
    momentum:
        Heavy-ball coefficient ``b`` per run (batch shape), or ``None`` for plain GD.
    """

    loss: np.ndarray
    f: np.ndarray
    ntk: np.ndarray
    sharpness: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    lr: np.ndarray
    width: int
    x: np.ndarray
    y: float
    s: float
    kappa: float
    u: np.ndarray | None = field(default=None, repr=False)
    v: np.ndarray | None = field(default=None, repr=False)
    momentum: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return self.loss.shape[-1] - 1

    @property
    def ntk0(self) -> np.ndarray:
        """The NTK at initialisation ``lambda_0 = |grad f_0|^2``, shape ``([batch])``."""
        return self.ntk[..., 0]

    @property
    def c(self) -> np.ndarray:
        """Normalised learning rate ``c = lr * ntk0`` (the NTK at initialisation)."""
        return self.lr * self.ntk[..., 0]

    @property
    def threshold(self) -> np.ndarray:
        """Stability threshold on the sharpness: ``2/lr``, or ``(2 + 2b)/lr`` with momentum
        (as :func:`sharpdyn.momentum.heavy_ball_threshold`)."""
        b = 0.0 if self.momentum is None else self.momentum
        return (2.0 + 2.0 * b) / np.asarray(self.lr, dtype=np.float64)

    def regime(self, criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA):
        """Regime name(s); see :mod:`sharpdyn.regimes`. With momentum, against its threshold
        ``(2 + 2b)/lr`` in place of ``2/lr`` (identical to plain GD's at ``b = 0``)."""
        if self.momentum is None:
            return classify(self, criteria=criteria)
        return _regimes.classify_series(self.loss, self.sharpness, lr=self.lr, diverged=self.diverged,
                                        criteria=criteria, threshold=self.threshold)

    def save(self, path: str | Path) -> Path:
        """Write every array and parameter to a ``.npz`` file (``momentum`` only when set)."""
        path = Path(path)
        extra: dict[str, Any] = {} if self.momentum is None else {"momentum": self.momentum}
        np.savez_compressed(
            path,
            loss=self.loss, f=self.f, ntk=self.ntk, sharpness=self.sharpness,
            diverged=self.diverged, diverged_at=self.diverged_at, lr=self.lr, **extra,
            width=self.width, x=self.x, y=self.y, s=self.s, kappa=self.kappa,
        )
        return path


_RECORD_BYTES = 40  # loss, f, ntk, sharpness per run and step, plus slack
_ITERATE_BYTES = 64  # f, ntk and the loss/sharpness temporaries of iterate()


@dataclass(frozen=True)
class _WeightsAndExample:
    """Validated weights ``(u0, v0)`` and example ``(x, y)`` of a parameter-space run; the
    C-contiguous ``(B, n, d)``, ``(B, n)``, ``(d,)`` arrays the kernels take are made on demand
    (after the caller's allocation check)."""

    u: np.ndarray
    v: np.ndarray
    x: np.ndarray
    y: float
    batch: int
    width: int
    d: int
    batched: bool

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        B, n, d = self.batch, self.width, self.d
        return (np.ascontiguousarray(self.u.reshape(B, n, d), dtype=np.float64),
                np.ascontiguousarray(self.v.reshape(B, n), dtype=np.float64),
                np.ascontiguousarray(self.x.reshape(d), dtype=np.float64))


def _weights_and_example(u0: ArrayLike, v0: ArrayLike, x: ArrayLike, y: ArrayLike) -> _WeightsAndExample:
    """The shape rules of :func:`train` and :func:`sharpdyn.momentum.train_uv`: ``x`` a scalar
    or a vector of length ``d``, ``y`` a scalar, ``u0`` of shape ``([batch,] n[, d])`` and ``v0``
    of shape ``([batch,] n)``, ``n > 0``."""
    xv = as_float_array(x, "x")
    if xv.ndim > 1:
        raise ValueError(f"x must be a scalar or a vector, got shape {xv.shape}")
    scalar_x = xv.ndim == 0
    d = 1 if scalar_x else xv.shape[0]
    yv = as_float_array(y, "y")
    if yv.ndim != 0:
        raise ValueError(f"y must be a scalar, got shape {yv.shape}")
    u = as_float_array(u0, "u0")
    v = as_float_array(v0, "v0")
    expect_u_ndim = 1 if scalar_x else 2
    if v.ndim not in (1, 2):
        raise ValueError(f"v0 must have shape (n,) or (batch, n), got {v.shape}")
    batched = v.ndim == 2
    if u.ndim != expect_u_ndim + int(batched):
        raise ValueError(
            f"u0 must have shape {'(batch, ' if batched else '('}n{', d' if not scalar_x else ''}) "
            f"to match v0 {v.shape} and x, got {u.shape}"
        )
    if u.shape[: 1 + int(batched)] != v.shape:
        raise ValueError(f"u0 {u.shape} and v0 {v.shape} disagree on batch size or width")
    if not scalar_x and u.shape[-1] != d:
        raise ValueError(f"u0's last axis ({u.shape[-1]}) must equal len(x) ({d})")
    B = v.shape[0] if batched else 1
    n = v.shape[-1]
    if n == 0:
        raise ValueError("u0/v0: width must be > 0")
    return _WeightsAndExample(u=u, v=v, x=xv, y=float(yv), batch=B, width=n, d=d, batched=batched)


def train(
    u0: ArrayLike,
    v0: ArrayLike,
    *,
    lr: ArrayLike,
    steps: int,
    x: ArrayLike = 1.0,
    y: float = 1.0,
    param: _param.Param = "sp",
    threads: int | None = None,
) -> Trajectory:
    """Gradient descent in parameter space on ``(u, v)``, recording every step.

    Parameters
    ----------
    u0:
        Shape ``(n,)`` for a scalar ``x`` or ``(n, d)`` for ``x`` in R^d, with an optional
        leading batch axis.
    v0:
        Shape ``(n,)``, with the same optional batch axis.
    lr:
        Learning rate: a scalar, or one per batch element (shape ``(batch,)``).
    steps:
        Number of GD steps (>= 1).
    x, y:
        The example: ``x`` a scalar or a vector of length ``d``; ``y`` a scalar.
    param:
        ``"sp"``, ``"mup"`` or the exponent ``s`` in [0, 1] (sets ``gamma = n^{-(1-s)/2}``).
    threads:
        OpenMP threads (None: default). Results do not depend on it.
    """
    steps = positive_int(steps, "steps")
    s = _param.exponent(param)
    w = _weights_and_example(u0, v0, x, y)
    u, xv, yv, B, n, d, batched = w.u, w.x, w.y, w.batch, w.width, w.d, w.batched
    check_allocation(_RECORD_BYTES * product(B, steps + 1) + 8 * 2 * product(B, n, d + 1), "steps",
                     hint=f"{B} run(s) x {steps + 1} recorded steps; record fewer steps per call "
                          "(continue from the returned weights) or use sharpdyn.scan.uv, which keeps no history")
    eta = positive_array(lr, "lr")
    if eta.ndim > 1 or (eta.ndim == 1 and eta.shape[0] != B):
        raise ValueError(f"lr must be a scalar or have shape ({B},), got {eta.shape}")
    eta_b = np.ascontiguousarray(np.broadcast_to(eta, (B,)), dtype=np.float64)
    gam = float(_param.gamma(n, s))
    u3, v2, x1 = w.kernel_arrays()
    loss, f, ntk, sh, div, at, uf, vf = _core.uv_train(u3, v2, x1, eta_b, yv, gam, steps, threads_arg(threads))
    squeeze = (lambda a: a[0]) if not batched else (lambda a: a)
    return Trajectory(
        loss=squeeze(loss), f=squeeze(f), ntk=squeeze(ntk), sharpness=squeeze(sh),
        diverged=squeeze(div.astype(bool)), diverged_at=squeeze(at),
        lr=squeeze(eta_b) if batched else np.asarray(eta_b[0]),
        width=n, x=xv, y=yv, s=s, kappa=gam * gam * float(x1 @ x1),
        u=squeeze(uf.reshape(u.shape if batched else (1, *u.shape))), v=squeeze(vf),
    )


def iterate(
    f0: ArrayLike,
    ntk0: ArrayLike,
    *,
    lr: ArrayLike,
    width: int,
    steps: int,
    x: ArrayLike = 1.0,
    y: float = 1.0,
    param: _param.Param = "sp",
    threads: int | None = None,
) -> Trajectory:
    """Record a function-space trajectory from ``(f0, ntk0)`` (scalars or 1-D batches).

    The same :class:`Trajectory` as :func:`train` (without weights), computed by the exact
    function-space map; it agrees with :func:`train` from weights with the same ``(f, ntk)``.
    """
    steps = positive_int(steps, "steps")
    n = positive_int(width, "width")
    s = _param.exponent(param)
    xv = as_float_array(x, "x")
    if xv.ndim > 1:
        raise ValueError(f"x must be a scalar or a vector, got shape {xv.shape}")
    x_norm = float(np.linalg.norm(xv))
    yv = float(as_float_array(y, "y"))
    f = as_float_array(f0, "f0")
    lam = nonnegative_array(ntk0, "ntk0")
    eta = positive_array(lr, "lr")
    try:
        f, lam, eta = np.broadcast_arrays(f, lam, eta)
    except ValueError as exc:
        raise ValueError(f"f0, ntk0 and lr must broadcast together: {exc}") from exc
    if f.ndim > 1:
        raise ValueError("f0, ntk0, lr must be scalars or 1-D batches")
    check_allocation(_ITERATE_BYTES * product(f.size, steps + 1), "steps",
                     hint=f"{f.size} run(s) x {steps + 1} recorded steps; record fewer steps per call "
                          "or use sharpdyn.scan.uv, which keeps no history")
    k = float(_param.kappa(n, x_norm**2, s))
    shape = f.shape
    flat = [np.ascontiguousarray(a, dtype=np.float64).ravel() for a in (f, lam, eta)]
    kk = np.full(flat[0].shape, k)
    yy = np.full(flat[0].shape, yv)
    F, K, at = _core.uv_function_trajectory(flat[0], flat[1], flat[2], kk, yy, steps, threads_arg(threads))
    F, K, at = F.reshape(shape + (steps + 1,)), K.reshape(shape + (steps + 1,)), at.reshape(shape)
    with np.errstate(invalid="ignore", over="ignore"):
        df = F - yv
        S = 0.5 * K + np.sqrt(np.maximum(0.25 * K * K + k * df * (3.0 * F - yv), 0.0))
        L = 0.5 * df * df
    return Trajectory(
        loss=L, f=F, ntk=K, sharpness=S, diverged=at >= 0, diverged_at=at, lr=np.asarray(eta, dtype=np.float64),
        width=n, x=xv, y=yv, s=s, kappa=k,
    )


def classify(
    trajectory: Trajectory,
    *,
    lr: ArrayLike | None = None,
    criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA,
):
    """Regime name of a finished run (an array of names for a batch).

    ``lr`` defaults to the trajectory's own. The names and their criteria are those of
    :mod:`sharpdyn.regimes`: ``"divergence"``, ``"edge_of_stability"``, ``"catapult"``,
    ``"progressive_sharpening"``, ``"sharpness_reduction"``, ``"lazy"``.
    """
    eta = trajectory.lr if lr is None else lr
    return _regimes.classify_series(
        trajectory.loss, trajectory.sharpness, lr=eta, diverged=trajectory.diverged, criteria=criteria
    )
