"""Fixed points, periodic orbits and the zero-loss line of the UV function-space map."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import uv
from sharpdyn.fixed_points import classify_eigenvalues
from sharpdyn.parameterization import kappa

CASES = [
    dict(lr=0.5, width=16, x=1.0, y=1.0, param="sp"),
    dict(lr=0.05, width=1000, x=2.0, y=-0.5, param="sp"),
    dict(lr=0.3, width=64, x=1.0, y=3.0, param="mup"),
    dict(lr=1.0, width=16, x=1.0, y=4.2, param=0.25),  # Y > 1
]


def _map(p, case, steps=1):
    """The map in (f, ntk), through the normalised variables: the unphysical fixed points
    have ntk < 0 (or 0), which uv.function_map refuses as a physical NTK."""
    sk = np.sqrt(kappa(case["width"], case["x"] ** 2, case["param"]))
    lr, y = case["lr"], case["y"]
    g, z = uv.normalized_map(lr * sk * (p[0] - y), lr * p[1], Y=lr * sk * y, steps=steps)
    return np.array([y + float(g) / (lr * sk), float(z) / lr])


def _fd_jacobian(p, case, period):
    J = np.zeros((2, 2))
    for j in range(2):
        h = 1e-6 * max(1.0, abs(p[j]))
        e = np.zeros(2)
        e[j] = h
        J[:, j] = (_map(p + e, case, period) - _map(p - e, case, period)) / (2 * h)
    return J


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"lr{c['lr']}-n{c['width']}-y{c['y']}-{c['param']}")
@pytest.mark.parametrize("period", [1, 2])
def test_points_are_fixed_and_jacobians_match_finite_differences(case, period):
    pts = uv.fixed_points(period=period, **case)
    if period == 1:
        assert len(pts) == 3
    for p in pts:
        q = np.array([p.f, p.ntk])
        image = _map(q, case, period)
        scale = 1.0 + np.abs(q)
        np.testing.assert_array_less(np.abs(image - q), 1e-10 * scale)
        if period == 2:  # a genuine 2-cycle: one step moves it
            assert np.max(np.abs(_map(q, case, 1) - q) / scale) > 1e-6
        J = _fd_jacobian(q, case, period)
        np.testing.assert_allclose(p.jacobian, J, rtol=1e-5, atol=1e-6 * np.max(np.abs(J)))
        mu = np.linalg.eigvals(J)
        assert classify_eigenvalues(mu) == p.kind or "marginal" in (p.kind, classify_eigenvalues(mu))
        np.testing.assert_allclose(np.sort(np.abs(p.eigenvalues)), np.sort(np.abs(mu)), rtol=1e-5)


def test_isolated_fixed_points_have_closed_form():
    lr, width, x, y = 0.2, 100, 1.5, 0.8
    sk = x / np.sqrt(width)
    Y = lr * sk * y
    pts = uv.fixed_points(lr=lr, width=width, x=x, y=y)
    got = sorted((round(p.g, 12), round(p.z, 12)) for p in pts)
    want = sorted([(round(-Y, 12), 0.0), (2.0, round(4 + 2 * Y, 12)), (-2.0, round(4 - 2 * Y, 12))])
    assert got == want
    origin = [p for p in pts if abs(p.ntk) < 1e-12][0]
    assert origin.f == pytest.approx(0.0, abs=1e-12)


def test_kind_matches_eigenvalue_moduli():
    for Y in (0.3, 1.1, 1.5, 2.5):
        for period in (1, 2):
            for p in uv.fixed_points(lr=1.0, width=1, x=1.0, y=Y, period=period):
                m = np.abs(p.eigenvalues)
                if p.kind.startswith("stable"):
                    assert np.all(m < 1)
                elif p.kind.startswith("unstable"):
                    assert np.all(m > 1)
                elif p.kind == "saddle":
                    assert m.min() < 1 < m.max()
                else:
                    assert np.any(np.abs(m - 1) < 1e-9)


def test_stable_two_cycle_above_Y_equal_one_has_ntk_geometric_mean_two_over_lr():
    """Just above Y = 1 GD settles on a 2-cycle with sqrt(z1 z2) = 2 (paper), and attracts."""
    lr, width, x = 0.5, 25, 1.0
    sk = x / np.sqrt(width)
    for Y in (1.02, 1.1, 1.2):
        y = Y / (lr * sk)
        cyc = [p for p in uv.fixed_points(lr=lr, width=width, x=x, y=y, period=2)
               if p.kind == "stable_node" and p.physical]
        assert len(cyc) == 2
        z1, z2 = cyc[0].z, cyc[1].z
        assert np.sqrt(z1 * z2) == pytest.approx(2.0, rel=1e-10)
        # a trajectory from a generic start ends on it
        tr = uv.iterate(0.1 * y, 1.3 / lr, lr=lr, width=width, x=x, y=y, steps=3000)
        late = np.sort(lr * tr.ntk[-2:])
        np.testing.assert_allclose(late, np.sort([z1, z2]), rtol=1e-8)
        assert uv.classify(tr) == "edge_of_stability"


def test_zero_loss_line_stability_range():
    line = uv.zero_loss_line(lr=0.5, width=100, x=1.0, y=1.0)
    assert line.stable_ntk == (0.0, 4.0)
    assert line.min_reachable_ntk == pytest.approx(2 * 0.1 * 1.0)
    np.testing.assert_allclose(line.eigenvalues([1.0, 3.0]), [[0.5, 1.0], [-0.5, 1.0]])
    # perturb off the line: contraction for lr*ntk < 2, flip-unstable growth for lr*ntk > 2
    for ntk, grows in ((3.8, False), (4.2, True)):
        f, k = uv.function_map(1.0 + 1e-8, ntk, lr=0.5, width=100, x=1.0, y=1.0, steps=40)
        dev = abs(float(f) - 1.0)
        assert (dev > 1e-8) == grows
    assert line.is_stable([1.0, 4.5]).tolist() == [True, False]


def test_vector_field_is_one_step_displacement():
    f = np.linspace(-1, 2, 7)[:, None]
    k = np.linspace(0.1, 5, 5)[None, :]
    df, dk = uv.vector_field(f, k, lr=0.3, width=20, x=1.0, y=1.0)
    f1, k1 = uv.function_map(f, k, lr=0.3, width=20, x=1.0, y=1.0)
    np.testing.assert_allclose(df, f1 - f, atol=1e-12)
    np.testing.assert_allclose(dk, k1 - k, atol=1e-12)


def test_no_reachable_stable_minimum_above_Y_equal_one():
    """Reachable minima have lr*ntk >= 2Y, so for Y > 1 none lies in the stable range (paper)."""
    lr, width = 0.5, 64
    sk = 1.0 / np.sqrt(width)
    for Y in (0.5, 0.99, 1.01, 2.0):
        line = uv.zero_loss_line(lr=lr, width=width, y=Y / (lr * sk))
        assert lr * line.min_reachable_ntk == pytest.approx(2 * Y)
        has_stable_reachable = line.min_reachable_ntk < line.stable_ntk[1]
        assert has_stable_reachable == (Y < 1)
