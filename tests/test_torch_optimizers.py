"""Optimizer-aware stability thresholds and sharpness (issue #14): closed-form thresholds
against the measured stable/unstable boundary on quadratics, preconditioned sharpness against
dense ``P^-1/2 H P^-1/2``, mini-batch statistics against dense Hessians."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from sharpdyn.torch import models
from sharpdyn.torch.optimizers import (
    PreconditionedHessianOperator,
    make_optimizer,
    minibatch_sharpness,
    model_preconditioner,
    preconditioned_sharpness,
    preconditioner_diagonal,
    stability_threshold,
)

from torch_reference import dense_hessian, reference_mse

SPECTRUM = torch.tensor([10.0, 6.0, 1.0], dtype=torch.float64)  # quadratic L = 1/2 sum lam_i theta_i^2

# (name, hyper-parameters, threshold * lr written out independently)
CASES = [
    ("gd", {}, 2.0),
    ("momentum", {"momentum": 0.9}, 3.8),
    ("momentum", {"momentum": 0.5}, 3.0),
    ("nesterov", {"momentum": 0.9}, 2 * 1.9 / 2.8),
    ("nesterov", {"momentum": 0.3}, 2 * 1.3 / 1.6),
    ("adam", {"beta1": 0.9, "eps": 1.0}, 38.0),
    ("adamw", {"beta1": 0.5, "eps": 1.0}, 6.0),
    ("rmsprop", {"momentum": 0.0, "eps": 1.0}, 2.0),
    ("rmsprop", {"momentum": 0.6, "eps": 1.0}, 3.2),
]


def _unstable(name, lr, steps=1500, **kw):
    """Whether the optimizer blows up on the quadratic from theta_0 = 1e-100 along every axis:
    ``|theta|`` passes 1e-50 or still grows over the last 200 steps. The start is tiny so that
    the adaptive optimizers' ``sqrt(v)`` stays below 1e-49 against ``eps = 1``: their
    preconditioner is ``P = 1`` to that accuracy, the frozen-preconditioner case the threshold
    describes. (Adam's bias-corrected first moment makes its first few dozen steps larger, a
    transient growth that a stable run forgets; hence the late-window test.)"""
    theta = torch.nn.Parameter(torch.full((3,), 1e-100, dtype=torch.float64))
    opt = make_optimizer(name, [theta], lr=lr, **kw)
    size = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (SPECTRUM * theta * theta).sum()).backward()
        opt.step()
        size.append(float(theta.detach().abs().max()))
        if size[-1] > 1e-50:
            return True
    return size[-1] > size[-201]


@pytest.mark.parametrize("name,kw,edge", CASES)
def test_threshold_formula_and_measured_boundary_on_a_quadratic(name, kw, edge):
    lam = float(SPECTRUM.max())
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    assert stability_threshold(make_optimizer(name, [p], lr=0.01, **kw)) == pytest.approx(edge / 0.01, rel=1e-14)
    lr_edge = edge / lam  # the learning rate at which the threshold equals lambda_max
    assert not _unstable(name, 0.97 * lr_edge, **kw)   # stable just below
    assert _unstable(name, 1.03 * lr_edge, **kw)       # unstable just above


def test_threshold_reads_torch_instances_directly():
    p = [torch.nn.Parameter(torch.zeros(2))]
    assert stability_threshold(torch.optim.SGD(p, lr=0.1)) == pytest.approx(20.0)
    assert stability_threshold(torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.5)) == pytest.approx(76.0)
    assert stability_threshold(torch.optim.Adam(p, lr=1e-3)) == pytest.approx(38_000.0)
    assert stability_threshold(torch.optim.AdamW(p, lr=1e-3, betas=(0.8, 0.99))) == pytest.approx(3.6 / 0.2 / 1e-3)
    assert stability_threshold(torch.optim.RMSprop(p, lr=0.5, momentum=0.25)) == pytest.approx(5.0)
    with pytest.raises(TypeError, match="optimizer"):
        stability_threshold(torch.optim.Adagrad(p, lr=0.1))
    with pytest.raises(TypeError, match="optimizer"):
        stability_threshold("adam")
    two = torch.optim.SGD([{"params": p, "lr": 0.1}, {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.2}])
    with pytest.raises(ValueError, match="lr"):
        stability_threshold(two)


@pytest.mark.parametrize("bad", [dict(name="lion"), dict(lr=-1.0), dict(lr=float("nan")), dict(beta1=1.0),
                                 dict(momentum=-0.1), dict(eps=0.0), dict(weight_decay=float("inf"))])
def test_make_optimizer_rejects_bad_input(bad):
    args = {"name": "adam", "lr": 0.1, **bad}
    name = args.pop("name")
    with pytest.raises(ValueError):
        make_optimizer(name, [torch.nn.Parameter(torch.zeros(1))], **args)


def _small_problem(seed=0, n=20):
    torch.manual_seed(seed)
    model = models.fcn(4, 2, depth=2, width=6, activation="tanh").double()
    g = torch.Generator().manual_seed(seed + 7)
    X = torch.randn(n, 4, generator=g, dtype=torch.float64)
    Y = torch.randn(n, 2, generator=g, dtype=torch.float64)
    return model, X, Y


def _take_steps(model, opt, X, Y, steps):
    for _ in range(steps):
        opt.zero_grad()
        reference_mse(model(X), Y).backward()
        opt.step()


def _reference_P(opt, model):
    """``P`` from the optimizer's raw state, written out independently of sharpdyn."""
    parts = []
    for p in model.parameters():
        st, group = opt.state[p], opt.param_groups[0]
        t = float(st["step"])
        if isinstance(opt, torch.optim.RMSprop):
            v = st["square_avg"]
            if group["centered"]:
                v = v - st["grad_avg"] ** 2
            parts.append(torch.sqrt(v) + group["eps"])
        else:
            v = st["max_exp_avg_sq"] if group["amsgrad"] else st["exp_avg_sq"]
            parts.append(torch.sqrt(v / (1 - group["betas"][1] ** t)) + group["eps"])
    return torch.cat([q.reshape(-1) for q in parts]).to(torch.float64)


