"""The orbit and lyapunov commands write data and figures, and reject bad ranges."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from sharpdyn import chaos
from sharpdyn.cli import main


def test_orbit_writes_data_that_matches_the_api(tmp_path):
    res = CliRunner().invoke(main, ["orbit", "--num", "40", "--transient", "100", "--keep", "20", "--min", "2.0",
                                    "--max", "2.9", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    d = chaos.orbit_diagram("cubic", np.linspace(2.0, 2.9, 40), x0=0.3, n_transient=100, n_keep=20)
    with np.load(tmp_path / "orbit_cubic_state.npz") as z:
        np.testing.assert_array_equal(z["states"], d.states)
    assert (tmp_path / "orbit_cubic_state.png").stat().st_size > 1000
    assert (tmp_path / "orbit_cubic_state_lyapunov.npz").exists()


def test_orbit_uv_lr_and_uv(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["orbit", "--system", "uv-lr", "--num", "30", "--transient", "200", "--keep", "16",
                               "--observable", "loss", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    with np.load(tmp_path / "orbit_uv_lr_loss.npz") as z:
        assert z["states"].shape == (30, 16) and str(z["system"]) == "uv_lr"
    res = runner.invoke(main, ["orbit", "--system", "uv", "--num", "20", "--transient", "50", "--keep", "8",
                               "--x0", "0.2,2.6", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    with np.load(tmp_path / "orbit_uv_state.npz") as z:
        assert z["states"].shape == (20, 8, 2)


def test_lyapunov_writes_doubling_points_and_spectra(tmp_path):
    res = CliRunner().invoke(main, ["lyapunov", "--num", "50", "--transient", "200", "--steps", "300",
                                    "--doublings", "9", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "lyapunov_cubic.json").read_text())
    assert abs(summary["doubling_points"]["params"][1] - np.sqrt(5)) < 1e-15
    assert summary["spectra_peaks"]["r = 2.1"][0] == 0.5
    for name in ("lyapunov_cubic.png", "spectra_cubic.png", "lyapunov_cubic.npz"):
        assert (tmp_path / name).exists()


def test_bad_input_is_a_usage_error(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["orbit", "--min", "3", "--max", "2", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "empty" in res.output
    res = runner.invoke(main, ["orbit", "--keep", "0", "--out", str(tmp_path)])
    assert res.exit_code == 2
    res = runner.invoke(main, ["orbit", "--x0", "a", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--x0" in res.output
    res = runner.invoke(main, ["orbit", "--observable", "nope", "--num", "3", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "observable" in res.output
