"""Property tests of MLP derivatives (hypothesis) and bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpdyn import mlp
from sharpdyn.mlp import MLP, MLPSpec

nets = st.builds(
    lambda widths, act, param, bias, loss, seed: (MLPSpec(tuple(widths), activation=act, param=param, bias=bias,
                                                          loss=loss), seed),
    st.lists(st.integers(1, 5), min_size=2, max_size=5),
    st.sampled_from(mlp.ACTIVATIONS),
    st.sampled_from(mlp.PARAMETERIZATIONS),
    st.booleans(),
    st.sampled_from(mlp.LOSSES),
    st.integers(0, 2**31),
)


def _data(spec, seed, n=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, spec.widths[0]))
    d = spec.widths[-1]
    Y = rng.standard_normal((n, d)) if spec.loss == "mse" else rng.dirichlet(np.ones(d), n)
    net = MLP.from_spec(spec, seed=seed % 1000)
    net.params = net.params + 0.2 * rng.standard_normal(net.num_params)
    return net, X, Y, rng


@settings(max_examples=40, deadline=None)
@given(nets)
def test_hessian_is_symmetric_and_consistent_with_hvp(case):
    spec, seed = case
    net, X, Y, rng = _data(spec, seed)
    H = net.hessian(X, Y)
    np.testing.assert_array_equal(H, H.T)
    v = rng.standard_normal(net.num_params)
    scale = np.abs(H).max() * np.abs(v).sum() + 1e-300
    np.testing.assert_allclose(net.hvp(X, Y, v), H @ v, rtol=0, atol=1e-12 * scale)


@settings(max_examples=40, deadline=None)
@given(nets)
def test_gauss_newton_is_psd_and_equals_hessian_at_interpolation(case):
    spec, seed = case
    net, X, Y, _ = _data(spec, seed)
    G = net.gauss_newton(X, Y)
    ev = np.linalg.eigvalsh(G)
    assert ev[0] >= -1e-12 * max(ev[-1], 1e-300)
    if spec.loss == "mse":
        # With zero residual (Y = f(X)) the second-derivative part vanishes: H = GN.
        Yfit = net.forward(X)
        np.testing.assert_allclose(net.hessian(X, Yfit), net.gauss_newton(X, Yfit), rtol=0,
                                   atol=1e-13 * (np.abs(G).max() + 1e-300))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2**31))
def test_relu_network_is_invariant_under_layer_rescaling(alpha_exp, seed):
    # ReLU is positively homogeneous: W_0 -> a W_0, W_1 -> W_1 / a leaves f unchanged
    # (no bias), so the loss is unchanged and the gradients scale by 1/a and a.
    spec = MLPSpec((3, 5, 2), activation="relu", bias=False)
    net, X, Y, _ = _data(spec, seed)
    a = 2.0 ** alpha_exp
    p = net.params
    q = p.copy()
    q[:15] *= a
    q[15:] /= a
    other = MLP.from_spec(spec, params=q)
    assert other.loss(X, Y) == pytest.approx(net.loss(X, Y), rel=1e-12)
    g, h = net.gradient(X, Y), other.gradient(X, Y)
    np.testing.assert_allclose(h[:15], g[:15] / a, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(h[15:], g[15:] * a, rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------- bad input
X3 = np.zeros((4, 3))
Y2 = np.zeros((4, 2))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(widths=[3, 0, 2]), r"widths\[1\] must be > 0"),
        (dict(widths=[3]), "at least two"),
        (dict(widths=[3, 2.5, 2]), r"widths\[1\] must be an integer"),
        (dict(widths=[3, 4, 2], activation="swish"), "activation must be one of"),
        (dict(widths=[3, 4, 2], param="mu"), "param must be one of"),
        (dict(widths=[3, 4, 2], loss="l1"), "loss must be one of"),
        (dict(widths=[3, 4, 2], init_scale=0.0), "init_scale must be > 0"),
        (dict(widths=[3, 4, 2], init_scale=float("nan")), "init_scale must be finite"),
        (dict(widths=[3, 4, 2], seed=-1), "seed must be >= 0"),
    ],
)
def test_bad_specs_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)


def test_bad_types_raise_type_errors():
    with pytest.raises(TypeError, match="widths"):
        MLPSpec("32")
    with pytest.raises(TypeError, match="bias"):
        MLPSpec((3, 2), bias="yes")
    with pytest.raises(TypeError, match="spec"):
        mlp.train((3, 2), X3, Y2, lr=0.1, steps=1)


def test_bad_data_raise_clear_errors():
    net = MLP([3, 4, 2])
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3\)"):
        net.loss(np.zeros((4, 5)), Y2)
    with pytest.raises(ValueError, match=r"Y must have shape \(4, 2\)"):
        net.loss(X3, np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"Y must have shape \(4, 2\)"):
        net.hessian(X3, np.zeros(4))
    bad = X3.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        net.gradient(bad, Y2)
    with pytest.raises(ValueError, match="Y must be finite"):
        net.hessian(X3, np.full((4, 2), np.inf))
    with pytest.raises(ValueError, match="X must not be empty"):
        net.loss(np.zeros((0, 3)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="params must have shape"):
        net.params = np.zeros(3)
    with pytest.raises(ValueError, match="v must have shape"):
        net.hvp(X3, Y2, np.zeros(2))
    with pytest.raises(ValueError, match="k must be <= num_params"):
        net.top_eigenvalues(X3, Y2, k=10**6)
    with pytest.raises(ValueError, match="method must be one of"):
        net.top_eigenvalues(X3, Y2, method="power")
    ce = MLP([3, 4, 2], loss="ce")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        ce.loss(X3, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="non-negative class probabilities"):
        ce.loss(X3, -np.ones((4, 2)))


def test_bad_training_arguments_raise_clear_errors():
    spec = MLPSpec((3, 4, 2))
    with pytest.raises(ValueError, match="exactly one of lr"):
        mlp.train(spec, X3, Y2, steps=3)
    with pytest.raises(ValueError, match="exactly one of lr"):
        mlp.train(spec, X3, Y2, lr=0.1, c=1.0, steps=3)
    with pytest.raises(ValueError, match="lr must be > 0"):
        mlp.train(spec, X3, Y2, lr=[0.1, -1.0], steps=3)
    with pytest.raises(ValueError, match="lr must be finite"):
        mlp.train(spec, X3, Y2, lr=np.nan, steps=3)
    with pytest.raises(ValueError, match="steps must be > 0"):
        mlp.train(spec, X3, Y2, lr=0.1, steps=0)
    with pytest.raises(ValueError, match="sharpness_every must be > 0"):
        mlp.train(spec, X3, Y2, lr=0.1, steps=3, sharpness_every=0)
    with pytest.raises(ValueError, match="batch_size must be <= N"):
        mlp.train(spec, X3, Y2, lr=0.1, steps=3, batch_size=5)
    with pytest.raises(ValueError, match="seeds must be distinct"):
        mlp.train(spec, X3, Y2, lr=0.1, steps=3, seeds=[1, 1])
    with pytest.raises(ValueError, match=r"widths\[1\] must be > 0|width must be > 0"):
        mlp.train(spec, X3, Y2, lr=0.1, steps=3, widths=[4, 0])
    with pytest.raises(ValueError, match="no width to sweep"):
        mlp.train(MLPSpec((3, 2)), X3, Y2, lr=0.1, steps=3, widths=[4])
    with pytest.raises(ValueError, match="Y must have shape"):
        mlp.train(spec, X3, np.zeros((4, 3)), lr=0.1, steps=3)


def test_lanczos_bad_input():
    with pytest.raises(ValueError, match="A must be a square matrix"):
        mlp.lanczos(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="k must be <= n"):
        mlp.lanczos(np.eye(3), k=4)
    with pytest.raises(ValueError, match="A must be finite"):
        mlp.lanczos(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="tol must be > 0"):
        mlp.lanczos(np.eye(3), tol=0.0)
