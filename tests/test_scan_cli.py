"""`sharpdyn scan` writes data that reproduce the scan, and figures with a legible legend."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from sharpdyn import regimes, scan
from sharpdyn.cli import main
from sharpdyn.figures.scan import plot_heatmap, plot_phase_diagram


def _png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    return data


def test_scan_command_writes_zarr_figures_and_summary(tmp_path):
    out = tmp_path / "run"
    args = ["scan", "--c", "0.2:5:40", "--Y", "0.05:1.6:30", "--steps", "300", "--out", str(out), "--no-progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for name in ("phase_diagram.png", "heatmap_lr_final_sharpness.png", "heatmap_peak_loss_ratio.png",
                 "heatmap_time_to_converge.png"):
        _png(out / name)
    import xarray as xr

    data = xr.open_zarr(out / "scan.zarr", consolidated=False)
    c, Y = np.meshgrid(np.linspace(0.2, 5, 40), np.linspace(0.05, 1.6, 30), indexing="ij")
    ref = scan.uv_normalized(c, Y, steps=300)
    np.testing.assert_array_equal(data["regime"].values, ref.regime)
    summary = json.loads((out / "summary.json").read_text())
    for i, name in enumerate(regimes.REGIMES):
        assert summary["regime_fractions"][name] == pytest.approx(np.mean(ref.regime == i))
    # running the same command again resumes from the finished store (nothing recomputed)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output


def test_scan_command_npz_physical(tmp_path):
    out = tmp_path / "npz"
    result = CliRunner().invoke(main, ["scan", "--c", "0.5,1.5,2.5,3.5,4.5", "--f0", "-1:1:7", "--width", "1024",
                                       "--steps", "200", "--format", "npz", "--heatmap", "max_sharpness",
                                       "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    with np.load(out / "scan.npz") as npz:
        d = dict(npz)
    c, f0 = np.meshgrid([0.5, 1.5, 2.5, 3.5, 4.5], np.linspace(-1, 1, 7), indexing="ij")
    ref = scan.uv(c, 1.0, f0, width=1024, steps=200)
    np.testing.assert_array_equal(d["regime"], ref.regime)
    np.testing.assert_array_equal(d["coord_c"], [0.5, 1.5, 2.5, 3.5, 4.5])
    _png(out / "heatmap_max_sharpness.png")


@pytest.mark.parametrize(
    "args, match",
    [
        (["--c", "1.0", "--width", "8"], "at least one axis"),
        (["--c", "a:b:c", "--width", "8"], "--c"),
        (["--c", "0.5:5:10"], "width"),
        (["--c", "0.5:5:10", "--width", "8", "--heatmap", "nonsense"], "unknown quantity"),
    ],
)
def test_scan_command_bad_input(tmp_path, args, match):
    result = CliRunner().invoke(main, ["scan", *args, "--steps", "20", "--out", str(tmp_path / "x"), "--no-progress"])
    assert result.exit_code == 2 and match in result.output, result.output


def test_phase_diagram_legend_names_every_regime():
    ds = scan.grid({"c": np.linspace(0.5, 5, 20), "Y": np.linspace(0.05, 1.5, 12)}, steps=200, progress=False)
    fig = plot_phase_diagram(ds)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [t.split(" (")[0] for t in texts] == [n.replace("_", " ") for n in regimes.REGIMES]
    assert ax.get_xlabel().startswith("c = ") and ax.get_ylabel().startswith("Y = ")
    guides = sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--")
    assert guides == [2.0, 4.0]


def test_heatmap_rejects_unknown_quantities_and_3d_scans():
    ds = scan.grid({"c": [1.0, 3.0], "f0": [0.0, 0.5], "y": [1.0, 2.0]}, width=64, steps=20, progress=False)
    with pytest.raises(ValueError, match="select a plane"):
        plot_phase_diagram(ds)
    with pytest.raises(ValueError, match="unknown quantity"):
        plot_heatmap(ds.isel(y=0), "nonsense")
    fig = plot_heatmap(ds.isel(y=0), "lr_final_sharpness")
    assert fig.axes[0].get_title().startswith("η × final sharpness")