OPTIMIZERS = {
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-3),
    "adam_amsgrad": lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.9), eps=1e-4, amsgrad=True),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, eps=1e-3, weight_decay=0.1),
    "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=0.005, eps=1e-3),
    "rmsprop_centered": lambda ps: torch.optim.RMSprop(ps, lr=0.005, eps=1e-3, centered=True, momentum=0.5),
}


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_preconditioned_sharpness_matches_dense(kind):
    model, X, Y = _small_problem()
    opt = OPTIMIZERS[kind](model.parameters())
    _take_steps(model, opt, X, Y, 7)
    H = dense_hessian(model, reference_mse, X, Y)
    s = 1.0 / torch.sqrt(_reference_P(opt, model))
    dense = torch.linalg.eigvalsh(s[:, None] * H * s[None, :])
    res = preconditioned_sharpness(model, "mse", (X, Y), opt, k=2, tol=1e-10)
    assert res.converged.all()
    np.testing.assert_allclose(res.eigenvalues, dense.flip(0)[:2].numpy(), rtol=1e-8, atol=0)
    # the same spectrum as the unsymmetrised P^-1 H
    ev = np.sort(np.linalg.eigvals((H / _reference_P(opt, model)[:, None]).numpy()).real)
    assert res.eigenvalues[0] == pytest.approx(ev[-1], rel=1e-8)


def test_sgd_preconditioned_sharpness_is_the_plain_sharpness():
    model, X, Y = _small_problem(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)  # no state needed: P = I
    H = dense_hessian(model, reference_mse, X, Y)
    res = preconditioned_sharpness(model, "mse", (X, Y), opt, tol=1e-10)
    assert res.eigenvalues[0] == pytest.approx(float(torch.linalg.eigvalsh(H)[-1]), rel=1e-8)


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_preconditioner_of_the_coming_step_equals_the_state_after_it(kind):
    model, X, Y = _small_problem(2)
    opt = OPTIMIZERS[kind](model.parameters())
    _take_steps(model, opt, X, Y, 3)
    opt.zero_grad()
    reference_mse(model(X), Y).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    ahead = model_preconditioner(opt, model, grads=grads)
    opt.step()
    np.testing.assert_allclose(ahead.numpy(), _reference_P(opt, model).numpy(), rtol=1e-13)
    # and from an empty state (the first step)
    model, X, Y = _small_problem(3)
    opt = OPTIMIZERS[kind](model.parameters())
    opt.zero_grad()
    reference_mse(model(X), Y).backward()
    ahead = model_preconditioner(opt, model, grads=[p.grad.clone() for p in model.parameters()])
    with pytest.raises(ValueError, match="no state"):
        model_preconditioner(opt, model)
    opt.step()
    np.testing.assert_allclose(ahead.numpy(), _reference_P(opt, model).numpy(), rtol=1e-13)


