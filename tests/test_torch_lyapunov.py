"""Largest finite-time Lyapunov exponent of GD: exact for a quadratic loss, and equal to an
independent NumPy computation with the UV model's analytic Hessian."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from sharpdyn.torch import lyapunov_exponent, train
from sharpdyn.torch.lanczos import random_start

import torch_reference  # noqa: F401  (one torch thread)


def _quadratic(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(20, 4, generator=g, dtype=torch.float64)
    Y = torch.randn(20, 1, generator=g, dtype=torch.float64)
    model = nn.Linear(4, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 4, generator=g, dtype=torch.float64))
    H = (X.T @ X / 20).numpy()  # Hessian of (1/2N) sum (w.x - y)^2
    return model, X, Y, H


@pytest.mark.parametrize("c", [0.5, 1.5, 2.3])
def test_quadratic_loss_exact_finite_time_exponent(c):
    model, X, Y, H = _quadratic()
    lam = np.linalg.eigvalsh(H)
    lr = c / lam.max()
    steps = 300
    res = lyapunov_exponent(model, "mse", (X, Y), lr=lr, steps=steps, seed=7)
    v0 = random_start(4, 7, torch.float64, torch.device("cpu")).numpy()
    M = np.eye(4) - lr * H
    exact = [np.log(np.linalg.norm(np.linalg.matrix_power(M, t) @ v0)) / t for t in range(1, steps + 1)]
    if c < 2:  # bounded run: compare the whole running exponent
        assert np.allclose(res.exponent, exact, rtol=0, atol=1e-9)
        assert res.final == pytest.approx(np.log(np.max(np.abs(1 - lr * lam))), abs=0.02)
        assert res.final < 0
    else:  # lr * lambda_max > 2: unstable, positive exponent, the run diverges
        assert res.diverged
        t = res.diverged_at
        assert np.allclose(res.exponent[:t], exact[:t], rtol=0, atol=1e-9)
        assert res.exponent[t - 1] > 0


def test_transient_is_excluded():
    model, X, Y, H = _quadratic()
    lr = 1.0 / np.linalg.eigvalsh(H).max()
    res = lyapunov_exponent(model, "mse", (X, Y), lr=lr, steps=50, n_transient=10)
    assert np.all(np.isnan(res.exponent[:10]))
    assert res.exponent[-1] == pytest.approx(np.mean(res.log_growth[10:]), rel=1e-12)


class UV(nn.Module):
    """f = gamma v^T (u x) (the paper's UV model) as a torch module."""

    def __init__(self, u, v, gamma):
        super().__init__()
        self.u = nn.Parameter(torch.as_tensor(u))
        self.v = nn.Parameter(torch.as_tensor(v))
        self.gamma = gamma

    def forward(self, x):
        return self.gamma * ((x @ self.u.T) @ self.v)[:, None]


def _uv_numpy_exponent(u, v, x, y, gamma, lr, steps, v0):
    """GD with the analytic Hessian of L = (gamma v.u x - y)^2 / 2 in theta = (u.ravel(), v)."""
    n, d = u.shape
    w = v0.copy()
    logs = []
    for _ in range(steps):
        h = u @ x
        f = gamma * v @ h
        df = f - y
        grad_f = np.concatenate([gamma * np.outer(v, x).ravel(), gamma * h])
        H = np.outer(grad_f, grad_f)
        cross = np.zeros((n * d, n))
        for i in range(n):
            cross[i * d:(i + 1) * d, i] = gamma * x
        H[: n * d, n * d:] += df * cross
        H[n * d:, : n * d] += df * cross.T
        w = w - lr * H @ w
        norm = np.linalg.norm(w)
        logs.append(np.log(norm))
        w /= norm
        u, v = u - lr * df * gamma * np.outer(v, x), v - lr * df * gamma * h
    return np.cumsum(logs) / np.arange(1, steps + 1)


@pytest.mark.parametrize("lr", [0.3, 1.9])
def test_uv_model_matches_analytic_numpy(lr):
    rng = np.random.default_rng(0)
    n, d = 8, 2
    u, v = rng.standard_normal((n, d)), rng.standard_normal(n)
    x, y, gamma = np.array([0.7, -0.4]), 1.0, n**-0.5
    model = UV(u.copy(), v.copy(), gamma)
    X = torch.as_tensor(x)[None, :]
    Y = torch.tensor([[y]], dtype=torch.float64)
    res = lyapunov_exponent(model, "mse", (X, Y), lr=lr, steps=150, seed=3)
    v0 = random_start(n * d + n, 3, torch.float64, torch.device("cpu")).numpy()
    ref = _uv_numpy_exponent(u, v, x, y, gamma, lr, 150, v0)
    assert np.allclose(res.exponent, ref, rtol=0, atol=1e-9)


def test_train_records_the_same_exponent():
    model, X, Y, H = _quadratic()
    import copy

    lr = 1.2 / np.linalg.eigvalsh(H).max()
    res = lyapunov_exponent(copy.deepcopy(model), "mse", (X, Y), lr=lr, steps=40, seed=1)
    tr = train(model, (X, Y), lr=lr, steps=40, sharpness_every=20, lyapunov=True, seed=0)
    # train uses seed + 1 for its tangent vector
    assert np.isnan(tr.lyapunov[0])
    assert np.allclose(tr.lyapunov[1:], res.exponent, atol=1e-12)


def test_bad_arguments():
    model, X, Y, _ = _quadratic()
    with pytest.raises(ValueError, match="n_transient"):
        lyapunov_exponent(model, "mse", (X, Y), lr=0.1, steps=5, n_transient=5)
    with pytest.raises(ValueError, match="lr"):
        lyapunov_exponent(model, "mse", (X, Y), lr=0.0, steps=5)
