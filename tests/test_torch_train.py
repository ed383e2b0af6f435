"""Training loop against a hand-written GD/SGD loop and dense sharpness; divergence,
determinism, warm-up, callback form, saving."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from sharpdyn.torch import SharpnessTracker, models, train
from sharpdyn.torch.train import TrainingRun

from torch_reference import dense_hessian, reference_mse


def _setup(n=24, seed=0):
    torch.manual_seed(seed)
    model = models.fcn(5, 3, depth=3, width=8, activation="tanh").double()
    g = torch.Generator().manual_seed(seed + 1)
    X, Y = torch.randn(n, 5, generator=g, dtype=torch.float64), torch.randn(n, 3, generator=g, dtype=torch.float64)
    return model, X, Y


def test_gd_matches_hand_written_loop_and_dense_sharpness():
    model, X, Y = _setup()
    ref = copy.deepcopy(model)
    lr, steps, every = 0.3, 12, 4
    tr = train(model, (X, Y), lr=lr, steps=steps, sharpness_every=every, tol=1e-10)
    losses, sharp = [], []
    for t in range(steps + 1):
        out = ref(X)
        loss = 0.5 * ((out - Y) ** 2).sum() / X.shape[0]
        losses.append(float(loss.detach()))
        if t % every == 0 or t == steps:
            sharp.append(float(torch.linalg.eigvalsh(dense_hessian(ref, reference_mse, X, Y))[-1]))
        if t == steps:
            break
        grads = torch.autograd.grad(loss, list(ref.parameters()))
        with torch.no_grad():
            for p, g in zip(ref.parameters(), grads):
                p -= lr * g
    assert np.allclose(tr.loss, losses, rtol=1e-12, atol=0)
    assert np.array_equal(tr.sharpness_steps, [0, 4, 8, 12])
    assert np.allclose(tr.sharpness, sharp, rtol=1e-8)
    assert np.allclose(tr.eta_lambda, lr * np.array(sharp), rtol=1e-8)
    assert np.allclose(tr.edge_ratio, lr * np.array(sharp) / 2, rtol=1e-8)
    # c is normalised by the sharpness at initialisation (the dense top eigenvalue at step 0)
    assert tr.sharpness0 == pytest.approx(sharp[0], rel=1e-8)
    assert tr.c == pytest.approx(lr * sharp[0], rel=1e-8)
    for p, q in zip(model.parameters(), ref.parameters()):
        assert torch.allclose(p, q, rtol=0, atol=1e-12)
    assert not tr.diverged and tr.diverged_at == -1 and tr.converged.all()


def test_eig_tol_stops_earlier_at_the_requested_accuracy():
    # the a-posteriori stop: each measurement within eig_tol of the dense top eigenvalue, with
    # no more products than the residual rule alone
    runs = {}
    for eig_tol in (None, 1e-6):
        model, X, Y = _setup(n=40)
        runs[eig_tol] = train(model, (X, Y), lr=0.3, steps=12, sharpness_every=3, tol=1e-10, eig_tol=eig_tol)
    model, X, Y = _setup(n=40)
    dense = []
    for t in range(13):
        if t % 3 == 0:
            dense.append(float(torch.linalg.eigvalsh(dense_hessian(model, reference_mse, X, Y))[-1]))
        grads = torch.autograd.grad(reference_mse(model(X), Y), list(model.parameters()))
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p -= 0.3 * g
    assert np.allclose(runs[1e-6].sharpness, dense, rtol=1e-6, atol=0)
    assert runs[1e-6].n_hvp < runs[None].n_hvp
    assert runs[1e-6].config.eig_tol == 1e-6


def test_sgd_batch_order_seeded_and_matches_manual_sgd():
    model, X, Y = _setup(n=10)
    ref = copy.deepcopy(model)
    a = train(copy.deepcopy(model), (X, Y), lr=0.1, steps=7, batch_size=4, seed=3, sharpness_every=7)
    b = train(copy.deepcopy(model), (X, Y), lr=0.1, steps=7, batch_size=4, seed=3, sharpness_every=7)
    c = train(copy.deepcopy(model), (X, Y), lr=0.1, steps=7, batch_size=4, seed=4, sharpness_every=7)
    assert np.array_equal(a.loss, b.loss) and np.array_equal(a.sharpness, b.sharpness)
    assert not np.array_equal(a.loss, c.loss)
    gen = torch.Generator().manual_seed(3)
    perms = [torch.randperm(10, generator=gen) for _ in range(3)]
    losses = []
    for t in range(8):
        epoch, i = divmod(t, 3)
        idx = perms[epoch][4 * i:4 * i + 4]
        loss = 0.5 * ((ref(X[idx]) - Y[idx]) ** 2).sum() / len(idx)
        losses.append(float(loss.detach()))
        if t == 7:
            break
        grads = torch.autograd.grad(loss, list(ref.parameters()))
        with torch.no_grad():
            for p, g in zip(ref.parameters(), grads):
                p -= 0.1 * g
    assert np.allclose(a.loss, losses, rtol=1e-12)


def test_chunked_training_equals_unchunked():
    model, X, Y = _setup()
    a = train(copy.deepcopy(model), (X, Y), lr=0.2, steps=5, sharpness_every=5)
    b = train(copy.deepcopy(model), (X, Y), lr=0.2, steps=5, sharpness_every=5, chunk_size=7)
    assert np.allclose(a.loss, b.loss, rtol=1e-13)
    assert np.allclose(a.sharpness, b.sharpness, rtol=1e-9)


def test_divergence_is_reported_not_raised():
    model, X, Y = _setup()
    tr = train(model, (X, Y), lr=50.0, steps=40, sharpness_every=5)
    assert tr.diverged and 0 < tr.diverged_at <= 40
    assert np.all(np.isnan(tr.loss[tr.diverged_at + 1:]))
    assert tr.regime() == "divergence"


def test_warmup_schedule_and_accuracy():
    model, X, _ = _setup()
    labels = torch.arange(24) % 3
    tr = train(model, (X, labels), lr=0.4, steps=6, loss="cross_entropy", warmup_steps=4, sharpness_every=3)
    assert np.allclose(tr.lr, [0.1, 0.2, 0.3, 0.4, 0.4, 0.4, 0.4])
    with torch.no_grad():
        acc = float((model(X).argmax(1) == labels).double().mean())
    assert 0.0 <= tr.accuracy[-1] <= 1.0 and tr.accuracy[-1] == pytest.approx(acc)


def test_tracker_in_user_loop_equals_train():
    model, X, Y = _setup()
    ref = train(copy.deepcopy(model), (X, Y), lr=0.2, steps=6, sharpness_every=2, tol=1e-10)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    tracker = SharpnessTracker(model, "mse", (X, Y), every=2, tol=1e-10)
    for step in range(7):
        tracker(step)
        if step == 6:
            break
        opt.zero_grad()
        (0.5 * ((model(X) - Y) ** 2).sum() / 24).backward()
        opt.step()
    assert tracker.steps == [0, 2, 4, 6]
    assert np.allclose(tracker.sharpness, ref.sharpness, rtol=1e-9)


def test_save_and_xarray(tmp_path):
    model, X, Y = _setup()
    tr = train(model, (X, Y), lr=0.2, steps=4, sharpness_every=2)
    path = tr.save(tmp_path / "run.npz")
    with np.load(path) as z:
        assert np.array_equal(z["loss"], tr.loss) and np.array_equal(z["sharpness"], tr.sharpness)
    ds = tr.to_xarray()
    assert ds.sizes == {"step": 5, "sharpness_step": 3}
    assert isinstance(tr, TrainingRun) and tr.steps == 4


@pytest.mark.parametrize("kwargs, match", [({"lr": -1.0}, "lr"), ({"lr": float("nan")}, "lr"),
                                           ({"steps": -1}, "steps"), ({"sharpness_every": 0}, "sharpness_every"),
                                           ({"batch_size": 0}, "batch_size"), ({"loss": "l1"}, "loss"),
                                           ({"eig_tol": 0.0}, "eig_tol"), ({"eig_tol": float("nan")}, "eig_tol")])
def test_bad_arguments(kwargs, match):
    model, X, Y = _setup()
    args = {"lr": 0.1, "steps": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        train(model, (X, Y), **args)


def test_train_needs_one_pair():
    model, X, Y = _setup()
    with pytest.raises(ValueError, match="one pair"):
        train(model, [(X[:5], Y[:5]), (X[5:], Y[5:])], lr=0.1, steps=2)


def test_interrupted_run_keeps_every_finished_step():
    model, X, Y = _setup()
    full = train(copy.deepcopy(model), (X, Y), lr=0.3, steps=12, sharpness_every=2, tol=1e-10)

    def stop_at_six(t):  # called with t + 1 at the end of step t: interrupts step 5
        if t == 6:
            raise KeyboardInterrupt

    part = train(copy.deepcopy(model), (X, Y), lr=0.3, steps=12, sharpness_every=2, tol=1e-10, progress=stop_at_six)
    assert full.interrupted_at == -1 and part.interrupted_at == 5
    np.testing.assert_array_equal(part.loss[:5], full.loss[:5])
    assert np.isnan(part.loss[5:]).all()
    np.testing.assert_array_equal(part.sharpness_steps, [0, 2, 4])
    np.testing.assert_array_equal(part.sharpness, full.sharpness[:3])
