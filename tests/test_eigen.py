"""One eigensolver result (sharpdyn.eigen.EigenResult) for the C++ Lanczos (sharpdyn.mlp.lanczos)
and the torch Lanczos (sharpdyn.torch.lanczos): same class, same layout (eigenvectors as
columns, as numpy.linalg.eigh), same relative residuals and meaning of tol, checked against
residuals computed here from the matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sharpdyn import mlp
from sharpdyn.eigen import EigenResult, relative_residuals
from sharpdyn.torch import lanczos as torch_lanczos


def _matrix(n=40, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = np.concatenate([[9.0, 6.0, 4.0, 0.5], np.linspace(-2.0, 0.3, n - 4)])
    return (Q * w) @ Q.T, w


def _solvers(A):
    At = torch.as_tensor(A)
    return {
        "cpp": lambda k, tol: mlp.lanczos(A, k, tol=tol, seed=1),
        "torch": lambda k, tol: torch_lanczos(lambda v: At @ v, A.shape[0], k=k, tol=tol, seed=1, max_iter=A.shape[0]),
    }


@pytest.mark.parametrize("solver", ["cpp", "torch"])
@pytest.mark.parametrize("tol", [1e-4, 1e-10])
def test_both_lanczos_return_the_same_type_layout_and_residual_meaning(solver, tol):
    A, w = _matrix()
    res = _solvers(A)[solver](3, tol)
    assert type(res) is EigenResult and res.which == "largest" and res.tol == tol and res.seed == 1
    assert res.eigenvalues.shape == (3,) and res.eigenvectors.shape == (A.shape[0], 3)
    assert res.converged.shape == (3,) and res.converged.dtype == np.bool_ and res.all_converged
    assert res.n_matvec == res.n_iter >= 3
    # the relative residual, recomputed here from A and the columns
    true = np.linalg.norm(A @ res.eigenvectors - res.eigenvectors * res.eigenvalues, axis=0) / np.abs(res.eigenvalues)
    np.testing.assert_allclose(res.residuals, true, rtol=1e-3, atol=1e-13)
    assert np.all(true <= tol * 1.001 + 1e-13)
    np.testing.assert_allclose(res.eigenvalues, np.sort(w)[::-1][:3], rtol=tol)


def test_cpp_lanczos_meets_the_relative_rule_for_a_small_wanted_eigenvalue():
    # The C++ stopping rule bounds residuals by tol * max|theta|; for a wanted eigenvalue much
    # smaller than the largest magnitude the wrapper runs further until the relative rule holds.
    rng = np.random.default_rng(3)
    n = 80
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = np.concatenate([[1.0, 0.9, 1e-3], np.linspace(-200.0, -1.0, n - 3)])
    A = (Q * w) @ Q.T
    res = mlp.lanczos(A, 3, tol=1e-8, seed=0)
    true = np.linalg.norm(A @ res.eigenvectors - res.eigenvectors * res.eigenvalues, axis=0) / np.abs(res.eigenvalues)
    assert res.all_converged and np.all(true <= 1.01e-8)
    np.testing.assert_allclose(res.eigenvalues, [1.0, 0.9, 1e-3], rtol=1e-9)


def test_relative_residuals_floor_a_zero_eigenvalue():
    r = relative_residuals([1e-3, 1e-20], [2.0, 0.0], 4.0)
    assert r[0] == pytest.approx(5e-4)
    assert r[1] == pytest.approx(1e-20 / (np.finfo(float).eps * 4.0))


def test_one_result_type_for_both_lanczos():
    assert mlp.EigenResult is EigenResult
    import sharpdyn.torch as st
    assert st.EigenResult is EigenResult
