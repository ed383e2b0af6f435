"""The divergence rules of sharpdyn.divergence are the ones the kernels and loops apply: each
run's reported ``diverged_at`` is the first step that a plain NumPy / torch loop, checking the
rule's bound, finds out of bounds."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

from sharpdyn import chaos, divergence, uv
from sharpdyn.torch import lyapunov_exponent, models, train

from torch_reference import reference_mse


def test_cubic_bound_is_the_orbit_kernels_rule():
    r = np.array([2.2, 2.9, 3.05, 3.5, 5.0, -4.0])
    x0 = 0.3
    bound = divergence.cubic_bound(x0, r)
    x = np.full(r.shape, x0)
    expected = np.full(r.shape, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, 201):
            x = r * x * (1.0 - x * x)
            expected[(expected < 0) & ~(np.abs(x) <= bound)] = t
    assert (expected > 0).sum() >= 3 and (expected < 0).sum() >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", uv.DivergenceWarning)
        d = chaos.orbit_diagram("cubic", r, x0=x0, n_transient=100, n_keep=100)
    np.testing.assert_array_equal(d.diverged_at, expected)


def test_normalized_output_bound_is_the_uv_orbit_kernels_rule():
    Y = np.array([0.5, 1.1, 1.9, 2.6, 3.5])
    g0, z0 = -0.9, 0.3
    bound = divergence.normalized_output_bound(g0, Y)
    g, z = np.full(Y.shape, g0), np.full(Y.shape, z0)
    expected = np.full(Y.shape, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, 201):
            g, z = g * (1.0 - z + g * (g + Y)), z + g * (z * g - 4.0 * (g + Y))
            out = ~(np.abs(g) <= bound) | ~np.isfinite(z)
            expected[(expected < 0) & out] = t
    assert (expected > 0).sum() >= 1 and (expected < 0).sum() >= 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", uv.DivergenceWarning)
        d = chaos.orbit_diagram("uv", Y, x0=np.array([g0, z0]), n_transient=100, n_keep=100)
    np.testing.assert_array_equal(d.diverged_at, expected)


def test_output_bound_is_the_function_space_rule():
    width, y, f0, ntk0 = 64, 1.0, 0.2, 1.0
    lrs = np.array([0.5, 1.5, 3.0, 5.0])
    tr = uv.iterate(np.full(lrs.shape, f0), np.full(lrs.shape, ntk0), lr=lrs, width=width, y=y, steps=60)
    bound = float(divergence.output_bound(f0, y))
    expected = np.full(lrs.shape, -1)
    for i, lr in enumerate(lrs):  # one exact map step at a time, the bound checked here
        f, lam = np.float64(f0), np.float64(ntk0)
        with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", uv.DivergenceWarning)
            for t in range(1, 61):
                f, lam = uv.function_map(f, lam, lr=lr, width=width, y=y)
                if not abs(f - y) <= bound or not np.isfinite(lam):
                    expected[i] = t
                    break
    assert (expected > 0).sum() >= 1 and (expected < 0).sum() >= 1
    np.testing.assert_array_equal(tr.diverged_at, expected)


def _net_and_data():
    torch.manual_seed(0)
    model = models.fcn(4, 2, depth=2, width=8, activation="tanh").double()
    g = torch.Generator().manual_seed(1)
    return model, torch.randn(16, 4, generator=g, dtype=torch.float64), torch.randn(16, 2, generator=g,
                                                                                   dtype=torch.float64)


@pytest.mark.parametrize("factor", [2.0, 1e6])
def test_loss_bound_is_the_torch_layers_rule(factor):
    model, X, Y = _net_and_data()
    lr = 4.0
    ref = copy.deepcopy(model)
    bound, expected = None, -1
    for t in range(41):  # a hand-written GD loop, stopped by divergence.loss_bound
        loss = reference_mse(ref(X), Y)
        value = float(loss.detach())
        bound = divergence.loss_bound(value, factor) if bound is None else bound
        if divergence.loss_diverged(value, bound):
            expected = t
            break
        grads = torch.autograd.grad(loss, list(ref.parameters()))
        with torch.no_grad():
            for p, g in zip(ref.parameters(), grads):
                p -= lr * g
    assert expected > 0
    tr = train(copy.deepcopy(model), (X, Y), lr=lr, steps=40, sharpness_every=10, divergence_factor=factor)
    ly = lyapunov_exponent(copy.deepcopy(model), "mse", (X, Y), lr=lr, steps=40, divergence_factor=factor)
    assert tr.diverged and tr.diverged_at == expected
    assert ly.diverged and ly.diverged_at == expected


def test_loss_bounds_formulas():
    assert divergence.loss_bound(0.25, 10.0) == 10.0 and divergence.loss_bound(4.0, 10.0) == 40.0
    assert divergence.mlp_loss_bound(0.25, 10.0) == 12.5 and divergence.mlp_loss_bound(4.0, 10.0) == 50.0
    assert divergence.loss_diverged(float("nan"), 1.0) and divergence.loss_diverged(float("inf"), np.inf)
    assert divergence.loss_diverged(1.5, 1.0) and not divergence.loss_diverged(1.0, 1.0)
