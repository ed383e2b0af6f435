"""The compiled scan kernel (sharpdyn.scan.uv) against a pure-NumPy orbit reference, the
foundation's single-run API, and itself under other threads, chunkings and SIMD paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpdyn import regimes, scan, uv

from scan_reference import late_divergers, random_points, statistics

STAT_FIELDS = ("initial_loss", "max_loss", "final_loss", "initial_sharpness", "final_sharpness",
               "min_sharpness", "max_sharpness", "converged_at")


def _kappa(width, x=1.0):
    return (np.asarray(width, dtype=np.float64) ** -0.5) ** 2 * (x * x)


@pytest.fixture(scope="module")
def grouped():
    return random_points(np.random.default_rng(7), 60)


@pytest.fixture(scope="module")
def points(grouped):
    """Regime-spread points plus late divergers (so replays cross the kernel's 64-step chunks)."""
    late = late_divergers(np.random.default_rng(8), 400)
    return tuple(np.concatenate([a, b]) for a, b in zip(grouped[:5], late))


@pytest.mark.parametrize("steps, every", [(1, 1), (63, 1), (130, 1), (300, 7)],
                         ids=["T1", "T63", "T130", "T300-every7"])
def test_matches_numpy_reference_bit_for_bit(points, steps, every):
    lr, lam, f0, width, y = points
    res = scan.uv(lr, lam, f0, width=width, y=y, steps=steps, sharpness_every=every)
    ref = statistics(lr, lam, f0, _kappa(width), y, steps, every=every)
    np.testing.assert_array_equal(res.diverged_at, ref["diverged_at"])
    ok = ref["diverged_at"] < 0
    assert ok.any() and (steps == 1 or (~ok).any())
    np.testing.assert_array_equal(res.f[ok], ref["f"][ok])
    np.testing.assert_array_equal(res.ntk[ok], ref["ntk"][ok])
    for name in STAT_FIELDS:
        np.testing.assert_array_equal(getattr(res, name), ref[name], err_msg=name)
    np.testing.assert_array_equal(res.late_edge_ratio[ok], lr[ok] * ref["late_max_sharpness"][ok] / 2.0)
    np.testing.assert_array_equal(res.late_loss_increase, ref["late_loss_increase"])


def test_diverged_points_report_step_and_infinite_state(points):
    lr, lam, f0, width, y = points
    res = scan.uv(lr, lam, f0, width=width, y=y, steps=200)
    div = res.diverged
    assert div.sum() > 50
    assert np.all(res.diverged_at[div] >= 1) and np.all(res.diverged_at[~div] == -1)
    assert np.all(np.isinf(res.f[div])) and np.all(res.ntk[div] == np.inf)
    assert np.all(np.isfinite(res.f[~div])) and np.all(np.isfinite(res.ntk[~div]))
    # the step count reaches across chunk boundaries of the kernel (64 steps)
    assert np.sum(res.diverged_at[div] > 64) > 10


def test_divergence_at_first_step_keeps_initial_statistics():
    res = scan.uv(1e7, 1.0, 0.0, width=1.0, y=1.0, steps=10)
    assert bool(res.diverged) and int(res.diverged_at) == 1
    assert res.max_loss == -np.inf and res.final_loss == 0.5 and res.regime_names == "divergence"


def test_labels_equal_foundation_single_runs(grouped):
    """Acceptance: the scan's regime equals uv.iterate + uv.classify at hundreds of points."""
    lr, lam, f0, width, y, group = grouped
    steps = 400
    res = scan.uv(lr, lam, f0, width=width, y=y, steps=steps)
    labels = res.regime_names
    counts = {name: int(np.sum(labels == name)) for name in regimes.REGIMES}
    assert all(counts[name] >= 5 for name in regimes.REGIMES), counts
    assert lr.size >= 300
    for g in np.unique(group):
        sel = group == g
        tr = uv.iterate(f0[sel], lam[sel], lr=lr[sel], width=int(width[sel][0]), steps=steps, y=float(y[sel][0]))
        np.testing.assert_array_equal(uv.classify(tr), labels[sel])
        np.testing.assert_array_equal(tr.diverged_at, res.diverged_at[sel])
        ok = ~tr.diverged
        np.testing.assert_array_equal(tr.f[ok, -1], res.f[sel][ok])
        np.testing.assert_array_equal(tr.ntk[ok, -1], res.ntk[sel][ok])


def test_summary_matches_regimes_summarize(grouped):
    """The kernel's statistics equal regimes.summarize of the recorded single runs."""
    lr, lam, f0, width, y, group = grouped
    sel = group == 0
    steps = 250
    res = scan.uv(lr[sel], lam[sel], f0[sel], width=width[sel], y=y[sel], steps=steps)
    tr = uv.iterate(f0[sel], lam[sel], lr=lr[sel], width=int(width[sel][0]), steps=steps, y=float(y[sel][0]))
    ref = regimes.summarize(tr.loss, tr.sharpness, lr=tr.lr, diverged=tr.diverged)
    got = res.summary()
    ok = ~tr.diverged
    for name in ("initial_loss", "max_loss", "final_loss", "initial_sharpness", "final_sharpness"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name), err_msg=name)
    for name in ("late_edge_ratio", "late_loss_increase"):
        np.testing.assert_array_equal(getattr(got, name)[ok], getattr(ref, name)[ok], err_msg=name)
    np.testing.assert_array_equal(regimes.label_codes(got), res.regime)


