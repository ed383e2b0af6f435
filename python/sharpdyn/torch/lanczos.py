"""Top-k eigenvalues of a symmetric operator by Lanczos with full reorthogonalisation.

Each iteration applies the operator once (one HVP), orthogonalises the new vector against
the whole Krylov basis twice (classical Gram--Schmidt, "CGS2"), and checks the Ritz values
of the tridiagonal matrix ``T``. A Ritz pair ``(theta_i, x_i)`` is converged when its
residual ``||H x_i - theta_i x_i|| = beta_m |s_{m,i}|`` (exact in exact arithmetic, and
reliable with full reorthogonalisation) is at most ``tol * |theta_i|``. The eigenvalue error
is then at most ``residual^2 / gap`` (Kahan--Parlett), so ``tol = 1e-6`` gives eigenvalues
to about ``1e-12 |theta| / (gap/|theta|)``.

References: Golub & Van Loan, *Matrix Computations*, sec. 10.1--10.3; Parlett, *The
Symmetric Eigenvalue Problem*, ch. 13. Cohen et al. (2021) use SciPy's ``eigsh`` (ARPACK,
implicitly restarted Lanczos) on full-batch HVPs for the same purpose.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from ..eigen import WHICH, EigenResult
from ..validation import one_of, positive_float, positive_int


def random_start(n: int, seed: int, dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
    """A unit Gaussian vector drawn on the CPU from ``seed`` (so it is the same on every device)."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    v = torch.randn(n, generator=gen, dtype=torch.float64)
    return (v / torch.linalg.vector_norm(v)).to(device=device, dtype=dtype)


