"""Sweeps: a Dask LocalCluster gives exactly the sequential result."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from sharpdyn.torch import models
from sharpdyn.torch.sweep import sweep

from torch_reference import dense_hessian, reference_mse  # (importing it also sets one torch thread)


def _expected_regime(width, seed, data, lr, steps, rel_change=0.05):
    """The regime of a small-lr run from a hand-written GD loop and dense Hessians: the loss
    must fall at every step and lr * lambda_0 stay below 2 (no spike, no edge of stability),
    so the label is decided by the relative change of the top Hessian eigenvalue."""
    X, Y = data
    torch.manual_seed(seed)
    model = _build(width)
    losses = []
    sharp0 = float(torch.linalg.eigvalsh(dense_hessian(model, reference_mse, X, Y))[-1])
    for t in range(steps + 1):
        loss = reference_mse(model(X), Y)
        losses.append(float(loss.detach()))
        if t == steps:
            break
        grads = torch.autograd.grad(loss, list(model.parameters()))
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p -= lr * g
    sharp_t = float(torch.linalg.eigvalsh(dense_hessian(model, reference_mse, X, Y))[-1])
    assert np.all(np.diff(losses) < 0) and lr * sharp0 < 2  # the premise of this reference
    if sharp_t > sharp0 * (1 + rel_change):
        return "progressive_sharpening"
    if sharp_t < sharp0 * (1 - rel_change):
        return "sharpness_reduction"
    return "lazy"


def _build(width: int) -> torch.nn.Module:
    return models.fcn(4, 2, depth=2, width=width, activation="tanh").double()


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 4, generator=g, dtype=torch.float64), torch.randn(16, 2, generator=g, dtype=torch.float64)


def test_dask_sweep_equals_sequential(data):
    from dask.distributed import Client, LocalCluster

    kwargs = dict(lrs=[0.2, 40.0], widths=[4, 8], seeds=[0, 1], steps=12, sharpness_every=4, device="cpu")
    local = sweep(_build, data, **kwargs)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        remote = sweep(_build, data, client=client, **kwargs)
    assert local.sizes == {"lr": 2, "width": 2, "seed": 2, "step": 13, "sharpness_step": 4}
    for name in local.data_vars:
        assert np.array_equal(local[name].values, remote[name].values,
                              equal_nan=name not in ("regime", "diverged")), name
    assert bool(local.diverged.sel(lr=40.0).all()) and not bool(local.diverged.sel(lr=0.2).any())
    # the regimes: divergence at lr = 40, and at lr = 0.2 the label a hand-written loop gives
    assert (local.regime.sel(lr=40.0).values == "divergence").all()
    for width in (4, 8):
        for seed in (0, 1):
            expected = _expected_regime(width, seed, data, 0.2, 12)
            assert local.regime.sel(lr=0.2, width=width, seed=seed).item() == expected, (width, seed)
    # a single run of the sweep equals a direct train() call
    from sharpdyn.torch import train

    torch.manual_seed(1)
    m = _build(8)
    tr = train(m, data, lr=0.2, steps=12, sharpness_every=4, seed=1)
    assert np.array_equal(local.loss.sel(lr=0.2, width=8, seed=1).values, tr.loss)


def test_bad_lrs(data):
    with pytest.raises(ValueError, match="lrs"):
        sweep(functools.partial(_build), data, lrs=[-0.1], steps=2)