def test_thread_and_chunk_invariance(points):
    lr, lam, f0, width, y = points
    one = scan.uv(lr, lam, f0, width=width, y=y, steps=150, threads=1)
    two = scan.uv(lr, lam, f0, width=width, y=y, steps=150, threads=2)
    cut = [0, 5, 37, 300, lr.size]
    pieces = [scan.uv(lr[a:b], lam[a:b], f0[a:b], width=width[a:b], y=y[a:b], steps=150)
              for a, b in zip(cut[:-1], cut[1:])]
    for name in ("f", "ntk", "diverged_at", "regime", *STAT_FIELDS, "late_edge_ratio"):
        ref = getattr(one, name)
        np.testing.assert_array_equal(getattr(two, name), ref, err_msg=name)
        np.testing.assert_array_equal(np.concatenate([getattr(p, name) for p in pieces]), ref, err_msg=name)


def test_every_instruction_set_gives_the_same_bits(points):
    lr, lam, f0, width, y = points
    isas = scan.available_isas()
    assert "baseline" in isas and scan.default_isa() in isas
    results = [scan.uv(lr, lam, f0, width=width, y=y, steps=200, isa=isa) for isa in isas]
    for other, isa in zip(results[1:], isas[1:]):
        for name in ("f", "ntk", "diverged_at", "regime", *STAT_FIELDS, "late_edge_ratio"):
            np.testing.assert_array_equal(getattr(other, name), getattr(results[0], name), err_msg=f"{isa}: {name}")


def test_broadcasting_and_shapes():
    lr = np.linspace(0.1, 3.0, 5)[:, None]
    f0 = np.linspace(-1, 1, 4)[None, :]
    res = scan.uv(lr, 1.0, f0, width=256, steps=20)
    assert res.shape == (5, 4) and res.regime.dtype == np.int8
    assert res.lr.shape == (5, 4) and np.all(res.c == res.lr)
    scalar = scan.uv(0.5, 1.0, 0.0, width=16, steps=5)
    assert scalar.shape == () and isinstance(scalar.regime_names.item(), str)


def test_normalized_scan_follows_the_normalized_map():
    c = np.linspace(0.3, 4.2, 9)[:, None]
    Y = np.linspace(0.0, 1.5, 7)[None, :]
    res = scan.uv_normalized(c, Y, steps=80)
    with pytest.warns(uv.DivergenceWarning):
        g, z = uv.normalized_map(-Y + 0 * c, c + 0 * Y, Y=Y, steps=80)
    ok = ~res.diverged
    np.testing.assert_array_equal((res.f - res.y)[ok], g[ok])
    np.testing.assert_array_equal(res.ntk[ok], z[ok])
    np.testing.assert_array_equal(res.diverged, ~np.isfinite(g))