def orthogonalize(basis: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Remove from ``w = A q_j`` its components along the rows of ``basis = Q[: j + 1]``
    (classical Gram-Schmidt applied twice: full reorthogonalisation); returns the residual
    vector and the Lanczos coefficient ``alpha_j = q_j . A q_j``."""
    h = basis @ w
    w = w - basis.T @ h
    h2 = basis @ w
    w = w - basis.T @ h2
    return w, float(h[-1] + h2[-1])


def T_block(alpha: np.ndarray, beta: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The tridiagonal Lanczos matrix of rows/columns ``start:stop``."""
    a, b = alpha[start:stop], beta[start:stop - 1]
    return np.diag(a) + np.diag(b, 1) + np.diag(b, -1)


def eigenvalue_error_estimate(theta: np.ndarray, S: np.ndarray, b: float, idx: np.ndarray,
                              floor: float = 0.0) -> np.ndarray:
    """A-posteriori error estimate ``residual_i^2 / gap_i`` of the selected Ritz values
    (Kahan--Parlett form; ``gap_i``: the distance to the nearest other Ritz value, infinite
    when there is none). An estimate, not a bound: while the Krylov space has not yet seen the
    eigenvalues next to ``theta_i`` (the first steps after a good warm start), the nearest
    Ritz value is too far and the estimate too small, which is why :func:`lanczos` then also
    asks the Ritz value to have settled before it trusts it. Gaps are floored at ``floor``
    (a multiple of the rounding level), so equal Ritz values give a huge estimate, not a
    division by zero."""
    d = np.abs(theta[idx, None] - theta[None, :])
    d[np.arange(len(idx)), idx] = np.inf
    return (b * np.abs(S[-1, idx])) ** 2 / np.maximum(d.min(axis=1), floor)


def _wanted(theta: np.ndarray, k: int, which: str) -> np.ndarray:
    key = -theta if which == "largest" else -np.abs(theta)
    return np.argsort(key, kind="stable")[:k]


def lanczos(
    operator: Any,
    n: int | None = None,
    *,
    k: int = 1,
    tol: float = 1e-6,
    max_iter: int | None = None,
    seed: int = 0,
    v0: Any = None,
    which: str = "largest",
    eig_tol: float | None = None,
    check_residuals: bool = False,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
) -> EigenResult:
    """Top-``k`` eigenpairs of a symmetric operator, as an :class:`~sharpdyn.eigen.EigenResult`
    (eigenvectors as columns, shape ``(n, k)``; relative residuals; ``n_matvec`` products).

    Parameters
    ----------
    operator:
        A :class:`~sharpdyn.torch.HessianOperator` (or anything with ``matvec``, ``n_params``,
        ``dtype``, ``device``), or a callable ``v -> H v`` on 1-d tensors (then give ``n``).
    n:
        Dimension, only for a plain callable.
    k:
        Number of eigenpairs.
    tol:
        Relative residual at which a Ritz pair counts as converged. 1e-6: eigenvalues then
        agree with a dense solver to ~1e-10 relative or better in float64.
    max_iter:
        Largest Krylov dimension (one operator application each). Default
        ``min(n, max(100, 10 k + 50))``; the basis is stored, ``max_iter * n`` numbers.
    seed:
        Seed of the random start vector (drawn on the CPU in float64: same on every device).
    v0:
        Start vector (e.g. the previous top eigenvector ``result.eigenvectors[:, 0]`` when
        tracking training); overrides ``seed`` for the first vector.
    which:
        ``"largest"`` (algebraic; the sharpness) or ``"magnitude"``.
    eig_tol:
        Optional second stopping rule for when only the eigenvalues are wanted: a pair also
        counts as converged when the a-posteriori error estimate ``residual^2 / gap`` (gap: the
        distance to the nearest other Ritz value, :func:`eigenvalue_error_estimate`) is at most
        ``eig_tol * |theta|`` (and, after a warm start ``v0``, the value changed by at most
        ``eig_tol * |theta|`` in the last step). With
        ``eig_tol = 1e-5`` the top eigenvalue is typically accurate to ~1e-5 after far fewer
        products than the residual rule needs; its eigenvector is then less accurate.
    check_residuals:
        Recompute each returned pair's residual with ``k`` extra products instead of using
        the Lanczos estimate.
    """
    k = positive_int(k, "k")
    tol = positive_float(tol, "tol")
    if eig_tol is not None:
        eig_tol = positive_float(eig_tol, "eig_tol")
    one_of(which, "which", WHICH)
    if callable(getattr(operator, "matvec", None)) and hasattr(operator, "n_params"):
        matvec: Callable[[torch.Tensor], torch.Tensor] = operator.matvec
        n = operator.n_params
        dtype = dtype or operator.dtype
        device = device or operator.device
    elif callable(operator):
        if n is None:
            raise ValueError("n (the dimension) is required when operator is a plain callable")
        matvec = operator
        n = positive_int(n, "n")
        dtype = dtype or torch.float64
        device = torch.device(device or "cpu")
    else:
        raise TypeError("operator must be a curvature operator or a callable v -> H v")
    if k > n:
        raise ValueError(f"k={k} exceeds the dimension n={n}")
    m_max = min(n, max(100, 10 * k + 50)) if max_iter is None else min(n, positive_int(max_iter, "max_iter"))
    if m_max < k:
        raise ValueError(f"max_iter={max_iter} is smaller than k={k}")

    if v0 is None:
        q = random_start(n, seed, dtype, device)
    else:
        q = torch.as_tensor(np.asarray(v0) if not isinstance(v0, torch.Tensor) else v0).reshape(-1)
        if q.numel() != n:
            raise ValueError(f"v0 must have {n} entries, got {q.numel()}")
        q = q.to(device=device, dtype=dtype)
        norm = torch.linalg.vector_norm(q)
        if not bool(torch.isfinite(norm)) or float(norm) == 0.0:
            raise ValueError("v0 must be finite and non-zero")
        q = q / norm

    Q = torch.empty((m_max, n), dtype=dtype, device=device)
    alpha = np.zeros(m_max)
    beta = np.zeros(m_max)
    n_matvec = 0
    restart_seed = seed
    eps = float(torch.finfo(dtype).eps)
    theta = S = idx = None
    warm = v0 is not None
    previous = np.zeros(0)  # the wanted Ritz values one step earlier
    eig_ok = np.zeros(k, dtype=bool)
    m = 0
    block_start = 0
    for j in range(m_max):
        Q[j] = q
        w = matvec(q)
        n_matvec += 1
        if not bool(torch.isfinite(w).all()):
            raise FloatingPointError("operator returned NaN or infinity (diverged parameters?)")
        w, alpha[j] = orthogonalize(Q[: j + 1], w)
        b = float(torch.linalg.vector_norm(w))
        m = j + 1
        theta, S = np.linalg.eigh(T_block(alpha, beta, 0, m))
        scale = max(float(np.max(np.abs(theta))), np.finfo(float).tiny)
        idx = _wanted(theta, k, which)
        res = b * np.abs(S[-1, idx])
        rel = res / np.maximum(np.abs(theta[idx]), eps * scale)
        ok = rel <= tol
        if eig_tol is not None and m > 1:
            # After a warm start the residual can be small while the Krylov space has not yet
            # met the eigenvalues next to theta: the nearest Ritz value is then too far and the
            # estimate too small (seen on an MLP tracked in training: 1e-3 error after two
            # products). So a warm start also needs the Ritz values to have moved by less than
            # eig_tol in the last step. From a random start the extreme Ritz values converge in
            # order (Kaniel-Paige), so by the time the residual is small the neighbours are there.
            settled = np.ones(len(idx), dtype=bool)
            if warm:
                settled = np.abs(theta[idx] - previous[: len(idx)]) <= eig_tol * np.abs(theta[idx]) \
                    if len(previous) >= len(idx) else ~settled
            estimate = eigenvalue_error_estimate(theta, S, b, idx, eps * scale)
            eig_ok = settled & (estimate <= eig_tol * np.maximum(np.abs(theta[idx]), eps * scale))
            ok = ok | eig_ok
        previous = theta[idx]
        breakdown = b <= 10 * eps * scale * np.sqrt(m)
        if breakdown and m < min(n, m_max):
            # Invariant subspace found: its Ritz values are exact but need not be the wanted ones.
            # Continue in its orthogonal complement from a fresh vector; the new block must then
            # converge its own end before we stop (so a start inside an eigenspace is harmless).
            restart_seed += 1
            q = random_start(n, restart_seed, dtype, device)
            for _ in range(2):
                q = q - Q[:m].T @ (Q[:m] @ q)
            q = q / torch.linalg.vector_norm(q)
            beta[j] = 0.0
            block_start = m
            continue
        block_ok = True
        if block_start > 0:
            tb, Sb = np.linalg.eigh(T_block(alpha, beta, block_start, m))
            ib = _wanted(tb, 1, which)[0]
            block_ok = bool(b * abs(Sb[-1, ib]) <= tol * max(abs(tb[ib]), eps * scale))
        if m == n or m == m_max or (m >= k and block_ok and np.all(ok)):
            break
        beta[j] = b
        q = w / b

    assert theta is not None and S is not None and idx is not None  # the loop ran: m_max >= k >= 1
    vecs = torch.as_tensor(S[:, idx].T.copy(), dtype=dtype, device=device) @ Q[:m]
    vals = theta[idx]
    residual = b * np.abs(S[-1, idx]) if m < n else np.zeros(len(idx))
    if check_residuals:
        residual = np.array([float(torch.linalg.vector_norm(matvec(vecs[i]) - vals[i] * vecs[i]))
                             for i in range(len(idx))])
        n_matvec += len(idx)
    scale = max(float(np.max(np.abs(theta))), np.finfo(float).tiny)
    rel = residual / np.maximum(np.abs(vals), eps * scale)
    converged = rel <= tol
    if eig_tol is not None and m > 1:
        converged = converged | eig_ok
    return EigenResult(
        eigenvalues=np.asarray(vals, dtype=np.float64),
        eigenvectors=vecs.detach().to("cpu", torch.float64).numpy().T,
        residuals=np.asarray(rel, dtype=np.float64),
        converged=np.asarray(converged),
        n_matvec=n_matvec,
        n_iter=m,
        tol=tol,
        seed=seed,
        which=which,
    )


def hessian_eigenvalues(
    model: Any,
    loss_fn: Any,
    data: Any,
    *,
    k: int = 1,
    tol: float = 1e-6,
    seed: int = 0,
    max_iter: int | None = None,
    v0: Any = None,
    which: str = "largest",
    chunk_size: int | None = None,
    dtype: Any = None,
    device: Any = None,
    mode: str | None = None,
    method: str = "double_backward",
    eig_tol: float | None = None,
    cache_graph: bool | None = None,
    max_graph_bytes: int | None = None,
) -> EigenResult:
    """Top-``k`` eigenvalues of the full-batch loss Hessian of ``model`` on ``data``.

    ``data`` is a pair ``(X, Y)`` or an iterable of ``(x, y)`` batches; ``loss_fn`` is
    ``"mse"``, ``"cross_entropy"``, ... or a callable. Operator options (``chunk_size``,
    ``dtype``, ``device``, ``mode``, ``method``, ``cache_graph``, ``max_graph_bytes``) as in
    :class:`~sharpdyn.torch.HessianOperator`;
    Lanczos options as in :func:`lanczos`. Returns an :class:`EigenResult`.
    """
    from .operators import HessianOperator

    op = HessianOperator(model, loss_fn, data, chunk_size=chunk_size, dtype=dtype, device=device, mode=mode,
                         method=method, cache_graph=cache_graph, max_graph_bytes=max_graph_bytes)
    return lanczos(op, k=k, tol=tol, max_iter=max_iter, seed=seed, v0=v0, which=which, eig_tol=eig_tol)
