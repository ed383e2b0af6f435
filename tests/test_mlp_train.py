"""Batched MLP training: GD / SGD steps against plain torch loops, thread-count
independence, divergence reporting, and the paper's regimes on a real data set
(progressive sharpening at small lr, edge of stability at sharpness ~ 2/lr)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sharpdyn import mlp, regimes
from sharpdyn.mlp import MLP, MLPSpec

import mlp_reference as ref
from mlp_reference import torch_one_thread  # noqa: F401  (autouse fixture)


def _small_problem(seed=0, n=20):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    Y = rng.standard_normal((n, 3))
    return X, Y


def _torch_descent(spec, params, X, Y, lr, steps, batches=None):
    """Plain torch (S)GD on the reference loss; returns losses (full batch) and parameters."""
    theta = torch.tensor(params)
    full = ref.loss_fn(spec, X, Y)
    losses, thetas = [], []
    for t in range(steps + 1):
        losses.append(full(theta).item())
        thetas.append(theta.clone())
        if t == steps:
            break
        if batches is None:
            g = torch.func.grad(full)(theta)
        else:
            idx = batches[t]
            g = torch.func.grad(ref.loss_fn(spec, X[idx], Y[idx]))(theta)
        theta = theta - lr * g
    return np.array(losses), thetas


@pytest.mark.parametrize("param", ["sp", "mup"])
@pytest.mark.parametrize("loss", mlp.LOSSES)
def test_gd_matches_torch_gd(param, loss):
    X, Y = _small_problem()
    if loss == "ce":
        Y = np.eye(3)[np.argmax(Y, axis=1)]
    spec = MLPSpec((4, 6, 5, 3), activation="gelu", param=param, loss=loss)
    lr, steps, every = 0.3, 25, 5
    runs = mlp.train(spec, X, Y, lr=lr, steps=steps, sharpness_every=every, seeds=[3])
    losses, thetas = _torch_descent(spec, mlp.init_params(spec, 3), X, Y, lr, steps)
    np.testing.assert_allclose(runs.loss[0, 0, 0], losses, rtol=1e-11)
    np.testing.assert_allclose(runs.params[0][0, 0], thetas[-1].numpy(), rtol=1e-10, atol=1e-12)
    for j, t in enumerate(runs.sharpness_steps):
        H = ref.torch_hessian(spec, thetas[t].numpy(), X, Y)
        assert runs.sharpness[0, 0, 0, j] == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-7)
    assert not runs.diverged[0, 0, 0] and runs.diverged_at[0, 0, 0] == -1


def test_sgd_matches_torch_sgd_with_the_documented_batch_order():
    X, Y = _small_problem(1, n=18)
    spec = MLPSpec((4, 7, 3), activation="tanh")
    steps, bs = 12, 5
    order = mlp.batch_order(4, 18, bs, steps)
    # Consecutive epochs are permutations of all examples.
    flat = order.ravel()
    np.testing.assert_array_equal(np.sort(flat[:18]), np.arange(18))
    np.testing.assert_array_equal(np.sort(flat[18:36]), np.arange(18))
    np.testing.assert_array_equal(order, mlp.batch_order(4, 18, bs, steps))
    runs = mlp.train(spec, X, Y, lr=0.2, steps=steps, seeds=[4], batch_size=bs, sharpness_every=4)
    losses, thetas = _torch_descent(spec, mlp.init_params(spec, 4), X, Y, 0.2, steps, batches=order)
    np.testing.assert_allclose(runs.loss[0, 0, 0], losses, rtol=1e-11)
    np.testing.assert_allclose(runs.params[0][0, 0], thetas[-1].numpy(), rtol=1e-10, atol=1e-12)
    assert runs.batch_size == bs


def test_results_do_not_depend_on_thread_count():
    X, Y = ref.digits(40)
    spec = MLPSpec((64, 6, 10), activation="tanh")
    kw = dict(lr=[0.05, 0.5, 4.0], steps=30, sharpness_every=3, seeds=[0, 1], widths=[4, 6])
    a = mlp.train(spec, X, Y, threads=1, **kw)
    b = mlp.train(spec, X, Y, threads=2, **kw)
    for name in ("loss", "sharpness", "diverged", "diverged_at", "lr"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for pa, pb in zip(a.params, b.params):
        np.testing.assert_array_equal(pa, pb)
    assert a.loss.shape == (2, 3, 2, 31) and a.sharpness.shape == (2, 3, 2, 11)
    # The grid is what it says: run (w, r, s) equals a lone run of that width, lr and seed.
    lone = mlp.train(spec.with_hidden_width(4), X, Y, lr=0.5, steps=30, sharpness_every=3, seeds=[1])
    np.testing.assert_array_equal(a.loss[0, 1, 1], lone.loss[0, 0, 0])
    np.testing.assert_array_equal(a.sharpness[0, 1, 1], lone.sharpness[0, 0, 0])


def test_divergence_stops_the_run_and_is_reported():
    X, Y = ref.digits(32)
    spec = MLPSpec((64, 8, 10), activation="tanh")
    runs = mlp.train(spec, X, Y, lr=[0.01, 50.0], steps=40, sharpness_every=5)
    ok, bad = (0, 0, 0), (0, 1, 0)
    assert not runs.diverged[ok] and runs.diverged_at[ok] == -1 and np.all(np.isfinite(runs.loss[ok]))
    assert runs.diverged[bad]
    t = runs.diverged_at[bad]
    assert 0 < t <= 40
    assert np.all(np.isfinite(runs.loss[bad][:t])) and np.all(np.isnan(runs.loss[bad][t:]))
    assert np.all(np.isfinite(runs.params[0][1, 0]))
    assert list(runs.regime()[0, :, 0]) == ["sharpness_reduction", "divergence"] or runs.regime()[bad] == "divergence"


def test_normalised_learning_rate_uses_each_runs_initial_sharpness():
    X, Y = ref.digits(32)
    spec = MLPSpec((64, 8, 10), activation="relu", param="mup")
    runs = mlp.train(spec, X, Y, c=[0.5, 1.5], steps=4, sharpness_every=2, seeds=[0, 5])
    np.testing.assert_allclose(runs.c, np.broadcast_to(np.array([0.5, 1.5])[None, :, None], runs.c.shape), rtol=1e-7)
    for s, seed in enumerate([0, 5]):
        lam0 = np.linalg.eigvalsh(MLP.from_spec(spec, seed=seed).hessian(X, Y))[-1]
        assert runs.sharpness0[0, 0, s] == pytest.approx(lam0, rel=1e-8)
    assert runs.lr_is_normalized


# ---------------------------------------------------------------- acceptance: real data
DIGITS_SPEC = MLPSpec((64, 32, 32, 10), activation="tanh", param="sp", init_scale=0.5)


@pytest.fixture(scope="module")
def digits_runs():
    X, Y = ref.digits(256)
    # lambda_0 = 7.9. lr = 0.025: 2/lr = 80, far above; lr = 0.126: 2/lr = 15.9 is reached
    # after ~300 steps of progressive sharpening.
    return mlp.train(DIGITS_SPEC, X, Y, lr=[0.025, 0.126], steps=1500, sharpness_every=10, seeds=[0])


def test_progressive_sharpening_at_small_learning_rate(digits_runs):
    s = digits_runs.sharpness[0, 0, 0]
    lr = digits_runs.lr[0, 0, 0]
    assert np.all(np.isfinite(s))
    assert s[-1] > 1.3 * s[0]                      # the sharpness grows...
    assert np.all(np.diff(s[len(s) // 2:]) > 0)    # ...steadily in the second half...
    assert np.all(lr * s < 2.0)                    # ...and stays below the edge
    loss = digits_runs.loss[0, 0, 0]
    assert np.all(np.diff(loss) < 0)               # stable GD: monotone loss
    assert digits_runs.regime()[0, 0, 0] == "progressive_sharpening"


def test_edge_of_stability_at_larger_learning_rate(digits_runs):
    s = digits_runs.sharpness[0, 1, 0]
    lr = digits_runs.lr[0, 1, 0]
    edge = 2.0 / lr
    assert s[0] < 0.6 * edge                            # starts well below the edge,
    assert s.max() > 0.98 * edge                        # rises to it,
    late = s[digits_runs.sharpness_steps >= 800]
    assert np.all(np.abs(late / edge - 1.0) < 0.10)     # and hovers there (within 10%)
    assert abs(late.mean() / edge - 1.0) < 0.03
    loss = digits_runs.loss[0, 1, 0]
    assert loss[-1] < 0.05 * loss[0]                    # while the loss keeps falling,
    assert np.any(np.diff(loss[800:]) > 0)              # non-monotonically
    # Once the edge oscillation has damped the loss falls monotonically again, so the
    # classifier needs a late window that still holds the oscillating phase (half the run).
    criteria = regimes.RegimeCriteria(window_fraction=0.5)
    assert list(digits_runs.regime(criteria)[0, :, 0]) == ["progressive_sharpening", "edge_of_stability"]


def test_training_runs_save_and_xarray(tmp_path, digits_runs):
    path = digits_runs.save(tmp_path / "runs.npz")
    with np.load(path) as data:
        np.testing.assert_array_equal(data["loss"], digits_runs.loss)
        np.testing.assert_array_equal(data["sharpness"], digits_runs.sharpness)
        np.testing.assert_array_equal(data["regime"], digits_runs.regime())
        np.testing.assert_allclose(data["c"], digits_runs.lr * digits_runs.sharpness[..., 0])
        np.testing.assert_array_equal(data["widths"], DIGITS_SPEC.widths)
    ds = digits_runs.to_xarray()
    assert ds["loss"].dims == ("width", "lr", "seed", "step")
    np.testing.assert_array_equal(ds["sharpness"].values, digits_runs.sharpness)
    assert ds.sizes["sharpness_step"] == 151


def test_catapult_in_a_wide_two_layer_network():
    # Lewkowycz et al.: for a wide network, c = lr * lambda_0 < 2 is lazy, 2 < c < c_max
    # catapults (the loss spikes, the sharpness drops below 2/lr, then the loss converges)
    # and larger c diverges.
    X, Y = ref.digits(64, classes=2)
    y = 2.0 * Y[:, 1:] - 1.0
    spec = MLPSpec((64, 512, 1), activation="relu", param="ntk")
    runs = mlp.train(spec, X, y, c=[1.0, 3.0, 4.5], steps=150, sharpness_every=2, seeds=[0])
    assert list(runs.regime()[0, :, 0]) == ["lazy", "catapult", "divergence"]
    loss, sharp, lr = runs.loss[0, 1, 0], runs.sharpness[0, 1, 0], runs.lr[0, 1, 0]
    assert loss.max() > 100 * loss[0]                  # the spike
    assert lr * sharp[-1] < 2.0 and sharp[-1] < 0.6 * sharp[0]
    assert loss[-1] < loss[0]
