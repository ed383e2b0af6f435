"""Pure-NumPy reference for the scan kernel (no sharpdyn code): records whole orbits of the
UV function-space map and reduces them to the per-point statistics a scan returns."""

from __future__ import annotations

import math

import numpy as np


def late_window(n_samples: int, fraction: float = 0.1) -> int:
    w = 2 * math.ceil(fraction * n_samples / 2.0)
    return int(min(max(w, 2), n_samples))


def orbit(lr, lam, f0, kappa, y, steps):
    """Whole orbits (states 0..steps) with NaN after the first out-of-bound state."""
    lr, lam, f0, kappa, y = (np.asarray(a, dtype=np.float64) for a in np.broadcast_arrays(lr, lam, f0, kappa, y))
    n = lr.size
    F = np.full((n, steps + 1), np.nan)
    K = np.full((n, steps + 1), np.nan)
    F[:, 0], K[:, 0] = f0, lam
    at = np.full(n, -1, dtype=np.int64)
    bound = 1e6 * (np.abs(f0 - y) + np.abs(y) + 1.0)
    f, l = f0.copy(), lam.copy()
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            df = f - y
            fn = f - lr * l * df + lr * lr * kappa * f * df * df
            ln = l + lr * kappa * df * (lr * l * df - 4.0 * f)
            alive = at < 0
            bad = alive & ~((np.abs(fn - y) <= bound) & np.isfinite(ln))
            at[bad] = t
            ok = alive & ~bad
            F[ok, t], K[ok, t] = fn[ok], ln[ok]
            f, l = np.where(ok, fn, f), np.where(ok, ln, l)
    return F, K, at


def statistics(lr, lam, f0, kappa, y, steps, every=1, converged_rtol=1e-10):
    """Per-point statistics in the scan kernel's definitions, from recorded orbits."""
    lr, lam, f0, kappa, y = (np.asarray(a, dtype=np.float64).ravel()
                             for a in np.broadcast_arrays(lr, lam, f0, kappa, y))
    F, K, at = orbit(lr, lam, f0, kappa, y, steps)
    with np.errstate(all="ignore"):
        df = F - y[:, None]
        L = 0.5 * df * df
        S = 0.5 * K + np.sqrt(np.maximum(0.25 * K * K + kappa[:, None] * df * (3.0 * F - y[:, None]), 0.0))
    n = lr.size
    idx = np.arange(n)
    last = np.where(at >= 0, at - 1, steps)
    sampled = (np.arange(steps + 1) % every == 0)
    sampled[-1] = True
    Ss = np.where(sampled[None, :] & np.isfinite(S), S, np.nan)
    W = late_window(steps + 1)
    tail = L[:, -W:]
    with np.errstate(invalid="ignore"):
        increase = np.any(tail[:, 1:] > tail[:, :-1] * (1.0 + 1e-12), axis=1) & (at < 0)
        late = np.where(at < 0, np.nanmax(np.where(np.isfinite(S[:, -W:]), S[:, -W:], -np.inf), axis=1), np.nan)
        above = (np.abs(df) > math.sqrt(converged_rtol) * np.abs(df[:, :1])) & sampled[None, :]
    last_above = np.where(above.any(axis=1), steps - np.argmax(above[:, ::-1], axis=1), -1)
    converged_at = np.where((at < 0) & (last_above < steps), last_above + 1, -1)
    return {
        "f": F[idx, last], "ntk": K[idx, last], "diverged_at": at,
        "initial_loss": L[:, 0], "max_loss": np.where(np.isfinite(L[:, 1:]), L[:, 1:], -np.inf).max(axis=1),
        "final_loss": L[idx, last], "initial_sharpness": S[:, 0], "final_sharpness": S[idx, last],
        "min_sharpness": np.nanmin(Ss, axis=1), "max_sharpness": np.nanmax(Ss, axis=1),
        "late_max_sharpness": late, "late_loss_increase": increase, "converged_at": converged_at,
    }


GROUPS = ((3.0, 1.0), (10.0, 2.0), (37.0, 0.7), (64.0, -1.5), (1.0, 0.25), (1000.0, 3.0))
"""(width, y) pairs of :func:`random_points`: one batched single run per group."""


def random_points(rng: np.random.Generator, n_per_group: int):
    """Points spread over every regime, in groups of equal (width, y): per point the
    normalised Y = lr sqrt(kappa) y is drawn in (0, 1.6) (edge of stability past 1),
    c = lr ntk0 in (0.1, 4.5) (lazy to divergent) and f0 between 0 and 2y.
    Returns (lr, ntk0, f0, width, y, group) arrays."""
    out = []
    for g, (width, y) in enumerate(GROUPS):
        Y = rng.uniform(0.0, 1.6, n_per_group)
        c = rng.uniform(0.1, 4.5, n_per_group)
        lr = Y / (np.sqrt(1.0 / width) * abs(y))
        lam = c / lr
        f0 = y + rng.uniform(-1.0, 1.0, n_per_group) * y
        out.append((lr, lam, f0, np.full(n_per_group, width), np.full(n_per_group, y), np.full(n_per_group, g)))
    return tuple(np.concatenate(cols) for cols in zip(*out))


def late_divergers(rng: np.random.Generator, n: int):
    """Normalised-map points (lr = kappa = 1) with |Y| in (2, 2.4): many escape a chaotic
    transient only after tens to thousands of steps. Returns (lr, ntk0, f0, width, y)."""
    c = rng.uniform(0.1, 5.0, n)
    Y = rng.choice([-1.0, 1.0], n) * rng.uniform(2.0, 2.4, n)
    g = rng.uniform(-2.0, 1.0, n)
    return np.ones(n), c, g + Y, np.ones(n), Y
