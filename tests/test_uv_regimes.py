"""Regime labels on UV runs: the large-width catapult picture and the label definitions."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import regimes, uv


def _sp_run(c: float, width: int = 4096, steps: int = 1000, seed: int = 0):
    u0, v0 = uv.init(width, seed=seed)
    ntk0 = uv.train(u0, v0, lr=1.0, steps=1).ntk[0]
    lr = c / ntk0
    return uv.train(u0, v0, lr=lr, steps=steps), lr


@pytest.mark.parametrize("c", [0.5, 1.0, 1.5, 1.9])
def test_large_width_lazy_below_c2(c):
    tr, lr = _sp_run(c)
    assert uv.classify(tr) == "lazy"
    assert lr * tr.ntk[-1] == pytest.approx(c, rel=2e-3)
    assert tr.loss[-1] < 1e-20 and not tr.diverged


@pytest.mark.parametrize("c", [2.2, 2.5, 3.0, 3.5, 3.9])
def test_large_width_catapult_between_c2_and_c4(c):
    tr, lr = _sp_run(c)
    assert uv.classify(tr) == "catapult"
    assert tr.loss.max() > 10 * tr.loss[0]  # the spike
    assert lr * tr.ntk[-1] < 2.0 and lr * tr.sharpness[-1] < 2.0
    assert tr.loss[-1] < 1e-12 * tr.loss.max()


@pytest.mark.parametrize("c", [4.2, 5.0, 8.0])
def test_large_width_diverges_above_c4(c):
    tr, lr = _sp_run(c)
    assert uv.classify(tr) == "divergence"
    assert tr.diverged and tr.diverged_at > 0
    assert np.all(np.isfinite(tr.loss[: tr.diverged_at]))
    assert np.all(np.isnan(tr.loss[tr.diverged_at :]))


def test_batched_runs_report_divergence_per_run_without_failing_the_batch():
    width = 1024
    u0, v0 = uv.init(width, batch=4, seed=3)
    ntk0 = uv.train(u0, v0, lr=1.0, steps=1).ntk[:, 0]
    c = np.array([1.0, 3.0, 6.0, 0.2])
    tr = uv.train(u0, v0, lr=c / ntk0, steps=400)
    assert tr.loss.shape == (4, 401)
    assert tr.diverged.tolist() == [False, False, True, False]
    assert tr.diverged_at[2] > 0 and tr.diverged_at[[0, 1, 3]].tolist() == [-1, -1, -1]
    labels = uv.classify(tr)
    assert labels.tolist() == ["lazy", "catapult", "divergence", "lazy"]


def test_sharpening_and_reduction_follow_the_gradient_flow_invariant():
    """|f0| < |y| (same sign) sharpens; |f0| > |y| reduces (paper, conserved lambda^2 - 4 kappa f^2)."""
    width, lr = 10, 0.01
    up = uv.iterate(0.1, 0.5, lr=lr, width=width, y=2.0, steps=20000)
    down = uv.iterate(2.5, 2.5, lr=lr, width=width, y=0.5, steps=20000)
    assert uv.classify(up) == "progressive_sharpening"
    assert uv.classify(down) == "sharpness_reduction"


def test_edge_of_stability_for_Y_above_one_and_not_below():
    lr, width = 0.5, 64
    sk = 1.0 / np.sqrt(width)
    for Y, want in ((0.5, {"lazy", "catapult", "progressive_sharpening", "sharpness_reduction"}),
                    (1.1, {"edge_of_stability"}), (1.5, {"edge_of_stability"})):
        tr = uv.iterate(0.2 / (lr * sk), 1.2 / lr, lr=lr, width=width, y=Y / (lr * sk), steps=3000)
        assert uv.classify(tr) in want, (Y, uv.classify(tr))


def test_label_definitions_on_synthetic_series():
    T = 101
    lr = 1.0
    flat = np.full(T, 1.0)
    decaying = 0.9 ** np.arange(T)
    # lazy: converging loss, constant sharpness
    assert regimes.classify_series(decaying, flat, lr=lr) == "lazy"
    # sharpening / reduction
    assert regimes.classify_series(decaying, np.linspace(1.0, 1.5, T), lr=lr) == "progressive_sharpening"
    assert regimes.classify_series(decaying, np.linspace(1.5, 1.0, T), lr=lr) == "sharpness_reduction"
    # catapult: loss spike, sharpness ends below 2/lr
    spike = decaying.copy()
    spike[5] = 10.0
    assert regimes.classify_series(spike, np.linspace(2.5, 1.0, T), lr=lr) == "catapult"
    # edge of stability: oscillating loss that does not converge, sharpness at 2/lr
    osc = 1.0 + 0.1 * (-1.0) ** np.arange(T)
    assert regimes.classify_series(osc, np.full(T, 2.05), lr=lr) == "edge_of_stability"
    # the same oscillation with sharpness far below 2/lr is not EoS
    assert regimes.classify_series(osc, np.full(T, 1.0), lr=lr) != "edge_of_stability"
    # divergence wins
    bad = decaying.copy()
    bad[50:] = np.nan
    assert regimes.classify_series(bad, flat, lr=lr) == "divergence"
    # sparse sharpness samples are accepted
    assert regimes.classify_series(decaying, np.linspace(1.0, 1.5, 11), lr=lr) == "progressive_sharpening"


def test_late_window_is_even_and_bounded():
    for n in range(2, 500):
        w = regimes.late_window(n)
        assert 2 <= w <= n
        assert w % 2 == 0 or w == n
    assert regimes.late_window(1000) == 100


def test_criteria_reject_bad_values():
    with pytest.raises(ValueError, match="eos_band"):
        regimes.RegimeCriteria(eos_band=float("nan"))
    with pytest.raises(ValueError, match="window_fraction"):
        regimes.RegimeCriteria(window_fraction=2.0)


def test_trajectory_save_round_trip(tmp_path):
    tr, lr = _sp_run(1.5, width=64, steps=20)
    path = tr.save(tmp_path / "run.npz")
    data = np.load(path)
    np.testing.assert_array_equal(data["sharpness"], tr.sharpness)
    assert float(data["lr"]) == pytest.approx(lr)
    assert int(data["width"]) == 64
