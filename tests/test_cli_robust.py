"""Command-line robustness (issue #12, part 5): ``sharpdyn scan --overwrite``, NaN in an axis
spec, compute vs I/O time in summary.json, a store that a plain ``xarray.open_zarr`` opens, and
``sharpdyn lyapunov --spectra`` at a diverging parameter."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from sharpdyn import scan
from sharpdyn.cli import main
from sharpdyn.scan import grids as scan_grids


def _scan(out, *extra, c="0.2:5:12", Y="0.05:1.6:8", steps="120"):
    return CliRunner().invoke(main, ["scan", "--c", c, "--Y", Y, "--steps", steps, "--out", str(out), "--no-progress",
                                     "--heatmap", "max_sharpness", *extra])


def _reference(c, Y, steps):
    cc, YY = np.meshgrid(c, Y, indexing="ij")
    return scan.uv_normalized(cc, YY, steps=steps)


def test_scan_overwrite_replaces_a_different_scan(tmp_path):
    import xarray as xr

    assert _scan(tmp_path).exit_code == 0
    res = _scan(tmp_path, c="0.5:4:6", Y="0.1,0.9,1.3", steps="80")
    assert res.exit_code == 2 and "holds a different scan" in res.output and "--overwrite" in res.output, res.output
    res = _scan(tmp_path, "--overwrite", c="0.5:4:6", Y="0.1,0.9,1.3", steps="80")
    assert res.exit_code == 0, res.output
    ref = _reference(np.linspace(0.5, 4, 6), np.array([0.1, 0.9, 1.3]), 80)
    with xr.open_zarr(tmp_path / "scan.zarr") as ds:
        np.testing.assert_array_equal(ds["regime"].values, ref.regime)
        np.testing.assert_array_equal(ds["Y"].values, [0.1, 0.9, 1.3])
        assert int(ds.attrs["steps"]) == 80
    # the same command again resumes (nothing recomputed), with or without --overwrite's absence
    res = _scan(tmp_path, c="0.5:4:6", Y="0.1,0.9,1.3", steps="80")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "summary.json").read_text())["timing"]["computed_points"] == 0


def test_scan_overwrite_refuses_what_is_not_a_zarr_group(tmp_path):
    (tmp_path / "scan.zarr").mkdir()
    (tmp_path / "scan.zarr" / "notes.txt").write_text("mine")
    res = _scan(tmp_path, "--overwrite")
    assert res.exit_code == 2 and "not a Zarr group" in res.output, res.output
    assert (tmp_path / "scan.zarr" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("option, spec, what", [
    ("--c", "nan", "NaN"), ("--c", "0:nan:4", "NaN"), ("--Y", "0.1,inf", "infinity"), ("--c", "-inf:1:3", "infinity"),
])
def test_scan_names_nan_and_infinity_with_the_option(tmp_path, option, spec, what):
    args = {"--c": "0.5:4:4", "--Y": "0.5"}
    args[option] = spec
    res = CliRunner().invoke(main, ["scan", "--c", args["--c"], "--Y", args["--Y"], "--steps", "10",
                                    "--out", str(tmp_path), "--no-progress"])
    assert res.exit_code == 2, res.output
    assert f"{option}: {what} is not a valid value" in res.output, res.output
    assert not (tmp_path / "scan.zarr").exists()


def test_scan_summary_separates_kernel_time_from_store_io(tmp_path, monkeypatch):
    """Slow the store down by a known 0.25 s per chunk: it must show up as I/O, not compute."""
    delay, chunks = 0.25, 3
    write = scan_grids._ZarrStore.write

    def slow_write(self, k, data):
        time.sleep(delay)
        return write(self, k, data)

    monkeypatch.setattr(scan_grids._ZarrStore, "write", slow_write)
    res = _scan(tmp_path, "--chunk-size", "32", c="0.2:5:12", Y="0.05:1.6:8", steps="200")
    assert res.exit_code == 0, res.output
    t = json.loads((tmp_path / "summary.json").read_text())["timing"]
    assert t["computed_points"] == 96 and 12 * 8 // 32 == chunks
    assert t["io_seconds"] >= chunks * delay
    assert 0 < t["compute_seconds"] < delay
    assert t["compute_point_steps_per_second"] == pytest.approx(96 * 200 / t["compute_seconds"])
    assert t["compute_seconds"] + t["io_seconds"] <= t["scan_wall_seconds"]
    assert t["wall_point_steps_per_second"] == pytest.approx(96 * 200 / t["scan_wall_seconds"])


def test_grid_timings_count_computed_and_resumed_points(tmp_path):
    axes = {"c": np.linspace(0.5, 4, 10), "Y": np.linspace(0.1, 1.4, 5)}
    first: dict = {}
    ds = scan.grid(axes, steps=50, store=tmp_path / "s.zarr", chunk_size=10, progress=False, timings=first)
    assert first["computed_points"] == 50 and first["compute_seconds"] > 0 and first["store_seconds"] > 0
    assert first["wall_seconds"] >= first["compute_seconds"] + first["store_seconds"]
    again: dict = {}
    ds2 = scan.grid(axes, steps=50, store=tmp_path / "s.zarr", chunk_size=10, progress=False, timings=again)
    assert again["computed_points"] == 0 and again["compute_seconds"] == 0.0
    np.testing.assert_array_equal(ds["regime"].values, ds2["regime"].values)


def test_plain_open_zarr_shows_the_scan_with_coordinates(tmp_path):
    """`xarray.open_zarr(store)` with no options: no warning (pytest turns warnings into errors),
    the coordinates, the regime codes of an independent run and the scan's attributes."""
    import xarray as xr

    assert _scan(tmp_path, c="0.2:5:12", Y="0.05:1.6:8", steps="120").exit_code == 0
    with xr.open_zarr(tmp_path / "scan.zarr") as ds:
        np.testing.assert_array_equal(ds["c"].values, np.linspace(0.2, 5, 12))
        np.testing.assert_array_equal(ds["Y"].values, np.linspace(0.05, 1.6, 8))
        assert list(ds["regime"].dims) == ["c", "Y"] and set(ds.coords) == {"c", "Y"}
        ref = _reference(np.linspace(0.2, 5, 12), np.linspace(0.05, 1.6, 8), 120)
        np.testing.assert_array_equal(ds["regime"].values, ref.regime)
        assert ds["regime"].attrs["flag_meanings"].split()[0] == "divergence"
        assert int(ds.attrs["steps"]) == 120 and ds.attrs["model"] == "function"
    import zarr

    group = zarr.open_group(str(tmp_path / "scan.zarr"), mode="r")
    assert group.metadata.consolidated_metadata is not None  # consolidated, so one read opens it