def test_preconditioned_operator_scipy_interop_and_bad_input():
    from scipy.sparse.linalg import eigsh

    model, X, Y = _small_problem(4)
    n = sum(p.numel() for p in model.parameters())
    P = np.linspace(0.5, 3.0, n)
    op = PreconditionedHessianOperator(model, "mse", (X, Y), P)
    H = dense_hessian(model, reference_mse, X, Y).numpy()
    A = H / np.sqrt(P)[:, None] / np.sqrt(P)[None, :]
    v = np.random.default_rng(0).standard_normal(n)
    np.testing.assert_allclose(op.matvec(v), A @ v, rtol=1e-10, atol=1e-12)
    top = eigsh(op.to_scipy(), k=1, which="LA", tol=1e-12)[0][0]
    assert top == pytest.approx(np.linalg.eigvalsh(A)[-1], rel=1e-9)
    for bad, err in ((P[:-1], ValueError), (-P, ValueError), (np.where(P > 1, np.nan, P), ValueError),
                     (P.astype(complex), TypeError)):
        with pytest.raises(err, match="preconditioner"):
            PreconditionedHessianOperator(model, "mse", (X, Y), bad)
    # a parameter the optimizer does not hold
    opt = torch.optim.Adam(list(model.parameters())[:1], lr=0.1)
    with pytest.raises(ValueError, match="not among"):
        model_preconditioner(opt, model, grads=[torch.zeros_like(p) for p in model.parameters()])


def test_preconditioner_diagonal_rejects_mismatched_grads():
    model, X, Y = _small_problem()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="grads"):
        preconditioner_diagonal(opt, list(model.parameters()), grads=[])


def test_minibatch_sharpness_against_dense_hessians():
    model, X, Y = _small_problem(5, n=24)
    res = minibatch_sharpness(model, "mse", (X, Y), batch_size=8, n_batches=4, seed=3, tol=1e-10)
    H = dense_hessian(model, reference_mse, X, Y)
    assert res.full_batch == pytest.approx(float(torch.linalg.eigvalsh(H)[-1]), rel=1e-8)
    gen = torch.Generator().manual_seed(3)
    perm = torch.randperm(24, generator=gen)
    batches = [perm[i * 8:(i + 1) * 8] for i in range(3)] + [torch.randperm(24, generator=gen)[:8]]
    ref_sharp, ref_curv, ref_full = [], [], []
    for idx in batches:
        Hb = dense_hessian(model, reference_mse, X[idx], Y[idx])
        ref_sharp.append(float(torch.linalg.eigvalsh(Hb)[-1]))
        g = torch.cat([q.reshape(-1) for q in torch.autograd.grad(reference_mse(model(X[idx]), Y[idx]),
                                                                 list(model.parameters()))])
        ref_curv.append(float(g @ Hb @ g / (g @ g)))
        ref_full.append(float(g @ H @ g / (g @ g)))
    np.testing.assert_allclose(res.batch_sharpness, ref_sharp, rtol=1e-8)
    np.testing.assert_allclose(res.gradient_curvature, ref_curv, rtol=1e-10)
    np.testing.assert_allclose(res.full_gradient_curvature, ref_full, rtol=1e-10)
    assert res.mean == pytest.approx(np.mean(ref_sharp), rel=1e-8)
    assert res.std == pytest.approx(np.std(ref_sharp), rel=1e-6)
    with pytest.raises(ValueError, match="batch_size"):
        minibatch_sharpness(model, "mse", (X, Y), batch_size=25)
    with pytest.raises(ValueError, match="n_batches"):
        minibatch_sharpness(model, "mse", (X, Y), batch_size=4, n_batches=0)


