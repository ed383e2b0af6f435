"""The result of an eigensolve, shared by every Lanczos in the library.

:class:`EigenResult` is what :func:`sharpdyn.mlp.lanczos` (C++, dense symmetric matrices) and
:func:`sharpdyn.torch.lanczos` (matrix-free, any Hessian-vector product) return. One layout and
one meaning of the accuracy, whichever solver made it:

- ``eigenvectors`` has shape ``(n, k)``, column ``i`` paired with ``eigenvalues[i]``, as
  ``numpy.linalg.eigh`` and ``scipy.sparse.linalg.eigsh`` return them (so ``A @ V - V * w`` is
  the residual matrix and a result can stand where those are used);
- ``residuals`` are relative, ``||A x_i - theta_i x_i|| / |theta_i|`` (the magnitude floored at
  machine epsilon times the largest Ritz value magnitude, so a zero eigenvalue gives a finite
  number);
- ``tol`` is a bound on that relative residual: a pair is ``converged`` when its residual is at
  most ``tol``. The eigenvalue error is then at most ``residual^2 |theta|^2 / gap`` (Kahan--Parlett),
  far below ``tol |theta|`` once the spectral gap is not tiny;
- ``n_matvec`` counts the operator applications (matrix-vector or Hessian-vector products) that
  the solve used.

This module imports neither torch nor the compiled core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["WHICH", "EigenResult", "relative_residuals"]

WHICH: tuple[str, ...] = ("largest", "magnitude")
"""Which end of the spectrum a solver wants: the largest algebraic eigenvalues (the sharpness)
or the largest in magnitude."""


def relative_residuals(residuals: npt.ArrayLike, eigenvalues: npt.ArrayLike, scale: float, *,
                       eps: float = float(np.finfo(np.float64).eps)) -> npt.NDArray[np.float64]:
    """``residuals / |eigenvalues|`` with the magnitude floored at ``eps * scale``.

    Parameters
    ----------
    residuals:
        Shape ``(k,)``: absolute residual norms ``||A x - theta x||``.
    eigenvalues:
        Shape ``(k,)``: the Ritz values ``theta``.
    scale:
        The largest Ritz value magnitude (an estimate of ``||A||``); the floor keeps a zero
        eigenvalue from dividing by zero.
    eps:
        Machine epsilon of the arithmetic the solver ran in (float64's by default).
    """
    r = np.asarray(residuals, dtype=np.float64)
    theta = np.abs(np.asarray(eigenvalues, dtype=np.float64))
    floor = eps * max(float(scale), float(np.finfo(np.float64).tiny))
    return np.asarray(r / np.maximum(theta, floor), dtype=np.float64)


@dataclass(frozen=True)
class EigenResult:
    """Eigenpairs of a symmetric operator found by Lanczos.

    Attributes
    ----------
    eigenvalues:
        Shape ``(k,)``, float64, the wanted end first (descending for ``which="largest"``).
    eigenvectors:
        Shape ``(n, k)``, float64 NumPy on the host: unit-norm Ritz vectors, column ``i`` for
        ``eigenvalues[i]`` (the layout of ``numpy.linalg.eigh``).
    residuals:
        Shape ``(k,)``: relative residual ``||A x_i - theta_i x_i|| / |theta_i|`` of each pair
        (dimensionless).
    converged:
        Shape ``(k,)``, bool: ``residuals <= tol`` (for :func:`sharpdyn.torch.lanczos` with
        ``eig_tol`` also when its eigenvalue error estimate met ``eig_tol``). See
        :attr:`all_converged`.
    n_matvec:
        Operator applications used (one per Lanczos iteration, plus any spent on checking).
    n_iter:
        Dimension of the Krylov space reached (Lanczos iterations).
    tol:
        The relative-residual bound that was asked for.
    seed:
        Seed of the random start vector.
    which:
        ``"largest"`` (algebraic) or ``"magnitude"`` (see :data:`WHICH`).
    """

    eigenvalues: npt.NDArray[np.float64]
    eigenvectors: npt.NDArray[np.float64]
    residuals: npt.NDArray[np.float64]
    converged: npt.NDArray[np.bool_]
    n_matvec: int
    n_iter: int
    tol: float
    seed: int
    which: str

    @property
    def all_converged(self) -> bool:
        """Whether every returned pair converged."""
        return bool(np.all(self.converged))

    @property
    def k(self) -> int:
        """Number of eigenpairs returned."""
        return int(self.eigenvalues.shape[0])
