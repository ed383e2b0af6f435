"""Lyapunov exponents: exact-derivative averages against NumPy, Benettin and cycle multipliers."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import chaos
from sharpdyn.uv import DivergenceWarning

import chaos_reference as ref


def test_cubic_exponent_matches_numpy_mean_log_derivative():
    # 70 values: a full SIMD block and a partial one; n_steps not a multiple of the 8-step
    # normalisation or the 256-step divergence check
    r = np.concatenate([[1.5, 2.1, 2.27, 2.4, 2.6, 2.95], np.linspace(1.2, 2.99, 64)])
    got = chaos.lyapunov("cubic", r, x0=0.3, n_transient=500, n_steps=3001)
    want = [ref.cubic_lyapunov(ri, 0.3, 500, 3001) for ri in r]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)


def test_sign_in_windows_chaos_and_at_a_doubling_point():
    dp = chaos.doubling_points("cubic", 4)
    r = np.array([1.8, 2.1, 2.6, 2.9, dp.params[2]])
    lam = chaos.lyapunov("cubic", r, x0=0.3, n_transient=100000, n_steps=400000)
    assert lam[0] < -0.1 and lam[1] < -0.1  # fixed point, 2-cycle
    assert lam[2] > 0.1 and lam[3] > 0.1  # chaos
    assert abs(lam[4]) < 5e-3  # marginal (multiplier -1) at the doubling point


@pytest.mark.parametrize("r", [2.6, 2.75, 2.9])
def test_agrees_with_two_trajectory_benettin_estimate(r):
    lam = chaos.lyapunov("cubic", [r], x0=0.3, n_transient=1000, n_steps=200000)[0]
    ben = ref.cubic_benettin(r, 0.3, 1000, 200000)
    assert abs(lam - ben) < 0.02 * max(1.0, abs(lam))


def test_periodic_exponent_is_log_multiplier_over_period():
    r = np.array([2.05, 2.2, 2.27])
    lam = chaos.lyapunov("cubic", r, x0=0.3, n_transient=20000, n_steps=40000)
    for ri, li, p in zip(r, lam, (2, 2, 4)):
        m = chaos.cycle_multipliers("cubic", [ri], cycle_period=p, x0=0.3, n_transient=20000)[0]
        assert -1 < m < 1
        assert abs(li - np.log(abs(m)) / p) < 1e-4


def test_superstable_orbit_is_strongly_contracting():
    # r = 1.5: the fixed point is the critical point 1/sqrt(3) (f' = 0 up to rounding)
    lam = chaos.lyapunov("cubic", [1.5], x0=1 / np.sqrt(3), n_transient=0, n_steps=10)
    assert lam[0] < -20
    lam0 = chaos.lyapunov("cubic", [0.0], x0=0.5, n_transient=0, n_steps=10)  # f' = 0 exactly
    assert lam0[0] == -np.inf


def test_uv_spectrum_matches_numpy_qr_and_det_identity():
    Y = np.array([0.6, 1.15, 1.3, 1.6, 1.9])
    spec = chaos.lyapunov_spectrum("uv", Y, x0=(0.25, 2.4), n_transient=300, n_steps=2000)
    assert spec.exponents.shape == (5, 2)
    for i, Yi in enumerate(Y):
        want, logdet = ref.uv_lyapunov_qr(Yi, 0.25, 2.4, 300, 2000)
        np.testing.assert_allclose(spec.exponents[i], want, rtol=1e-8, atol=1e-10)
        assert abs(spec.exponents[i].sum() - logdet) < 1e-10
    assert np.all(spec.exponents[:, 0] >= spec.exponents[:, 1] - 1e-12)
    np.testing.assert_array_equal(spec.max, spec.exponents[:, 0])


def test_thread_invariance_and_divergence_flag():
    r = np.linspace(2.0, 3.2, 77)
    with pytest.warns(DivergenceWarning):
        a = chaos.lyapunov_spectrum("cubic", r, x0=0.3, n_transient=100, n_steps=500, threads=1)
    with pytest.warns(DivergenceWarning):
        b = chaos.lyapunov_spectrum("cubic", r, x0=0.3, n_transient=100, n_steps=500, threads=2)
    np.testing.assert_array_equal(a.exponents, b.exponents)
    div = a.diverged_at >= 0
    assert np.all(r[div] > 3.0) and np.all(np.isnan(a.exponents[div])) and np.all(np.isfinite(a.exponents[~div]))
    _, at = ref.cubic_orbits(r, 0.3, 100, 501)
    np.testing.assert_array_equal(a.diverged_at, at)
    with pytest.warns(DivergenceWarning):
        u = chaos.lyapunov_spectrum("uv", [1.5, 2.5], x0=(0.2, 2.8), n_transient=100, n_steps=300)
    assert u.diverged_at[0] == -1 and u.diverged_at[1] > 0 and np.all(np.isnan(u.exponents[1]))
