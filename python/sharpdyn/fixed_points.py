"""Fixed points, periodic orbits and stability of the UV function-space map.

In the normalised variables ``g = lr sqrt(kappa)(f - y)``, ``z = lr ntk``,
``Y = lr sqrt(kappa) y`` the map is ``g' = g(1 - z + g(g + Y))``,
``z' = z + g(zg - 4(g + Y))``. Its fixed points are, exactly:

- the zero-loss line ``g = 0`` (any ``z``): Jacobian eigenvalues ``{1 - z, 1}``, so a
  point of it attracts iff ``0 < z < 2`` (``lr * ntk < 2``) and the line undergoes a flip
  (period doubling) at ``z = 2``. Reachable points have ``z >= 2|Y|`` since
  ``ntk >= 2 sqrt(kappa) |f|`` for any weights;
- the origin of weight space ``(g, z) = (-Y, 0)``, i.e. ``f = 0, ntk = 0``;
- ``(g, z) = (2, 4 + 2Y)`` and ``(-2, 4 - 2Y)``.

(From ``g' = g``: ``g = 0`` or ``z = g(g + Y)``; with ``z' = z``: ``zg = 4(g + Y)``, so
``(g + Y)(g^2 - 4) = 0``.) All isolated fixed points lie on the balanced lines
``z = 2|g + Y|`` (``u x`` parallel to ``v |x|``), which the map leaves invariant; on them
it reduces to ``s' = s(1 + Y - s)^2`` with ``s = g + Y``, conjugate to the cubic map
``x' = r x (1 - x^2)`` with ``r = 1 + Y``.

Orbits of period ``p > 1`` are found by Newton's method on ``F^p(q) = q`` from a grid of
starting points, then deduplicated and verified; each is returned once per orbit point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import parameterization as _param
from .validation import as_float_array, as_real_array, finite_float, nonnegative_array, positive_float, positive_int

__all__ = ["FixedPoint", "ZeroLossLine", "fixed_points", "zero_loss_line", "vector_field", "classify_eigenvalues",
           "normalized_step", "normalized_jacobian"]

MARGINAL_TOL = 1e-9
"""An eigenvalue with ``||mu| - 1| <= MARGINAL_TOL`` makes a point marginal."""

KINDS = ("stable_node", "stable_focus", "saddle", "unstable_node", "unstable_focus", "marginal")


MAX_PERIOD = 64

_FloatT = TypeVar("_FloatT", np.float64, NDArray[np.float64])
"""Largest ``period`` :func:`fixed_points` accepts: the ``p``-step map's derivatives grow like
``|multiplier|^p``, so Newton's method finds nothing reliable far beyond this, and its cost
grows in proportion to ``p`` (about 8 ms per step of the period)."""


def normalized_step(g: _FloatT, z: _FloatT, Y: float) -> tuple[_FloatT, _FloatT]:
    """One step of the normalised map (NumPy, elementwise: arrays or float64 scalars)."""
    return g * (1.0 - z + g * (g + Y)), z + g * (z * g - 4.0 * (g + Y))


def normalized_jacobian(g: np.ndarray, z: np.ndarray, Y: float) -> np.ndarray:
    """Jacobian ``d(g', z')/d(g, z)``, shape ``g.shape + (2, 2)``."""
    g = as_real_array(g, "g")
    z = as_real_array(z, "z")
    J = np.empty(np.broadcast(g, z).shape + (2, 2))
    J[..., 0, 0] = 1.0 - z + 3.0 * g * g + 2.0 * g * Y
    J[..., 0, 1] = -g
    J[..., 1, 0] = 2.0 * z * g - 8.0 * g - 4.0 * Y
    J[..., 1, 1] = 1.0 + g * g
    return J


def classify_eigenvalues(mu: np.ndarray, tol: float = MARGINAL_TOL) -> str:
    """Type of a fixed point of a 2-D map from its two Jacobian eigenvalues."""
    mu = np.asarray(mu, dtype=np.complex128)
    mod = np.abs(mu)
    if np.any(np.abs(mod - 1.0) <= tol):
        return "marginal"
    complex_pair = abs(mu[0].imag) > tol * max(1.0, mod[0])
    if np.all(mod < 1.0):
        return "stable_focus" if complex_pair else "stable_node"
    if np.all(mod > 1.0):
        return "unstable_focus" if complex_pair else "unstable_node"
    return "saddle"


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point (``period == 1``) or one point of a period-``p`` orbit.

    Attributes
    ----------
    f, ntk:
        The point in physical variables.
    g, z:
        The same point in normalised variables.
    jacobian:
        (2, 2) Jacobian of the ``period``-step map with respect to ``(f, ntk)``.
    eigenvalues:
        Its eigenvalues (complex array of 2; for an orbit, the multipliers).
    kind:
        One of ``stable_node, stable_focus, saddle, unstable_node, unstable_focus, marginal``.
    period:
        1 for a fixed point, ``p`` for a point of a ``p``-cycle.
    physical:
        Whether weights can realise it (``ntk >= 2 sqrt(kappa)|f|``, up to rounding).
    """

    f: float
    ntk: float
    g: float
    z: float
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    kind: str
    period: int
    physical: bool


