"""The cubic map: gradient descent on a sub-quadratic loss, and its link to the UV model.

At the edge of stability the loss along the unstable direction is sub-quadratic,
``L(theta) = (a theta^2 - b)^2 / 2`` (``a, b > 0``). One GD step of size ``lr`` is::

    theta' = theta - lr L'(theta) = (1 + 2 lr a b) theta - 2 lr a^2 theta^3

and with ``r = 1 + 2 lr a b`` and ``x = theta sqrt(2 lr a^2 / r)`` it is exactly the cubic map::

    x' = r x (1 - x^2).

The minimum ``theta*^2 = b/a`` is the fixed point ``x*^2 = 1 - 1/r``; its curvature is
``L''(theta*) = 4ab``, so ``lr * lambda = 2 (r - 1)``, i.e. ``r = 1 + lr*lambda/2``. The fixed
point's multiplier is ``3 - 2r = 1 - lr*lambda``: it flips (period doubling) exactly at ``r = 2``
(``lr*lambda = 2``). The flip-born 2-cycle ``{p, q}`` has ``p^2 + q^2 = 1``, ``pq = 1/r`` and
multiplier ``9 - 2 r^2``, so the second doubling is at ``r = sqrt(5)``. Orbits stay bounded for
``r <= 3`` (``lr*lambda <= 4``) and escape beyond.

The UV model's normalised map (:mod:`sharpdyn.uv`) has the invariant line ``z = 2 (g + Y)``
(balanced layers); on it ``x = sqrt((g + Y) / (1 + Y))`` obeys the cubic map with ``r = 1 + Y``,
and the UV sharpness and loss are the observables :func:`sharpness` and :func:`loss`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .validation import as_float_array, as_real_array, check_allocation, positive_array, positive_int, product

__all__ = [
    "ESCAPE_R",
    "FIRST_DOUBLING_R",
    "SECOND_DOUBLING_R",
    "from_map",
    "gd_step",
    "fixed_point",
    "fixed_point_multiplier",
    "iterate",
    "loss",
    "r_from_loss",
    "r_from_sharpness",
    "sharpness",
    "sharpness_from_r",
    "step",
    "sub_quadratic_loss",
    "to_map",
    "two_cycle",
    "two_cycle_multiplier",
    "uv_from_cubic",
    "uv_r",
    "uv_to_cubic",
]

FIRST_DOUBLING_R = 2.0
"""The fixed point flips at r = 2 (lr * lambda = 2)."""
SECOND_DOUBLING_R = float(np.sqrt(5.0))
"""The 2-cycle (multiplier 9 - 2 r^2) flips at r = sqrt(5)."""
ESCAPE_R = 3.0
"""For r > 3 the critical value 2r/(3 sqrt 3) exceeds the escape radius sqrt(1 + 1/r)."""


def r_from_loss(a: ArrayLike, b: ArrayLike, lr: ArrayLike) -> np.ndarray:
    """``r = 1 + 2 lr a b`` for GD on ``(a theta^2 - b)^2 / 2``."""
    return 1.0 + 2.0 * positive_array(lr, "lr") * positive_array(a, "a") * positive_array(b, "b")


def r_from_sharpness(lr_sharpness: ArrayLike) -> np.ndarray:
    """``r = 1 + lr*lambda/2`` where ``lr*lambda`` is the normalised curvature at the minimum."""
    return 1.0 + 0.5 * as_float_array(lr_sharpness, "lr_sharpness")


def sharpness_from_r(r: ArrayLike) -> np.ndarray:
    """``lr*lambda = 2 (r - 1)`` at the minimum."""
    return 2.0 * (as_float_array(r, "r") - 1.0)


def to_map(theta: ArrayLike, *, a: ArrayLike, b: ArrayLike, lr: ArrayLike) -> np.ndarray:
    """Map coordinate ``x = theta sqrt(2 lr a^2 / r)``."""
    r = r_from_loss(a, b, lr)
    return as_float_array(theta, "theta") * np.sqrt(2.0 * np.asarray(lr) * np.asarray(a) ** 2 / r)


def from_map(x: ArrayLike, *, a: ArrayLike, b: ArrayLike, lr: ArrayLike) -> np.ndarray:
    """Inverse of :func:`to_map`."""
    r = r_from_loss(a, b, lr)
    return as_float_array(x, "x") / np.sqrt(2.0 * np.asarray(lr) * np.asarray(a) ** 2 / r)


def sub_quadratic_loss(theta: ArrayLike, *, a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """``L(theta) = (a theta^2 - b)^2 / 2``."""
    th = as_float_array(theta, "theta")
    return 0.5 * (np.asarray(a) * th * th - np.asarray(b)) ** 2


def gd_step(theta: ArrayLike, *, a: ArrayLike, b: ArrayLike, lr: ArrayLike) -> np.ndarray:
    """One gradient-descent step on :func:`sub_quadratic_loss`: ``theta - lr L'(theta)``."""
    th = as_float_array(theta, "theta")
    a, b, lr = np.asarray(a), np.asarray(b), np.asarray(lr)
    return th - lr * 2.0 * a * th * (a * th * th - b)


