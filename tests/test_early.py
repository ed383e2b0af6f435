"""early_reduction against the UV model's gradient-flow invariant and hand-made series."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import uv
from sharpdyn.early import early_reduction


def test_uv_reduction_matches_the_gradient_flow_invariant():
    """Small lr: lambda^2 - 4 kappa f^2 is conserved, so the sharpness falls from the exact
    lambda_H(0) to lambda_final = sqrt(lambda0^2 + 4 kappa (y^2 - f0^2)) (|f0| > |y|)."""
    width, lr, f0, ntk0, y = 10, 0.002, 2.5, 2.5, 0.5
    tr = uv.iterate(f0, ntk0, lr=lr, width=width, y=y, steps=40_000)
    kappa = 1.0 / width
    lam_final = np.sqrt(ntk0**2 + 4 * kappa * (y**2 - f0**2))
    lam_h0 = ntk0 / 2 + np.sqrt(ntk0**2 / 4 + kappa * (f0 - y) * (3 * f0 - y))
    res = early_reduction(tr.sharpness)
    assert res.lambda0 == pytest.approx(lam_h0, rel=1e-12)
    assert res.ratio == pytest.approx(lam_final / lam_h0, rel=2e-3)
    assert res.lambda_min == pytest.approx(lam_final, rel=2e-3)
    assert res.recovered_at == -1
    # sampled every 100 steps, with the steps given: same answer, step on the grid
    every = np.arange(0, 40_001, 100)
    sub = early_reduction(tr.sharpness[every], steps=every)
    assert sub.ratio == pytest.approx(lam_final / lam_h0, rel=2e-3)
    assert sub.step % 100 == 0


def test_uv_catapult_reduces_below_the_edge():
    """Large width, c = 3: the catapult ends with lr * sharpness < 2 (Lewkowycz et al.), so
    the reduction is below 2 / c and no larger than the final ratio; the spike is inside the window."""
    u0, v0 = uv.init(4096, seed=0)
    ntk0 = uv.train(u0, v0, lr=1.0, steps=1).ntk[0]
    tr = uv.train(u0, v0, lr=3.0 / ntk0, steps=400)
    res = early_reduction(tr.sharpness)
    assert tr.sharpness.max() > tr.sharpness[0]  # the early spike
    assert res.ratio < 2.0 / 3.0
    assert res.ratio <= tr.sharpness[-1] / tr.sharpness[0] + 1e-12
    assert res.lambda_min == tr.sharpness[: 1 + res.step].min()


def test_hand_made_series():
    s = np.array([
        [5, 4, 3, 2.5, 3, 4, 5.5, 6, 2],       # dip to 2.5 at index 3, back above 5 at 6
        [5, 7, 9, 3, 2, 2.5, 6, 1, 1],         # catapult spike, then the drop to 2
        [1, 2, 3, 4, 5, 6, 7, 8, 9],           # no reduction
        [5, 4, 3, 3.5, 3.2, 3.1, 3.3, 3.4, 4],  # never regains 5
    ], dtype=float)
    res = early_reduction(s)
    np.testing.assert_allclose(res.ratio, [0.5, 0.4, 1.0, 0.6])
    np.testing.assert_array_equal(res.step, [3, 4, 0, 2])
    np.testing.assert_array_equal(res.recovered_at, [6, 6, -1, -1])
    np.testing.assert_allclose(res.lambda0, [5, 5, 1, 5])
    np.testing.assert_allclose(res.lambda_min, [2.5, 2, 1, 3])
    steps = np.arange(9) * 10
    res10 = early_reduction(s, steps=steps)
    np.testing.assert_array_equal(res10.step, [30, 40, 0, 20])
    cut = early_reduction(s, steps=steps, max_step=30)
    np.testing.assert_allclose(cut.ratio, [0.5, 0.6, 1.0, 0.6])


def test_min_drop_keeps_a_shallow_wobble_from_closing_the_window():
    s = np.array([5, 4.9, 5.2, 7, 3, 2.8, 6, 1])
    plain = early_reduction(s)
    assert plain.ratio == pytest.approx(0.98) and plain.step == 1 and plain.recovered_at == 2
    deep = early_reduction(s, min_drop=0.05)
    assert deep.ratio == pytest.approx(0.56) and deep.step == 5 and deep.recovered_at == 6
    shallow = np.array([5, 4.9, 5.2, 5.1])  # no 5 % dip: the plain rule
    assert early_reduction(shallow, min_drop=0.05).ratio == pytest.approx(0.98)
    with pytest.raises(ValueError, match="min_drop"):
        early_reduction(s, min_drop=1.0)


def test_vectorised_and_nan_aware():
    base = np.array([4.0, 3.0, 2.0, 3.0, 5.0, 6.0])
    s = np.stack([base, base * 2, np.where(np.arange(6) > 3, np.nan, base)]).reshape(3, 1, 6)
    res = early_reduction(s)
    assert res.ratio.shape == (3, 1)
    np.testing.assert_allclose(res.ratio[:2, 0], [0.5, 0.5])
    assert np.isnan(res.ratio[2, 0]) and res.step[2, 0] == -1 and np.isnan(res.lambda_min[2, 0])
    assert early_reduction(np.array([-1.0, -2.0])).ratio != early_reduction(np.array([-1.0, -2.0])).ratio


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="steps"):
        early_reduction(np.ones(5), steps=np.arange(4))
    with pytest.raises(ValueError, match="steps"):
        early_reduction(np.ones(3), steps=[0, 2, 1])
    with pytest.raises(ValueError, match="sharpness"):
        early_reduction(np.float64(3.0))
    with pytest.raises(ValueError, match="sharpness"):
        early_reduction(np.ones(4) * 1j)
    with pytest.raises(ValueError, match="max_step"):
        early_reduction(np.ones(4), steps=[5, 6, 7, 8], max_step=1)
