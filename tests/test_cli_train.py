"""``sharpdyn train``: runs end to end on the bundled digits and writes data + figure."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from sharpdyn.cli import main

import torch_reference  # noqa: F401  (one torch thread)


def test_train_command_writes_trajectories_figure_summary(tmp_path):
    res = CliRunner().invoke(main, ["train", "--n", "120", "--width", "16", "--steps", "30", "--c", "0.5", "--lr",
                                    "0.01", "--sharpness-every", "5", "--dtype", "float64", "--device", "cpu",
                                    "--lyapunov", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [r["label"] for r in summary["runs"]] == ["lr0.01", "c0.5"]
    assert summary["runs"][1]["lr"] == np.float64(0.5 / summary["sharpness_init"])
    with np.load(tmp_path / "trajectory_c0.5.npz") as z:
        assert z["loss"].shape == (31,) and np.array_equal(z["sharpness_steps"], [0, 5, 10, 15, 20, 25, 30])
        assert z["sharpness"][0] == np.float64(summary["sharpness_init"]) or abs(
            z["sharpness"][0] / summary["sharpness_init"] - 1) < 1e-6
    assert (tmp_path / "training.png").stat().st_size > 20_000


def test_train_command_netcdf_and_cnn(tmp_path):
    res = CliRunner().invoke(main, ["train", "--n", "40", "--arch", "myrtle", "--width", "4", "--steps", "4",
                                    "--lr", "0.05", "--sharpness-every", "2", "--eig-tol", "1e-4", "--format", "netcdf",
                                    "--device", "cpu", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    import xarray as xr

    with xr.open_dataset(tmp_path / "trajectory_lr0.05.nc") as ds:
        assert ds.sizes["step"] == 5 and ds.sizes["sharpness_step"] == 3
        assert ds.attrs["config_eig_tol"] == 1e-4


def test_train_command_missing_files_is_a_clean_error(tmp_path):
    res = CliRunner().invoke(main, ["train", "--dataset", "mnist", "--root", str(tmp_path), "--out", str(tmp_path)])
    assert res.exit_code != 0
    assert "train-images-idx3-ubyte" in res.output