# -- train(optimizer=...) ---------------------------------------------------------------------

def test_train_with_adam_matches_a_hand_written_adam_loop_and_dense_preconditioned_sharpness():
    from sharpdyn.torch import train

    model, X, Y = _small_problem(6)
    ref = copy.deepcopy(model)
    lr, steps, every = 0.02, 9, 3
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99), eps=1e-4)
    tr = train(model, (X, Y), optimizer=opt, steps=steps, sharpness_every=every, tol=1e-10)
    assert tr.config.optimizer == "Adam" and tr.config.lr == lr
    ref_opt = torch.optim.Adam(ref.parameters(), lr=lr, betas=(0.9, 0.99), eps=1e-4)
    losses, sharp = [], []
    for t in range(steps + 1):
        ref_opt.zero_grad()
        loss = reference_mse(ref(X), Y)
        losses.append(float(loss.detach()))
        loss.backward()
        if t % every == 0 or t == steps:
            H = dense_hessian(ref, reference_mse, X, Y)
            final = [q.detach().clone() for q in ref.parameters()]  # train stops before the last update
            ref_opt.step()  # P of the update taken at step t = the state after it
            s = 1.0 / torch.sqrt(_reference_P(ref_opt, ref))
            sharp.append(float(torch.linalg.eigvalsh(s[:, None] * H * s[None, :])[-1]))
            if t == steps:
                break
            continue
        ref_opt.step()
    np.testing.assert_allclose(tr.loss, losses, rtol=1e-12)
    np.testing.assert_allclose(tr.sharpness, sharp, rtol=1e-8)
    np.testing.assert_allclose(tr.threshold, 3.8 / 0.1 / lr, rtol=1e-14)
    np.testing.assert_allclose(tr.edge_ratio, np.array(sharp) * lr / 38.0, rtol=1e-8)
    for a, b in zip(model.parameters(), final):
        torch.testing.assert_close(a.detach(), b, rtol=1e-12, atol=1e-14)


def test_train_by_name_momentum_threshold_warmup_and_plain_equivalence():
    from sharpdyn.torch import train

    model, X, Y = _small_problem(7)
    m2, m3 = copy.deepcopy(model), copy.deepcopy(model)
    tr = train(model, (X, Y), lr=0.1, steps=6, sharpness_every=2, optimizer="nesterov",
               optimizer_options={"momentum": 0.5}, warmup_steps=4)
    lrs = np.array([0.025, 0.075, 0.1, 0.1])  # warm-up lr at steps 0, 2, 4, 6
    np.testing.assert_allclose(tr.threshold, 2 * 1.5 / (2.0 * lrs), rtol=1e-14)
    H = dense_hessian(model, reference_mse, X, Y)  # the model after the run: last measurement
    assert tr.sharpness[-1] == pytest.approx(float(torch.linalg.eigvalsh(H)[-1]), rel=1e-6)
    # "gd" by name is the default path, bit for bit
    a = train(m2, (X, Y), lr=0.2, steps=5, sharpness_every=2)
    b = train(m3, (X, Y), lr=0.2, steps=5, sharpness_every=2, optimizer="gd")
    for k, v in a.arrays().items():
        np.testing.assert_array_equal(v, b.arrays()[k])
    np.testing.assert_array_equal(a.threshold, 2.0 / 0.2)
    assert a.regime() == b.regime()


