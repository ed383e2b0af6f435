"""Heavy-ball momentum in the minimal models (issue #14): the compiled UV runs against an
independent NumPy loop and, at b = 0, bit for bit against uv.train; the quadratic and cubic
maps against torch's SGD(momentum) on the actual losses; closed-form thresholds and cycles."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import cubic, uv
from sharpdyn import momentum as M


def _numpy_heavy_ball(u0, v0, x, lr, b, y, gamma, steps):
    """Plain NumPy loop in position form theta' = theta - lr grad + b (theta - theta_prev):
    loss, f, ntk and the top eigenvalue of the dense Hessian (all from the weights)."""
    u, v = u0.copy(), v0.copy()
    u_prev, v_prev = u.copy(), v.copy()
    rec = {"loss": [], "f": [], "ntk": [], "sharp": []}
    n, d = u.shape
    for t in range(steps + 1):
        h = u @ x
        f = gamma * v @ h
        df = f - y
        rec["loss"].append(0.5 * df * df)
        rec["f"].append(f)
        rec["ntk"].append(gamma ** 2 * (h @ h + (v @ v) * (x @ x)))
        if t % 25 == 0:  # dense Hessian of L = (f - y)^2/2 in (u, v): J J^T + df * d2f
            J = np.concatenate([gamma * np.outer(v, x).ravel(), gamma * h])
            d2f = np.zeros((n * d + n, n * d + n))
            for i in range(n):
                d2f[i * d:(i + 1) * d, n * d + i] = gamma * x
                d2f[n * d + i, i * d:(i + 1) * d] = gamma * x
            rec["sharp"].append(np.linalg.eigvalsh(np.outer(J, J) + df * d2f)[-1])
        if t == steps:
            break
        gu, gv = gamma * df * np.outer(v, x), gamma * df * h
        u_new = u - lr * gu + b * (u - u_prev)
        v_new = v - lr * gv + b * (v - v_prev)
        u_prev, v_prev, u, v = u, v, u_new, v_new
    return {k: np.array(a) for k, a in rec.items()}


@pytest.mark.parametrize("b", [0.3, 0.9])
@pytest.mark.parametrize("width,d,s", [(8, 1, 0.0), (16, 3, 1.0), (64, 2, 0.5)])
def test_uv_heavy_ball_matches_numpy_loop_and_dense_hessian(b, width, d, s):
    rng = np.random.default_rng(width + d)
    x = rng.standard_normal(d)
    u0, v0 = uv.init(width, d=d, batch=3, param=s, seed=width)
    gamma = float(width ** (-(1 - s) / 2))
    ntk0 = gamma ** 2 * (np.sum((u0 @ x) ** 2, axis=1) + np.sum(v0 ** 2, axis=1) * (x @ x))
    lr = np.array([0.2, 0.6, 1.5]) / ntk0
    tr = M.train_uv(u0, v0, x=x, lr=lr, momentum=b, steps=200, y=0.7, param=s)
    assert tr.loss.shape == (3, 201) and tr.momentum.shape == (3,)
    assert (~tr.diverged).sum() >= 2
    for i in np.nonzero(~tr.diverged)[0]:
        ref = _numpy_heavy_ball(u0[i], v0[i], x, lr[i], b, 0.7, gamma, 200)
        np.testing.assert_allclose(tr.loss[i], ref["loss"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(tr.f[i], ref["f"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(tr.ntk[i], ref["ntk"], rtol=1e-9)
        np.testing.assert_allclose(tr.sharpness[i, ::25], ref["sharp"], rtol=1e-9)
    np.testing.assert_allclose(tr.threshold, (2 + 2 * b) / lr, rtol=1e-15)
    # c is normalised by the NTK at initialisation (here from the weights directly)
    np.testing.assert_allclose(tr.ntk0, ntk0, rtol=1e-12)
    np.testing.assert_allclose(tr.c, lr * ntk0, rtol=1e-12)


@pytest.mark.parametrize("d", [None, 4])
def test_b_zero_is_plain_gd_bit_for_bit_and_thread_independent(d):
    u0, v0 = uv.init(256, d=d, batch=6, seed=3)
    x = 1.0 if d is None else np.linspace(0.2, 1.0, d)
    ntk0 = uv.train(u0, v0, x=x, lr=1.0, steps=1).ntk[:, 0]
    lr = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 6.0]) / ntk0
    gd = uv.train(u0, v0, x=x, lr=lr, steps=300)
    hb = M.train_uv(u0, v0, x=x, lr=lr, momentum=0.0, steps=300)
    for name in ("loss", "f", "ntk", "sharpness", "diverged", "diverged_at"):
        np.testing.assert_array_equal(getattr(hb, name), getattr(gd, name))
    ok = ~gd.diverged
    np.testing.assert_array_equal(hb.u[ok], gd.u[ok])
    np.testing.assert_array_equal(hb.v[ok], gd.v[ok])
    np.testing.assert_array_equal(hb.regime(), gd.regime())
    a = M.train_uv(u0, v0, x=x, lr=lr, momentum=0.7, steps=300, threads=1)
    c = M.train_uv(u0, v0, x=x, lr=lr, momentum=0.7, steps=300, threads=2)
    np.testing.assert_array_equal(a.loss, c.loss)
    np.testing.assert_array_equal(a.sharpness, c.sharpness)


def test_uv_momentum_linear_edge_and_divergence():
    """Wide SP network (n = 4096): below the momentum edge the run converges with the sharpness
    where it started (lazy); far above it diverges, reported with its step and NaNs after."""
    u0, v0 = uv.init(4096, seed=0)
    ntk0 = uv.train(u0, v0, lr=1.0, steps=1).ntk[0]
    for b in (0.3, 0.6):
        lazy = M.train_uv(u0, v0, lr=1.5 / ntk0, momentum=b, steps=400)
        assert lazy.regime() == "lazy" and lazy.loss[-1] < 1e-12 * lazy.loss[0]
        div = M.train_uv(u0, v0, lr=8.0 / ntk0, momentum=b, steps=400)
        assert div.diverged and div.diverged_at > 0 and np.isnan(div.loss[div.diverged_at:]).all()
        assert div.regime() == "divergence"


def test_phase_scan_and_boundaries():
    sc = M.phase_scan(np.linspace(0.5, 6.0, 56), [0.0, 0.5], width=1024, steps=600)
    assert sc.regime.shape == (2, 56)
    # at b = 0 each label is that of a plain uv.train run from the same weights
    u0, v0 = uv.init(1024, seed=0)
    for j in (5, 20, 30, 50):
        run = uv.train(u0, v0, lr=sc.c[j] / sc.ntk0, steps=600)
        assert sc.regime[0, j] == run.regime()
    bd = M.uv_boundaries(sc)
    assert bd.divergence[0] == pytest.approx(4.0, abs=0.15)       # c = 4 at b = 0 (large width)
    assert bd.spike[0] == pytest.approx(2.0, abs=0.15)            # loss spike from c = 2
    assert bd.spike[1] == pytest.approx(2.0, abs=0.15)            # zero initial velocity: x_1 = (1 - c) x_0
    assert bd.divergence[1] >= bd.divergence[0]
    np.testing.assert_allclose(bd.linear_edge, (2 + 2 * sc.momentum) * sc.ntk0 / sc.sharpness0)


def _torch_sgd(loss_fn, theta0, lr, b, steps, nesterov=False):
    import torch

    th = torch.nn.Parameter(torch.tensor([theta0], dtype=torch.float64))
    opt = torch.optim.SGD([th], lr=lr, momentum=b, nesterov=nesterov)
    out = [theta0]
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(th).sum().backward()
        opt.step()
        out.append(float(th.detach()[0]))
    return np.array(out)


@pytest.mark.parametrize("nesterov", [False, True])
def test_quadratic_map_equals_torch_sgd_and_its_boundary(nesterov):
    pytest.importorskip("torch")
    lam, x0 = 3.0, 0.7
    for c, b in ((0.5, 0.5), (2.5, 0.4), (3.5, 0.9)):
        ref = _torch_sgd(lambda th: 0.5 * lam * th ** 2, x0, c / lam, b, 60, nesterov)
        x_prev = x0 / (1 - c) if nesterov else None  # torch's Nesterov takes a first step of (1 + b) lr
        np.testing.assert_allclose(M.quadratic_map(c, b, steps=60, x0=x0, x_prev=x_prev, nesterov=nesterov), ref,
                                   rtol=1e-10, atol=1e-14)
    b = np.array([0.0, 0.3, 0.6, 0.9])
    edge = M.heavy_ball_threshold(1.0, b, nesterov=nesterov)
    np.testing.assert_allclose(edge, 2 * (1 + b) / (1 + 2 * b) if nesterov else 2 + 2 * b, rtol=1e-15)
    below = M.quadratic_map(0.99 * edge, b, steps=3000, nesterov=nesterov)
    above = M.quadratic_map(1.01 * edge, b, steps=3000, nesterov=nesterov)
    assert np.all(np.abs(below[:, -1]) < 1e-3) and np.all(np.abs(above[:, -1]) > 1e3)


def test_cubic_map_equals_torch_momentum_on_the_subquadratic_loss():
    """x = theta sqrt(2 lr a^2 / r), r = 1 + 2 lr a q (sharpdyn.cubic's variables)."""
    pytest.importorskip("torch")
    a, q = 1.3, 0.8
    for lr, b in ((0.4, 0.3), (0.5, 0.5), (0.6, 0.2)):
        r = 1 + 2 * lr * a * q
        scale = np.sqrt(2 * lr * a * a / r)
        ref = _torch_sgd(lambda th: 0.5 * (a * th ** 2 - q) ** 2, 0.2 / scale, lr, b, 80)
        np.testing.assert_allclose(M.cubic_map(r, b, steps=80, x0=0.2), ref * scale, rtol=1e-9, atol=1e-12)
    # b = 0 is the plain cubic map
    r = np.array([1.5, 2.1, 2.5, 2.9])
    np.testing.assert_allclose(M.cubic_map(r, 0.0, steps=200, x0=0.3), cubic.iterate(0.3, r, 200).T,
                               rtol=0, atol=0)


def test_cubic_cycle_and_doubling_points():
    b = np.array([0.0, 0.2, 0.5, 0.8])
    bd = M.cubic_boundaries(b)
    np.testing.assert_array_equal(bd.first_doubling, 2 + b)
    np.testing.assert_allclose(bd.first_doubling_c, 2 + 2 * b)
    assert bd.second_doubling[0] == pytest.approx(np.sqrt(5), rel=1e-14)
    assert bd.escape[0] == pytest.approx(3.0, abs=0.02)
    assert np.all(np.diff(bd.second_doubling) > 0) and np.all(bd.second_doubling > bd.first_doubling)
    def near_min(r):  # start just off the minimum x*^2 = 1 - 1/r (a far start can leave the basin)
        return np.sqrt(1 - 1 / r) + 0.01

    for bb, r2 in zip(b, bd.second_doubling):
        r1 = 2 + bb
        assert M.cubic_period(r1 - 0.02, bb, x0=near_min(r1 - 0.02)) == 1
        assert M.cubic_period(r1 + 0.02, bb, x0=near_min(r1 + 0.02)) == 2
        # the closed-form cycle is the attractor just past the flip
        p, q = M.cubic_two_cycle(r1 + 0.05, bb)
        late = M.cubic_map(r1 + 0.05, bb, steps=20000, x0=near_min(r1 + 0.05), n_keep=2)
        np.testing.assert_allclose(np.sort(late), np.sort([p, q]), rtol=1e-9)
        # the second doubling: from next to the cycle (x0, x_prev) = (p, q), period 2 just
        # below it and 4 just above
        p, q = M.cubic_two_cycle(r2 - 0.01, bb)
        for dr, period in ((-0.01, 2), (0.01, 4)):
            assert M.cubic_period(r2 + dr, bb, x0=p + 1e-4, x_prev=q, n_transient=100_000) == period


@pytest.mark.parametrize("kwargs,match", [
    ({"momentum": 1.0}, "momentum"), ({"momentum": -0.1}, "momentum"), ({"momentum": np.nan}, "momentum"),
    ({"lr": -1.0}, "lr"), ({"lr": [0.1, 0.2]}, "lr"), ({"steps": 0}, "steps"),
])
def test_train_uv_bad_input(kwargs, match):
    u0, v0 = uv.init(8, batch=3, seed=0)
    args = {"lr": 0.1, "momentum": 0.5, "steps": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        M.train_uv(u0, v0, **args)


def test_bad_input_of_maps_and_scan():
    with pytest.raises(ValueError, match="momentum"):
        M.quadratic_map(1.0, 1.5, steps=3)
    with pytest.raises(ValueError, match="r"):
        M.cubic_map(-1.0, 0.1, steps=3)
    with pytest.raises(ValueError, match="c"):
        M.phase_scan([0.0, 1.0], [0.1], width=8, steps=3)
    with pytest.raises(ValueError, match="momentum"):
        M.cubic_boundaries([0.2, 1.0])


def test_momentum_phase_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from sharpdyn.figures.momentum import plot_momentum_phase

    sc = M.phase_scan(np.linspace(0.5, 5.0, 10), [0.0, 0.5], width=64, steps=200)
    fig = plot_momentum_phase(sc, M.cubic_boundaries([0.0, 0.5], n_r=50, n_transient=500))
    assert len(fig.axes) == 2
    # the dashed line is the linear edge (2 + 2b) lambda_0 / lambda_H at each b
    dashed = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"][0]
    np.testing.assert_allclose(dashed.get_xdata(), (2 + 2 * sc.momentum) * sc.ntk0 / sc.sharpness0)
    fig.savefig(tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 10_000
