"""The MLP Hessian as a matrix-free operator (sharpdyn.mlp.HessianOperator) against the dense
Hessian assembled by torch autograd, and its SciPy interop (eigsh on the operator gives the
dense top eigenvalue)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.sparse.linalg import LinearOperator, aslinearoperator, eigsh

from sharpdyn import mlp

import mlp_reference as ref
from mlp_reference import torch_one_thread  # noqa: F401  (autouse fixture)


def _problem(param="sp", activation="tanh", loss="mse", seed=0):
    rng = np.random.default_rng(seed)
    net = mlp.MLP([4, 6, 5, 3], activation=activation, param=param, loss=loss, seed=seed)
    net.params = net.params + 0.3 * rng.standard_normal(net.num_params)
    X = rng.standard_normal((9, 4))
    Y = rng.standard_normal((9, 3)) if loss == "mse" else rng.dirichlet(np.ones(3), 9)
    return net, X, Y


@pytest.mark.parametrize("param", mlp.PARAMETERIZATIONS)
@pytest.mark.parametrize("loss", mlp.LOSSES)
def test_matvec_and_matmat_equal_the_dense_torch_hessian(param, loss):
    net, X, Y = _problem(param, "gelu", loss, seed=2)
    H = ref.torch_hessian(net.spec, net.params, X, Y)
    op = net.hessian_operator(X, Y)
    assert op.shape == H.shape == (net.num_params, net.num_params) and op.n_params == net.num_params
    assert op.dtype == np.float64
    V = np.random.default_rng(1).standard_normal((net.num_params, 3))
    scale = np.abs(H).max() * np.abs(V).max()
    np.testing.assert_allclose(op.matvec(V[:, 0]), H @ V[:, 0], rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(op.matvec(V[:, :1]), H @ V[:, :1], rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(op.matmat(V), H @ V, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(op @ V, H @ V, rtol=0, atol=1e-10 * scale)
    assert op.n_products == 1 + 1 + 3 + 3


def test_eigsh_on_the_operator_gives_the_dense_top_eigenvalue():
    net, X, Y = _problem("ntk", "tanh", "mse", seed=4)
    H = ref.torch_hessian(net.spec, net.params, X, Y)
    top = np.linalg.eigvalsh(H)[-1]
    op = mlp.HessianOperator(net, X, Y)
    scipy_op = op.to_scipy()
    assert isinstance(scipy_op, LinearOperator)
    for A in (scipy_op, aslinearoperator(op)):
        (value,) = eigsh(A, k=1, which="LA", tol=1e-12, return_eigenvectors=False)
        assert value == pytest.approx(top, rel=1e-9)
    res = mlp.lanczos(H, 1)
    assert res.eigenvalues[0] == pytest.approx(top, rel=1e-12)


def test_operator_is_a_snapshot_until_refresh():
    net, X, Y = _problem(seed=5)
    op = net.hessian_operator(X, Y)
    p0 = net.params
    v = np.random.default_rng(2).standard_normal(net.num_params)
    before = op.matvec(v)
    H0 = ref.torch_hessian(net.spec, net.params, X, Y)
    net.params = net.params * 1.5
    np.testing.assert_array_equal(op.matvec(v), before)
    np.testing.assert_array_equal(op.flat_params(), p0)
    op.refresh()
    np.testing.assert_array_equal(op.flat_params(), p0 * 1.5)
    H1 = ref.torch_hessian(net.spec, net.params, X, Y)
    np.testing.assert_allclose(op.matvec(v), H1 @ v, rtol=0, atol=1e-10 * np.abs(H1 @ v).max())
    assert np.abs(H1 @ v - H0 @ v).max() > 1e-3 * np.abs(H0 @ v).max()


def test_loss_and_gradient_at_the_snapshot_match_torch():
    net, X, Y = _problem("mup", "relu", "ce", seed=7)
    theta = torch.tensor(net.params, requires_grad=True)
    L = ref.loss_fn(net.spec, X, Y)(theta)
    (g,) = torch.autograd.grad(L, theta)
    value, grad = net.hessian_operator(X, Y).loss_and_gradient()
    assert value == pytest.approx(L.item(), rel=1e-13)
    np.testing.assert_allclose(grad, g.numpy(), rtol=1e-11, atol=1e-13)


def test_operator_refuses_bad_vectors_and_inputs():
    net, X, Y = _problem(seed=6)
    op = net.hessian_operator(X, Y)
    with pytest.raises(ValueError, match="v"):
        op.matvec(np.ones(net.num_params + 1))
    with pytest.raises(ValueError, match="v"):
        op.matvec(np.full(net.num_params, np.nan))
    with pytest.raises(ValueError, match="V"):
        op.matmat(np.ones((net.num_params + 1, 2)))
    with pytest.raises(ValueError, match="X"):
        net.hessian_operator(X[:, :2], Y)
    with pytest.raises(TypeError, match="net"):
        mlp.HessianOperator("not a net", X, Y)
