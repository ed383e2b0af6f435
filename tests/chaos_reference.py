"""Pure-NumPy reference iterations for the chaos tests (independent of the compiled kernels)."""

from __future__ import annotations

import numpy as np


def cubic_orbits(r, x0, n_transient, n_keep, observable="state"):
    """Returns (states (P, K), diverged_at (P,)) with the same conventions as the kernels."""
    r = np.asarray(r, dtype=np.float64)
    x = np.broadcast_to(np.asarray(x0, dtype=np.float64), r.shape).copy()
    escape = np.where(r == 0, np.inf, 2.0 * np.sqrt(1.0 + 1.0 / np.abs(np.where(r == 0, 1.0, r))))
    bound = np.maximum(1e6 * (np.abs(x) + 1.0), escape)
    at = np.full(r.shape, -1, dtype=np.int64)
    out = np.empty(r.shape + (n_keep,))

    def obs(v):
        if observable == "sharpness":
            return 3.0 * r * v * v - (r - 1.0)
        if observable == "loss":
            g = r * v * v - (r - 1.0)
            return 0.5 * g * g
        return v.copy()

    with np.errstate(over="ignore", invalid="ignore"):
        for s in range(n_transient + n_keep):
            if s >= n_transient:
                out[:, s - n_transient] = obs(x)
            if s == n_transient + n_keep - 1:
                break
            x = r * x * (1.0 - x * x)
            bad = (at < 0) & ~(np.abs(x) <= bound)
            at[bad] = s + 1
    for i in np.flatnonzero(at >= 0):
        out[i, max(at[i] - n_transient, 0):] = np.nan
    return out, at


def uv_step(g, z, Y):
    return g * (1.0 - z + g * (g + Y)), z + g * (z * g - 4.0 * (g + Y))


def uv_jacobian(g, z, Y):
    return np.array([[1.0 - z + 3.0 * g * g + 2.0 * g * Y, -g], [2.0 * z * g - 8.0 * g - 4.0 * Y, 1.0 + g * g]])


def uv_orbits(Y, g0, z0, n_transient, n_keep, observable="state"):
    Y = np.asarray(Y, dtype=np.float64)
    g = np.broadcast_to(np.asarray(g0, dtype=np.float64), Y.shape).copy()
    z = np.broadcast_to(np.asarray(z0, dtype=np.float64), Y.shape).copy()
    bound = 1e6 * (np.abs(g) + np.abs(Y) + 1.0)
    at = np.full(Y.shape, -1, dtype=np.int64)
    dim = 2 if observable == "state" else 1
    out = np.empty(Y.shape + (n_keep, dim))

    def obs(g, z):
        if observable == "state":
            return np.stack([g, z], axis=-1)
        if observable == "sharpness":
            return (0.5 * z + np.sqrt(np.maximum(0.25 * z * z + g * (3.0 * g + 2.0 * Y), 0.0)))[:, None]
        if observable == "loss":
            return (0.5 * g * g)[:, None]
        return z[:, None].copy()

    with np.errstate(over="ignore", invalid="ignore"):
        for s in range(n_transient + n_keep):
            if s >= n_transient:
                out[:, s - n_transient] = obs(g, z)
            if s == n_transient + n_keep - 1:
                break
            g, z = uv_step(g, z, Y)
            bad = (at < 0) & ~((np.abs(g) <= bound) & np.isfinite(z))
            at[bad] = s + 1
    for i in np.flatnonzero(at >= 0):
        out[i, max(at[i] - n_transient, 0):] = np.nan
    return (out if dim == 2 else out[..., 0]), at


def detect_period(states, max_period, tol):
    """states: (2 max_period,) or (2 max_period, dim)."""
    s = np.asarray(states).reshape(2 * max_period, -1)
    for p in range(1, max_period + 1):
        a = s[:max_period]
        if np.all(np.abs(s[p:p + max_period] - a) <= tol * np.maximum(1.0, np.abs(a))):
            return p
    return 0


def cubic_lyapunov(r, x0, n_transient, n_steps):
    x = float(x0)
    for _ in range(n_transient):
        x = r * x * (1.0 - x * x)
    total = 0.0
    for _ in range(n_steps):
        total += np.log(abs(r * (1.0 - 3.0 * x * x)))
        x = r * x * (1.0 - x * x)
    return total / n_steps


def cubic_benettin(r, x0, n_transient, n_steps, d0=1e-9):
    """Two-trajectory estimate: follow a companion orbit at distance d0, renormalise each step."""
    x = float(x0)
    for _ in range(n_transient):
        x = r * x * (1.0 - x * x)
    y = x + d0
    total = 0.0
    for _ in range(n_steps):
        x = r * x * (1.0 - x * x)
        y = r * y * (1.0 - y * y)
        d = abs(y - x)
        total += np.log(d / d0)
        y = x + d0 * (y - x) / d
    return total / n_steps


def uv_lyapunov_qr(Y, g0, z0, n_transient, n_steps):
    """QR-based spectrum with numpy.linalg.qr (Householder), plus mean log|det J|."""
    g, z = float(g0), float(z0)
    for _ in range(n_transient):
        g, z = uv_step(g, z, Y)
    Q = np.eye(2)
    sums = np.zeros(2)
    logdet = 0.0
    for _ in range(n_steps):
        J = uv_jacobian(g, z, Y)
        Q, R = np.linalg.qr(J @ Q)
        sgn = np.sign(np.diag(R))
        Q = Q * sgn
        sums += np.log(np.abs(np.diag(R)))
        logdet += np.log(abs(np.linalg.det(J)))
        g, z = uv_step(g, z, Y)
    return sums / n_steps, logdet / n_steps
