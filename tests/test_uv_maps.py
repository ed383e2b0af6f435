"""The UV model: function-space map == parameter-space GD, exact sharpness, normalised form."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import uv

from uv_reference import dense_hessian, gamma, gd_numpy

WIDTHS = [4, 16, 64, 256, 1024, 4096]
PARAMS = [("sp", 0.0), ("mup", 1.0), (0.5, 0.5)]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("param,s", PARAMS, ids=["sp", "mup", "s0.5"])
@pytest.mark.parametrize("c", [0.5, 1.5, 2.5])
def test_function_map_equals_parameter_gd(width, param, s, c):
    rng = np.random.default_rng(width)
    x = rng.standard_normal(3)
    u0, v0 = uv.init(width, d=3, param=param, seed=width + 7)
    y = 0.7
    first = uv.train(u0, v0, lr=1.0, steps=1, x=x, y=y, param=param)
    lr = c / first.ntk[0]
    ps = uv.train(u0, v0, lr=lr, steps=200, x=x, y=y, param=param)
    fs = uv.iterate(ps.f[0], ps.ntk[0], lr=lr, width=width, steps=200, x=x, y=y, param=param)
    # small widths can diverge (mup, c = 2.5): then both must diverge at the same step
    assert ps.diverged_at == fs.diverged_at
    ok = np.isfinite(ps.f)
    assert np.array_equal(ok, np.isfinite(fs.f)) and ok.sum() > 3
    f_scale = np.max(np.abs(ps.f[ok])) + abs(y)
    np.testing.assert_allclose(fs.f, ps.f, rtol=0, atol=1e-10 * f_scale)
    np.testing.assert_allclose(fs.ntk, ps.ntk, rtol=1e-10)
    np.testing.assert_allclose(fs.sharpness, ps.sharpness, rtol=1e-10)
    # and the compiled parameter-space GD equals a plain NumPy loop
    f_np, k_np = gd_numpy(u0, v0, x, y, gamma(width, s), lr, 200)
    np.testing.assert_allclose(ps.f[ok], f_np[ok], rtol=0, atol=1e-10 * f_scale)
    np.testing.assert_allclose(ps.ntk[ok], k_np[ok], rtol=1e-10)


@pytest.mark.parametrize("width", [4, 16, 64])
@pytest.mark.parametrize("param,s", PARAMS, ids=["sp", "mup", "s0.5"])
def test_sharpness_equals_dense_hessian_eigenvalue(width, param, s):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(2)
    u0, v0 = uv.init(width, d=2, param=param, seed=1)
    y = -0.4
    tr = uv.train(u0, v0, lr=0.2, steps=30, x=x, y=y, param=param)
    # replay the weights with NumPy to get states along the way
    g = gamma(width, s)
    u, v = u0.copy(), v0.copy()
    for t in range(31):
        H = dense_hessian(u, v, x, y, g)
        top = np.linalg.eigvalsh(H)[-1]
        assert tr.sharpness[t] == pytest.approx(top, rel=1e-10, abs=1e-12)
        h = u @ x
        df = g * v @ h - y
        u, v = u - 0.2 * g * df * np.outer(v, x), v - 0.2 * g * df * h


def test_scalar_x_matches_vector_of_length_one():
    u0, v0 = uv.init(32, seed=2)
    a = uv.train(u0, v0, lr=0.3, steps=50, x=1.3, y=0.5)
    b = uv.train(u0[:, None], v0, lr=0.3, steps=50, x=[1.3], y=0.5)
    np.testing.assert_array_equal(a.f, b.f)
    np.testing.assert_array_equal(a.sharpness, b.sharpness)


def test_normalized_map_equals_function_map():
    rng = np.random.default_rng(0)
    width, lr, x, y = 50, 0.37, 1.7, 0.8
    f = rng.uniform(-1, 1, 200)
    ntk = rng.uniform(0.5, 3, 200)
    f1, k1 = uv.function_map(f, ntk, lr=lr, width=width, x=x, y=y, steps=5)
    g, z, Y = uv.to_normalized(f, ntk, lr=lr, width=width, x=x, y=y)
    g1, z1 = uv.normalized_map(g, z, Y=Y, steps=5)
    f2, k2 = uv.from_normalized(g1, z1, lr=lr, width=width, x=x, y=y)
    np.testing.assert_allclose(f2, f1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(k2, k1, rtol=1e-12)
    # the normalised map written out by hand
    gh, zh = g.copy(), z.copy()
    for _ in range(5):
        gh, zh = gh * (1 - zh + gh * (gh + Y)), zh + gh * (zh * gh - 4 * (gh + Y))
    np.testing.assert_allclose(g1, gh, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(z1, zh, rtol=1e-11)


def test_function_map_broadcasts_and_returns_shapes():
    f, k = uv.function_map(np.zeros((3, 1)), np.ones(4), lr=0.1, width=10)
    assert f.shape == (3, 4) and k.shape == (3, 4)
    f0, k0 = uv.function_map(0.0, 1.0, lr=0.1, width=10)
    assert f0.shape == () and k0.shape == ()
    f_manual = 0.0 - 0.1 * 1.0 * (0.0 - 1.0) + 0.0
    assert float(f0) == pytest.approx(f_manual)


def test_gradient_flow_conservation_predicts_final_ntk():
    """Small lr: lambda^2 - 4 kappa f^2 is conserved, so lambda_end = sqrt(l0^2 + 4k(y^2 - f0^2))."""
    width, x, y = 100, 1.0, 1.0
    kappa = x * x / width
    for f0, ntk0 in [(0.3, 1.5), (1.8, 2.0), (-0.5, 1.2)]:
        tr = uv.iterate(f0, ntk0, lr=1e-3, width=width, steps=40000, x=x, y=y)
        pred = np.sqrt(ntk0**2 + 4 * kappa * (y**2 - f0**2))
        assert tr.ntk[-1] == pytest.approx(pred, rel=2e-3)
        expected = "progressive_sharpening" if abs(f0) < abs(y) and f0 * y > 0 else None
        if abs(f0) > abs(y):
            expected = "sharpness_reduction"
        if expected is not None and abs(pred - ntk0) > 0.05 * ntk0:
            assert uv.classify(tr) == expected


def test_threads_do_not_change_results():
    u0, v0 = uv.init(256, d=2, batch=8, seed=5)
    lr = np.linspace(0.05, 2.0, 8)
    a = uv.train(u0, v0, lr=lr, steps=100, x=[1.0, -0.5], threads=1)
    b = uv.train(u0, v0, lr=lr, steps=100, x=[1.0, -0.5], threads=2)
    for name in ("loss", "f", "ntk", "sharpness", "diverged_at"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    f = np.linspace(-2, 2, 1001)
    with pytest.warns(uv.DivergenceWarning):
        r1 = uv.function_map(f, 1.0, lr=0.7, width=8, steps=50, threads=1)
    with pytest.warns(uv.DivergenceWarning):
        r2 = uv.function_map(f, 1.0, lr=0.7, width=8, steps=50, threads=2)
    np.testing.assert_array_equal(r1[0], r2[0])
    np.testing.assert_array_equal(r1[1], r2[1])


def test_same_seed_same_weights():
    a = uv.init(64, d=3, batch=2, seed=9)
    b = uv.init(64, d=3, batch=2, seed=9)
    c = uv.init(64, d=3, batch=2, seed=10)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (2, 64, 3) and a[1].shape == (2, 64)


def test_init_scale_follows_parameterization():
    u_sp, _ = uv.init(4096, param="sp", seed=0)
    u_mup, _ = uv.init(4096, param="mup", seed=0)
    assert np.std(u_sp) == pytest.approx(1.0, rel=0.05)
    assert np.std(u_mup) == pytest.approx(1.0 / 64.0, rel=0.05)


def _numpy_function_trajectory(f0, lam0, lr, kappa, y, steps):
    """Independent pure-NumPy recording of the map, with the documented divergence rule."""
    f0, lam0, lr = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (f0, lam0, lr)))
    F = np.full(f0.shape + (steps + 1,), np.nan)
    K = np.full_like(F, np.nan)
    at = np.full(f0.shape, -1)
    for i in np.ndindex(f0.shape):
        f, lam = float(f0[i]), float(lam0[i])
        bound = 1e6 * (abs(f - y) + abs(y) + 1.0)
        F[i + (0,)], K[i + (0,)] = f, lam
        for t in range(1, steps + 1):
            df = f - y
            f, lam = (f - lr[i] * lam * df + lr[i] ** 2 * kappa * f * df * df,
                      lam + lr[i] * kappa * df * (lr[i] * lam * df - 4 * f))
            if not (abs(f - y) <= bound and np.isfinite(lam)):
                at[i] = t
                break
            F[i + (t,)], K[i + (t,)] = f, lam
    return F, K, at


def test_iterate_records_the_map_and_stops_at_divergence():
    width, y = 16, 1.0
    f0 = np.array([0.2, -0.4, 0.9, 0.1])
    lam0 = np.array([1.0, 2.0, 3.9, 6.0])
    lr = np.array([0.5, 1.0, 1.0, 1.0])
    with np.errstate(over="ignore", invalid="ignore"):
        F, K, at = _numpy_function_trajectory(f0, lam0, lr, 1.0 / width, y, 60)
    assert (at > 0).any() and (at < 0).any()
    for threads in (1, 2):
        tr = uv.iterate(f0, lam0, lr=lr, width=width, y=y, steps=60, threads=threads)
        np.testing.assert_array_equal(tr.diverged_at, at)
        np.testing.assert_allclose(tr.f, F, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(tr.ntk, K, rtol=1e-12, atol=1e-300)
        np.testing.assert_array_equal(np.isnan(tr.f), np.isnan(F))