def test_train_optimizer_bad_input():
    from sharpdyn.torch import train

    model, X, Y = _small_problem(8)
    with pytest.raises(ValueError, match="optimizer"):
        train(model, (X, Y), lr=0.1, steps=1, optimizer="lion")
    with pytest.raises(TypeError, match="optimizer"):
        train(model, (X, Y), lr=0.1, steps=1, optimizer=3)
    with pytest.raises(ValueError, match="every trainable"):
        train(model, (X, Y), steps=1, optimizer=torch.optim.Adam(list(model.parameters())[:1], lr=0.1))
    with pytest.raises(ValueError, match="optimizer_options"):
        train(model, (X, Y), steps=1, optimizer=torch.optim.Adam(model.parameters(), lr=0.1),
              optimizer_options={"eps": 1.0})
    with pytest.raises(ValueError, match="lr"):
        train(model, (X, Y), steps=1, optimizer="adam")
    with pytest.raises(ValueError, match="lyapunov"):
        train(model, (X, Y), lr=0.1, steps=1, optimizer="adam", lyapunov=True)
    with pytest.raises(ValueError, match="lr"):
        train(model, (X, Y), steps=1)
    with pytest.raises(ValueError, match="optimizer_options"):
        train(model, (X, Y), lr=0.1, steps=1, optimizer_options={"eps": 1.0})


def test_regime_threshold_argument():
    from sharpdyn.regimes import classify_series

    rng = np.random.default_rng(0)
    loss = np.abs(rng.standard_normal((6, 40))) + 1.0
    sharp = rng.uniform(5, 25, (6, 10))
    lr = np.array([0.1, 0.2, 0.05, 0.1, 0.09, 0.11])
    np.testing.assert_array_equal(classify_series(loss, sharp, lr=lr),
                                  classify_series(loss, sharp, lr=lr, threshold=2.0 / lr))
    # a run whose sharpness sits at 38/lr is at Adam's edge, far above GD's
    loss = np.tile([1.0, 1.2], 50)[None, :] * np.linspace(1, 0.5, 100)
    sharp = np.full((1, 20), 38.0 / 0.01)
    assert classify_series(loss, sharp, lr=0.01, threshold=38.0 / 0.01) == "edge_of_stability"
    assert classify_series(loss, sharp, lr=0.01) == "edge_of_stability"  # above 2/lr too
    assert classify_series(loss, sharp * 0.1, lr=0.01, threshold=38.0 / 0.01) != "edge_of_stability"
    with pytest.raises(ValueError, match="threshold"):
        classify_series(loss, sharp, lr=0.01, threshold=-1.0)


