"""An MLP with its parameters (:class:`MLP`): forward pass, loss, gradient, exact Hessian-vector
products, dense Hessian / Gauss-Newton / Jacobian / NTK, spectra; the Hessian as a matrix-free
operator (:class:`HessianOperator`, SciPy ``LinearOperator`` interop); the C++ Lanczos for
dense symmetric matrices (:func:`lanczos`); and an equivalent torch module.

Every derivative is exact and computed in C++ (``csrc/core/mlp.hpp``): the Hessian is assembled
from layer-wise quantities (the Gauss-Newton part plus the residual part from second derivatives
of the network), Hessian-vector products use Pearlmutter's R-operator.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .. import _core
from ..eigen import EigenResult, relative_residuals
from ..validation import (
    as_float_array,
    check_allocation,
    nonnegative_int,
    one_of,
    positive_float,
    positive_int,
    product,
    threads_arg,
)
from .spec import MLPSpec, check_data, check_inputs, init_params

if TYPE_CHECKING:
    from scipy.sparse.linalg import LinearOperator

__all__ = ["DEFAULT_LANCZOS_TOL", "MLP", "HessianOperator", "lanczos"]

FloatArray = npt.NDArray[np.float64]

DEFAULT_LANCZOS_TOL = 1e-10
"""Lanczos bound on the relative residual ``||A x - theta x|| / |theta||`` (for dense and HVP
eigensolves on one network); the Ritz value is then within far less than ``tol |theta|`` of an
eigenvalue."""

_MAX_RERUNS = 10


def lanczos(A: npt.ArrayLike, k: int = 1, *, tol: float = DEFAULT_LANCZOS_TOL, max_iter: int | None = None,
            seed: int = 0) -> EigenResult:
    """Top-``k`` (largest algebraic) eigenpairs of a dense symmetric matrix by Lanczos with
    full reorthogonalisation (C++).

    Parameters
    ----------
    A:
        Shape ``(n, n)``, symmetric (not checked beyond the shape).
    k:
        Number of eigenpairs, ``1 <= k <= n``.
    tol:
        Bound on each pair's relative residual ``||A x - theta x|| / |theta|`` (default
        1e-10), as in :func:`sharpdyn.torch.lanczos`.
    max_iter:
        Lanczos steps at most (default ``min(n, max(300, 4k))``).
    seed:
        Seed of the random start vector (same seed, same result).

    Returns
    -------
    EigenResult
        ``eigenvalues`` ``(k,)`` descending, ``eigenvectors`` ``(n, k)`` (columns), relative
        ``residuals``, per-pair ``converged``, ``n_matvec = n_iter`` (one product per step).

    Notes
    -----
    The C++ solver stops when every wanted residual is at most ``tol`` times the largest Ritz
    value magnitude, which is the relative rule for the pair of largest magnitude (the usual
    case of a sharpness) and weaker for smaller ones. When a pair then misses the relative rule
    the solve is repeated with a proportionally smaller C++ tolerance; the Krylov sequence is the
    same (same seed), so this only lets it run further, and it stops at ``max_iter``.
    """
    a = as_float_array(A, "A")
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {a.shape}")
    n = a.shape[0]
    k = positive_int(k, "k")
    if k > n:
        raise ValueError(f"k must be <= n = {n}, got {k}")
    tol = positive_float(tol, "tol")
    it = min(n, max(300, 4 * k)) if max_iter is None else positive_int(max_iter, "max_iter")
    seed = nonnegative_int(seed, "seed")
    a = np.ascontiguousarray(a)
    cap = min(max(it, k), n)
    core_tol, previous = tol, -1
    for _ in range(_MAX_RERUNS):
        vals, vecs, res, iters, _done = _core.lanczos_dense(a, k, it, core_tol, seed)
        rel = relative_residuals(res, vals, float(np.max(np.abs(vals))) if len(vals) else 0.0)
        ok = rel <= tol
        if ok.all() or iters >= cap or iters <= previous:
            break
        previous = iters
        # Ask the C++ rule (residual <= core_tol * ||A||_est) for what the worst pair still misses.
        core_tol = max(core_tol * 0.5 * float(np.min(tol / rel[~ok])), float(np.finfo(np.float64).tiny))
    return EigenResult(eigenvalues=vals, eigenvectors=vecs, residuals=rel, converged=ok, n_matvec=int(iters),
                       n_iter=int(iters), tol=tol, seed=seed, which="largest")


class MLP:
    """A multilayer perceptron with its parameters; every derivative is exact and computed in C++.

    Parameters
    ----------
    widths:
        ``[d_in, h_1, ..., d_out]``.
    activation, param, bias, loss, init_scale:
        As in :class:`MLPSpec`.
    seed:
        Seed of the initial parameters (:func:`init_params`).
    params:
        Optional flat parameters (length :attr:`num_params`) instead of a random initialisation.

    All methods take ``X`` of shape ``(N, d_in)`` and targets ``Y`` of shape ``(N, d_out)``
    (``(N,)`` also accepted when ``d_out = 1``; class labels for cross-entropy).
    """

    def __init__(self, widths: Sequence[int] | npt.NDArray[np.integer[Any]], *, activation: str = "tanh",
                 param: str = "sp", bias: bool = True, seed: int = 0, loss: str = "mse", init_scale: float = 1.0,
                 params: npt.ArrayLike | None = None) -> None:
        self.spec = MLPSpec(tuple(widths) if isinstance(widths, (list, tuple)) else widths,  # type: ignore[arg-type]
                            activation=activation, param=param, bias=bias, loss=loss, init_scale=init_scale)
        self.seed = nonnegative_int(seed, "seed")
        self._params = init_params(self.spec, self.seed)
        if params is not None:
            self.params = params

    @classmethod
    def from_spec(cls, spec: MLPSpec, *, seed: int = 0, params: npt.ArrayLike | None = None) -> MLP:
        return cls(spec.widths, activation=spec.activation, param=spec.param, bias=spec.bias, seed=seed,
                   loss=spec.loss, init_scale=spec.init_scale, params=params)

    def __repr__(self) -> str:
        s = self.spec
        return (f"MLP(widths={list(s.widths)}, activation={s.activation!r}, param={s.param!r}, "
                f"bias={s.bias}, loss={s.loss!r}, num_params={self.num_params})")

    @property
    def num_params(self) -> int:
        return self.spec.num_params

    @property
    def params(self) -> FloatArray:
        """Flat float64 parameters in PyTorch order (``W_0, b_0, W_1, b_1, ...``); a copy."""
        return self._params.copy()

    @params.setter
    def params(self, value: npt.ArrayLike) -> None:
        p = as_float_array(value, "params")
        if p.shape != (self.num_params,):
            raise ValueError(f"params must have shape ({self.num_params},), got {p.shape}")
        self._params = np.ascontiguousarray(p, dtype=np.float64)

    # ------------------------------------------------------------------ evaluation
    def forward(self, X: npt.ArrayLike) -> FloatArray:
        """Outputs ``f``, shape ``(N, d_out)``."""
        return _core.mlp_forward(*self.spec._core_args(), self._params, check_inputs(self.spec, X))

    __call__ = forward

    def loss(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> float:
        """Training loss (MSE ``(1/2N) sum ||f - y||^2`` or mean cross-entropy)."""
        x, y = check_data(self.spec, X, Y)
        value, _ = _core.mlp_loss_gradient(*self.spec._core_args(), self._params, x, y, False)
        return float(value)

    def gradient(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> FloatArray:
        """Gradient of the loss, shape ``(P,)``."""
        x, y = check_data(self.spec, X, Y)
        return _core.mlp_loss_gradient(*self.spec._core_args(), self._params, x, y, True)[1]

    def hvp(self, X: npt.ArrayLike, Y: npt.ArrayLike, v: npt.ArrayLike) -> FloatArray:
        """Exact Hessian-vector product ``H v`` (Pearlmutter's R-operator), shape ``(P,)``."""
        x, y = check_data(self.spec, X, Y)
        vv = as_float_array(v, "v")
        if vv.shape != (self.num_params,):
            raise ValueError(f"v must have shape ({self.num_params},), got {vv.shape}")
        return _core.mlp_hvp(*self.spec._core_args(), self._params, x, y, np.ascontiguousarray(vv))

    def hessian_operator(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> HessianOperator:
        """The Hessian on ``(X, Y)`` at the current parameters as a matrix-free operator
        (:class:`HessianOperator`; ``matvec``, ``to_scipy()``)."""
        return HessianOperator(self, X, Y)

    def _check_square(self, what: str) -> None:
        P = self.num_params
        check_allocation(8 * 2 * P * P, "widths", hint=f"the dense {what} of {P:,} parameters is {P:,} x {P:,}; "
                                                       "use top_eigenvalues(method='hvp') (no matrix) or a smaller net")

    def hessian(self, X: npt.ArrayLike, Y: npt.ArrayLike, *, threads: int | None = None) -> FloatArray:
        """Exact dense Hessian of the loss, shape ``(P, P)``, symmetric."""
        self._check_square("Hessian")
        x, y = check_data(self.spec, X, Y)
        return _core.mlp_hessian(*self.spec._core_args(), self._params, x, y, False, threads_arg(threads))

    def gauss_newton(self, X: npt.ArrayLike, Y: npt.ArrayLike, *, threads: int | None = None) -> FloatArray:
        """Gauss-Newton matrix ``sum_n J_n^T H_loss J_n`` (``= J^T J / N`` for MSE), ``(P, P)``."""
        self._check_square("Gauss-Newton matrix")
        x, y = check_data(self.spec, X, Y)
        return _core.mlp_hessian(*self.spec._core_args(), self._params, x, y, True, threads_arg(threads))

    def jacobian(self, X: npt.ArrayLike) -> FloatArray:
        """Jacobian of the outputs, shape ``(N * d_out, P)``; row ``n * d_out + o`` is ``df_{n,o}/dtheta``."""
        x = check_inputs(self.spec, X)
        check_allocation(8 * product(x.shape[0], self.spec.widths[-1], self.num_params), "X",
                         hint="the Jacobian has N * d_out rows of num_params entries; pass fewer examples")
        return _core.mlp_jacobian(*self.spec._core_args(), self._params, x)

    def ntk(self, X: npt.ArrayLike) -> FloatArray:
        """Empirical neural tangent kernel ``J J^T``, shape ``(N * d_out, N * d_out)``.

        For MSE its eigenvalues divided by ``N`` are the non-zero eigenvalues of the
        Gauss-Newton matrix.
        """
        J = self.jacobian(X)
        return J @ J.T

    # ------------------------------------------------------------------ spectra
    def top_eigenvalues(self, X: npt.ArrayLike, Y: npt.ArrayLike, k: int = 1, *, method: str = "dense",
                        tol: float = DEFAULT_LANCZOS_TOL, max_iter: int | None = None, seed: int = 0,
                        threads: int | None = None) -> FloatArray:
        """Largest ``k`` Hessian eigenvalues (descending), shape ``(k,)``; ``[0]`` is the sharpness.

        ``method="dense"`` assembles the Hessian and runs :func:`lanczos` on it (``tol`` bounds
        each pair's relative residual); ``"hvp"`` runs the C++ Lanczos on exact Hessian-vector
        products without forming the matrix (cheaper for large ``P``), which stops when every
        residual is at most ``tol`` times the largest Ritz value magnitude (the relative rule
        for the top eigenvalue when it is the largest in magnitude).
        """
        one_of(method, "method", ("dense", "hvp"))
        k = positive_int(k, "k")
        P = self.num_params
        if k > P:
            raise ValueError(f"k must be <= num_params = {P}, got {k}")
        it = min(P, max(300, 4 * k)) if max_iter is None else positive_int(max_iter, "max_iter")
        if method == "dense":
            return lanczos(self.hessian(X, Y, threads=threads), k, tol=tol, max_iter=it, seed=seed).eigenvalues
        x, y = check_data(self.spec, X, Y)
        vals, _ = _core.mlp_top_eigenvalues_hvp(*self.spec._core_args(), self._params, x, y, k, it,
                                               positive_float(tol, "tol"), nonnegative_int(seed, "seed"))
        return vals

    def sharpness(self, X: npt.ArrayLike, Y: npt.ArrayLike, **kwargs: Any) -> float:
        """Top Hessian eigenvalue (see :meth:`top_eigenvalues`)."""
        return float(self.top_eigenvalues(X, Y, 1, **kwargs)[0])

    def gauss_newton_top(self, X: npt.ArrayLike, Y: npt.ArrayLike, k: int = 1, *, tol: float = DEFAULT_LANCZOS_TOL,
                         seed: int = 0) -> FloatArray:
        """Largest ``k`` eigenvalues of the Gauss-Newton matrix (for MSE: of the NTK over ``N``)."""
        return lanczos(self.gauss_newton(X, Y), k, tol=tol, seed=seed).eigenvalues

    def eigenvalues(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> FloatArray:
        """Full Hessian spectrum, ascending (LAPACK ``syevd`` through ``numpy.linalg.eigvalsh``)."""
        return np.asarray(np.linalg.eigvalsh(self.hessian(X, Y)), dtype=np.float64)

    # ------------------------------------------------------------------ torch
    def to_torch(self) -> Any:
        """An equivalent float64 ``torch.nn.Module`` with the same weights and forward pass.

        Its ``parameters()`` flatten (``torch.nn.utils.parameters_to_vector``) to
        :attr:`params`; the multipliers are a buffer. Requires torch (``pip install sharpdyn[torch]``).
        """
        return _torch_class()(self.spec, self._params)


class HessianOperator:
    """The exact Hessian of an :class:`MLP`'s loss on ``(X, Y)`` as a matrix-free operator.

    The counterpart of :class:`sharpdyn.torch.HessianOperator` (same names): :meth:`matvec`
    applies ``H`` with one exact C++ Hessian-vector product (Pearlmutter's R-operator, no matrix
    formed), :meth:`to_scipy` gives a ``scipy.sparse.linalg.LinearOperator`` for ``eigsh``,
    ``cg``, ...; ``scipy.sparse.linalg.aslinearoperator`` also takes the operator itself.

    The parameters are a snapshot taken when the operator is built (the network is never
    modified); :meth:`refresh` re-reads them.

    Parameters
    ----------
    net:
        The network.
    X, Y:
        The training set, as for :meth:`MLP.loss`.

    Attributes
    ----------
    n_params:
        ``P``, the dimension.
    shape:
        ``(P, P)``.
    dtype:
        ``numpy.float64``.
    n_products:
        Hessian-vector products applied so far.
    """

    def __init__(self, net: MLP, X: npt.ArrayLike, Y: npt.ArrayLike) -> None:
        if not isinstance(net, MLP):
            raise TypeError(f"net must be an MLP, got {type(net).__name__}")
        self.net = net
        self.spec = net.spec
        self.X, self.Y = check_data(net.spec, X, Y)
        self.n_params = net.num_params
        self.shape = (self.n_params, self.n_params)
        self.dtype = np.dtype(np.float64)
        self.n_products = 0
        self.refresh()

    def refresh(self) -> None:
        """Re-read the network's current parameters (a snapshot, as when built)."""
        self.params = self.net.params

    def flat_params(self) -> FloatArray:
        """The snapshot of the parameters, shape ``(n_params,)`` (a copy)."""
        return self.params.copy()

    def loss_and_gradient(self) -> tuple[float, FloatArray]:
        """Full-batch loss and its gradient ``(n_params,)`` at the snapshot."""
        value, grad = _core.mlp_loss_gradient(*self.spec._core_args(), self.params, self.X, self.Y, True)
        return float(value), grad

    def _product(self, v: FloatArray) -> FloatArray:
        out = _core.mlp_hvp(*self.spec._core_args(), self.params, self.X, self.Y, v)
        self.n_products += 1
        return out

    def matvec(self, v: npt.ArrayLike) -> FloatArray:
        """``H v`` for one flat vector of shape ``(P,)`` (or ``(P, 1)``, returned as ``(P, 1)``)."""
        arr = as_float_array(v, "v")
        if arr.ndim == 2 and arr.shape[1] == 1:
            return self.matvec(arr[:, 0])[:, None]
        if arr.shape != (self.n_params,):
            raise ValueError(f"v must have shape ({self.n_params},), got {arr.shape}")
        return self._product(np.ascontiguousarray(arr))

    rmatvec = matvec  # symmetric

    def matmat(self, V: npt.ArrayLike) -> FloatArray:
        """``H V`` for the columns of ``V``, shape ``(P, m)``, one product per column."""
        arr = as_float_array(V, "V", allow_empty=True)
        if arr.ndim != 2 or arr.shape[0] != self.n_params:
            raise ValueError(f"V must have shape ({self.n_params}, m), got {arr.shape}")
        out = np.empty(arr.shape, dtype=np.float64)
        for j in range(arr.shape[1]):
            out[:, j] = self._product(np.ascontiguousarray(arr[:, j]))
        return out

    rmatmat = matmat

    def __matmul__(self, v: npt.ArrayLike) -> FloatArray:
        if np.ndim(v) == 2:
            return self.matmat(v)
        return self.matvec(v)

    def to_scipy(self) -> LinearOperator:
        """A ``scipy.sparse.linalg.LinearOperator`` (symmetric, so ``rmatvec = matvec``), float64."""
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator(self.shape, matvec=self.matvec, rmatvec=self.matvec, matmat=self.matmat,
                              rmatmat=self.matmat, dtype=np.float64)

    def __repr__(self) -> str:
        return f"HessianOperator(n_params={self.n_params}, n_examples={self.X.shape[0]}, spec={self.spec!r})"


@functools.cache
def _torch_class() -> type:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised by the no-optional-deps test
        raise ImportError("MLP.to_torch needs torch: pip install sharpdyn[torch]") from exc

    activations = {
        "linear": lambda z: z,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "gelu": lambda z: torch.nn.functional.gelu(z, approximate="none"),
    }

    class TorchMLP(torch.nn.Module):
        """``z_{a+1} = m_a (h_a @ W_a^T) + b_a``, ``h = phi(z)`` on hidden layers (float64)."""

        def __init__(self, spec: MLPSpec, params: FloatArray) -> None:
            super().__init__()
            self.spec = spec
            self.layers = torch.nn.ModuleList(
                torch.nn.Linear(spec.widths[a], spec.widths[a + 1], bias=spec.bias, dtype=torch.float64)
                for a in range(spec.depth)
            )
            self.register_buffer("multipliers", torch.tensor(spec.multipliers, dtype=torch.float64))
            self._phi = activations[spec.activation]
            with torch.no_grad():
                torch.nn.utils.vector_to_parameters(torch.as_tensor(np.array(params)), self.parameters())

        def forward(self, x: Any) -> Any:
            L = len(self.layers)
            for a, layer in enumerate(self.layers):
                z = self.multipliers[a] * (x @ layer.weight.T)  # type: ignore[index]
                if layer.bias is not None:
                    z = z + layer.bias
                x = self._phi(z) if a < L - 1 else z
            return x

    return TorchMLP
