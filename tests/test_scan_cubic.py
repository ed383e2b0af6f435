"""The cubic-map scan (sharpdyn.scan.cubic) against recorded NumPy orbits of
sharpdyn.cubic and the regime labels of sharpdyn.regimes."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import cubic, regimes, scan


def _reference(r, x0, steps):
    """Orbits with NaN after the first |x| beyond max(1e6 (|x0| + 1), 2 sqrt(1 + 1/|r|))."""
    X = cubic.iterate(x0, r, steps)  # (steps + 1, n)
    bound = np.maximum(1e6 * (np.abs(x0) + 1.0), 2.0 * np.sqrt(1.0 + 1.0 / np.abs(r)))
    with np.errstate(invalid="ignore"):
        out = ~(np.abs(X) <= bound)
    out[0] = False
    at = np.where(out.any(axis=0), np.argmax(out, axis=0), -1)
    t = np.arange(steps + 1)[:, None]
    X = np.where((at[None, :] >= 0) & (t >= at[None, :]), np.nan, X)
    with np.errstate(invalid="ignore", over="ignore"):
        return X, cubic.loss(X, r), cubic.sharpness(X, r), at


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(11)
    n = 1500
    r = rng.uniform(0.5, 3.3, n)
    x0 = rng.uniform(-1.2, 1.2, n)
    return r, x0


@pytest.mark.parametrize("steps", [1, 70, 400])
def test_cubic_scan_matches_recorded_orbits(points, steps):
    r, x0 = points
    res = scan.cubic(r, x0, steps=steps)
    X, L, S, at = _reference(r, x0, steps)
    np.testing.assert_array_equal(res.diverged_at, at)
    ok = at < 0
    assert ok.any() and (steps == 1 or (~ok).any())
    np.testing.assert_array_equal(res.x[ok], X[-1, ok])
    assert np.all(np.isinf(res.x[~ok]))
    with np.errstate(invalid="ignore"):
        Lm = np.where(np.isfinite(L[1:]), L[1:], -np.inf).max(axis=0)
    np.testing.assert_array_equal(res.max_loss, Lm)
    np.testing.assert_array_equal(res.min_sharpness, np.nanmin(S, axis=0))
    np.testing.assert_array_equal(res.max_sharpness, np.nanmax(S, axis=0))
    labels = regimes.classify_series(L.T, S.T, lr=1.0, diverged=at >= 0)
    np.testing.assert_array_equal(res.regime_names, labels)


def test_cubic_scan_regimes_follow_the_bifurcations():
    """Fixed point for r < 2 (converges), period doubling beyond r = 2 (edge of stability,
    sharpness oscillating across 2), escape beyond r = 3."""
    r = np.array([1.5, 1.9, 2.1, 2.5, 2.9, 3.2])
    res = scan.cubic(r, 0.3, steps=4000)
    names = list(res.regime_names)
    assert names[-1] == "divergence"
    assert all(n == "edge_of_stability" for n in names[2:5])
    assert names[0] != "edge_of_stability" and names[1] != "edge_of_stability"
    assert np.all(res.converged_at[:2] > 0) and np.all(res.converged_at[2:] == -1)


def test_cubic_scan_isa_and_thread_invariance(points):
    r, x0 = points
    base = scan.cubic(r, x0, steps=300, threads=1, isa="baseline")
    for isa in scan.available_isas():
        other = scan.cubic(r, x0, steps=300, threads=2, isa=isa)
        for name in ("x", "diverged_at", "regime", "max_loss", "min_sharpness", "late_edge_ratio", "converged_at"):
            np.testing.assert_array_equal(getattr(other, name), getattr(base, name), err_msg=f"{isa}: {name}")


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(r=np.nan), "r"), (dict(x0=np.inf), "x0"), (dict(steps=0), "steps"),
     (dict(r=np.ones(2), x0=np.ones(3)), "broadcast")],
)
def test_cubic_scan_bad_input(kwargs, match):
    args = dict(r=2.0, x0=0.3, steps=10)
    args.update(kwargs)
    r, x0 = args.pop("r"), args.pop("x0")
    with pytest.raises(ValueError, match=match):
        scan.cubic(r, x0, **args)


def test_cubic_grid_equals_point_scan_and_draws(tmp_path):
    from click.testing import CliRunner

    from sharpdyn.cli import main

    axes = {"r": np.linspace(1.2, 3.2, 21), "x0": np.linspace(-1.1, 1.1, 11)}
    ds = scan.grid(axes, model="cubic", steps=300, chunk_size=50, progress=False)
    r, x0 = np.meshgrid(axes["r"], axes["x0"], indexing="ij")
    ref = scan.cubic(r, x0, steps=300)
    for name in ("x", "regime", "diverged_at", "max_sharpness"):
        np.testing.assert_array_equal(ds[name].values, getattr(ref, name), err_msg=name)
    with pytest.raises(ValueError, match="not an axis of the cubic map"):
        scan.grid({"r": [2.0], "c": [1.0]}, model="cubic", steps=10, progress=False)
    out = tmp_path / "cubic"
    res = CliRunner().invoke(main, ["scan", "--model", "cubic", "--r", "1.2:3.2:30", "--x0", "-1:1:20", "--steps",
                                    "200", "--format", "npz", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert (out / "phase_diagram.png").stat().st_size > 10_000
    assert (out / "heatmap_lr_final_sharpness.png").stat().st_size > 10_000
