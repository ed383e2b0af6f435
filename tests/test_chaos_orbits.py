"""Orbit diagrams and periods of the cubic and UV maps against pure-NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import chaos, cubic, uv
from sharpdyn.uv import DivergenceWarning

import chaos_reference as ref

# (n_transient, n_keep): recording written directly (transient shorter than the kept part), and
# the pipelined path (a block's kept states streamed out during the next block's transient),
# with row lengths that are and are not whole cache lines
CUBIC_LENGTHS = [(300, 700), (1500, 333), (2000, 1024)]


@pytest.mark.parametrize("observable", ["state", "sharpness", "loss"])
@pytest.mark.parametrize(("n_transient", "n_keep"), CUBIC_LENGTHS)
def test_cubic_orbits_match_numpy_bitwise(observable, n_transient, n_keep):
    # 131 params: two full SIMD blocks plus a partial one; r just above 3 escapes after a
    # chaotic transient (some in the transient, some while recording), larger r at once
    r = np.concatenate([np.linspace(0.5, 3.3, 111), 3 + np.logspace(-7, -3, 20)])
    x0 = np.concatenate([np.linspace(0.05, 0.9, 111), np.linspace(0.05, 0.9, 20)])
    if n_transient > 300:  # diverge during the longer transients too, and while recording
        r[-20:] = 3 + np.logspace(-9, -5.5, 20)
    with pytest.warns(DivergenceWarning):
        d = chaos.orbit_diagram("cubic", r, x0=x0, n_transient=n_transient, n_keep=n_keep,
                                observable=observable)
    want, at = ref.cubic_orbits(r, x0, n_transient, n_keep, observable)
    np.testing.assert_array_equal(d.diverged_at, at)
    assert np.any(at > n_transient) and np.any((at > 0) & (at <= n_transient)), \
        "test needs divergence in both phases"
    np.testing.assert_array_equal(d.states, want)  # same expression, no FMA: identical bits
    assert d.states.shape == (131, n_keep)


@pytest.mark.parametrize("n_transient", [3000, 3001, 3002, 3003, 2816])
def test_cubic_cycle_shortcut_matches_numpy_bitwise(n_transient):
    # Periodic windows only (fixed points, period 2 and 4): every lane falls into an exact
    # floating-point cycle within a few hundred steps, so the kernel skips the rest of the
    # transient by indexing into the cycle; the transient lengths cover every residue mod 4
    # (and a whole number of chunks). Both the direct and the pipelined path.
    r = np.concatenate([np.linspace(1.2, 1.8, 64), np.linspace(2.05, 2.2, 64), np.linspace(2.26, 2.29, 64)])
    for n_keep in (100, 4000):
        d = chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=n_transient, n_keep=n_keep)
        want, at = ref.cubic_orbits(r, np.full(r.size, 0.3), n_transient, n_keep, "state")
        assert np.all(at < 0)
        np.testing.assert_array_equal(d.states, want)


@pytest.mark.parametrize("observable", ["state", "sharpness", "loss", "ntk"])
def test_uv_orbits_match_numpy_bitwise(observable):
    Y = np.linspace(0.2, 2.3, 70)
    g0 = np.linspace(-0.3, 0.4, 70)
    z0 = np.linspace(0.5, 3.0, 70)
    with pytest.warns(DivergenceWarning):
        d = chaos.orbit_diagram("uv", Y, x0=np.stack([g0, z0], 1), n_transient=200, n_keep=300,
                                observable=observable)
    want, at = ref.uv_orbits(Y, g0, z0, 200, 300, observable)
    np.testing.assert_array_equal(d.diverged_at, at)
    assert np.any(at >= 0) and np.any(at < 0)
    np.testing.assert_array_equal(d.states, want)


def test_uv_normalised_kernel_matches_foundation_maps():
    """The reduction to (g, z; Y) agrees with sharpdyn.uv.normalized_map and, through
    to_normalized, with the physical function-space map."""
    Y = np.array([0.3, 0.9, 1.2, 1.6])
    g0, z0 = np.array([0.1, -0.2, 0.25, 0.05]), np.array([1.0, 1.5, 2.6, 3.1])
    d = chaos.orbit_diagram("uv", Y, x0=np.stack([g0, z0], 1), n_transient=0, n_keep=40)
    for k in range(1, 40):  # one step at a time, so rounding differences are not amplified
        g, z = uv.normalized_map(d.states[:, k - 1, 0], d.states[:, k - 1, 1], Y=Y)
        np.testing.assert_allclose(d.states[:, k, 0], g, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(d.states[:, k, 1], z, rtol=1e-12, atol=1e-13)
    # physical map: lr = 0.5, width 64, y chosen so that Y = lr sqrt(kappa) y
    lr, width = 0.5, 64
    y = Y / (lr / np.sqrt(width))
    f_phys = y + g0 / (lr / np.sqrt(width))
    ntk = z0 / lr
    f, lam = uv.function_map(f_phys, ntk, lr=lr, width=width, y=y, steps=25)
    gg, zz, YY = uv.to_normalized(f, lam, lr=lr, width=width, y=y)
    np.testing.assert_allclose(YY, Y, rtol=1e-14)
    np.testing.assert_allclose(gg, d.states[:, 25, 0], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(zz, d.states[:, 25, 1], rtol=1e-7, atol=1e-9)


def test_uv_orbit_diagram_matches_function_space_trajectory():
    lr = np.array([0.6, 1.1, 1.3])  # Y = lr: converging, period 2, period 4
    width, y, f0, ntk0 = 16, 4.0, 3.5, 2.0
    d = chaos.uv_orbit_diagram(lr, width=width, y=y, f0=f0, ntk0=ntk0, n_transient=50, n_keep=30)
    dl = chaos.uv_orbit_diagram(lr, width=width, y=y, f0=f0, ntk0=ntk0, n_transient=50, n_keep=30,
                                observable="loss")
    tr = uv.iterate(f0, ntk0, lr=lr, width=width, y=y, steps=79)
    np.testing.assert_allclose(d.states, lr[:, None] * tr.sharpness[:, 50:80], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dl.states, tr.loss[:, 50:80], rtol=1e-6, atol=1e-9)
    assert d.system == "uv_lr" and np.array_equal(d.params, lr)


def test_results_do_not_depend_on_threads_or_blocking():
    r = np.linspace(1.8, 3.0, 203)
    a = chaos.orbit_diagram("cubic", r, x0=0.4, n_transient=500, n_keep=300, threads=1)
    b = chaos.orbit_diagram("cubic", r, x0=0.4, n_transient=500, n_keep=300, threads=3)
    parts = [chaos.orbit_diagram("cubic", r[i:i + 37], x0=0.4, n_transient=500, n_keep=300).states
             for i in range(0, r.size, 37)]
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.states, np.concatenate(parts))
    Y = np.linspace(1.0, 1.95, 99)
    u1 = chaos.orbit_diagram("uv", Y, x0=(0.2, 2.8), n_transient=300, n_keep=100, threads=1)
    u2 = chaos.orbit_diagram("uv", Y, x0=(0.2, 2.8), n_transient=300, n_keep=100, threads=2)
    np.testing.assert_array_equal(u1.states, u2.states)
    p1 = chaos.period("cubic", r, x0=0.4, n_transient=2000, max_period=64, threads=1)
    p2 = chaos.period("cubic", r, x0=0.4, n_transient=2000, max_period=64, threads=2)
    np.testing.assert_array_equal(p1, p2)


def test_uv_learning_rate_diagram_shows_the_cascade():
    """Finite-width UV model (width 64, y = 8, so Y = lr): the late-time sharpness takes 1, 2, 4,
    8 values between the doubling learning rates lr_k = r_k - 1 predicted by the cubic map."""
    dp = chaos.doubling_points("uv", 5)
    lr = np.concatenate([[0.9], 0.5 * (dp.params[:-1] + dp.params[1:])])
    d = chaos.uv_orbit_diagram(lr, width=64, y=8.0, f0=7.2, ntk0=2.2, n_transient=30000, n_keep=64)
    distinct = [np.unique(np.round(s, 8)).size for s in d.states]
    assert distinct == [1, 2, 4, 8, 16]
    # on the 2-cycle (p^2 + q^2 = 1, pq = 1/r) the NTK values z = 2 r x^2 have product 4 r^2 p^2 q^2
    # = 4 exactly: geometric mean 2/lr, straddling the edge of stability
    ntk = chaos.uv_orbit_diagram(lr[1:2], width=64, y=8.0, f0=7.2, ntk0=2.2, n_transient=30000, n_keep=2,
                                 observable="ntk").states[0]
    assert np.prod(ntk) == pytest.approx(4.0, rel=1e-10) and ntk.min() < 2.0 < ntk.max()


def test_continuation_chains_last_states():
    r = np.linspace(2.0, 2.4, 9)
    d = chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=100, n_keep=50, continuation=True)
    x = 0.3
    for i, ri in enumerate(r):
        one = chaos.orbit_diagram("cubic", [ri], x0=x, n_transient=100, n_keep=50)
        np.testing.assert_array_equal(d.states[i], one.states[0])
        x = one.states[0, -1]
    Y = np.linspace(1.1, 1.5, 5)
    du = chaos.orbit_diagram("uv", Y, x0=(0.2, 2.8), n_transient=60, n_keep=20, continuation=True)
    s = np.array([0.2, 2.8])
    for i, Yi in enumerate(Y):
        one = chaos.orbit_diagram("uv", [Yi], x0=s, n_transient=60, n_keep=20)
        np.testing.assert_array_equal(du.states[i], one.states[0])
        s = one.states[0, -1]


def test_continuation_restarts_from_x0_after_divergence():
    r = np.array([2.5, 3.5, 2.5])
    with pytest.warns(DivergenceWarning):
        d = chaos.orbit_diagram("cubic", r, x0=[0.3, 0.3, 0.3], n_transient=100, n_keep=10, continuation=True)
    assert d.diverged_at[1] > 0 and d.diverged_at[2] == -1
    np.testing.assert_array_equal(d.states[2], chaos.orbit_diagram("cubic", [2.5], x0=0.3, n_transient=100,
                                                                   n_keep=10).states[0])


def test_n_transient_zero_records_initial_condition():
    d = chaos.orbit_diagram("cubic", [2.2, 2.7], x0=[0.1, 0.2], n_transient=0, n_keep=3)
    np.testing.assert_array_equal(d.states[:, 0], [0.1, 0.2])
    np.testing.assert_array_equal(d.states[:, 1], cubic.step(np.array([0.1, 0.2]), np.array([2.2, 2.7])))


def test_periods_through_the_cascade_and_chaos():
    dp = chaos.doubling_points("cubic", 11)
    r_mid = 0.5 * (dp.params[:-1] + dp.params[1:])  # between r_k and r_{k+1}: period 2^k
    r = np.concatenate([[1.5], r_mid[:6], [2.6, 2.9]])
    p = chaos.period("cubic", r, x0=0.3, n_transient=20000, max_period=128)
    np.testing.assert_array_equal(p, [1, 2, 4, 8, 16, 32, 64, 0, 0])
    # period 2^10 at its superstable parameter (converges fast there)
    p10 = chaos.period("cubic", [dp.superstable[10]], x0=1 / np.sqrt(3), n_transient=0, max_period=2048, tol=1e-6)
    assert p10[0] == 1024
    assert chaos.period("cubic", [3.2], x0=0.3, n_transient=100, max_period=8)[0] == -1


def test_periods_match_numpy_detection(rng):
    r = np.sort(rng.uniform(1.2, 2.9, 40))
    T, mp, tol = 3000, 32, 1e-7
    got = chaos.period("cubic", r, x0=0.35, n_transient=T, max_period=mp, tol=tol)
    states, _ = ref.cubic_orbits(r, 0.35, T, 2 * mp)
    want = [ref.detect_period(s, mp, tol) for s in states]
    np.testing.assert_array_equal(got, want)
    Y = np.sort(rng.uniform(1.05, 1.9, 20))
    got = chaos.period("uv", Y, x0=(0.3, 2.5), n_transient=T, max_period=mp, tol=tol)
    states, _ = ref.uv_orbits(Y, 0.3, 2.5, T, 2 * mp)
    want = [ref.detect_period(s, mp, tol) for s in states]
    np.testing.assert_array_equal(got, want)


def test_density_columns_are_normalised():
    d = chaos.orbit_diagram("cubic", np.linspace(1.5, 2.9, 50), x0=0.3, n_transient=500, n_keep=400)
    h, pe, ve = d.density(bins=(50, 80))
    assert h.shape == (50, 80) and pe.size == 51 and ve.size == 81
    np.testing.assert_allclose(h.sum(axis=1), 1.0)
    p, v = d.points()
    assert p.size == v.size == 50 * 400


def test_uv_follows_cubic_map_near_eos_minimum():
    Y = np.array([1.1, 1.25, 1.3, 1.5])
    c = chaos.uv_cubic_correspondence(Y, g0=0.3, z0=2.5, n_transient=20000, n_keep=2048)
    assert np.all(c.line_distance < 1e-12)  # the UV orbit sits on the EoS manifold z = 2(g + Y)
    periodic = c.cubic_period > 0
    assert np.all(c.max_deviation[periodic] < 1e-9)
    np.testing.assert_array_equal(c.uv_period, c.cubic_period)
    np.testing.assert_array_equal(c.cubic_period[:3], [2, 4, 16])
    # the cubic exponent is the UV exponent tangent to the manifold
    closest = np.min(np.abs(c.uv_lyapunov - c.cubic_lyapunov[:, None]), axis=1)
    assert np.all(closest[periodic] < 2e-3)
    assert c.cubic_lyapunov[-1] > 0.3 and abs(c.uv_lyapunov[-1, 0] - c.cubic_lyapunov[-1]) < 0.05


def test_save_roundtrip(tmp_path):
    d = chaos.orbit_diagram("uv", [1.2, 1.4], x0=(0.2, 2.7), n_transient=10, n_keep=5)
    path = d.save(tmp_path / "orbit.npz")
    with np.load(path) as z:
        np.testing.assert_array_equal(z["states"], d.states)
        assert str(z["system"]) == "uv" and int(z["n_keep"]) == 5
