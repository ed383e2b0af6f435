"""detect_period against the cubic map's known periods (chaos.period, Lyapunov exponent and
doubling points give the truth), drifting cycles, divergence and argument errors."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import chaos, cubic
from sharpdyn.attractor import detect_period


def _between_doublings():
    """r midway between consecutive doubling points: periods 1, 2, 4, 8, 16 for sure."""
    dp = chaos.doubling_points("cubic", 5).params
    edges = np.concatenate([[1.5], dp])
    return 0.5 * (edges[:-1] + edges[1:]), np.array([1, 2, 4, 8, 16])


def test_periods_of_the_cubic_cascade_match_the_known_periods():
    r, want = _between_doublings()
    truth = chaos.period("cubic", r, x0=0.3, n_transient=30_000, max_period=64)
    np.testing.assert_array_equal(truth, want)  # the independent truth agrees with the theory
    orbits = cubic.iterate(0.3, r, 30_000)[-256:].T  # (5, 256), plain NumPy iteration
    np.testing.assert_array_equal(detect_period(orbits), want)
    np.testing.assert_array_equal(detect_period(cubic.sharpness(orbits, r[:, None]), detrend=False), want)


def test_chaotic_cubic_orbits_are_aperiodic():
    r = np.array([2.45, 2.6, 2.75, 2.9])
    lam = chaos.lyapunov("cubic", r, x0=0.3, n_transient=5000, n_steps=20_000)
    assert np.all(lam > 0.1)  # chaos, independently
    orbits = cubic.iterate(0.3, r, 5000)[-512:].T
    np.testing.assert_array_equal(detect_period(orbits, max_period=128), 0)
    np.testing.assert_array_equal(detect_period(orbits, max_period=128, detrend=False), 0)


def test_a_drifting_cycle_keeps_its_period_with_detrending_only():
    r, want = _between_doublings()
    orbits = cubic.iterate(0.3, r, 30_000)[-200:].T
    t = np.arange(200)
    drift = 0.02 * t / 200 + 0.01 * (t / 200) ** 2 - 0.3 * np.exp(-t / 400)  # slow, curved
    drifting = orbits + drift
    np.testing.assert_array_equal(detect_period(drifting, max_period=32, window=200), want)
    # exact repetition fails for every period once the drift exceeds rtol * spread
    assert np.all(detect_period(drifting[1:], max_period=32, window=200, detrend=False) == 0)
    # a chaotic orbit with the same drift stays aperiodic
    chaotic = cubic.iterate(0.3, 2.6, 5000)[-200:] + drift
    assert detect_period(chaotic, max_period=32, window=200) == 0


def test_shapes_divergence_and_converged_series():
    r, want = _between_doublings()
    orbits = cubic.iterate(0.3, r, 30_000)[-128:].T
    stacked = np.stack([orbits, orbits[::-1]])  # (2, 5, 128), leading axes kept
    out = detect_period(stacked)
    assert out.shape == (2, 5) and out.dtype == np.int64
    np.testing.assert_array_equal(out[0], want)
    one = detect_period(orbits[1])
    assert one.shape == () and int(one) == 2
    bad = orbits.copy()
    bad[3, 40] = np.nan
    bad[4, -1] = np.inf
    np.testing.assert_array_equal(detect_period(bad), [1, 2, 4, -1, -1])
    assert detect_period(np.full(128, 3.0)) == 1  # a constant series is a fixed point
    assert detect_period(2.0 + 1e-15 * np.sin(np.arange(128))) == 1  # rounding-level jitter (floor)
    assert detect_period(np.arange(128.0)) == 1  # uniform drift: a drifting fixed point


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="max_period"):
        detect_period(np.zeros(100), max_period=64)
    with pytest.raises(ValueError, match="max_period"):
        detect_period(np.zeros(100), max_period=0)
    with pytest.raises(ValueError, match="rtol"):
        detect_period(np.zeros(200), rtol=-1.0)
    with pytest.raises(ValueError, match="series"):
        detect_period(np.zeros(200) + 1j)
    with pytest.raises(ValueError, match="series"):
        detect_period(3.0)
    with pytest.raises(ValueError, match="window"):
        detect_period(np.zeros(200), max_period=8, window=9)


def test_a_cycle_with_changing_amplitude_needs_the_phase_detrending():
    """Real networks at the edge of stability: a 2- or 4-cycle whose centre and amplitude both
    drift. Only the per-phase test accepts it; none of the tests accepts a divisor period."""
    r, want = _between_doublings()
    orbits = cubic.iterate(0.3, r, 30_000)[-192:].T
    t = np.arange(192)
    centre = orbits.mean(axis=1, keepdims=True)
    modulated = centre + (orbits - centre) * (1 + 0.002 * t) + 1e-3 * t
    np.testing.assert_array_equal(detect_period(modulated), want)
    np.testing.assert_array_equal(detect_period(modulated, detrend="phase"), want)
    assert np.all(detect_period(modulated[1:], detrend="linear")[1:] == 0)
    # an exact 4-cycle is never read as 2, an exact 2-cycle never as 1
    four = np.tile([0.1, 0.5, 0.12, 0.9], 48)
    two = np.tile([0.1, 0.5], 96)
    for mode in ("phase", "linear", "none"):
        assert detect_period(four, detrend=mode) == 4
        assert detect_period(two, detrend=mode) == 2
    with pytest.raises(ValueError, match="detrend"):
        detect_period(two, detrend="quadratic")
