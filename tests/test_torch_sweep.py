"""Sweeps: a Dask LocalCluster gives exactly the sequential result."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from sharpdyn.torch import models
from sharpdyn.torch.sweep import sweep

import torch_reference  # noqa: F401  (one torch thread)


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
        assert np.array_equal(local[name].values, remote[name].values, equal_nan=name not in ("regime", "diverged")), name
    assert bool(local.diverged.sel(lr=40.0).all()) and not bool(local.diverged.sel(lr=0.2).any())
    assert set(np.unique(local.regime.values)) <= {"divergence", "lazy", "progressive_sharpening",
                                                    "sharpness_reduction", "catapult", "edge_of_stability"}
    # a single run of the sweep equals a direct train() call
    from sharpdyn.torch import train

    torch.manual_seed(1)
    m = _build(8)
    tr = train(m, data, lr=0.2, steps=12, sharpness_every=4, seed=1)
    assert np.array_equal(local.loss.sel(lr=0.2, width=8, seed=1).values, tr.loss)


def test_bad_lrs(data):
    with pytest.raises(ValueError, match="lrs"):
        sweep(functools.partial(_build), data, lrs=[-0.1], steps=2)
