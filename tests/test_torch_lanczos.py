"""Lanczos top-k eigenvalues against dense torch.linalg.eigvalsh; determinism, warm start,
residuals, invariant subspaces, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sharpdyn.torch import GaussNewtonOperator, HessianOperator, hessian_eigenvalues, lanczos, models

from torch_reference import dense_hessian, dense_jacobian, reference_mse


def _case(arch, n=16, seed=0):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 10)
    if arch == "fcn":
        model, shape = models.fcn(5, 3, depth=3, width=8, activation="tanh").double(), (5,)
    elif arch == "myrtle":
        model, shape = models.myrtle_cnn(1, 3, width=3, activation="tanh").double(), (1, 4, 4)
    else:
        model, shape = models.transformer(6, 2, token_size=2, width=4, depth=1, heads=1).double(), (6,)
    X = torch.randn((n, *shape), generator=g, dtype=torch.float64)
    Y = torch.randn((n, 3 if arch != "transformer" else 2), generator=g, dtype=torch.float64)
    return model, X, Y


@pytest.mark.parametrize("arch", ["fcn", "myrtle", "transformer"])
def test_top_k_equals_dense_eigvalsh(arch):
    model, X, Y = _case(arch)
    dense = torch.linalg.eigvalsh(dense_hessian(model, reference_mse, X, Y)).flip(0).numpy()
    res = hessian_eigenvalues(model, "mse", (X, Y), k=3, tol=1e-9, device="cpu")
    assert res.all_converged
    assert np.allclose(res.eigenvalues, dense[:3], rtol=1e-8, atol=0)
    assert res.n_matvec == res.n_iter < len(dense)
    # eigenvectors: unit norm, and H x = theta x
    H = dense_hessian(model, reference_mse, X, Y).numpy()
    assert res.eigenvectors.shape == (len(dense), 3)  # columns, as numpy.linalg.eigh
    np.testing.assert_allclose(H @ res.eigenvectors, res.eigenvectors * res.eigenvalues, rtol=0,
                               atol=1e-8 * abs(res.eigenvalues[0]))
    for val, vec in zip(res.eigenvalues, res.eigenvectors.T):
        assert abs(np.linalg.norm(vec) - 1) < 1e-10
        assert np.linalg.norm(H @ vec - val * vec) <= 1e-8 * abs(val)


def test_cross_entropy_top_eigenvalue_and_batches():
    model, X, _ = _case("fcn")
    labels = torch.arange(16) % 3
    H = dense_hessian(model, torch.nn.functional.cross_entropy, X, labels)
    top = float(torch.linalg.eigvalsh(H)[-1])
    res = hessian_eigenvalues(model, "cross_entropy", [(X[:5], labels[:5]), (X[5:], labels[5:])], tol=1e-9,
                              device="cpu")
    assert abs(res.eigenvalues[0] - top) <= 1e-8 * top


def test_gauss_newton_top_equals_ntk_top():
    model, X, Y = _case("fcn", n=6)
    J = dense_jacobian(model, X)
    ntk_top = float(torch.linalg.eigvalsh(J @ J.T)[-1]) / X.shape[0]
    res = lanczos(GaussNewtonOperator(model, "mse", (X, Y), device="cpu"), tol=1e-10)
    assert abs(res.eigenvalues[0] - ntk_top) <= 1e-9 * ntk_top


def test_residual_estimates_match_true_residuals_and_tolerance():
    model, X, Y = _case("myrtle")
    op = HessianOperator(model, "mse", (X, Y), device="cpu")
    est = lanczos(op, k=2, tol=1e-3, seed=3)
    true = lanczos(op, k=2, tol=1e-3, seed=3, check_residuals=True)
    assert np.array_equal(est.eigenvalues, true.eigenvalues)
    assert true.n_matvec == est.n_matvec + 2
    assert np.allclose(est.residuals, true.residuals, rtol=1e-3, atol=1e-12)
    assert np.all(true.residuals <= 1e-3 * 1.001) and est.all_converged
    # a loose tolerance stops earlier than a tight one
    assert lanczos(op, k=2, tol=1e-9, seed=3).n_iter > est.n_iter


def test_same_seed_same_bits_and_seed_independent_values():
    model, X, Y = _case("fcn")
    a = hessian_eigenvalues(model, "mse", (X, Y), k=2, seed=5, device="cpu")
    b = hessian_eigenvalues(model, "mse", (X, Y), k=2, seed=5, device="cpu")
    c = hessian_eigenvalues(model, "mse", (X, Y), k=2, seed=6, device="cpu")
    assert np.array_equal(a.eigenvalues, b.eigenvalues) and np.array_equal(a.eigenvectors, b.eigenvectors)
    assert np.allclose(a.eigenvalues, c.eigenvalues, rtol=1e-9)


def test_warm_start_from_previous_eigenvector_saves_products():
    model, X, Y = _case("myrtle")
    first = hessian_eigenvalues(model, "mse", (X, Y), tol=1e-8, device="cpu")
    with torch.no_grad():  # a small training-like perturbation
        for p in model.parameters():
            p.add_(1e-3 * torch.randn_like(p))
    cold = hessian_eigenvalues(model, "mse", (X, Y), tol=1e-8, device="cpu")
    warm = hessian_eigenvalues(model, "mse", (X, Y), tol=1e-8, device="cpu", v0=first.eigenvectors[:, 0])
    assert abs(warm.eigenvalues[0] - cold.eigenvalues[0]) <= 1e-10 * cold.eigenvalues[0]
    assert warm.n_matvec < cold.n_matvec


def test_plain_callable_magnitude_and_repeated_eigenvalues():
    diag = torch.tensor([5.0, 5.0, 3.0, -7.0] + [0.5] * 30, dtype=torch.float64)
    res = lanczos(lambda v: diag * v, n=34, k=2, tol=1e-10)
    assert np.allclose(res.eigenvalues, [5.0, 5.0], atol=1e-10)  # second copy found after a breakdown
    # a start vector inside an invariant subspace (an eigenvector of 3) still finds the top
    v0 = torch.zeros(34, dtype=torch.float64)
    v0[2] = 1.0
    top = lanczos(lambda v: diag * v, n=34, k=1, tol=1e-10, v0=v0)
    assert np.allclose(top.eigenvalues, [5.0], atol=1e-10)
    mag = lanczos(lambda v: diag * v, n=34, k=1, tol=1e-10, which="magnitude")
    assert np.allclose(mag.eigenvalues, [-7.0], atol=1e-10)


def test_full_space_is_exact():
    A = torch.randn(6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    A = A + A.T
    res = lanczos(lambda v: A @ v, n=6, k=6, tol=1e-12)
    assert np.allclose(res.eigenvalues, torch.linalg.eigvalsh(A).flip(0).numpy(), atol=1e-12)
    assert res.n_iter == 6


@pytest.mark.parametrize(
    "kwargs, match",
    [({"k": 0}, "k"), ({"k": 40}, "exceeds"), ({"tol": -1.0}, "tol"), ({"tol": float("nan")}, "tol"),
     ({"which": "smallest"}, "which"), ({"v0": np.zeros(3)}, "v0"), ({"v0": np.zeros(34)}, "v0"),
     ({"max_iter": 0}, "max_iter")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lanczos(lambda v: v, n=34, **kwargs)


def test_callable_needs_dimension_and_nan_products_raise():
    with pytest.raises(ValueError, match="n"):
        lanczos(lambda v: v)
    with pytest.raises(FloatingPointError):
        lanczos(lambda v: v * float("nan"), n=5)


def test_eigenvalue_error_stopping_rule():
    model, X, Y = _case("myrtle")
    top = float(torch.linalg.eigvalsh(dense_hessian(model, reference_mse, X, Y))[-1])
    strict = hessian_eigenvalues(model, "mse", (X, Y), tol=1e-8, device="cpu")
    loose = hessian_eigenvalues(model, "mse", (X, Y), tol=1e-8, eig_tol=1e-6, device="cpu", cache_graph=True)
    assert loose.n_matvec < strict.n_matvec and loose.converged.all()
    assert abs(loose.eigenvalues[0] - top) <= 1e-6 * top
    with pytest.raises(ValueError, match="eig_tol"):
        lanczos(lambda v: v, n=5, eig_tol=0.0)


def test_eig_tol_is_not_fooled_by_a_warm_start():
    # A warm start close to the top eigenvector, with a little of a nearby second eigenvector
    # (lambda2/lambda1 = 0.975) and of the bulk: after two products the residual is small and the
    # nearest Ritz value is in the bulk, so residual^2/gap alone would stop with 5e-4 error. After
    # a warm start the rule also asks the Ritz value to have settled.
    n = 400
    rng = np.random.default_rng(1)
    lam = np.concatenate([[1.0, 0.975], rng.uniform(-0.05, 0.05, n - 2)])
    H = torch.as_tensor(np.diag(lam))
    v0 = np.zeros(n)
    v0[0], v0[1] = 1.0, 0.15
    v0[2:] = 0.05 * np.random.default_rng(7).standard_normal(n - 2) / np.sqrt(n)
    res = lanczos(lambda v: H @ v, n=n, tol=1e-10, eig_tol=1e-4, v0=v0)
    assert res.converged.all()
    assert abs(res.eigenvalues[0] - 1.0) <= 1e-4
