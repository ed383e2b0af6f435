"""Acceptance (issue #14): full-batch Adam on real MNIST reaches its own edge of stability,
the preconditioned sharpness ``lambda_max(P^-1 H)`` hovering at ``(2 + 2 b1) / ((1 - b1) lr)
= 38 / lr`` (Cohen et al., *Adaptive Gradient Methods at the Edge of Stability*, 2022)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sharpdyn.torch import models, train

import torch_reference  # noqa: F401  (one torch thread)


@pytest.mark.slow
def test_adam_preconditioned_sharpness_hovers_at_38_over_lr_on_real_mnist(mnist_dir):
    """tanh FCN (depth 4, width 32, init scale 0.5), MSE, 1,000 real MNIST examples, full-batch
    Adam (lr 3e-3, b1 0.9, b2 0.999, eps 1e-8). After the first steps (where P = |g| + eps is
    tiny and P^-1 H far above the edge) the preconditioned sharpness drops well below 38/lr,
    rises back to it (preconditioned sharpening), and from step 1,000 to 2,000 stays within 15%
    of it with its median within 3%, while the loss keeps spiking. Measured: on the seeded
    1,000 of the full training set, ratio 0.900 - 1.035 (median 0.978), back at the edge by step
    240; on the shipped first 1,000 examples (tests/data/mnist), 0.884 - 1.033 (median 0.985),
    back by step 570. (GD's test asks 10%; Adam's sawtooth dips lower than GD's hover.)"""
    from sharpdyn import data

    X, Y = data.load("mnist", root=mnist_dir, n=1000, flatten=True, as_tensor=True, dtype=np.float64)
    torch.manual_seed(0)
    model = models.fcn(784, 10, depth=4, width=32, activation="tanh", init_scale=0.5).double()
    lr = 3e-3
    tr = train(model, (X, Y), lr=lr, steps=2000, sharpness_every=10, tol=1e-4, eig_tol=1e-4, optimizer="adam",
               optimizer_options={"beta1": 0.9, "beta2": 0.999, "eps": 1e-8})
    assert not tr.diverged
    np.testing.assert_allclose(tr.threshold, 38.0 / lr, rtol=1e-12)
    ratio = tr.edge_ratio
    steps = tr.sharpness_steps
    low = int(np.argmin(ratio[steps <= 200]))
    assert ratio[low] < 0.5                                         # well below the edge early on
    back = low + int(np.argmax(ratio[low:] >= 0.95))
    assert ratio[back] >= 0.95 and steps[back] < 1000               # rises back to the edge
    late = ratio[steps >= 1000]
    assert np.all(np.abs(late - 1.0) <= 0.15), (late.min(), late.max())   # measured >= 0.884, <= 1.035
    assert abs(np.median(late) - 1.0) <= 0.03, np.median(late)            # measured 0.978 / 0.985
    assert tr.regime() == "edge_of_stability"
