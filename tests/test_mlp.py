"""MLP derivatives against independent torch float64 computations: losses, gradients,
Hessians (every activation, parameterization, several depths, MSE and CE), HVPs, Jacobians,
the NTK / Gauss-Newton relation, spectra and Lanczos."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from sharpdyn import mlp
from sharpdyn.mlp import MLP, MLPSpec

import mlp_reference as ref
from mlp_reference import torch_one_thread  # noqa: F401  (autouse fixture)

# torch.func's forward-mode AD warns once about its own use of torch.jit.script.
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:DeprecationWarning")

ARCHS = {"depth1": (3, 2), "depth2": (3, 5, 2), "depth3": (4, 5, 3, 2), "depth4": (3, 4, 4, 3, 2)}
CASES = [
    pytest.param(a, p, d, lo, b, id=f"{a}-{p}-{d}-{lo}{'' if b else '-nobias'}")
    for a, p, d, lo, b in itertools.product(mlp.ACTIVATIONS, mlp.PARAMETERIZATIONS, ARCHS, mlp.LOSSES, [True])
] + [pytest.param("tanh", "sp", "depth3", "mse", False, id="tanh-sp-depth3-mse-nobias"),
     pytest.param("gelu", "mup", "depth2", "ce", False, id="gelu-mup-depth2-ce-nobias")]


def _problem(activation, param, depth, loss, bias, seed=0, n=7):
    rng = np.random.default_rng(seed)
    widths = ARCHS[depth]
    net = MLP(widths, activation=activation, param=param, bias=bias, loss=loss, seed=seed)
    # Random biases and O(1) weights so that every term of the Hessian is exercised.
    net.params = net.params + 0.3 * rng.standard_normal(net.num_params)
    X = rng.standard_normal((n, widths[0]))
    Y = rng.standard_normal((n, widths[-1])) if loss == "mse" else rng.dirichlet(np.ones(widths[-1]), n)
    return net, X, Y


@pytest.mark.parametrize("activation,param,depth,loss,bias", CASES)
def test_hessian_matches_torch_autograd(activation, param, depth, loss, bias):
    net, X, Y = _problem(activation, param, depth, loss, bias)
    H_ref = ref.torch_hessian(net.spec, net.params, X, Y)
    H = net.hessian(X, Y)
    assert H.shape == (net.num_params, net.num_params)
    scale = np.abs(H_ref).max()
    assert scale > 0
    np.testing.assert_allclose(H, H_ref, rtol=0, atol=1e-10 * scale)
    np.testing.assert_array_equal(H, H.T)


@pytest.mark.parametrize("activation,param,depth,loss,bias", CASES[::5])
def test_loss_gradient_hvp_match_torch(activation, param, depth, loss, bias):
    net, X, Y = _problem(activation, param, depth, loss, bias, seed=3)
    f = ref.loss_fn(net.spec, X, Y)
    theta = torch.tensor(net.params, requires_grad=True)
    L = f(theta)
    (g,) = torch.autograd.grad(L, theta, create_graph=True)
    v = np.random.default_rng(1).standard_normal(net.num_params)
    (hv,) = torch.autograd.grad(g @ torch.tensor(v), theta)
    assert net.loss(X, Y) == pytest.approx(L.item(), rel=1e-13, abs=1e-15)
    np.testing.assert_allclose(net.gradient(X, Y), g.detach().numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(net.hvp(X, Y, v), hv.numpy(), rtol=1e-10, atol=1e-12 * np.abs(hv.numpy()).max())


def test_hessian_on_digits_matches_torch_func():
    X, Y = ref.digits(32)
    net = MLP([64, 12, 10], activation="tanh", seed=1)
    H_ref = torch.func.hessian(ref.loss_fn(net.spec, X, Y))(torch.tensor(net.params)).numpy()
    np.testing.assert_allclose(net.hessian(X, Y), H_ref, rtol=0, atol=1e-10 * np.abs(H_ref).max())


@pytest.mark.parametrize("param", mlp.PARAMETERIZATIONS)
def test_multipliers_and_init_follow_documented_convention(param):
    spec = MLPSpec((5, 40, 30, 3), param=param, init_scale=1.5)
    fi = [5, 40, 30]
    if param == "sp":
        m = [1, 1, 1]
        s = [1.5 / math.sqrt(n) for n in fi]
    elif param == "ntk":
        m = [1.5 / math.sqrt(n) for n in fi]
        s = [1, 1, 1]
    else:
        m = [math.sqrt(40), 1, 1 / math.sqrt(30)]
        s = [1.5 / math.sqrt(5 * 40), 1.5 / math.sqrt(40), 1.5 / math.sqrt(30)]
    np.testing.assert_allclose(spec.multipliers, m, rtol=1e-15)
    np.testing.assert_allclose(spec.init_stds, s, rtol=1e-15)
    p = mlp.init_params(MLPSpec((200, 300, 300, 2), param=param), seed=4)
    W1 = p[200 * 300 + 300: 200 * 300 + 300 + 300 * 300]
    expected = MLPSpec((200, 300, 300, 2), param=param).init_stds[1]
    assert W1.std() == pytest.approx(expected, rel=0.02)
    assert np.all(p[200 * 300: 200 * 300 + 300] == 0.0)  # biases start at zero


def test_mup_effective_output_variance_scales_as_inverse_width_squared():
    # Effective last-layer weights m W: variance 1/fan_in^2 in muP, 1/fan_in in SP.
    for n in (64, 256):
        spec = MLPSpec((4, n, n, 1), param="mup")
        assert (spec.multipliers[-1] * spec.init_stds[-1]) ** 2 == pytest.approx(1.0 / n**2)
        sp = MLPSpec((4, n, n, 1), param="sp")
        assert (sp.multipliers[-1] * sp.init_stds[-1]) ** 2 == pytest.approx(1.0 / n)


@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
@pytest.mark.parametrize("param", mlp.PARAMETERIZATIONS)
def test_to_torch_is_the_same_network(activation, param):
    net, X, Y = _problem(activation, param, "depth3", "mse", True, seed=5)
    module = net.to_torch()
    assert isinstance(module, torch.nn.Module)
    np.testing.assert_array_equal(torch.nn.utils.parameters_to_vector(module.parameters()).detach().numpy(), net.params)
    with torch.no_grad():
        out = module(torch.tensor(X)).numpy()
    np.testing.assert_allclose(out, net.forward(X), rtol=1e-14, atol=1e-14)

    names = [n for n, _ in module.named_parameters()]

    def loss_of(theta):
        chunks, off = {}, 0
        for name, p in module.named_parameters():
            chunks[name] = theta[off:off + p.numel()].reshape(p.shape)
            off += p.numel()
        F = torch.func.functional_call(module, chunks, (torch.tensor(X),))
        return 0.5 * ((F - torch.tensor(Y)) ** 2).sum() / X.shape[0]

    assert names[0].endswith("weight")
    theta = torch.tensor(net.params)
    assert loss_of(theta).item() == pytest.approx(net.loss(X, Y), rel=1e-13)
    np.testing.assert_allclose(torch.func.grad(loss_of)(theta).numpy(), net.gradient(X, Y), rtol=1e-11, atol=1e-13)
    H_ref = torch.func.hessian(loss_of)(theta).numpy()
    np.testing.assert_allclose(net.hessian(X, Y), H_ref, rtol=0, atol=1e-10 * np.abs(H_ref).max())


def test_cross_entropy_accepts_labels_like_one_hot():
    rng = np.random.default_rng(0)
    net = MLP([3, 6, 4], loss="ce", activation="gelu")
    X = rng.standard_normal((9, 3))
    labels = rng.integers(0, 4, 9)
    onehot = np.eye(4)[labels]
    assert net.loss(X, labels) == net.loss(X, onehot)
    np.testing.assert_array_equal(net.hessian(X, labels), net.hessian(X, onehot))
    logits = torch.tensor(net.forward(X))
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor(labels)).item()
    assert net.loss(X, labels) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("loss", mlp.LOSSES)
def test_jacobian_matches_torch_and_gauss_newton_is_jt_hloss_j(loss):
    net, X, Y = _problem("tanh", "sp", "depth3", loss, True, seed=2)
    J = net.jacobian(X)
    J_ref = torch.autograd.functional.jacobian(
        lambda t: ref.forward(t, X, net.spec.widths, "tanh", True, net.spec.multipliers).reshape(-1),
        torch.tensor(net.params)).numpy()
    np.testing.assert_allclose(J, J_ref, rtol=1e-12, atol=1e-13)
    N, d = Y.shape
    if loss == "mse":
        Hl = np.eye(N * d) / N
    else:
        p = torch.softmax(torch.tensor(net.forward(X)), dim=1).numpy()
        Hl = np.zeros((N * d, N * d))
        for n in range(N):
            Hl[n * d:(n + 1) * d, n * d:(n + 1) * d] = (np.diag(p[n]) - np.outer(p[n], p[n])) / N
    G_ref = J_ref.T @ Hl @ J_ref
    np.testing.assert_allclose(net.gauss_newton(X, Y), G_ref, rtol=0, atol=1e-12 * np.abs(G_ref).max())


def test_gauss_newton_top_equals_ntk_top_over_n_for_mse():
    net, X, Y = _problem("relu", "ntk", "depth3", "mse", True, seed=6, n=9)
    ntk = net.ntk(X)
    np.testing.assert_allclose(ntk, ntk.T, rtol=0, atol=1e-14 * np.abs(ntk).max())
    top_ntk = np.linalg.eigvalsh(ntk)[-1] / X.shape[0]
    assert net.gauss_newton_top(X, Y)[0] == pytest.approx(top_ntk, rel=1e-10)


def test_linear_one_layer_mse_hessian_is_the_input_covariance():
    # f = W x + b, L = |f - y|^2 / 2N: H = I_out kron (Xa^T Xa / N) in the (W, b) order.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((11, 3))
    Y = rng.standard_normal((11, 2))
    net = MLP([3, 2], activation="linear", bias=False, seed=1)
    H = net.hessian(X, Y)
    np.testing.assert_allclose(H, np.kron(np.eye(2), X.T @ X / 11), rtol=1e-13, atol=1e-15)


def test_eigenvalues_match_numpy_and_lanczos_matches_dense():
    X, Y = ref.digits(48)
    net = MLP([64, 4, 10], activation="tanh", seed=2)
    H = net.hessian(X, Y)
    full = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(net.eigenvalues(X, Y), full, rtol=0, atol=1e-12 * np.abs(full).max())
    top5 = full[::-1][:5]
    for method in ("dense", "hvp"):
        top = net.top_eigenvalues(X, Y, k=5, method=method)
        np.testing.assert_allclose(top, top5, rtol=1e-8)
    assert net.sharpness(X, Y) == pytest.approx(full[-1], rel=1e-8)


def test_lanczos_on_random_symmetric_matrices():
    rng = np.random.default_rng(7)
    for n, k in [(1, 1), (5, 3), (60, 4), (300, 6)]:
        A = rng.standard_normal((n, n))
        A = (A + A.T) / 2
        res = mlp.lanczos(A, k, seed=3)
        expected = np.linalg.eigvalsh(A)[::-1][:k]
        np.testing.assert_allclose(res.eigenvalues, expected, rtol=1e-8, atol=1e-8 * np.abs(expected).max())
        assert res.all_converged
        for i in range(k):
            v = res.eigenvectors[:, i]
            assert np.linalg.norm(v) == pytest.approx(1.0, rel=1e-10)
            assert np.linalg.norm(A @ v - res.eigenvalues[i] * v) <= 1e-6 * np.abs(expected).max()
        again = mlp.lanczos(A, k, seed=3)
        np.testing.assert_array_equal(again.eigenvalues, res.eigenvalues)


def test_lanczos_finds_largest_algebraic_not_largest_magnitude():
    A = np.diag([-10.0, -5.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(mlp.lanczos(A, 2).eigenvalues, [3.0, 2.0], rtol=1e-12)


def test_hessian_is_independent_of_thread_count():
    X, Y = ref.digits(40)
    net = MLP([64, 12, 12, 10], activation="gelu", seed=3)
    H1 = net.hessian(X, Y, threads=1)
    H2 = net.hessian(X, Y, threads=2)
    np.testing.assert_array_equal(H1, H2)


@pytest.mark.parametrize("loss", mlp.LOSSES)
def test_hessian_over_many_examples_sums_all_chunks(loss):
    # More examples than one chunk of the C++ sum (512): every chunk must be counted once.
    rng = np.random.default_rng(11)
    net = MLP([3, 4, 3, 2], activation="tanh", loss=loss, seed=4)
    X = rng.standard_normal((1300, 3))
    Y = rng.standard_normal((1300, 2)) if loss == "mse" else rng.dirichlet(np.ones(2), 1300)
    H_ref = ref.torch_hessian(net.spec, net.params, X, Y)
    np.testing.assert_allclose(net.hessian(X, Y), H_ref, rtol=0, atol=1e-10 * np.abs(H_ref).max())
    G = net.gauss_newton(X, Y)
    J = net.jacobian(X)
    if loss == "mse":
        np.testing.assert_allclose(G, J.T @ J / 1300, rtol=0, atol=1e-12 * np.abs(G).max())
