"""The learning rate of a scan is computed once (``lr = c / ntk0``, or 1 in map units) and
carried: the grid runs with it, its edge ratio and labels use it, the Dataset holds it, and the
heat maps and the CLI summary read it from there. Checked against learning rates and orbits
computed here with NumPy (scan_reference), and by changing the carried value to see that the
figure follows it."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
from click.testing import CliRunner

from sharpdyn import scan
from sharpdyn.cli import main
from sharpdyn.figures import scan as fscan

from scan_reference import statistics

matplotlib.use("Agg")


def _heat(fig) -> np.ndarray:
    """The values a heat map draws (NaN where blank), in (x, y) order."""
    return np.ma.filled(fig.axes[0].collections[0].get_array().astype(float), np.nan)


def test_grid_from_c_runs_and_labels_with_c_over_ntk0():
    c, f0 = np.linspace(0.5, 4.5, 9), np.array([-0.8, 0.0, 0.6])
    ntk0, width, y, steps = 1.7, 64.0, 0.9, 150
    ds = scan.grid({"c": c, "f0": f0}, ntk0=ntk0, width=width, y=y, steps=steps, progress=False)
    lr = np.broadcast_to((c / ntk0)[:, None], (c.size, f0.size))  # computed here, independently
    np.testing.assert_array_equal(ds["lr"].values, lr)
    np.testing.assert_array_equal(scan.learning_rate(ds).values, lr)
    # the run and its edge ratio used that lr: a NumPy orbit from the same lr agrees bit for bit
    ref = statistics(lr, ntk0, f0[None, :], 1.0 / width, y, steps)
    ok = ref["diverged_at"] < 0
    assert ok.any() and (~ok).any()
    np.testing.assert_array_equal(ds["final_sharpness"].values.ravel(), ref["final_sharpness"])
    np.testing.assert_array_equal(ds["late_edge_ratio"].values.ravel()[ok],
                                  lr.ravel()[ok] * ref["late_max_sharpness"][ok] / 2.0)


def test_heatmap_reads_the_carried_learning_rate():
    ds = scan.grid({"c": np.linspace(0.5, 3.5, 7), "f0": [0.0, 0.4]}, ntk0=2.0, width=32, steps=80, progress=False)
    expected = (np.linspace(0.5, 3.5, 7)[:, None] / 2.0) * ds["final_sharpness"].values
    expected = np.where(ds["diverged"].values, np.nan, expected)
    np.testing.assert_array_equal(_heat(fscan.plot_heatmap(ds, "lr_final_sharpness")), expected.T)
    # the figure reads the Dataset's lr, it does not derive it again from c and ntk0
    halved = ds.assign(lr=ds["lr"] / 2)
    np.testing.assert_array_equal(_heat(fscan.plot_heatmap(halved, "lr_final_sharpness")), expected.T / 2)


@pytest.mark.parametrize("model", ["normalized", "cubic"])
def test_map_units_carry_lr_one_as_an_attribute(model):
    if model == "cubic":
        ds = scan.grid({"r": np.linspace(1.5, 3.2, 8), "x0": [0.3, 0.7]}, model="cubic", steps=60, progress=False)
    else:
        ds = scan.grid({"c": np.linspace(0.5, 4.5, 8), "Y": [0.2, 1.2]}, steps=60, progress=False)
    assert "lr" not in ds and ds.attrs["lr"] == 1.0 and scan.learning_rate(ds) == 1.0
    S = np.where(ds["diverged"].values, np.nan, ds["final_sharpness"].values)
    np.testing.assert_array_equal(_heat(fscan.plot_heatmap(ds, "lr_final_sharpness")), S.T)
    ds.attrs["lr"] = 0.25
    np.testing.assert_array_equal(_heat(fscan.plot_heatmap(ds, "lr_final_sharpness")), 0.25 * S.T)
    del ds.attrs["lr"]
    with pytest.raises(ValueError, match="no learning rate"):
        scan.learning_rate(ds)
    with pytest.raises(ValueError, match="no learning rate"):
        fscan.plot_heatmap(ds, "lr_final_sharpness")


def test_point_results_hold_the_learning_rate_they_ran_with():
    c, Y = np.array([0.5, 2.5, 3.5]), np.array([0.1, 0.9])
    res = scan.uv_normalized(c[:, None], Y[None, :], steps=50)
    assert np.all(res.lr == 1.0) and np.array_equal(res.ntk0, np.broadcast_to(c[:, None], res.shape))
    cub = scan.cubic(np.array([1.5, 2.2, 2.9]), 0.4, steps=50)
    assert cub.lr == 1.0
    ok = ~cub.diverged
    assert ok.sum() == 3
    # lr * S in map units is the normalised curvature 3 r x^2 - (r - 1) at the final state
    x, r = cub.x[ok], cub.r[ok]
    np.testing.assert_allclose(cub.lr * cub.final_sharpness[ok], 3.0 * r * x * x - (r - 1.0), rtol=1e-12, atol=1e-12)


def test_weights_scan_over_lr_keeps_it_as_the_coordinate():
    """model="weights" with lr as an axis (it failed at the end, lr being both a variable and a
    coordinate); the function-space map from the drawn state at that lr gives the same run."""
    lr = np.array([0.05, 0.2, 0.6])
    ds = scan.grid({"lr": lr, "y": [0.5, 1.0]}, width=128, steps=100, seed=1, model="weights", progress=False)
    assert "lr" in ds.coords and "lr" not in ds.data_vars
    np.testing.assert_array_equal(np.asarray(scan.learning_rate(ds)), lr)
    yy = np.broadcast_to(np.array([0.5, 1.0])[None, :], ds.f0.shape)
    fs = scan.uv(np.broadcast_to(lr[:, None], ds.f0.shape), ds.ntk0.values, ds.f0.values, width=128, y=yy, steps=100)
    ok = ~ds.diverged.values
    assert ok.sum() >= 4
    np.testing.assert_allclose(ds.f.values[ok], fs.f[ok], rtol=1e-6, atol=1e-9)


def test_cli_summary_reports_the_learning_rates_it_ran(tmp_path):
    out = tmp_path / "s"
    res = CliRunner().invoke(main, ["scan", "--c", "0.5:5:10", "--ntk0", "2", "--width", "16", "--steps", "30",
                                    "--format", "npz", "--heatmap", "lr_final_sharpness", "--out", str(out),
                                    "--no-progress"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lr"] == [0.5 / 2.0, 5.0 / 2.0]
    with np.load(out / "scan.npz") as z:
        np.testing.assert_array_equal(z["lr"], np.linspace(0.5, 5, 10) / 2.0)
    res = CliRunner().invoke(main, ["scan", "--c", "0.5:5:6", "--Y", "0.1,0.9", "--steps", "30", "--format", "npz",
                                    "--out", str(tmp_path / "n"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "n" / "summary.json").read_text())["lr"] == [1.0, 1.0]