@dataclass(frozen=True)
class ZeroLossLine:
    """The line of global minima ``f = y`` (any ``ntk``): neutral along the line, with the
    transverse multiplier ``1 - lr * ntk``.

    Attributes
    ----------
    f:
        ``y``.
    stable_ntk:
        ``(0, 2 / lr)``: the open interval of ``ntk`` on which the line attracts.
    min_reachable_ntk:
        ``2 sqrt(kappa) |y|``: smaller ``ntk`` cannot be realised by weights.
    lr:
        The learning rate.
    """

    f: float
    stable_ntk: tuple[float, float]
    min_reachable_ntk: float
    lr: float

    def eigenvalues(self, ntk: ArrayLike) -> np.ndarray:
        """Jacobian eigenvalues ``(1 - lr ntk, 1)`` along the line; shape ``ntk.shape + (2,)``."""
        lam = nonnegative_array(ntk, "ntk")
        return np.stack([1.0 - self.lr * lam, np.ones_like(lam)], axis=-1)

    def is_stable(self, ntk: ArrayLike) -> np.ndarray:
        lam = nonnegative_array(ntk, "ntk")
        return (lam > self.stable_ntk[0]) & (lam < self.stable_ntk[1])


def _scales(lr: Any, width: Any, x: Any, y: Any, param: _param.Param) -> tuple[float, float, float]:
    eta = positive_float(lr, "lr")
    n = positive_float(width, "width")
    xv = as_float_array(x, "x")
    x_norm2 = float(np.sum(xv * xv))
    yy = finite_float(y, "y")
    sk = float(np.sqrt(_param.kappa(n, x_norm2, param)))
    return eta, sk, yy


def zero_loss_line(*, lr: float, width: float, x: ArrayLike = 1.0, y: float = 1.0,
                   param: _param.Param = "sp") -> ZeroLossLine:
    """The zero-loss fixed line with its analytic stable range ``0 < lr * ntk < 2``."""
    eta, sk, yy = _scales(lr, width, x, y, param)
    return ZeroLossLine(f=yy, stable_ntk=(0.0, 2.0 / eta), min_reachable_ntk=2.0 * sk * abs(yy), lr=eta)


def _iterate_jacobian(g: np.ndarray, z: np.ndarray, Y: float, period: int):
    """(F^p(q), dF^p/dq) for arrays of points."""
    J = np.broadcast_to(np.eye(2), g.shape + (2, 2)).copy()
    for _ in range(period):
        J = normalized_jacobian(g, z, Y) @ J
        g, z = normalized_step(g, z, Y)
    return g, z, J


