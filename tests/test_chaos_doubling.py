"""Period-doubling points, cycle multipliers and Feigenbaum's constants."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from sharpdyn import _core, chaos, cubic


@pytest.fixture(scope="module")
def points():
    return chaos.doubling_points("cubic", 14)


def test_first_two_doublings_are_analytic(points):
    assert abs(points.params[0] - 2.0) <= 4e-16  # fixed point flips at r = 2, i.e. lr*lambda = 2
    assert abs(points.params[1] - np.sqrt(5.0)) <= 1e-15  # 2-cycle multiplier 9 - 2r^2 = -1
    assert cubic.sharpness_from_r(points.params[0]) == 2.0
    np.testing.assert_array_equal(points.periods, 2 ** np.arange(14))


def _mp_doubling(p, x_guess, r_guess):
    """Independent high-precision solve (mpmath, 40 digits, numerical-derivative Newton)."""
    mpmath.mp.dps = 40

    def F(x, r):
        m = mpmath.mpf(1)
        for _ in range(p):
            m *= r * (1 - 3 * x * x)
            x = r * x * (1 - x * x)
        return x, m

    def eqs(x, r):
        xp, m = F(x, r)
        return [xp - x, m + 1]

    x, r = mpmath.findroot(eqs, (mpmath.mpf(x_guess), mpmath.mpf(r_guess)))
    return float(r)


@pytest.mark.parametrize("k", [3, 4, 5, 6, 7, 8, 9, 10, 11])
def test_points_match_high_precision_solution(points, k):
    i = k - 1
    r_mp = _mp_doubling(int(points.periods[i]), points.cycle_points[i], points.params[i])
    assert abs(points.params[i] - r_mp) <= 1e-10  # acceptance: located to <= 1e-10
    assert abs(points.params[i] - r_mp) <= 20 * points.uncertainty[i] + 1e-15


def test_stability_flips_at_each_point(points):
    """Just below r_k the period-2^(k-1) cycle is stable (multiplier > -1), just above it is not."""
    for i in range(8):
        r, p, x = points.params[i], int(points.periods[i]), points.cycle_points[i]
        eps = 1e-9 * (points.params[i] - (points.params[i - 1] if i else 1.5))
        _, m_lo, _, ok_lo = _core.cubic_find_cycle(r - eps, x, p)
        _, m_hi, _, ok_hi = _core.cubic_find_cycle(r + eps, x, p)
        assert ok_lo and ok_hi
        assert -1.0 < m_lo < -0.99 and -1.01 < m_hi < -1.0


def test_feigenbaum_delta_and_accumulation(points):
    # estimates from the first 8..11 doublings agree with the universal constant to 4+ figures
    for k in range(8, 12):
        est = points.delta_estimates[k - 3]  # uses points k-2, k-1, k
        assert abs(est - chaos.FEIGENBAUM_DELTA) / chaos.FEIGENBAUM_DELTA < 5e-5
    assert abs(points.delta - chaos.FEIGENBAUM_DELTA) < 1e-5
    assert abs(points.delta - chaos.FEIGENBAUM_DELTA) <= 3 * points.delta_error
    # the onset of chaos lies above every doubling, within a geometric tail of the last one
    gap = points.params[-1] - points.params[-2]
    assert points.params[-1] < points.accumulation < points.params[-1] + gap
    assert points.accumulation_error < 1e-12


def test_accumulation_separates_periodic_from_chaotic(points):
    r_inf = points.accumulation
    r = [0.5 * (points.params[9] + points.params[10]), r_inf + 1e-3]  # period 2^10; chaos
    lam = chaos.lyapunov("cubic", r, x0=0.3, n_transient=20000, n_steps=50000)
    assert lam[0] < 0 < lam[1]


def test_cycle_multipliers_match_analytic_cycles():
    r = np.array([1.3, 1.8])
    m = chaos.cycle_multipliers("cubic", r, cycle_period=1, x0=0.4, n_transient=200)
    np.testing.assert_allclose(m, cubic.fixed_point_multiplier(r), rtol=1e-12)
    r2 = np.array([2.05, 2.15, 2.2])
    m2 = chaos.cycle_multipliers("cubic", r2, cycle_period=2, x0=0.4, n_transient=2000)
    np.testing.assert_allclose(m2, cubic.two_cycle_multiplier(r2), rtol=1e-10)


def test_uv_doubling_points_have_two_d_multiplier_minus_one():
    d = chaos.doubling_points("uv", 6)
    c = chaos.doubling_points("cubic", 6)
    np.testing.assert_array_equal(d.params, c.params - 1.0)
    assert d.params[0] == 1.0  # Y = 1: no stable minimum beyond it
    for i in range(6):
        g, z = d.cycle_points[i]
        assert abs(z - 2 * (g + d.params[i])) < 1e-14  # on the invariant line
        gp, zp, J = _core.uv_product_jacobian(g, z, d.params[i], int(d.periods[i]))
        assert abs(gp - g) < 1e-9 and abs(zp - z) < 1e-9  # the cycle closes in 2-D
        ev = np.linalg.eigvals(J)
        assert np.min(np.abs(ev + 1.0)) < 1e-6


def test_uv_cycle_multipliers_from_attractor():
    Y = np.array([1.1, 1.2])  # period 2 on the manifold
    m = chaos.cycle_multipliers("uv", Y, cycle_period=2, x0=(0.3, 2.5), n_transient=5000)
    tangent = cubic.two_cycle_multiplier(1.0 + Y)
    np.testing.assert_allclose(np.min(np.abs(m - tangent[:, None]), axis=1), 0.0, atol=1e-8)


def test_count_beyond_double_precision_is_refused():
    with pytest.raises(ValueError, match="count"):
        chaos.doubling_points("cubic", 40)
    with pytest.raises(ValueError, match="count"):
        chaos.doubling_points("cubic", 0)
    with pytest.raises(ValueError, match="system"):
        chaos.doubling_points("logistic", 3)
