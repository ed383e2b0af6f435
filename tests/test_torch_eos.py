"""Acceptance: the edge of stability on real MNIST with full-batch GD."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sharpdyn.torch import models, train

import torch_reference  # noqa: F401  (one torch thread)


@pytest.mark.slow
def test_edge_of_stability_on_real_mnist(mnist_dir):
    """Acceptance: tanh FCN, full-batch GD, MSE, 1,000 real MNIST examples: progressive
    sharpening, then the sharpness hovers at 2/lr within 10%."""
    from sharpdyn import data
    from sharpdyn.torch import hessian_eigenvalues

    X, Y = data.load("mnist", root=mnist_dir, n=1000, flatten=True, as_tensor=True, dtype=np.float64)
    torch.manual_seed(0)
    model = models.fcn(784, 10, depth=4, width=32, activation="tanh", init_scale=0.5).double()
    s0 = float(hessian_eigenvalues(model, "mse", (X, Y), tol=1e-4).eigenvalues[0])
    lr = 0.7 * 2 / s0  # start at 70% of the edge
    tr = train(model, (X, Y), lr=lr, steps=600, sharpness_every=20, tol=1e-3)
    ratio = tr.edge_ratio
    assert ratio[0] == pytest.approx(0.7, rel=1e-3)
    assert not tr.diverged
    first_edge = int(np.argmax(ratio >= 0.95))
    assert ratio[first_edge] >= 0.95 and np.all(np.diff(ratio[: max(first_edge - 5, 2)]) > -0.02)  # sharpening
    late = ratio[-len(ratio) // 3:]
    assert np.all(np.abs(late - 1.0) <= 0.1), late
    assert tr.regime() == "edge_of_stability"