def _orbit_points_normalized(Y: float, period: int) -> list[tuple[float, float]]:
    if period == 1:
        return [(-Y, 0.0), (2.0, 4.0 + 2.0 * Y), (-2.0, 4.0 - 2.0 * Y)]
    # Newton on G(q) = F^p(q) - q from a grid that covers the bounded dynamics.
    span_g = 3.0 + abs(Y)
    gs = np.linspace(-span_g, span_g, 61)
    zs = np.linspace(-1.0, 6.0 + 2.5 * abs(Y), 61)
    G0, Z0 = np.meshgrid(gs, zs)
    g, z = G0.ravel().copy(), Z0.ravel().copy()
    with np.errstate(all="ignore"):
        for _ in range(60):
            gp, zp, J = _iterate_jacobian(g, z, Y, period)
            r = np.stack([gp - g, zp - z], axis=-1)
            A = J - np.eye(2)
            det = A[:, 0, 0] * A[:, 1, 1] - A[:, 0, 1] * A[:, 1, 0]
            ok = np.isfinite(det) & (np.abs(det) > 1e-300)
            dg = np.where(ok, (A[:, 1, 1] * r[:, 0] - A[:, 0, 1] * r[:, 1]) / np.where(ok, det, 1.0), 0.0)
            dz = np.where(ok, (-A[:, 1, 0] * r[:, 0] + A[:, 0, 0] * r[:, 1]) / np.where(ok, det, 1.0), 0.0)
            g, z = g - dg, z - dz
            bad = ~np.isfinite(g) | ~np.isfinite(z) | (np.abs(g) > 1e3) | (np.abs(z) > 1e4)
            g[bad], z[bad] = np.nan, np.nan
        gp, zp, _ = _iterate_jacobian(g, z, Y, period)
        scale = 1.0 + np.abs(g) + np.abs(z)
        res = np.hypot(gp - g, zp - z) / scale
        converged = np.isfinite(res) & (res < 1e-13)
        # Drop points of lower period (fixed points, or q | p): Newton also homes in, slowly,
        # on the degenerate flip point of the zero-loss line, so the margin is generous.
        for q in range(1, period):
            if period % q == 0:
                gq, zq, _ = _iterate_jacobian(g, z, Y, q)
                converged &= np.hypot(gq - g, zq - z) / scale > 1e-6
    pts: list[tuple[float, float]] = []
    for gi, zi in zip(g[converged], z[converged]):
        if all(abs(gi - a) + abs(zi - b) > 1e-7 * (1 + abs(a) + abs(b)) for a, b in pts):
            pts.append((float(gi), float(zi)))
    # Keep only complete orbits: the image of every point must be in the list too.
    def _in(a: float, b: float) -> bool:
        return any(abs(a - c) + abs(b - d) <= 1e-7 * (1 + abs(c) + abs(d)) for c, d in pts)

    with np.errstate(all="ignore"):
        pts = [(a, b) for a, b in pts if _in(*map(float, normalized_step(np.float64(a), np.float64(b), Y)))]
    pts.sort()
    return pts


def fixed_points(
    *, lr: float, width: float, x: ArrayLike = 1.0, y: float = 1.0, param: _param.Param = "sp", period: int = 1
) -> list[FixedPoint]:
    """Isolated fixed points (``period=1``) or points of period-``period`` orbits of the
    function-space map for the given learning rate, width, example and parameterization.

    The zero-loss fixed line is not included: see :func:`zero_loss_line`. For
    ``period=1`` the points are exact (closed form). For ``period > 1`` they come from
    Newton's method on ``F^period(q) = q``, started from a grid, and are refined to a
    relative residual below 1e-13. Each point carries the Jacobian of the
    ``period``-step map in ``(f, ntk)`` (the product of the one-step Jacobians around the
    orbit), its eigenvalues and its type. ``period`` is at most :data:`MAX_PERIOD` (64, about
    half a second).
    """
    period = positive_int(period, "period")
    if period > MAX_PERIOD:
        raise ValueError(f"period must be <= {MAX_PERIOD} (Newton's method on the {period}-step map costs "
                         f"time in proportion to period and loses all precision long before), got {period}")
    eta, sk, yy = _scales(lr, width, x, y, param)
    Y = eta * sk * yy
    D = np.diag([eta * sk, eta])
    Dinv = np.diag([1.0 / (eta * sk), 1.0 / eta])
    out = []
    for g, z in _orbit_points_normalized(Y, period):
        _, _, Jq = _iterate_jacobian(np.array(g), np.array(z), Y, period)
        Jp = Dinv @ Jq @ D
        mu = np.linalg.eigvals(Jq)
        mu = mu[np.argsort(-np.abs(mu))]
        out.append(
            FixedPoint(
                f=yy + g / (eta * sk), ntk=z / eta, g=g, z=z, jacobian=Jp, eigenvalues=mu,
                kind=classify_eigenvalues(mu), period=period,
                physical=bool(z >= 2.0 * abs(g + Y) - 1e-9 * (1.0 + abs(z))),
            )
        )
    return out


def vector_field(
    f: ArrayLike, ntk: ArrayLike, *, lr: float, width: float, x: ArrayLike = 1.0, y: float = 1.0,
    param: _param.Param = "sp",
) -> tuple[np.ndarray, np.ndarray]:
    """One-step displacement ``(f' - f, ntk' - ntk)`` of the map on a grid (arrays broadcast),
    for flow diagrams."""
    eta, sk, yy = _scales(lr, width, x, y, param)
    F = as_float_array(f, "f")
    L = nonnegative_array(ntk, "ntk")
    Y = eta * sk * yy
    g, z = eta * sk * (F - yy), eta * L
    gp, zp = normalized_step(g, z, Y)
    return (gp - g) / (eta * sk), (zp - z) / eta