def test_cli_train_with_adam_and_figure_threshold_line(tmp_path):
    import json

    from click.testing import CliRunner

    from sharpdyn.cli import main
    from sharpdyn.figures.training import plot_training
    from sharpdyn.torch.train import TrainingRun  # noqa: F401

    res = CliRunner().invoke(main, ["train", "--n", "60", "--width", "8", "--steps", "6", "--lr", "0.01",
                                    "--optimizer", "adam", "--beta1", "0.8", "--eps", "1e-6", "--sharpness-every", "3",
                                    "--dtype", "float64", "--device", "cpu", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["optimizer"] == "adam"
    assert summary["runs"][0]["threshold"] == pytest.approx(3.6 / 0.2 / 0.01, rel=1e-12)
    with np.load(tmp_path / "trajectory_lr0.01.npz") as z:
        np.testing.assert_allclose(z["threshold"], 3.6 / 0.2 / 0.01, rtol=1e-12)
        assert json.loads(str(z["config"]))["optimizer"] == "Adam"
    bad = CliRunner().invoke(main, ["train", "--n", "60", "--optimizer", "lion", "--out", str(tmp_path)])
    assert bad.exit_code != 0
    bad = CliRunner().invoke(main, ["train", "--n", "60", "--optimizer", "adam", "--beta1", "1.5",
                                    "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "beta1" in bad.output
    # the figure draws each run's own threshold: 2/lr for GD, 3.6/(0.2 lr) for Adam(b1 = 0.8)
    model, X, Y = _small_problem(9)
    gd = train_small(model, X, Y, None)
    adam = train_small(model, X, Y, "adam")
    fig = plot_training([gd, adam], ["gd", "adam"])
    dashed = sorted(float(ln.get_ydata()[0]) for ln in fig.axes[1].get_lines() if ln.get_linestyle() == "--")
    assert dashed == pytest.approx(sorted([2.0 / 0.05, 3.8 / 0.1 / 0.05]), rel=1e-12)
    assert "threshold" in fig.axes[1].get_title()


def train_small(model, X, Y, optimizer):
    from sharpdyn.torch import train

    return train(copy.deepcopy(model), (X, Y), lr=0.05, steps=4, sharpness_every=2, optimizer=optimizer)


def test_train_records_minibatch_statistics_against_dense_hessians():
    from sharpdyn.torch import train

    model, X, Y = _small_problem(10, n=24)
    ref = copy.deepcopy(model)
    tr = train(model, (X, Y), lr=0.05, steps=3, batch_size=8, sharpness_every=3, minibatch_samples=3, seed=5,
               tol=1e-10)
    assert set(tr.minibatch) == {"batch_sharpness_mean", "batch_sharpness_std", "gradient_curvature",
                                 "full_gradient_curvature"}
    assert all(v.shape == (2,) for v in tr.minibatch.values())
    # step 0: the first three slices of a permutation drawn from seed + 0
    gen = torch.Generator().manual_seed(5)
    perm = torch.randperm(24, generator=gen)
    H = dense_hessian(ref, reference_mse, X, Y)
    sharp, curv, full = [], [], []
    for i in range(3):
        idx = perm[i * 8:(i + 1) * 8]
        Hb = dense_hessian(ref, reference_mse, X[idx], Y[idx])
        g = torch.cat([q.reshape(-1) for q in torch.autograd.grad(reference_mse(ref(X[idx]), Y[idx]),
                                                                 list(ref.parameters()))])
        sharp.append(float(torch.linalg.eigvalsh(Hb)[-1]))
        curv.append(float(g @ Hb @ g / (g @ g)))
        full.append(float(g @ H @ g / (g @ g)))
    assert tr.minibatch["batch_sharpness_mean"][0] == pytest.approx(np.mean(sharp), rel=1e-8)
    assert tr.minibatch["batch_sharpness_std"][0] == pytest.approx(np.std(sharp), rel=1e-6)
    assert tr.minibatch["gradient_curvature"][0] == pytest.approx(np.mean(curv), rel=1e-10)
    assert tr.minibatch["full_gradient_curvature"][0] == pytest.approx(np.mean(full), rel=1e-10)
    np.testing.assert_allclose(tr.threshold, 2.0 / 0.05)
    assert "minibatch_gradient_curvature" in tr.arrays()
    with pytest.raises(ValueError, match="batch_size"):
        train(model, (X, Y), lr=0.05, steps=1, minibatch_samples=2)


def test_preconditioner_follows_parameter_identity_not_group_order():
    model, X, Y = _small_problem(11)
    ps = list(model.parameters())
    opt = torch.optim.RMSprop([{"params": ps[::-1][:2]}, {"params": ps[::-1][2:]}], lr=0.003, eps=1e-3)
    _take_steps(model, opt, X, Y, 4)
    P = _reference_P(opt, model)  # walks model.parameters(), reading each one's own state
    np.testing.assert_allclose(model_preconditioner(opt, model).numpy(), P.numpy(), rtol=1e-15)
    H = dense_hessian(model, reference_mse, X, Y)
    s = 1.0 / torch.sqrt(P)
    res = preconditioned_sharpness(model, "mse", (X, Y), opt, tol=1e-10)
    assert res.eigenvalues[0] == pytest.approx(float(torch.linalg.eigvalsh(s[:, None] * H * s[None, :])[-1]),
                                               rel=1e-8)


def test_sharpness_tracker_preconditioned_mode():
    from sharpdyn.torch import SharpnessTracker

    model, X, Y = _small_problem(12)
    H = dense_hessian(model, reference_mse, X, Y)
    tracker = SharpnessTracker(model, "mse", (X, Y), preconditioned=True, tol=1e-10)
    assert tracker.measure(0) == pytest.approx(float(torch.linalg.eigvalsh(H)[-1]), rel=1e-8)  # P = 1 until set
    P = torch.linspace(0.5, 2.0, H.shape[0], dtype=torch.float64)
    s = 1.0 / torch.sqrt(P)
    top = float(torch.linalg.eigvalsh(s[:, None] * H * s[None, :])[-1])
    assert tracker.measure(1, preconditioner=P) == pytest.approx(top, rel=1e-8)
    plain = SharpnessTracker(model, "mse", (X, Y))
    with pytest.raises(ValueError, match="preconditioned=True"):
        plain.measure(0, preconditioner=P)
