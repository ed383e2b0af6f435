"""Independent NumPy references for the UV model used by the tests (no sharpdyn code)."""

from __future__ import annotations

import numpy as np


def gamma(n: int, s: float) -> float:
    return n ** (-(1.0 - s) / 2.0)


def dense_hessian(u: np.ndarray, v: np.ndarray, x: np.ndarray, y: float, g: float) -> np.ndarray:
    """Hessian of L = (g v^T u x - y)^2 / 2 w.r.t. (vec(u) row-major, v), built from scratch."""
    n, d = u.shape
    h = u @ x
    f = g * v @ h
    df = f - y
    P = n * d + n
    J = np.zeros(P)
    J[: n * d] = g * np.outer(v, x).ravel()
    J[n * d :] = g * h
    M = np.zeros((P, P))  # second derivative of f
    for i in range(n):
        for j in range(d):
            M[i * d + j, n * d + i] = g * x[j]
            M[n * d + i, i * d + j] = g * x[j]
    return np.outer(J, J) + df * M


def gd_numpy(u: np.ndarray, v: np.ndarray, x: np.ndarray, y: float, g: float, lr: float, steps: int):
    """Plain NumPy GD in parameter space; returns per-step f and ntk."""
    u, v = u.copy(), v.copy()
    fs, ks = [], []
    with np.errstate(all="ignore"):  # a diverging run overflows; callers compare finite steps
        return _gd_loop(u, v, x, y, g, lr, steps, fs, ks)


def _gd_loop(u, v, x, y, g, lr, steps, fs, ks):
    for t in range(steps + 1):
        h = u @ x
        f = g * v @ h
        fs.append(f)
        ks.append(g * g * (h @ h + (v @ v) * (x @ x)))
        if t == steps:
            break
        df = f - y
        u, v = u - lr * g * df * np.outer(v, x), v - lr * g * df * h
    return np.array(fs), np.array(ks)