def step(x: ArrayLike, r: ArrayLike) -> np.ndarray:
    """``r x (1 - x^2)`` (NumPy; the compiled kernels evaluate the same expression)."""
    x = as_real_array(x, "x")
    return as_real_array(r, "r") * x * (1.0 - x * x)


def iterate(x0: ArrayLike, r: ArrayLike, steps: int) -> np.ndarray:
    """The orbit ``x_0 .. x_steps`` (NumPy, for small problems); shape ``(steps + 1,) + shape``;
    ``steps >= 1`` as everywhere. Refuses orbits that would not fit in memory."""
    steps = positive_int(steps, "steps")
    x = as_float_array(x0, "x0")
    rr = as_float_array(r, "r")
    try:
        shape = np.broadcast_shapes(x.shape, rr.shape)
    except ValueError as exc:
        raise ValueError(f"x0 and r must broadcast together: {exc}") from exc
    check_allocation(8 * product(steps + 1, *shape), "steps", hint="record fewer steps or use sharpdyn.scan.cubic")
    out = np.empty((steps + 1,) + shape)
    out[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            out[t + 1] = step(out[t], rr)
    return out


def sharpness(x: ArrayLike, r: ArrayLike) -> np.ndarray:
    """Normalised curvature ``lr L''(theta) = 3 r x^2 - (r - 1)`` (``2(r-1)`` at the minimum)."""
    x = as_real_array(x, "x")
    r = as_real_array(r, "r")
    return 3.0 * r * x * x - (r - 1.0)


def loss(x: ArrayLike, r: ArrayLike) -> np.ndarray:
    """Normalised loss ``4 lr^2 a^2 L(theta) = (r x^2 - (r - 1))^2 / 2``."""
    x = as_real_array(x, "x")
    r = as_real_array(r, "r")
    g = r * x * x - (r - 1.0)
    return 0.5 * g * g


def fixed_point(r: ArrayLike) -> np.ndarray:
    """The positive non-zero fixed point ``sqrt(1 - 1/r)`` (``r >= 1``)."""
    rr = as_float_array(r, "r")
    if np.any(rr < 1.0):
        raise ValueError("r must be >= 1 for a non-zero fixed point")
    return np.sqrt(1.0 - 1.0 / rr)


def fixed_point_multiplier(r: ArrayLike) -> np.ndarray:
    """``f'(x*) = 3 - 2r``."""
    return 3.0 - 2.0 * as_float_array(r, "r")


def two_cycle(r: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The flip-born 2-cycle ``(p, q)``, ``p > q > 0``, for ``r >= 2``: ``p^2 + q^2 = 1``,
    ``pq = 1/r``."""
    rr = as_float_array(r, "r")
    if np.any(rr < 2.0):
        raise ValueError("r must be >= 2 for the period-2 cycle to exist")
    s = np.sqrt(1.0 + 2.0 / rr)  # p + q
    d = np.sqrt(1.0 - 2.0 / rr)  # p - q
    return 0.5 * (s + d), 0.5 * (s - d)


def two_cycle_multiplier(r: ArrayLike) -> np.ndarray:
    """``r^2 (1 - 3p^2)(1 - 3q^2) = 9 - 2 r^2``."""
    rr = as_float_array(r, "r")
    return 9.0 - 2.0 * rr * rr


def uv_r(Y: ArrayLike) -> np.ndarray:
    """Cubic-map parameter of the UV model on its invariant line: ``r = 1 + Y``."""
    return 1.0 + as_float_array(Y, "Y")


def uv_to_cubic(g: ArrayLike, Y: ArrayLike) -> np.ndarray:
    """``|x| = sqrt((g + Y) / (1 + Y))`` (meaningful on the invariant line ``z = 2(g + Y)``)."""
    g = as_real_array(g, "g")
    Y = as_real_array(Y, "Y")
    return np.sqrt(np.maximum(g + Y, 0.0) / (1.0 + Y))


def uv_from_cubic(x: ArrayLike, Y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The UV state ``(g, z)`` on the invariant line for cubic-map state ``x``:
    ``g = (1 + Y) x^2 - Y``, ``z = 2 (1 + Y) x^2``."""
    x = as_real_array(x, "x")
    Y = as_real_array(Y, "Y")
    w = (1.0 + Y) * x * x
    return w - Y, 2.0 * w
