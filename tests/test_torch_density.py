"""Hutchinson trace and stochastic Lanczos quadrature against dense Hessians."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sharpdyn.torch import HessianOperator, hutchinson_trace, models, spectral_density
from sharpdyn.torch.lanczos import random_start

from torch_reference import dense_hessian, reference_mse


@pytest.fixture(scope="module")
def case():
    torch.manual_seed(0)
    model = models.fcn(4, 2, depth=3, width=6, activation="tanh").double()
    g = torch.Generator().manual_seed(1)
    X, Y = torch.randn(10, 4, generator=g, dtype=torch.float64), torch.randn(10, 2, generator=g, dtype=torch.float64)
    H = dense_hessian(model, reference_mse, X, Y)
    return HessianOperator(model, "mse", (X, Y), device="cpu"), H


def test_hutchinson_within_a_few_standard_errors(case):
    op, H = case
    est = hutchinson_trace(op, n_samples=300, seed=0)
    exact = float(torch.trace(H))
    assert abs(est.trace - exact) <= 4 * est.stderr
    assert est.n_matvec == 300 and est.samples.shape == (300,)
    # the estimator is unbiased: same samples through the dense matrix
    again = hutchinson_trace(op, n_samples=300, seed=0)
    assert np.array_equal(est.samples, again.samples)


def test_slq_moments_are_exact_quadrature(case):
    op, H = case
    dens = spectral_density(op, n_vectors=3, n_iter=8, seed=2)
    Hn = H.numpy()
    qs = [random_start(op.n_params, 2 * 100_003 + i, torch.float64, torch.device("cpu")).numpy() for i in range(3)]
    for p in (1, 2, 3, 7):
        exact = np.mean([q @ np.linalg.matrix_power(Hn, p) @ q for q in qs])
        assert abs(dens.moment(p) - exact) <= 1e-9 * max(1.0, abs(exact)), p
    assert np.allclose(dens.weights.sum(axis=1), 1.0)


def test_slq_density_integrates_to_one_and_spans_spectrum(case):
    op, H = case
    dens = spectral_density(op, n_vectors=4, n_iter=op.n_params, seed=0)
    ev = torch.linalg.eigvalsh(H).numpy()
    assert dens.nodes.max() == pytest.approx(ev.max(), rel=1e-8)
    grid = np.linspace(ev.min() - 1, ev.max() + 1, 4000)
    assert np.trapezoid(dens.density(grid, sigma=0.05), grid) == pytest.approx(1.0, abs=1e-3)


def test_bad_arguments(case):
    op, _ = case
    with pytest.raises(ValueError, match="n_samples"):
        hutchinson_trace(op, n_samples=0)
    with pytest.raises(ValueError, match="n_iter"):
        spectral_density(op, n_iter=-2)
