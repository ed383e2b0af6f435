"""Bifurcation diagrams of real networks against independent single runs: plain torch GD with
dense autograd Hessians for the late sharpness and the finite-time Lyapunov exponent, the
library's torch layer against its C++ MLP, period vs the loss series, save/load round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sharpdyn import data, mlp
from sharpdyn.attractor import detect_period
from sharpdyn.bifurcation import Bifurcation, mlp_bifurcation, torch_bifurcation, torch_bifurcation_run
from sharpdyn.mlp import MLP, MLPSpec

import mlp_reference as ref
from mlp_reference import torch_one_thread  # noqa: F401  (autouse fixture)

SPEC = MLPSpec((4, 8, 1), activation="tanh")


def _data():
    return data.synthetic(32, d=4, n_out=1, seed=0)


def _reference_run(spec, X, Y, lr, steps, n_keep, v0, skip, bound_factor=1e12):
    """Plain torch GD from init_params(spec, 0); dense Hessians at the late steps."""
    loss = ref.loss_fn(spec, X, Y)
    theta = torch.tensor(mlp.init_params(spec, 0))
    losses, late_sh, growth = [], [], []
    v = v0 / np.linalg.norm(v0)
    bound = None
    for t in range(steps + n_keep):
        value = loss(theta).item()
        bound = bound_factor * (abs(value) + 1) if bound is None else bound
        if not np.isfinite(value) or value > bound:
            return np.array(losses), None, None, t
        losses.append(value)
        if t >= steps:
            H = ref.torch_hessian(spec, theta.numpy(), X, Y)
            late_sh.append(lr * np.linalg.eigvalsh(H)[-1])
            w = v - lr * (H @ v)
            growth.append(np.log(np.linalg.norm(w)))
            v = w / np.linalg.norm(w)
        theta = theta - lr * torch.func.grad(loss)(theta)
    return np.array(losses), np.array(late_sh), np.mean(growth[skip:]), -1


def test_mlp_bifurcation_equals_independent_single_runs():
    X, Y = _data()
    lam0 = np.linalg.eigvalsh(ref.torch_hessian(SPEC, mlp.init_params(SPEC, 0), X, Y))[-1]
    c = np.array([1.0, 2.3, 40.0])
    steps, n_keep, skip = 30, 12, 3
    b = mlp_bifurcation(SPEC, X, Y, c=c, steps=steps, n_keep=n_keep, sharpness_every=10, lyapunov_skip=skip)
    np.testing.assert_allclose(b.lr, c / lam0, rtol=1e-9)
    np.testing.assert_allclose(b.sharpness0, lam0, rtol=1e-9)
    np.testing.assert_allclose(b.c, c, rtol=1e-9)
    np.testing.assert_array_equal(b.late_step, np.arange(steps, steps + n_keep))
    v0 = np.random.default_rng(0).standard_normal(SPEC.num_params)  # the documented tangent start
    for i, lr in enumerate(b.lr):
        losses, late, lyap, div_at = _reference_run(SPEC, X, Y, lr, steps, n_keep, v0, skip)
        if div_at >= 0:
            assert b.diverged[i] and b.diverged_at[i] == div_at and b.period[i] == -1
            assert np.isnan(b.lyapunov[i]) and np.all(np.isnan(b.eta_sharpness[i]))
            continue
        assert not b.diverged[i] and b.diverged_at[i] == -1
        np.testing.assert_allclose(b.loss[i], losses[: steps + 1], rtol=1e-10)
        np.testing.assert_allclose(b.loss_late[i], losses[steps:], rtol=1e-10)
        np.testing.assert_allclose(b.eta_sharpness[i], late, rtol=1e-8)
        assert b.lyapunov[i] == pytest.approx(lyap, rel=1e-8, abs=1e-10)
        assert b.period[i] == detect_period(late, max_period=6)
    assert b.diverged.tolist() == [False, False, True]
    # the first phase is mlp.train itself, and threads do not change anything
    runs = mlp.train(SPEC, X, Y, lr=b.lr[:2], steps=steps, sharpness_every=10)
    np.testing.assert_array_equal(b.loss[:2], runs.loss[0, :, 0])
    again = mlp_bifurcation(SPEC, X, Y, c=c, steps=steps, n_keep=n_keep, lyapunov_skip=skip, threads=1)
    np.testing.assert_array_equal(again.eta_sharpness, b.eta_sharpness)
    np.testing.assert_array_equal(again.lyapunov, b.lyapunov)


def test_period_two_at_the_edge_of_stability_and_its_spectrum(tmp_path):
    X, Y = _data()
    b = mlp_bifurcation(SPEC, X, Y, c=[1.0, 2.5], steps=3000, n_keep=64, sharpness_every=100)
    assert b.period.tolist() == [1, 2]
    assert np.all(np.abs(b.eta_sharpness[1] / 2 - 1) < 0.05)  # at the edge: lr * sharpness ~ 2
    # the loss cycles with the same period, read off the loss series alone
    assert detect_period(b.loss_late[1], max_period=32) == 2
    spec = b.power_spectrum(1)
    assert spec.peaks(1)[0] == pytest.approx(0.5)
    assert b.power_spectrum(1, observable="loss").peaks(1)[0] == pytest.approx(0.5)
    # save / load round trips
    for name in ("bif.npz", "bif.nc"):
        path = b.save(tmp_path / name)
        back = Bifurcation.load(path)
        for field in ("lr", "c", "sharpness0", "late_step", "eta_sharpness", "loss_late", "period", "lyapunov",
                      "diverged", "diverged_at", "loss", "sharpness", "sharpness_steps"):
            np.testing.assert_array_equal(getattr(back, field), getattr(b, field), err_msg=f"{name}: {field}")
        assert back.settings == b.settings
    ds = b.to_xarray()
    assert ds["eta_sharpness"].dims == ("lr", "late_step") and int(ds["period"][1]) == 2


def test_torch_bifurcation_equals_the_cxx_mlp_and_a_dense_reference():
    from sharpdyn.torch.lanczos import random_start

    X, Y = _data()
    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def factory(seed):
        return MLP.from_spec(SPEC, seed=seed).to_torch()

    steps, n_keep, skip = 20, 8, 2
    lam0 = np.linalg.eigvalsh(ref.torch_hessian(SPEC, mlp.init_params(SPEC, 0), X, Y))[-1]
    lrs = list(np.array([1.2, 2.4]) / lam0)
    tb = torch_bifurcation(factory, (Xt, Yt), lr=lrs[::-1], steps=steps, n_keep=n_keep, sharpness_every=10,
                           lyapunov_skip=skip)
    mb = mlp_bifurcation(SPEC, X, Y, lr=lrs, steps=steps, n_keep=n_keep, sharpness_every=10, lyapunov_skip=skip)
    np.testing.assert_allclose(tb.lr, mb.lr)  # sorted by lr
    np.testing.assert_allclose(tb.loss, mb.loss, rtol=1e-10)
    np.testing.assert_allclose(tb.loss_late, mb.loss_late, rtol=1e-10)
    np.testing.assert_allclose(tb.sharpness, mb.sharpness, rtol=1e-7)
    np.testing.assert_allclose(tb.eta_sharpness, mb.eta_sharpness, rtol=1e-7)
    np.testing.assert_array_equal(tb.period, mb.period)
    v0 = random_start(SPEC.num_params, 0 + 1, torch.float64, torch.device("cpu")).numpy()  # torch.train's start
    for i, lr in enumerate(tb.lr):
        _, late, lyap, _ = _reference_run(SPEC, X, Y, lr, steps, n_keep, v0, skip)
        assert tb.lyapunov[i] == pytest.approx(lyap, rel=1e-7, abs=1e-10)
    # single runs combined in any order give the same result
    singles = [torch_bifurcation_run(factory, (Xt, Yt), lr, steps=steps, n_keep=n_keep, sharpness_every=10,
                                     lyapunov_skip=skip) for lr in lrs[::-1]]
    both = Bifurcation.from_runs(singles)
    np.testing.assert_array_equal(both.eta_sharpness, tb.eta_sharpness)
    np.testing.assert_array_equal(both.lyapunov, tb.lyapunov)
    assert both.settings == tb.settings
    # c: lr = c / lambda_0
    tc = torch_bifurcation_run(factory, (Xt, Yt), None, c=1.2, steps=4, n_keep=4, sharpness_every=2)
    assert tc.lr[0] == pytest.approx(1.2 / lam0, rel=1e-6) and tc.c[0] == pytest.approx(1.2, rel=1e-6)


def test_errors_name_the_argument():
    X, Y = _data()
    with pytest.raises(ValueError, match="exactly one"):
        mlp_bifurcation(SPEC, X, Y, lr=[0.1], c=[1.0], steps=5)
    with pytest.raises(ValueError, match="n_keep"):
        mlp_bifurcation(SPEC, X, Y, lr=[0.1], steps=5, n_keep=2)
    with pytest.raises(ValueError, match="lr"):
        mlp_bifurcation(SPEC, X, Y, lr=[0.1, -1.0], steps=5)
    with pytest.raises(ValueError, match="steps"):
        mlp_bifurcation(SPEC, X, Y, lr=[0.1], steps=0)
    with pytest.raises(ValueError, match="max_period"):
        mlp_bifurcation(SPEC, X, Y, lr=[0.1], steps=5, n_keep=8, max_period=8)
    with pytest.raises(TypeError, match="spec"):
        mlp_bifurcation((4, 8, 1), X, Y, lr=[0.1], steps=5)
    with pytest.raises(ValueError, match="runs"):
        Bifurcation.from_runs([])
    a = mlp_bifurcation(SPEC, X, Y, lr=[0.1], steps=5, n_keep=8)
    b = mlp_bifurcation(SPEC, X, Y, lr=[0.2], steps=6, n_keep=8)
    with pytest.raises(ValueError, match="runs"):
        Bifurcation.from_runs([a, b])
    with pytest.raises(ValueError, match="i must"):
        a.power_spectrum(3)


def test_mlp_train_initial_params_continues_a_run():
    """mlp.train(initial_params=...) from the final parameters of 25 steps continues exactly as
    one run of 40 steps."""
    X, Y = _data()
    lrs = [0.1, 0.4]
    whole = mlp.train(SPEC, X, Y, lr=lrs, steps=40, sharpness_every=5)
    head = mlp.train(SPEC, X, Y, lr=lrs, steps=25, sharpness_every=5)
    tail = mlp.train(SPEC, X, Y, lr=lrs, steps=15, sharpness_every=5, initial_params=head.params[0][:, 0, :])
    np.testing.assert_array_equal(tail.loss[0, :, 0], whole.loss[0, :, 0, 25:])
    np.testing.assert_array_equal(tail.params[0], whole.params[0])
    shared = mlp.train(SPEC, X, Y, lr=lrs, steps=3, initial_params=mlp.init_params(SPEC, 0))
    np.testing.assert_array_equal(shared.loss[0, :, 0], whole.loss[0, :, 0, :4])
    with pytest.raises(ValueError, match="initial_params"):
        mlp.train(SPEC, X, Y, lr=lrs, steps=3, initial_params=np.zeros((3, SPEC.num_params)))
    with pytest.raises(ValueError, match="initial_params"):
        mlp.train(SPEC, X, Y, c=[1.0], steps=3, initial_params=mlp.init_params(SPEC, 0))


def test_require_complete_passes_finished_runs_and_raises_on_interrupted():
    from types import SimpleNamespace

    from sharpdyn.bifurcation import require_complete

    done = SimpleNamespace(interrupted_at=np.array([[-1, -1]]))
    assert require_complete(done) is done
    assert require_complete(SimpleNamespace(interrupted_at=-1)).interrupted_at == -1
    with pytest.raises(KeyboardInterrupt):
        require_complete(SimpleNamespace(interrupted_at=np.array([[-1, 7]])))
    with pytest.raises(KeyboardInterrupt):
        require_complete(SimpleNamespace(interrupted_at=0))
