"""The cubic map is GD on (a theta^2 - b)^2/2; its r <-> lr*lambda relations and 2-cycle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpdyn import chaos, cubic, uv


@given(a=st.floats(0.1, 3.0), b=st.floats(0.1, 3.0), c=st.floats(0.05, 0.95), u=st.floats(-1.3, 1.3))
@settings(max_examples=40, deadline=None)
def test_parameter_space_gd_is_the_cubic_map(a, b, c, u):
    lr = c / (2 * a * b)  # r = 1 + c in (1, 2)
    theta0 = u * np.sqrt(b / a)  # |x0| = |u| sqrt(1 - 1/r) stays inside the escape radius
    theta = theta0
    x = float(cubic.to_map(theta0, a=a, b=b, lr=lr))
    r = float(cubic.r_from_loss(a, b, lr))
    for _ in range(20):
        theta = float(cubic.gd_step(theta, a=a, b=b, lr=lr))
        x = float(cubic.step(x, r))
        assert float(cubic.to_map(theta, a=a, b=b, lr=lr)) == pytest.approx(x, rel=1e-9, abs=1e-12)


def test_r_is_one_plus_half_lr_sharpness_at_the_minimum():
    a, b, lr = 1.3, 0.7, 0.4
    theta_star = np.sqrt(b / a)
    h = 1e-4  # curvature by central differences of the loss itself

    def L(t):
        return float(cubic.sub_quadratic_loss(t, a=a, b=b))

    curv = (L(theta_star + h) - 2 * L(theta_star) + L(theta_star - h)) / h**2
    r = float(cubic.r_from_loss(a, b, lr))
    assert r == pytest.approx(float(cubic.r_from_sharpness(lr * curv)), rel=1e-7)
    assert float(cubic.to_map(theta_star, a=a, b=b, lr=lr)) == pytest.approx(float(cubic.fixed_point(r)), rel=1e-14)
    # the normalised curvature observable equals lr L''(theta) everywhere
    th = np.linspace(-1.0, 1.0, 7)
    x = cubic.to_map(th, a=a, b=b, lr=lr)
    np.testing.assert_allclose(cubic.sharpness(x, r), lr * 2 * a * (3 * a * th**2 - b), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cubic.loss(x, r), 4 * lr**2 * a**2 * cubic.sub_quadratic_loss(th, a=a, b=b),
                               rtol=1e-12, atol=1e-15)


def test_fixed_point_and_two_cycle_are_cycles_with_their_multipliers():
    r = np.linspace(1.1, 1.99, 5)
    xs = cubic.fixed_point(r)
    np.testing.assert_allclose(cubic.step(xs, r), xs, rtol=1e-14)
    np.testing.assert_allclose(r * (1 - 3 * xs**2), cubic.fixed_point_multiplier(r), rtol=1e-12)
    r2 = np.linspace(2.01, 2.23, 5)
    p, q = cubic.two_cycle(r2)
    np.testing.assert_allclose(cubic.step(p, r2), q, rtol=1e-13)
    np.testing.assert_allclose(cubic.step(q, r2), p, rtol=1e-13)
    prod = r2**2 * (1 - 3 * p**2) * (1 - 3 * q**2)
    np.testing.assert_allclose(prod, cubic.two_cycle_multiplier(r2), rtol=1e-12)
    assert cubic.SECOND_DOUBLING_R == pytest.approx(chaos.doubling_points("cubic", 2).params[1], abs=1e-15)


def test_bounded_up_to_r3_and_escape_beyond():
    d = chaos.orbit_diagram("cubic", [2.999], x0=0.3, n_transient=20000, n_keep=10)
    assert d.diverged_at[0] == -1
    with pytest.warns(uv.DivergenceWarning):
        e = chaos.orbit_diagram("cubic", [3.05], x0=0.3, n_transient=20000, n_keep=10)
    assert e.diverged_at[0] > 0


@given(x=st.floats(0.05, 1.0), Y=st.floats(0.05, 1.95))
@settings(max_examples=50, deadline=None)
def test_uv_step_on_invariant_line_is_the_cubic_step(x, Y):
    g, z = cubic.uv_from_cubic(x, Y)
    g1, z1 = uv.normalized_map(g, z, Y=Y)
    assert float(z1) == pytest.approx(2 * (float(g1) + Y), rel=1e-10, abs=1e-10)  # stays on the line
    assert float(cubic.uv_to_cubic(g1, Y)) == pytest.approx(abs(float(cubic.step(x, 1 + Y))), rel=1e-9, abs=1e-9)
    # UV sharpness there equals the cubic map's sharpness observable above the inflection
    if 2 * (1 + Y) * x * x >= Y:
        sh = chaos.orbit_diagram("uv", [Y], x0=(g, z), n_transient=0, n_keep=1, observable="sharpness").states[0, 0]
        assert sh == pytest.approx(float(cubic.sharpness(x, 1 + Y)), rel=1e-9, abs=1e-9)
