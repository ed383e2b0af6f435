"""Trace and spectral density of a curvature operator from matrix-vector products.

- :func:`hutchinson_trace`: ``tr H ~ (1/m) sum_j z_j^T H z_j`` with Rademacher ``z_j``
  (Hutchinson 1990), with its standard error.
- :func:`spectral_density`: stochastic Lanczos quadrature (Golub & Meurant; Ghorbani, Krishnan
  & Xiao 2019; Yao et al.'s PyHessian): ``m`` Lanczos steps from each of several random unit
  vectors give Gauss quadrature nodes ``theta`` and weights ``tau`` with
  ``sum_i tau_i g(theta_i) = v^T g(H) v`` exactly for polynomials ``g`` of degree < 2m.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..validation import as_float_array, positive_float, positive_int
from .lanczos import orthogonalize, random_start


@dataclass(frozen=True)
class TraceEstimate:
    """Hutchinson estimate of ``tr H``: ``trace`` (mean of ``samples``), ``stderr`` (standard
    error of the mean), ``samples`` shape ``(n_samples,)``, ``n_matvec`` (operator applications), ``seed``."""

    trace: float
    stderr: float
    samples: np.ndarray
    n_matvec: int
    seed: int


def hutchinson_trace(operator: Any, *, n_samples: int = 100, seed: int = 0) -> TraceEstimate:
    """Estimate ``tr H`` with ``n_samples`` Rademacher probes (one product each)."""
    n_samples = positive_int(n_samples, "n_samples")
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    n = operator.n_params
    vals = np.empty(n_samples)
    for j in range(n_samples):
        z = (torch.randint(0, 2, (n,), generator=gen, dtype=torch.int64) * 2 - 1).to(operator.device, operator.dtype)
        vals[j] = float(z @ operator.matvec(z))
    stderr = float(vals.std(ddof=1) / np.sqrt(n_samples)) if n_samples > 1 else float("inf")
    return TraceEstimate(trace=float(vals.mean()), stderr=stderr, samples=vals, n_matvec=n_samples, seed=seed)


@dataclass(frozen=True)
class SpectralDensity:
    """Stochastic Lanczos quadrature of the spectrum of an ``n x n`` operator.

    Attributes
    ----------
    nodes, weights:
        Shape ``(n_vectors, n_iter)``: Ritz values and Gauss weights of each probe (weights of
        a probe sum to 1).
    n:
        Dimension of the operator.
    n_matvec, seed:
        Operator applications used and the seed.
    """

    nodes: np.ndarray
    weights: np.ndarray
    n: int
    n_matvec: int
    seed: int

    def moment(self, p: int) -> float:
        """Estimate of ``tr(H^p) / n`` (exact for each probe's ``v^T H^p v`` when ``p < 2 n_iter``)."""
        return float(np.mean(np.sum(self.weights * self.nodes**p, axis=1)))

    def density(self, grid: Any, *, sigma: float | None = None) -> np.ndarray:
        """Gaussian-broadened density on ``grid`` (integrates to ~1); ``sigma`` defaults to
        1% of the spectral range."""
        grid = as_float_array(grid, "grid", allow_empty=True)
        if sigma is None:
            sigma = 0.01 * max(float(np.ptp(self.nodes)), 1e-12)
        sigma = positive_float(sigma, "sigma")
        d = grid[None, None, :] - self.nodes[..., None]
        g = np.exp(-0.5 * (d / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
        return np.mean(np.sum(self.weights[..., None] * g, axis=1), axis=0)


def _lanczos_tridiagonal(matvec, q: torch.Tensor, m: int) -> tuple[np.ndarray, np.ndarray]:
    n = q.numel()
    m = min(m, n)
    Q = torch.empty((m, n), dtype=q.dtype, device=q.device)
    alpha, beta = np.zeros(m), np.zeros(max(m - 1, 0))
    size = m
    for j in range(m):
        Q[j] = q
        w = matvec(q)
        w, alpha[j] = orthogonalize(Q[: j + 1], w)
        b = float(torch.linalg.vector_norm(w))
        if j == m - 1:
            break
        if b <= 1e3 * float(torch.finfo(q.dtype).eps) * max(abs(alpha[: j + 1]).max(), 1e-300):
            size = j + 1  # invariant subspace: quadrature is exact with j + 1 nodes
            break
        beta[j] = b
        q = w / b
    return alpha[:size], beta[: size - 1]


def spectral_density(operator: Any, *, n_vectors: int = 4, n_iter: int = 50, seed: int = 0) -> SpectralDensity:
    """Stochastic Lanczos quadrature with ``n_vectors`` Gaussian probes of ``n_iter`` steps
    each (``n_vectors * n_iter`` products)."""
    n_vectors = positive_int(n_vectors, "n_vectors")
    n_iter = positive_int(n_iter, "n_iter")
    n = operator.n_params
    m = min(n_iter, n)
    nodes = np.zeros((n_vectors, m))
    weights = np.zeros((n_vectors, m))
    n_matvec = 0
    for i in range(n_vectors):
        q = random_start(n, seed * 100_003 + i, operator.dtype, operator.device)
        a, b = _lanczos_tridiagonal(operator.matvec, q, m)
        n_matvec += len(a)
        theta, S = np.linalg.eigh(np.diag(a) + np.diag(b, 1) + np.diag(b, -1))
        nodes[i, : len(a)] = theta
        weights[i, : len(a)] = S[0] ** 2
    return SpectralDensity(nodes=nodes, weights=weights, n=n, n_matvec=n_matvec, seed=seed)
