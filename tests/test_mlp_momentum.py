"""Heavy-ball and Nesterov momentum in the batched C++ MLP trainer (``mlp.train(momentum=...)``):
steps against ``torch.optim.SGD(momentum=b, nesterov=...)`` on ``MLP.to_torch()``, ``b = 0``
bit for bit equal to a plain NumPy GD/SGD loop, thread-count independence, the edge of
stability at the momentum threshold on digits, and refusal of bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sharpdyn import _core, mlp, regimes
from sharpdyn.mlp import MLP, MLPSpec

import mlp_reference as ref
from mlp_reference import torch_one_thread  # noqa: F401  (autouse fixture)


def _small_problem(seed=0, n=20, d_in=4, d_out=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))


def _torch_loss(spec, out, Y):
    """The documented losses written directly in torch: MSE (1/2N) sum ||f - y||^2, mean CE."""
    Yt = torch.as_tensor(Y)
    if spec.loss == "mse":
        return 0.5 * ((out - Yt) ** 2).sum() / out.shape[0]
    return -(Yt * torch.log_softmax(out, dim=1)).sum(dim=1).mean()


def _torch_sgd(spec, seed, X, Y, *, lr, momentum, nesterov, steps, batches=None):
    """torch.optim.SGD(momentum, nesterov) on MLP.to_torch(): full-batch losses before every
    update and the final flat parameters."""
    model = MLP.from_spec(spec, seed=seed).to_torch()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov)
    Xt = torch.as_tensor(X)
    losses = []
    for t in range(steps + 1):
        with torch.no_grad():
            losses.append(_torch_loss(spec, model(Xt), Y).item())
        if t == steps:
            break
        idx = slice(None) if batches is None else batches[t]
        opt.zero_grad()
        _torch_loss(spec, model(Xt[idx]), Y[idx]).backward()
        opt.step()
    theta = torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy()
    return np.array(losses), theta


CASES = [  # (param, activation, loss, momentum, nesterov)
    ("sp", "tanh", "mse", 0.9, False),
    ("mup", "gelu", "ce", 0.5, True),
    ("ntk", "relu", "mse", 0.7, True),
    ("sp", "linear", "ce", 0.3, False),
]


@pytest.mark.parametrize("batch_size", [None, 5])
@pytest.mark.parametrize("param, activation, loss, momentum, nesterov", CASES)
def test_steps_equal_torch_sgd_with_momentum(param, activation, loss, momentum, nesterov, batch_size):
    X, Y = _small_problem(2, n=18)
    if loss == "ce":
        Y = np.eye(3)[np.arange(18) % 3]
    spec = MLPSpec((4, 6, 5, 3), activation=activation, param=param, loss=loss)
    steps, lr, seed = 12, 0.05, 3
    runs = mlp.train(spec, X, Y, lr=lr, steps=steps, seeds=[seed], sharpness_every=6, batch_size=batch_size,
                     momentum=momentum, nesterov=nesterov)
    batches = None if batch_size is None else mlp.batch_order(seed, 18, batch_size, steps)
    losses, theta = _torch_sgd(spec, seed, X, Y, lr=lr, momentum=momentum, nesterov=nesterov, steps=steps,
                               batches=batches)
    np.testing.assert_allclose(runs.loss[0, 0, 0], losses, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(runs.params[0][0, 0], theta, rtol=1e-11, atol=1e-12)
    assert runs.momentum == momentum and runs.nesterov is nesterov
    # The momentum really acts: plain GD from the same start ends elsewhere.
    plain = mlp.train(spec, X, Y, lr=lr, steps=steps, seeds=[seed], sharpness_every=6, batch_size=batch_size)
    assert np.max(np.abs(plain.params[0][0, 0] - theta)) > 1e-4


def _numpy_descent(spec, seed, X, Y, *, lr, steps, batches=None):
    """Plain theta <- theta - lr g with MLP.loss / MLP.gradient (the C++ loss and gradient the
    trainer uses), the update written in NumPy: the same floating-point operations as GD/SGD."""
    net = MLP.from_spec(spec, seed=seed)
    theta = net.params
    losses = []
    for t in range(steps + 1):
        net.params = theta
        losses.append(net.loss(X, Y))
        if t == steps:
            break
        g = net.gradient(X, Y) if batches is None else net.gradient(X[batches[t]], Y[batches[t]])
        theta = theta - lr * g
    return np.array(losses), theta


TRAINING_ARRAYS = ("loss", "sharpness", "sharpness_steps", "lr", "lr_axis", "seed", "width", "diverged",
                   "diverged_at", "interrupted_at", "threshold")


@pytest.mark.parametrize("batch_size", [None, 4])
def test_zero_momentum_is_plain_descent_bit_for_bit(batch_size):
    X, Y = ref.digits(24)
    spec = MLPSpec((64, 5, 10), activation="tanh")
    kw = dict(lr=[0.05, 0.3], steps=15, sharpness_every=5, seeds=[0, 2], batch_size=batch_size)
    default = mlp.train(spec, X, Y, **kw)
    assert not default.diverged.any()
    zero = mlp.train(spec, X, Y, momentum=0.0, **kw)
    zero_nesterov = mlp.train(spec, X, Y, momentum=0, nesterov=True, **kw)
    for runs in (zero, zero_nesterov):
        for name in TRAINING_ARRAYS:
            np.testing.assert_array_equal(getattr(runs, name), getattr(default, name), err_msg=name)
        for pa, pb in zip(runs.params, default.params):
            np.testing.assert_array_equal(pa, pb)
        np.testing.assert_array_equal(runs.regime(), default.regime())
    # ... and equal, bit for bit, to the plain update written in NumPy.
    for r, lr in enumerate(kw["lr"]):
        for s, seed in enumerate(kw["seeds"]):
            batches = None if batch_size is None else mlp.batch_order(seed, 24, batch_size, 15)
            losses, theta = _numpy_descent(spec, seed, X, Y, lr=lr, steps=15, batches=batches)
            np.testing.assert_array_equal(zero.loss[0, r, s], losses)
            np.testing.assert_array_equal(zero.params[0][r, s], theta)
    # The GD threshold 2/lr, and the regimes of plain GD (no threshold passed on).
    np.testing.assert_array_equal(zero.threshold, 2.0 / zero.lr)
    np.testing.assert_array_equal(zero.regime(), regimes.classify_series(zero.loss, zero.sharpness, lr=zero.lr,
                                                                        diverged=zero.diverged))


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_results_do_not_depend_on_thread_count(nesterov):
    X, Y = ref.digits(40)
    spec = MLPSpec((64, 6, 10), activation="tanh")
    kw = dict(lr=[0.05, 0.5, 6.0], steps=25, sharpness_every=5, seeds=[0, 1], widths=[4, 6], batch_size=8,
              momentum=0.8, nesterov=nesterov)
    a = mlp.train(spec, X, Y, threads=1, **kw)
    b = mlp.train(spec, X, Y, threads=2, **kw)
    for name in TRAINING_ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for pa, pb in zip(a.params, b.params):
        np.testing.assert_array_equal(pa, pb)
    lone = mlp.train(spec.with_hidden_width(6), X, Y, lr=0.5, steps=25, sharpness_every=5, seeds=[1], batch_size=8,
                     momentum=0.8, nesterov=nesterov)
    np.testing.assert_array_equal(a.loss[1, 1, 1], lone.loss[0, 0, 0])
    np.testing.assert_array_equal(a.params[1][1, 1], lone.params[0][0, 0])


# ---------------------------------------------------------------- edge of stability on digits
DIGITS_SPEC = MLPSpec((64, 32, 32, 10), activation="tanh", param="sp", init_scale=0.5)
EDGE = 11.0  # the sharpness the threshold is set to; lambda_0 = 7.9 starts at 0.72 of it


@pytest.fixture(scope="module")
def edge_runs():
    X, Y = ref.digits(256)
    b = 0.5
    heavy = mlp.train(DIGITS_SPEC, X, Y, lr=(2 + 2 * b) / EDGE, steps=800, sharpness_every=10, momentum=b)
    nesterov = mlp.train(DIGITS_SPEC, X, Y, lr=2 * (1 + b) / ((1 + 2 * b) * EDGE), steps=800, sharpness_every=10,
                         momentum=b, nesterov=True)
    return heavy, nesterov


@pytest.mark.parametrize("which", [0, 1], ids=["heavy_ball", "nesterov"])
def test_sharpness_hovers_at_the_momentum_threshold(edge_runs, which):
    runs = edge_runs[which]
    b, lr = 0.5, runs.lr[0, 0, 0]
    # The threshold (2 + 2b)/lr or 2(1 + b)/((1 + 2b) lr), written out here.
    edge = (2 + 2 * b) / lr if which == 0 else 2 * (1 + b) / ((1 + 2 * b) * lr)
    assert runs.threshold[0, 0, 0] == pytest.approx(edge, rel=1e-14)
    assert edge == pytest.approx(EDGE, rel=1e-12)
    s = runs.sharpness[0, 0, 0]
    assert np.all(np.isfinite(s)) and not runs.diverged.any()
    assert s[0] < 0.8 * edge                          # starts well below the edge,
    assert s.max() > 0.98 * edge                      # rises to it,
    late = s[runs.sharpness_steps >= 400]
    assert np.all(np.abs(late / edge - 1.0) < 0.10)   # and hovers there (within 10%)
    assert abs(late.mean() / edge - 1.0) < 0.03       # (mean within 3%)
    # ... which is not GD's edge 2/lr: 1.5x above it for heavy ball, 0.75x for Nesterov.
    gd_edge = 2.0 / lr
    if which == 0:
        assert late.min() > 1.3 * gd_edge
    else:
        assert late.max() < 0.85 * gd_edge
    np.testing.assert_allclose(runs.edge_ratio[0, 0, 0], s / edge, rtol=1e-14)
    loss = runs.loss[0, 0, 0]
    assert loss[-1] < 0.05 * loss[0]                  # the loss keeps falling,
    assert np.any(np.diff(loss[400:]) > 0)            # non-monotonically
    criteria = regimes.RegimeCriteria(window_fraction=0.5)
    assert runs.regime(criteria)[0, 0, 0] == "edge_of_stability"
    assert regimes.classify_series(loss, s, lr=lr, threshold=edge, criteria=criteria) == "edge_of_stability"


def test_momentum_runs_save_and_xarray(tmp_path):
    X, Y = _small_problem(5)
    spec = MLPSpec((4, 6, 3), activation="tanh")
    runs = mlp.train(spec, X, Y, lr=[0.1, 0.3], steps=6, sharpness_every=3, seeds=[0, 1], momentum=0.9,
                     nesterov=True)
    expected = 2 * 1.9 / (2.8 * np.array([0.1, 0.3]))
    assert runs.threshold.shape == (1, 2, 2)
    np.testing.assert_allclose(runs.threshold, np.broadcast_to(expected[None, :, None], (1, 2, 2)), rtol=1e-14)
    with np.load(runs.save(tmp_path / "runs.npz")) as data:
        np.testing.assert_array_equal(data["threshold"], runs.threshold)
        assert float(data["momentum"]) == 0.9 and bool(data["nesterov"]) is True
        np.testing.assert_array_equal(data["regime"], runs.regime())
    pytest.importorskip("xarray")
    ds = runs.to_xarray()
    assert ds["threshold"].dims == ("width", "lr", "seed")
    np.testing.assert_array_equal(ds["threshold"].values, runs.threshold)
    assert ds.attrs["momentum"] == 0.9 and ds.attrs["nesterov"] == 1


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), float("inf"), 0.5 + 0.0j, 0.5 + 0.1j, [0.1, 0.2], "0.5",
                                 None])
def test_bad_momentum_is_refused_naming_it(bad):
    X, Y = _small_problem()
    spec = MLPSpec((4, 3, 3))
    with pytest.raises(ValueError, match="momentum"):
        mlp.train(spec, X, Y, lr=0.1, steps=2, momentum=bad)


def test_bad_nesterov_is_refused_naming_it():
    X, Y = _small_problem()
    with pytest.raises(TypeError, match="nesterov"):
        mlp.train(MLPSpec((4, 3, 3)), X, Y, lr=0.1, steps=2, momentum=0.5, nesterov="yes")


def test_the_core_refuses_bad_momentum_too():
    X, Y = _small_problem()
    spec = MLPSpec((4, 3, 3))
    args = ([spec._core_args()], np.zeros(1, np.int64), [mlp.init_params(spec)], np.array([0.1]),
            np.zeros(1, np.int64), X, Y, np.zeros((0, 0, 0), np.int64), np.zeros(1, np.int64), 2, 1, 0, 10, 1e-7,
            1e12)
    for bad in (-0.5, 1.0, float("nan")):
        with pytest.raises(ValueError, match="momentum"):
            _core.mlp_train(*args, momentum=bad)


# ---------------------------------------------------------------- Ctrl-C with momentum
def test_ctrl_c_keeps_the_finished_momentum_steps():
    """A KeyboardInterrupt (here raised by the progress callable, as the Ctrl-C handler would)
    stops the momentum run and keeps exactly the steps of an uninterrupted run."""
    X, Y = _small_problem(7, n=32, d_in=8, d_out=2)
    spec = MLPSpec((8, 16, 2))

    def ctrl_c(done):
        if done > 0:
            raise KeyboardInterrupt

    kw = dict(lr=0.05, sharpness_every=10, threads=1, momentum=0.9, nesterov=True)
    runs = mlp.train(spec, X, Y, steps=200_000, progress=ctrl_c, **kw)
    assert runs.interrupted
    at = int(runs.interrupted_at[0, 0, 0])
    assert 0 < at < 200_000
    loss = runs.loss[0, 0, 0]
    assert np.all(np.isfinite(loss[:at])) and np.all(np.isnan(loss[at:]))
    ref_runs = mlp.train(spec, X, Y, steps=at, **kw)
    np.testing.assert_array_equal(ref_runs.loss[0, 0, 0, :at], loss[:at])
    np.testing.assert_array_equal(ref_runs.params[0][0, 0], runs.params[0][0, 0])


# ---------------------------------------------------------------- command line
def test_mlp_cli_trains_with_momentum(tmp_path):
    import json

    from click.testing import CliRunner

    from sharpdyn.cli import main

    res = CliRunner().invoke(main, ["mlp", "--out", str(tmp_path), "--examples", "64", "--steps", "30",
                                    "--sweep-steps", "5", "--threads", "1", "--momentum", "0.5"])
    assert res.exit_code == 0, res.output
    with np.load(tmp_path / "mlp_digits_training.npz") as data:
        assert float(data["momentum"]) == 0.5 and not bool(data["nesterov"])
        np.testing.assert_allclose(data["threshold"], 3.0 / data["lr"], rtol=1e-14)
    summary = json.loads((tmp_path / "mlp_summary.json").read_text())
    assert summary["training"]["momentum"] == 0.5
    np.testing.assert_allclose(summary["training"]["threshold"], 3.0 / np.array(summary["training"]["lr"]), rtol=1e-14)
    bad = CliRunner().invoke(main, ["mlp", "--out", str(tmp_path), "--momentum", "1.0"])
    assert bad.exit_code != 0 and "momentum" in bad.output