def test_lyapunov_spectra_divergence_is_an_error_that_names_it(tmp_path):
    common = ["lyapunov", "--num", "40", "--transient", "100", "--steps", "200", "--doublings", "0"]
    # independent: the cubic map x -> r x (1 - x^2) from x0 = 0.3 at r = 9.9 leaves every bound at once
    x, step = 0.3, 0
    while abs(x) < 1e6:
        x = 9.9 * x * (1.0 - x * x)
        step += 1
    assert step < 10
    res = CliRunner().invoke(main, [*common, "--spectra", "9.9", "--out", str(tmp_path / "a")])
    assert res.exit_code == 1, res.output
    assert "--spectra" in res.output and "r = 9.9" in res.output and "diverged" in res.output
    assert "DivergenceWarning" not in res.output
    assert not (tmp_path / "a" / "spectra_cubic.png").exists()
    # mixed: the bounded orbit's spectrum is drawn, the diverged one named, the exit status says so
    res = CliRunner().invoke(main, [*common, "--spectra", "2.2,9.9", "--out", str(tmp_path / "b")])
    assert res.exit_code == 1 and "r = 9.9" in res.output, res.output
    assert (tmp_path / "b" / "spectra_cubic.png").exists()
    summary = json.loads((tmp_path / "b" / "lyapunov_cubic.json").read_text())
    assert summary["spectra_peaks"]["r = 2.2"][0] == 0.5  # period 2
    assert [s.split(" (")[0] for s in summary["spectra_diverged"]] == ["r = 9.9"]