def test_large_width_catapult_phases():
    """Y -> 0 (large width, SP): lazy below c = 2, catapult in (2, 4), divergence above 4."""
    c = np.array([0.5, 1.0, 1.9, 2.1, 3.0, 3.9, 4.1, 5.0])
    res = scan.uv(c, 1.0, 0.0, width=2.0**24, y=1e-3, steps=3000)
    names = list(res.regime_names)
    assert names[:3] == ["lazy"] * 3
    assert names[3:6] == ["catapult"] * 3
    assert names[6:] == ["divergence"] * 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=np.nan), "lr"),
        (dict(lr=-1.0), "lr"),
        (dict(ntk0=-1.0), "ntk0"),
        (dict(f0=np.inf), "f0"),
        (dict(width=0), "width"),
        (dict(steps=0), "steps"),
        (dict(steps=2.5), "steps"),
        (dict(sharpness_every=0), "sharpness_every"),
        (dict(param="xp"), "param"),
        (dict(isa="sse9"), "isa"),
        (dict(lr=np.ones(3), f0=np.ones(4)), "broadcast"),
        (dict(lr=[]), "lr"),
    ],
    ids=lambda v: str(v)[:30] if isinstance(v, str) else None,
)
def test_bad_input_raises_value_error(kwargs, match):
    args = dict(lr=0.5, ntk0=1.0, f0=0.0, width=16, steps=10)
    args.update(kwargs)
    lr, ntk0, f0 = args.pop("lr"), args.pop("ntk0"), args.pop("f0")
    with pytest.raises(ValueError, match=match):
        scan.uv(lr, ntk0, f0, **args)


def test_criteria_type_is_checked():
    with pytest.raises(TypeError, match="criteria"):
        scan.uv(0.5, 1.0, 0.0, width=16, steps=10, criteria={"eos_band": 0.1})


@pytest.mark.parametrize(
    "criteria",
    [regimes.RegimeCriteria(window_fraction=1.0, eos_band=0.2),
     regimes.RegimeCriteria(window_fraction=0.37, rel_change=0.2, spike_factor=1.5, converged_rtol=1e-6)],
    ids=["whole-run-window", "loose"],
)
def test_labels_follow_custom_criteria(grouped, criteria):
    lr, lam, f0, width, y, group = grouped
    sel = group == 2
    steps = 151
    res = scan.uv(lr[sel], lam[sel], f0[sel], width=width[sel], y=y[sel], steps=steps, criteria=criteria)
    tr = uv.iterate(f0[sel], lam[sel], lr=lr[sel], width=int(width[sel][0]), steps=steps, y=float(y[sel][0]))
    np.testing.assert_array_equal(res.regime_names, uv.classify(tr, criteria=criteria))


@settings(max_examples=60, deadline=None)
@given(
    c=st.floats(0.05, 6.0),
    ntk0=st.floats(0.01, 10.0),
    f0=st.floats(-5.0, 5.0),
    y=st.floats(-3.0, 3.0),
    width=st.integers(1, 5000),
    steps=st.integers(1, 150),
)
def test_property_scan_point_equals_single_run(c, ntk0, f0, y, width, steps):
    lr = c / ntk0
    res = scan.uv(lr, ntk0, f0, width=width, y=y, steps=steps)
    tr = uv.iterate(f0, ntk0, lr=lr, width=width, steps=steps, y=y)
    assert str(res.regime_names) == uv.classify(tr)
    assert int(res.diverged_at) == int(tr.diverged_at)
    if not tr.diverged:
        assert res.f == tr.f[-1] and res.ntk == tr.ntk[-1]
        assert res.max_sharpness == np.max(tr.sharpness) and res.min_sharpness == np.min(tr.sharpness)
